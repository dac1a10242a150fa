"""The Python API: the same operations as the CLI and the QGIS algorithms, one import away.

    from engine import api
    spec = api.StackSpec([api.LayerSpec("mag.tif", "geophysics"), ...], deposits="deposits.gpkg")
    manifest = api.align_stack(spec, "out/stack")
    with api.open_stack("out/stack") as stack:
        for tile in stack.tiles(256, overlap=16):
            x = stack.read(tile.read)

    # prospectivity: head on frozen foundation embeddings, validated against RF and WofE
    api.finetune("out/stack", "out/head")                 # writes validation.json / .png too
    api.predict("out/stack", "out/head", "out/prediction")
    api.predict("out/stack", "out/head", "out/p2", runtime=api.Runtime(backend="onnx-cpu", threads=4, tile=512))
    api.make_targets("out/prediction/prospectivity.tif", "out/targets.gpkg", capture=0.8, deposits=[(x, y), ...])
    api.geochem_anomalies("out/stack", "out/anomalies")

    # weights of evidence (ArcSDM / GA), logistic regression and fuzzy overlay on integer evidence rasters
    t = api.calculate_weights("dist.tif", "deposits.shp", method="ascending", unit_cell_km2=1.0)
    t.write_csv("dist.csv"); api.write_generalised("dist.tif", t, "dist_gen.tif")
    r = api.calculate_response([("dist_gen.tif", api.read_weights_csv("dist_gen.csv")), ...], "deposits.shp", "out/wofe")
    api.logistic_regression([...same pairs...], "deposits.shp", "out/lr")
    api.fuzzy_overlay([("dist.tif", "small", 5000, 3), ...], "gamma", "out/fuzzy.tif", gamma=0.9)

    # adapt the shipped foundation model to your own area (label-free; deposits are never read)
    api.pretrain_foundation(["out/stack"], "out/model", init_model=api.DEFAULT_MODEL, steps1=300, steps2=150)
"""

from .demo import find_demo_data, kolari_spec  # noqa: F401
from .core.errors import Cancelled, InputError, MPMError, OutputError  # noqa: F401
from .core.grid import Grid  # noqa: F401
from .data.layers import LayerSpec  # noqa: F401
from .operations import BACKENDS, OPERATIONS, Runtime  # noqa: F401
from .core.progress import Feedback  # noqa: F401
from .data.reader import Stack
from .data.stack import StackSpec, align_stack  # noqa: F401

from .anomalies.reconstruction import geochem_anomalies  # noqa: F401
from .foundation.embed import embed_stack  # noqa: F401
from .foundation.features import DEFAULT_MODEL  # noqa: F401
from .foundation.pretrain_data import pretrain_foundation  # noqa: F401
from .prospectivity.workflow import finetune, predict  # noqa: F401
from .prospectivity.targets import make_targets  # noqa: F401
from .classical.fuzzy import fuzzy_overlay  # noqa: F401
from .classical.logistic import logistic_regression  # noqa: F401
from .classical.wofe import calculate_response, calculate_weights, read_weights_csv, write_generalised  # noqa: F401


def open_stack(folder):
    """An aligned stack for windowed, normalised reading (use as a context manager)."""
    return Stack(folder)
