"""Runs that never lie (issue 20): a fault, a bad input or an interruption gives a clear error, a
non-zero exit and nothing lost. Each test asserts the exit code, that the message names what is
wrong and the fix, that nothing half-written is left, and that the inputs' checksums are unchanged.
Small synthetic rasters in tmp_path only, so the whole file stays fast."""

import hashlib
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest
from rasterio.transform import from_origin

from helpers import ROOT, write_raster
from engine.core.errors import InputError

PY = sys.executable


def checksums(*paths):
    """sha256 of every file under the given files / folders (what 'inputs unchanged' means)."""
    out = {}
    for p in paths:
        p = str(p)
        files = [p] if os.path.isfile(p) else [os.path.join(r, f) for r, _, fs in os.walk(p) for f in fs]
        for f in files:
            with open(f, "rb") as fh:
                out[f] = hashlib.sha256(fh.read()).hexdigest()
    return out


def leftovers(folder):
    """Temporary outputs ('.partial') and GDAL side-cars anywhere under folder."""
    return [os.path.join(r, f) for r, ds, fs in os.walk(folder) for f in fs + ds
            if ".partial" in f or f.endswith(".aux.xml")]


def engine(*args, ulimit_kb=None, env=None, timeout=300):
    """python -m engine ARGS in a subprocess, optionally under a file-size limit (ulimit -f, KiB)."""
    cmd = " ".join(shlex.quote(str(a)) for a in (PY, "-m", "engine", *args))
    if ulimit_kb:
        cmd = f"ulimit -f {int(ulimit_kb)}; exec {cmd}"
    return subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


@pytest.fixture
def rasters(tmp_path):
    """Two overlapping 200 x 200 px float rasters of noise (incompressible) in their own input folder."""
    d = tmp_path / "inputs"
    d.mkdir()
    rng = np.random.default_rng(0)
    t = from_origin(400000, 7500000, 100, 100)
    return [write_raster(d / f"{n}.tif", rng.normal(size=(200, 200)).astype(np.float32), t) for n in ("mag", "k")]


def assert_clean_failure(r, *words):
    """Non-zero exit, an engine message (no traceback) holding every word, and a 'Fix:'."""
    text = r.stdout + r.stderr
    assert r.returncode != 0, text
    assert "Traceback" not in text, text
    for w in words:
        assert w in text, (w, text)
    assert "Fix:" in text, text


# ---------------------------------------------------------------- 1. every write checked


def test_align_under_file_size_limit_fails_cleanly(rasters, tmp_path):
    """ulimit -f 1024 (1 MiB): the 2.6 MB stack cannot be written; exit 2, nothing at the output."""
    before = checksums(*rasters)
    out = tmp_path / "out" / "stack"
    out.parent.mkdir()
    r = engine("align", "--geophysics", *rasters, "--res", "50", "--out", out, ulimit_kb=1024)
    assert r.returncode == 2
    assert_clean_failure(r, "stack folder", "could not be written", "ulimit -f", "free disk space")
    assert not out.exists() and os.listdir(out.parent) == []
    assert checksums(*rasters) == before and leftovers(tmp_path) == []


