"""Shared fixtures: the real Kolari data (read in place from ../shared/data) and seeded rasters."""

import os

import pytest

from helpers import KOLARI_CROP  # importing helpers also puts the checkout on sys.path


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory):
    """Tests never write into the user's cache: embeddings go to a per-session folder."""
    path = str(tmp_path_factory.mktemp("mpm_cache"))
    old = os.environ.get("MPM_CACHE_DIR")
    os.environ["MPM_CACHE_DIR"] = path
    yield path
    if old is None:
        os.environ.pop("MPM_CACHE_DIR", None)
    else:
        os.environ["MPM_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def kolari():
    """Path of the Kolari demo data; missing data fails in CI and skips (with where to put it) elsewhere."""
    from engine.demo import find_demo_data
    from engine.core.errors import InputError

    try:
        return find_demo_data()
    except InputError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def kolari_stack(kolari, tmp_path_factory):
    """The Kolari demo spec aligned on the crop at 200 m (100 x 100 px), made once per session."""
    from engine.demo import kolari_spec
    from engine.data.stack import align_stack

    out = str(tmp_path_factory.mktemp("kolari") / "stack")
    align_stack(kolari_spec(kolari, res=200.0, bounds=KOLARI_CROP), out)
    return out


@pytest.fixture(scope="session")
def kolari_400(kolari, tmp_path_factory):
    """The whole Kolari area at 400 m (171 x 206 px, all 13 deposits), made once per session."""
    from engine.demo import kolari_spec
    from engine.data.stack import align_stack

    out = str(tmp_path_factory.mktemp("k400") / "stack")
    align_stack(kolari_spec(kolari, res=400.0), out)
    return out


@pytest.fixture(scope="module")
def one_torch_thread():
    """On a shared 2-core machine torch's spinning thread pool makes the small SAM decoder 20x slower."""
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def sam_model(tmp_path_factory):
    """The shipped GeoSAM when installed, else an untrained one (torch seed 0) in a tmp model folder."""
    import torch

    from engine.structures.predictor import DEFAULT_SAM_MODEL
    from engine.structures.weights import CARD_NAME

    if os.path.isfile(os.path.join(DEFAULT_SAM_MODEL, CARD_NAME)):
        return DEFAULT_SAM_MODEL
    from engine.structures.modeling import build_geosam
    from engine.structures.weights import save_geosam

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("sam") / "mpm-geosam-untrained"
    out.mkdir()
    save_geosam(build_geosam(), str(out), name="mpm-geosam-untrained")
    return str(out)


@pytest.fixture
def plugin(qgis_iface, qgis_processing):
    """The plugin loaded with its GUI on pytest-qgis's iface; layers removed afterwards (pytest-qgis #67)."""
    import mpm_plugin
    from qgis.core import QgsProject

    p = mpm_plugin.classFactory(qgis_iface)
    p.initGui()
    yield p
    p.unload()
    QgsProject.instance().removeAllMapLayers()