def test_truncated_output_is_never_moved_into_place(tmp_path):
    """A raster that was cut short (as by a full disk whose error GDAL only logged) fails verification."""
    from engine.core.atomic import atomic_path
    from engine.core.errors import OutputError

    src = write_raster(tmp_path / "full.tif", np.random.default_rng(1).normal(size=(512, 512)).astype(np.float32),
                       from_origin(400000, 7500000, 1, 1))
    data = open(src, "rb").read()
    out = tmp_path / "result"
    with pytest.raises(OutputError, match=r"stack.tif does not read back .*Fix: free disk space"):
        with atomic_path(out, directory=True, what="result folder") as tmp:
            with open(os.path.join(tmp, "stack.tif"), "wb") as f:
                f.write(data[: len(data) // 2])
    assert not out.exists() and os.listdir(tmp_path) == ["full.tif"]


# ---------------------------------------------------------------- 2. never replace what the run did not create


@pytest.mark.parametrize("when", [0, 50])
def test_folder_appearing_during_align_is_kept_and_result_put_beside(rasters, tmp_path, when):
    """At 0 % the folder appears after the start's check but before writing began; at 50 % while writing."""
    from engine.core.errors import OutputError
    from engine.data.layers import LayerSpec
    from engine.data.stack import StackSpec, align_stack

    out = tmp_path / "stack"

    class Intruder:
        """Feedback that creates the output folder (with a user's file) half-way through the run."""

        def setProgress(self, p):  # noqa: N802
            if p > when and not out.exists():
                out.mkdir()
                (out / "notes.txt").write_text("my notes")

        def isCanceled(self):  # noqa: N802
            return False

        def pushInfo(self, text):  # noqa: N802
            pass

    spec = StackSpec([LayerSpec(p, "geophysics") for p in rasters])
    with pytest.raises(OutputError) as e:
        align_stack(spec, str(out), feedback=Intruder())
    msg = str(e.value)
    assert "appeared while this run was writing" in msg and "left untouched" in msg and "Fix:" in msg
    assert f"kept as '{out}_2'" in msg
    assert sorted(os.listdir(out)) == ["notes.txt"] and (out / "notes.txt").read_text() == "my notes"
    assert sorted(os.listdir(f"{out}_2")) == ["stack.json", "stack.tif", "valid.tif"]
    assert leftovers(tmp_path) == []


def test_file_appearing_during_write_is_not_replaced_even_with_overwrite(tmp_path):
    """overwrite allows replacing what was there at the start, not what appeared since."""
    from engine.core.atomic import atomic_path
    from engine.core.errors import OutputError

    out = tmp_path / "top_anomalies.csv"
    with pytest.raises(OutputError, match="kept as .*top_anomalies_2.csv"):
        with atomic_path(out, overwrite=True, what="anomaly table") as tmp:
            open(tmp, "w").write("{}")
            out.write_text("theirs")
    assert out.read_text() == "theirs" and (tmp_path / "top_anomalies_2.csv").read_text() == "{}"
    # what was there at the start is replaced when overwrite says so
    with atomic_path(out, overwrite=True, what="anomaly table") as tmp:
        open(tmp, "w").write("ours")
    assert out.read_text() == "ours" and sorted(os.listdir(tmp_path)) == ["top_anomalies.csv", "top_anomalies_2.csv"]


# ---------------------------------------------------------------- 3. an output is never one of the inputs


def _fake_folder(path, marker):
    path.mkdir(parents=True)
    (path / marker).write_text('{"format": "not read: the check comes first"}')
    return str(path)


@pytest.mark.parametrize("case", ["predict-into-stack", "predict-into-parent", "finetune-into-stack",
                                  "anomalies-into-stack", "embed-onto-stack", "targets-into-prediction",
                                  "validate-into-map", "align-onto-input", "pretrain-into-stack",
                                  "structures-onto-prompts"])
def test_output_may_not_be_or_hold_an_input(tmp_path, rasters, case):
    stack = _fake_folder(tmp_path / "work" / "stack", "stack.json")
    head = _fake_folder(tmp_path / "work" / "head", "head_card.json")
    pred = _fake_folder(tmp_path / "work" / "prediction", "prospectivity.tif")
    prompts = tmp_path / "clicks.gpkg"
    prompts.write_text("not read")
    args = {
        "predict-into-stack": ["predict", stack, "--head", head, "--out", stack, "--overwrite"],
        "predict-into-parent": ["predict", stack, "--head", head, "--out", tmp_path / "work", "--overwrite"],
        "finetune-into-stack": ["finetune", stack, "--out", stack, "--overwrite"],
        "anomalies-into-stack": ["anomalies", stack, "--out", stack, "--overwrite"],
        "embed-onto-stack": ["embed", stack, "--out", stack, "--overwrite"],
        "targets-into-prediction": ["targets", pred, "--capture", "0.8", "--stack", stack,
                                    "--out", os.path.join(pred, "prospectivity.tif"), "--overwrite"],
        "validate-into-map": ["validate", rasters[0], "--deposits", prompts, "--out", rasters[0], "--overwrite"],
        "align-onto-input": ["align", "--geophysics", *rasters, "--out", os.path.dirname(rasters[0]), "--overwrite"],
        "pretrain-into-stack": ["pretrain", "--stack", stack, "--out", stack],
        "structures-onto-prompts": ["structures", rasters[0], "--prompts", prompts, "--type", "fault",
                                    "--out", prompts, "--overwrite"],
    }[case]
    before = checksums(tmp_path)
    r = engine(*args)
    assert r.returncode == 2
    assert_clean_failure(r, "writing it would destroy that input", "outside the run's inputs")
    assert checksums(tmp_path) == before and leftovers(tmp_path) == []


# ---------------------------------------------------------------- 4. pretrain never writes into a foreign folder


def test_pretrain_refuses_an_existing_model_folder(tmp_path):
    from engine.core.shipped import FOUNDATION_MODEL

    folder = tmp_path / "copy_of_shipped"
    folder.mkdir()
    src = FOUNDATION_MODEL if os.path.isdir(FOUNDATION_MODEL) else os.path.dirname(FOUNDATION_MODEL)
    for name in ("model_card.json", "MODEL_CARD.md"):
        (folder / name).write_bytes(open(os.path.join(src, name), "rb").read())
    before = checksums(folder)
    r = engine("pretrain", "--synthetic", "2", "--steps1", "1", "--steps2", "1", "--out", folder)
    assert r.returncode == 2
    assert_clean_failure(r, str(folder), "holds no pretraining checkpoint", "choose a new folder name")
    assert checksums(folder) == before and sorted(os.listdir(folder)) == ["MODEL_CARD.md", "model_card.json"]


def test_pretrain_accepts_its_own_checkpoint_folder_and_an_empty_one(tmp_path):
    from engine.foundation.pretrain_data import check_model_folder

    own = tmp_path / "mine"
    own.mkdir()
    (own / "checkpoint.pt").write_bytes(b"resumable")
    check_model_folder(str(own))
    (tmp_path / "empty").mkdir()
    check_model_folder(str(tmp_path / "empty"))
    check_model_folder(str(tmp_path / "new"))


# ---------------------------------------------------------------- 5. size guard and bad resolutions


def test_align_refuses_a_stack_larger_than_the_free_space(rasters, tmp_path):
    """0.01 m over 20 km: 4 x 10^12 px; refused before anything is written, with the figures."""
    before = checksums(*rasters)
    out = tmp_path / "stack"
    r = engine("align", "--geophysics", *rasters, "--res", "0.01", "--out", out, timeout=120)
    assert r.returncode == 2
    assert_clean_failure(r, "2,000,000 x 2,000,000 px x 2 bands at 0.01 m", "GB are free on the disk",
                         "choose a coarser resolution")
    assert not out.exists() and leftovers(tmp_path) == [] and checksums(*rasters) == before


@pytest.mark.parametrize("res", ["nan", "inf", "-5", "0"])
def test_align_rejects_a_resolution_that_is_not_a_positive_number(rasters, tmp_path, res):
    r = engine("align", "--geophysics", *rasters, "--res", res, "--out", tmp_path / "stack")
    assert r.returncode == 2
    assert_clean_failure(r, "target resolution must be a positive number", "--res 100")
    assert not (tmp_path / "stack").exists()


def test_align_warns_before_writing_a_large_stack(rasters, tmp_path, monkeypatch, caplog):
    from engine.data import stack
    from engine.data.layers import LayerSpec

    monkeypatch.setattr(stack, "WARN_BYTES", 100_000)
    out = tmp_path / "stack"
    with caplog.at_level("WARNING", logger="engine"):
        stack.align_stack(stack.StackSpec([LayerSpec(p, "geophysics") for p in rasters]), str(out))
    assert any("The stack will be large: 200 x 200 px x 2 bands" in m for m in caplog.messages), caplog.messages
    assert (out / "stack.tif").exists()


# ---------------------------------------------------------------- 6. interruptions and stale temporary outputs


def test_stale_partial_of_a_killed_run_is_removed_by_the_next_run(rasters, tmp_path):
    from engine.core.atomic import _owner_tag

    dead = subprocess.Popen(["true"])
    dead.wait()
    host = _owner_tag().split("@")[0]
    stale = tmp_path / f".stack.{host}@{dead.pid}.x1y2abcd.partial"
    stale.mkdir()
    (stale / "stack.tif").write_bytes(b"half")
    foreign = tmp_path / ".stack.otherhost@1.z9z9z9z9.partial"  # another machine's run: reported, never removed
    foreign.mkdir()
    other = tmp_path / f".stack.tif.{host}@{dead.pid}.abcdefgh.partial.tif"  # output 'stack.tif': not this one's
    other.write_bytes(b"x")
    r = engine("align", "--geophysics", *rasters, "--out", tmp_path / "stack")
    assert r.returncode == 0, r.stderr
    assert "Removed 1 temporary output(s) of an interrupted run" in r.stderr and stale.name in r.stderr
    assert "holds temporary output(s) of another run" in r.stderr and foreign.name in r.stderr
    assert not stale.exists() and foreign.exists() and (tmp_path / "stack" / "stack.tif").exists()
    assert other.exists() and other.name not in r.stderr


def _interrupt_when_writing(cmd, env, folder, sig):
    """Start cmd, send `sig` once its '.partial' output exists, return (exit code, output)."""
    import time

    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.time()
    while not any(".partial" in f for f in os.listdir(folder)):
        assert p.poll() is None and time.time() - t0 < 120, "the run ended before it was interrupted"
        time.sleep(0.1)
    time.sleep(0.5)
    p.send_signal(sig)
    text, _ = p.communicate(timeout=120)
    return p.returncode, text


@pytest.mark.parametrize("sig,code,text", [("SIGTERM", 143, "Terminated: nothing was written"),
                                           ("SIGINT", 130, "Run cancelled by the user")])
def test_cli_interrupted_run_exits_non_zero_and_leaves_nothing(rasters, tmp_path, sig, code, text):
    import signal

    before = checksums(*rasters)
    rc, out = _interrupt_when_writing([PY, "-m", "engine", "align", "--geophysics", *rasters, "--res", "4", "--out",
                                       str(tmp_path / "stack")], None, tmp_path, getattr(signal, sig))
    assert rc == code and text in out and "Traceback" not in out, out[-2000:]
    assert os.listdir(tmp_path) == ["inputs"] and checksums(*rasters) == before


# ---------------------------------------------------------------- through qgis_process (1, 3, 5, 6, 7)

from test_headless import QGIS_PROCESS, qgis_env  # noqa: E402,F401 (the module's plugin + profile fixture)


def qgis(env, alg, *args, ulimit_kb=None, timeout=300):
    cmd = " ".join(shlex.quote(str(a)) for a in (QGIS_PROCESS, "run", f"mpm:{alg}", *args))
    if ulimit_kb:
        cmd = f"ulimit -f {int(ulimit_kb)}; exec {cmd}"
    return subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=timeout)


def test_qgis_align_under_file_size_limit_fails_cleanly(qgis_env, rasters, tmp_path):
    before = checksums(*rasters)
    out = tmp_path / "stack"
    r = qgis(qgis_env, "alignstack", *(f"--GEOPHYSICS={p}" for p in rasters), "--RESOLUTION=50", f"--OUTPUT={out}",
             ulimit_kb=1024)
    assert_clean_failure(r, "could not be written", "stack.tif does not read back", "ulimit -f")
    assert not out.exists() and leftovers(tmp_path) == [] and checksums(*rasters) == before


def test_qgis_align_leaves_inputs_untouched_and_respects_umask(qgis_env, rasters, tmp_path):
    """No NAME.tif.aux.xml (GDAL PAM statistics) beside the inputs; the stack folder readable by the group."""
    before = checksums(os.path.dirname(rasters[0]))
    out = tmp_path / "stack"
    r = subprocess.run(["bash", "-c", "umask 022; exec " + " ".join(shlex.quote(str(a)) for a in (
        QGIS_PROCESS, "run", "mpm:alignstack", *(f"--GEOPHYSICS={p}" for p in rasters), f"--OUTPUT={out}"))],
        env=qgis_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert sorted(os.listdir(os.path.dirname(rasters[0]))) == ["k.tif", "mag.tif"]
    assert checksums(os.path.dirname(rasters[0])) == before
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o755)


def test_qgis_output_may_not_be_an_input(qgis_env, rasters, tmp_path):
    """A file output (QGIS allows replacing it) that is the run's own input is refused by the engine."""
    import shapely

    from helpers import write_vector

    prompts = write_vector(tmp_path / "clicks.gpkg", [shapely.Point(410000, 7490000)], {"label": np.array([1])})
    before = checksums(tmp_path)
    r = qgis(qgis_env, "structures", f"--INPUT={rasters[0]}", f"--PROMPTS={prompts}", "--BANDS=1", "--TYPE=fault",
             f"--OUTPUT={prompts}")
    assert_clean_failure(r, "writing it would destroy that input")
    assert checksums(tmp_path) == before and leftovers(tmp_path) == []


def test_qgis_align_refuses_a_stack_larger_than_the_free_space(qgis_env, rasters, tmp_path):
    r = qgis(qgis_env, "alignstack", *(f"--GEOPHYSICS={p}" for p in rasters), "--RESOLUTION=0.01",
             f"--OUTPUT={tmp_path / 'stack'}")
    assert_clean_failure(r, "GB are free on the disk", "choose a coarser resolution")
    assert not (tmp_path / "stack").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("sig", ["TERM", "INT"])
def test_qgis_interrupted_run_exits_non_zero_and_leaves_nothing(qgis_env, rasters, tmp_path, sig):
    """SIGTERM (a scheduler) and Ctrl-C stop the run: non-zero exit, no '.partial' left, inputs unchanged."""
    import signal

    before = checksums(*rasters)
    out = tmp_path / "stack"
    rc, text = _interrupt_when_writing([QGIS_PROCESS, "run", "mpm:alignstack", *(f"--GEOPHYSICS={r}" for r in rasters),
                                        "--RESOLUTION=4", f"--OUTPUT={out}"], qgis_env, tmp_path,
                                       getattr(signal, f"SIG{sig}"))
    assert rc != 0, text[-2000:]
    assert ("Terminated (SIGTERM)" if sig == "TERM" else "Run cancelled") in text, text[-2000:]
    assert "Traceback" not in text
    assert not out.exists() and leftovers(tmp_path) == [] and checksums(*rasters) == before


# ---------------------------------------------------------------- 8. a damaged ONNX file is re-exported to the cache


def test_corrupt_onnx_in_a_model_folder_is_reexported_to_the_cache_only(tmp_path, embedding_cache):
    import shutil

    from engine.foundation.model.backend import select_backend
    from engine.core.shipped import FOUNDATION_MODEL

    class Log:
        def __init__(self):
            self.lines = []

        def pushInfo(self, text):  # noqa: N802
            self.lines.append(text)

        def setProgress(self, p):  # noqa: N802
            pass

        def isCanceled(self):  # noqa: N802
            return False

    src = FOUNDATION_MODEL if os.path.isdir(FOUNDATION_MODEL) else os.path.dirname(FOUNDATION_MODEL)
    model = tmp_path / "model"
    shutil.copytree(src, model)
    with open(model / "onnx" / "fusion.onnx", "r+b") as f:
        f.seek(100)
        f.write(b"garbage")
    before = checksums(model)
    log = Log()
    b = select_backend(str(model / "model_card.json"), "onnx-cpu", feedback=log, cache=False)
    assert any("exporting them again" in line for line in log.lines)
    assert any("exported to the cache" in line for line in log.lines)
    assert all(os.path.dirname(p).startswith(os.path.join(embedding_cache, "onnx")) for p in b.paths.values())
    assert checksums(model) == before  # the model folder: not one byte written
    log2 = Log()
    again = select_backend(str(model / "model_card.json"), "onnx-cpu", feedback=log2, cache=False)
    assert again.paths == b.paths and not any("exported to the cache" in line for line in log2.lines)


# ---------------------------------------------------------------- raw tracebacks become messages


@pytest.mark.parametrize("cut", ["data", "header", "garbled"])
def test_damaged_geotiff_input_is_named_not_a_traceback(rasters, tmp_path, cut):
    """A GeoTIFF cut short (interrupted copy), cut in its header, or with a garbled compressed block."""
    good = open(rasters[0], "rb").read()
    bad = tmp_path / "inputs" / "mag_bad.tif"
    if cut == "garbled":
        write_raster(bad, np.random.default_rng(2).normal(size=(200, 200)).astype(np.float32),
                     from_origin(400000, 7500000, 100, 100))
        with rasterio_profile_compressed(bad) as data:
            data[len(data) // 2: len(data) // 2 + 2000] = b"\xff" * 2000
    else:
        bad.write_bytes(good[: len(good) // 2] if cut == "data" else good[:300])
    before = checksums(tmp_path / "inputs")
    r = engine("align", "--geophysics", bad, rasters[1], "--out", tmp_path / "stack")
    assert r.returncode == 2
    words = {"data": "is truncated: its data runs to byte", "header": "truncated",
             "garbled": "the file is damaged or truncated"}[cut]
    assert_clean_failure(r, "Layer 'mag_bad'", words, "copy or download the file again")
    assert "has no CRS" not in r.stderr
    assert not (tmp_path / "stack").exists() and leftovers(tmp_path) == [] and checksums(tmp_path / "inputs") == before


class rasterio_profile_compressed:  # noqa: N801 (a context manager used like a function)
    """Rewrite `path` deflate-compressed, yield its bytes as a bytearray to damage, write them back."""

    def __init__(self, path):
        self.path = str(path)

    def __enter__(self):
        import rasterio

        with rasterio.open(self.path) as src:
            data, profile = src.read(), src.profile
        profile.update(compress="deflate", tiled=True, blockxsize=64, blockysize=64)
        with rasterio.open(self.path, "w", **profile) as dst:
            dst.write(data)
        self.data = bytearray(open(self.path, "rb").read())
        return self.data

    def __exit__(self, *exc):
        open(self.path, "wb").write(bytes(self.data))


def test_output_folders_follow_the_umask(rasters, tmp_path):
    """Results are for colleagues too: the folder gets the mode the umask gives, not mkdtemp's 0700."""
    from engine.data.layers import LayerSpec
    from engine.data.stack import StackSpec, align_stack

    old = os.umask(0o027)
    try:
        align_stack(StackSpec([LayerSpec(p, "geophysics") for p in rasters]), str(tmp_path / "stack"))
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "stack").st_mode & 0o777 == 0o750
    assert os.stat(tmp_path / "stack" / "stack.tif").st_mode & 0o777 == 0o640


def _samples(tmp_path, cu, zn, name="till.gpkg"):
    """40 till samples over the rasters' area with the given Cu / Zn columns."""
    import shapely

    from helpers import write_vector

    rng = np.random.default_rng(5)
    pts = [shapely.Point(x, y) for x, y in zip(rng.uniform(401000, 419000, 40), rng.uniform(7481000, 7499000, 40))]
    return write_vector(tmp_path / "inputs" / name, pts, {"Cu_ppm": cu, "Zn_ppm": zn})


def test_geochemistry_text_and_missing_codes_are_read_as_laboratories_mean_them(rasters, tmp_path):
    """'<0.5' = below detection at 0.5, 'n.d.' below detection, blanks / NA / NULL / -999 missing (never a
    concentration), -2 below detection at 2; the counts are reported per element."""
    from engine.data import geochem

    cu = np.array(["12.5", "<0.5", "n.d.", "", "NA", ">1000"] + [f"{v:.2f}" for v in np.linspace(5, 50, 34)], dtype=object)
    zn = np.array([30.0, 40.0, -999.0, np.nan, 50.0, -2.0] + list(np.linspace(20, 90, 34)))
    till = _samples(tmp_path, cu, zn)
    before = checksums(tmp_path / "inputs")
    r = engine("align", "--geophysics", *rasters, "--geochemistry", f"{till}::elements=Cu,Zn", "--no-clr",
               "--out", tmp_path / "stack")
    assert r.returncode == 0, r.stderr
    assert "Layer 'till': 3 of 40 samples left out for missing values (Cu: 2, Zn: 2)" in r.stderr
    info = json.load(open(tmp_path / "stack" / "stack.json"))["layers"]["till"]
    assert info["values_read_as"]["Cu"] == {"field": "Cu_ppm", "measured": 35, "below_detection": 2, "missing": 2,
                                            "above_upper_limit": 1}
    assert info["values_read_as"]["Zn"] == {"field": "Zn_ppm", "measured": 37, "below_detection": 1, "missing": 2,
                                            "above_upper_limit": 0}
    assert info["samples_missing_values"] == 3 and info["samples_total"] == 40
    fields = {"Cu_ppm": cu, "Zn_ppm": zn}
    _, v = geochem.clean_values(fields, ["Cu", "Zn"], "till")
    assert v[1, 0] == 0.25 and v[5, 0] == 1000 and v[5, 1] == 1.0  # half of 0.5; upper limit; half of |-2|
    assert np.isnan(v[2, 1]) and np.isnan(v[3, 1]) and np.isnan(v[3, 0]) and np.isnan(v[4, 0])  # missing
    assert checksums(tmp_path / "inputs") == before


def test_geochemistry_text_that_is_no_assay_is_named(rasters, tmp_path):
    cu = np.array(["12.5", "see note", "abc"] + ["7"] * 37, dtype=object)
    till = _samples(tmp_path, cu, np.linspace(20, 90, 40))
    r = engine("align", "--geophysics", *rasters, "--geochemistry", f"{till}::elements=Cu,Zn", "--out", tmp_path / "s")
    assert r.returncode == 2
    assert_clean_failure(r, "Layer 'till'", "field Cu_ppm (Cu) has 2 value(s) that are not assays: 'abc', 'see note'",
                         "blanks and NA are read as missing")
    assert not (tmp_path / "s").exists() and leftovers(tmp_path) == []


def _csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return str(path)


def test_geochemistry_csv_with_xy_columns(rasters, tmp_path):
    """Geochemists deliver CSVs: X/Y (or Easting/Northing) columns are the points; the CRS comes with the layer."""
    rng = np.random.default_rng(6)
    rows = [[f"S{i}", round(rng.uniform(401000, 419000), 1), round(rng.uniform(7481000, 7499000), 1),
             "<0.5" if i == 0 else round(rng.uniform(5, 50), 2), round(rng.uniform(20, 90), 1)] for i in range(40)]
    till = _csv(tmp_path / "inputs" / "till.csv", ["Sample", "Easting", "Northing", "Cu_ppm", "Zn_ppm"], rows)
    before = checksums(tmp_path / "inputs")
    r = engine("align", "--geophysics", *rasters, "--geochemistry", till, "--out", tmp_path / "s")
    assert r.returncode == 2
    assert_clean_failure(r, "Layer 'till': has no CRS (a CSV does not store one)", "till.csv::crs=EPSG:3067")
    assert not (tmp_path / "s").exists()
    r = engine("align", "--geophysics", *rasters, "--geochemistry", f"{till}::crs=EPSG:3067", "--out", tmp_path / "s")
    assert r.returncode == 0, r.stderr
    assert "geochemistry: 2 band(s): Cu, Zn" in r.stdout
    read_as = json.load(open(tmp_path / "s" / "stack.json"))["layers"]["till"]["values_read_as"]
    assert read_as["Cu"]["below_detection"] == 1 and read_as["Cu"]["measured"] == 39
    nocoords = _csv(tmp_path / "inputs" / "assays.csv", ["Sample", "Cu_ppm"], [["S1", 5], ["S2", 6]])
    r = engine("align", "--geophysics", *rasters, "--geochemistry", f"{nocoords}::crs=EPSG:3067", "--out", tmp_path / "t")
    assert r.returncode == 2
    assert_clean_failure(r, "Layer 'assays': is a CSV without coordinate columns", "name them X and Y")
    assert checksums(tmp_path / "inputs") == {**before, **checksums(nocoords)} and leftovers(tmp_path) == []


def test_damaged_stack_folder_is_named(tmp_path):
    """A stack.json cut short or a missing stack.tif: which file, what is wrong, align again."""
    from engine.data.layers import LayerSpec
    from engine.data.stack import StackSpec, align_stack

    d = tmp_path / "inputs"
    d.mkdir()
    a = write_raster(d / "a.tif", np.random.default_rng(0).normal(size=(40, 40)).astype(np.float32),
                     from_origin(400000, 7500000, 100, 100))
    for case in ("json", "tif", "cut"):
        stack = tmp_path / case
        align_stack(StackSpec([LayerSpec(a, "geophysics")]), str(stack))
        if case == "json":
            text = (stack / "stack.json").read_text()
            (stack / "stack.json").write_text(text[: len(text) // 2])
        elif case == "tif":
            (stack / "stack.tif").unlink()
        else:
            data = (stack / "stack.tif").read_bytes()
            (stack / "stack.tif").write_bytes(data[: len(data) // 2])
        r = engine("info", stack)
        assert r.returncode == 2
        assert_clean_failure(r, {"json": "stack.json' is damaged", "tif": "stack.tif' is missing",
                                 "cut": "is truncated"}[case], "align the stack again" if case != "cut" else "again")


def test_qgis_output_folder_that_cannot_be_created_is_a_message(qgis_env, rasters, tmp_path):
    """A nested output whose parent cannot be made (read-only disk; here a file in the way, which also
    fails for root) is a message naming the folder, not an OSError traceback."""
    blocker = tmp_path / "results"
    blocker.write_text("a file, not a folder")
    r = qgis(qgis_env, "alignstack", *(f"--GEOPHYSICS={p}" for p in rasters), f"--OUTPUT={blocker / 'area1' / 'stack'}")
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in text, text[-2000:]
    assert f"the folder '{blocker / 'area1'}' cannot be created" in text and "folder you can write to" in text
    assert blocker.read_text() == "a file, not a folder"


def test_garbage_onnx_file_that_its_card_vouches_for_is_named(tmp_path):
    """Files a card lists with a matching sha256 but that are no ONNX model: a message, not a traceback."""
    import shutil

    from engine.core.errors import InputError
    from engine.foundation.model.backend import select_backend
    from engine.foundation.model.weights import read_card, sha256_file, write_card
    from engine.core.shipped import FOUNDATION_MODEL

    src = FOUNDATION_MODEL if os.path.isdir(FOUNDATION_MODEL) else os.path.dirname(FOUNDATION_MODEL)
    model = tmp_path / "model"
    shutil.copytree(src, model)
    (model / "onnx" / "fusion.onnx").write_bytes(b"not a protobuf at all" * 50)
    card = read_card(str(model / "model_card.json"))
    card["onnx"]["fusion"]["sha256"] = sha256_file(str(model / "onnx" / "fusion.onnx"))
    write_card({k: v for k, v in card.items() if k != "_path"}, card["_path"])
    with pytest.raises(InputError, match=r"the ONNX file '.*fusion.onnx' cannot be read .*Fix: copy the model folder"):
        select_backend(str(model / "model_card.json"), "onnx-cpu", cache=False)


def test_validate_on_a_truncated_map_is_named(rasters, tmp_path):
    import shapely

    from helpers import write_vector

    deps = write_vector(tmp_path / "inputs" / "deps.gpkg", [shapely.Point(405000, 7495000), shapely.Point(410000, 7490000)])
    data = open(rasters[0], "rb").read()
    cut = tmp_path / "inputs" / "map_cut.tif"
    cut.write_bytes(data[: len(data) // 2])
    before = checksums(tmp_path / "inputs")
    r = engine("validate", cut, "--deposits", deps, "--out", tmp_path / "v")
    assert r.returncode == 2
    assert_clean_failure(r, "map_cut.tif", "is truncated", "copy or download the file again")
    assert not (tmp_path / "v").exists() and leftovers(tmp_path) == [] and checksums(tmp_path / "inputs") == before


def test_cache_entry_that_appeared_meanwhile_is_used_not_duplicated(tmp_path):
    """Two runs filling the same embedding cache entry: the second keeps the first's, no NAME_2 and no error."""
    from engine.core.atomic import atomic_path

    entry = tmp_path / "embedding-abc.tif"
    with atomic_path(entry, what="embedding raster", checked=True, cache=True) as tmp:
        write_raster(tmp, np.zeros((4, 4), np.float32), from_origin(400000, 7500000, 100, 100))
        entry.write_text("theirs")
    assert entry.read_text() == "theirs" and os.listdir(tmp_path) == ["embedding-abc.tif"]


def test_pretrain_under_file_size_limit_is_a_message(tmp_path):
    """Training writes checkpoints in place (resumable); torch's writer loses errno, yet a file-size limit
    or full disk is still named with the figures, without a traceback or a half-written checkpoint."""
    out = tmp_path / "model"
    r = engine("pretrain", "--synthetic", "2", "--synthetic-size", "64", "--steps1", "2", "--steps2", "1",
               "--batch-size", "2", "--out", out, ulimit_kb=256)
    assert r.returncode == 2
    assert_clean_failure(r, "checkpoint.pt.partial' could not be written", "files are limited to 0.25 MB (ulimit -f)",
                         "free disk space")
    assert not out.exists() or os.listdir(out) == []


def test_embedding_larger_than_the_free_space_is_refused_before_any_work(rasters, tmp_path, monkeypatch):
    """The embedding (cache of finetune / predict, or embed's output) is checked against the disk first."""
    from engine.core import atomic
    from engine.foundation.embed import embed_stack
    from engine.foundation.features import DEFAULT_MODEL
    from engine.core.errors import OutputError
    from engine.data.layers import LayerSpec
    from engine.data.stack import StackSpec, align_stack

    stack = str(tmp_path / "stack")
    align_stack(StackSpec([LayerSpec(p, "geophysics") for p in rasters]), stack)
    monkeypatch.setattr(atomic, "free_bytes", lambda path: 10_000)
    with pytest.raises(OutputError, match=r"the embedding \(.* patches x \d+ features\) would take .* GB uncompressed, "
                                          r"but only 0.0 GB are free .*Fix: free space on that disk, or set the cache"):
        embed_stack(stack, DEFAULT_MODEL, str(tmp_path / "e.tif"), cache=True)
    assert sorted(os.listdir(tmp_path)) == ["inputs", "stack"]


def test_qgis_folder_appearing_during_the_run_is_kept(qgis_env, rasters, tmp_path):
    """Through qgis_process: a folder the user makes at the output path while the stack is written stays as it
    is; the run exits non-zero and says where its stack went (NAME_2)."""
    import time

    out = tmp_path / "stack"
    p = subprocess.Popen([QGIS_PROCESS, "run", "mpm:alignstack", *(f"--GEOPHYSICS={r}" for r in rasters),
                          "--RESOLUTION=10", f"--OUTPUT={out}"], env=qgis_env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    t0 = time.time()
    while not any(".partial" in f for f in os.listdir(tmp_path)):
        assert p.poll() is None and time.time() - t0 < 120, "the run ended before the folder could appear"
        time.sleep(0.05)
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    text, _ = p.communicate(timeout=300)
    assert p.returncode != 0 and "Traceback" not in text, text[-2000:]
    assert f"kept as '{out}_2'" in text and "left untouched" in text
    assert os.listdir(out) == ["notes.txt"] and (tmp_path / "stack_2" / "stack.tif").exists()
    assert leftovers(tmp_path) == []


def test_pretrain_init_from_with_an_architecture_flag_is_a_message(tmp_path):
    """Was a NameError traceback (InputError not imported in the CLI)."""
    from engine.foundation.features import DEFAULT_MODEL

    r = engine("pretrain", "--synthetic", "2", "--init-from", DEFAULT_MODEL, "--recon-prior", "idw",
               "--out", tmp_path / "m")
    assert r.returncode == 2
    assert_clean_failure(r, "--recon-prior and --token-mode cannot change a model given with --init-from", "drop them")
    assert not (tmp_path / "m").exists()


def test_garbage_safetensors_that_its_card_vouches_for_is_named(tmp_path):
    import shutil

    from engine.core.errors import InputError
    from engine.foundation.model.weights import load_model, read_card, sha256_file, write_card
    from engine.core.shipped import FOUNDATION_MODEL

    src = FOUNDATION_MODEL if os.path.isdir(FOUNDATION_MODEL) else os.path.dirname(FOUNDATION_MODEL)
    model = tmp_path / "model"
    shutil.copytree(src, model)
    (model / "weights.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00garbage!" * 10)
    card = read_card(str(model / "model_card.json"))
    card["sha256"] = sha256_file(str(model / "weights.safetensors"))
    write_card({k: v for k, v in card.items() if k != "_path"}, card["_path"])
    with pytest.raises(InputError, match=r"weights.safetensors' is not a safetensors file \(damaged, truncated or "
                                         r"another format\).*Fix: re-copy"):
        load_model(str(model / "model_card.json"))


def test_layer_options_and_types_are_listed_and_checked(rasters, tmp_path):
    """issue 21, item 4: `align --help` lists the per-layer options and the layer-type vocabulary; a wrong
    key or an unknown layer_type is refused naming the valid ones (CLI and spec file), nothing written."""
    from engine.data.layers import OPTIONS, LayerSpec
    from engine.data.stack import StackSpec

    h = engine("align", "--help")
    assert h.returncode == 0
    for key in OPTIONS:
        assert f"\n  {key} " in h.stdout, key
    assert "geophysics: magnetic, gravity" in h.stdout and "unknown_geology" in h.stdout
    r = engine("align", "--geophysics", f"{rasters[0]}::colour=red", "--out", tmp_path / "o")
    assert r.returncode == 2 and "unknown option 'colour'" in r.stderr and "kind, layer_type, name, nodata" in r.stderr
    r = engine("align", "--geophysics", f"{rasters[0]}::layer_type=magnetc", "--out", tmp_path / "o")
    assert r.returncode == 2 and "unknown layer_type 'magnetc'" in r.stderr and "magnetic, gravity" in r.stderr
    r = engine("align", "--geophysics", f"{rasters[0]}::band=first", "--out", tmp_path / "o")
    assert r.returncode == 2 and "band=first" in r.stderr
    assert not (tmp_path / "o").exists()
    # aliases and unit suffixes the model resolves are accepted; a spec file's typo is named
    assert LayerSpec(rasters[0], "geophysics", layer_type="mag").layer_type == "mag"
    assert LayerSpec(rasters[0], "geochemistry", layer_type="Cu_ppm").layer_type == "Cu_ppm"
    with pytest.raises(InputError, match="unknown layer option.*colour.*Fix: use path, source and: kind, layer_type"):
        StackSpec([{"path": rasters[0], "source": "geophysics", "colour": "red"}])
    with pytest.raises(InputError, match="unknown layer_type 'dem2'"):
        StackSpec([{"path": rasters[0], "source": "remote_sensing", "layer_type": "dem2"}])
