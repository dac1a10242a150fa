"""GeoSAM training: instance truth, seeded samples and prompts, the Kolari hold-out, a tiny training
run, cancel, and the shipped model beating the classical click baseline on held-out scenes."""

import csv
import os

import numpy as np
import pytest

from engine.data.synthetic import generate_scene

torch = pytest.importorskip("torch")

from engine.core.errors import Cancelled  # noqa: E402
from engine.structures import training_data as td  # noqa: E402
from engine.structures.evaluate import EVAL_SEED0, evaluate, format_table  # noqa: E402
from engine.structures.modeling import GeoSamConfig  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(ROOT, "models", "mpm-geosam-v2")
# a tiny GeoSAM: fast enough to train a few steps in a test
TINY = GeoSamConfig(widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1), dim=32, decoder_depth=2, decoder_mlp=64,
                    decoder_heads=2)


def test_fault_instances_match_the_fault_union():
    for seed, n in ((0, None), (5, 4), (11, 1)):
        sc = generate_scene(seed, size=128, n_faults=n)
        fi, fault = sc.labels["fault_instances"], sc.labels["fault"]
        assert fi.dtype == np.int32 and fi.shape == fault.shape
        np.testing.assert_array_equal(fi > 0, fault)
        ids = np.unique(fi[fi > 0])
        assert ids.min() >= 1 and (n is None or ids.max() <= n)
        if n:
            assert len(ids) == n  # every fault crosses the scene, so each one is labelled somewhere
    # adding the label changed no random draw: the other truth maps are those of a fresh scene
    a, b = generate_scene(3, size=96), generate_scene(3, size=96)
    np.testing.assert_array_equal(a.labels["fault_instances"], b.labels["fault_instances"])


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.mask, y.mask)
        np.testing.assert_array_equal(x.prompt.points, y.prompt.points)
        np.testing.assert_array_equal(x.prompt.labels, y.prompt.labels)
        assert x.feature_type == y.feature_type and (x.prompt.box is None) == (y.prompt.box is None)


def _inside(mask, xy):
    c, r = np.floor(xy[:, 0]).astype(int), np.floor(xy[:, 1]).astype(int)
    return mask[r, c]


def test_samples_are_deterministic_non_empty_and_prompts_sit_right():
    seeds = [EVAL_SEED0 + 3]
    a, b = td.synthetic_eval_samples(seeds, seed=1), td.synthetic_eval_samples(seeds, seed=1)
    _same(a, b)
    assert {s.feature_type for s in a} >= {"fault", "intrusion"}
    for s in a:
        assert s.image.shape == (3, 256, 256) and s.image.dtype == np.float32
        assert 0 <= s.image.min() and s.image.max() <= 255
        assert s.mask.sum() >= td.MIN_PIXELS[s.feature_type]
        p = s.prompt
        assert _inside(s.mask, p.points[p.labels == 1]).all()
        if p.box is not None:
            r, c = np.nonzero(s.mask)
            assert p.box[0] <= c.min() and p.box[2] >= c.max() + 1 and p.box[1] <= r.min() and p.box[3] >= r.max() + 1
    # training draws (random prompt mix with exclude clicks and jittered boxes), seeded
    entries = td.synthetic_bank([1, 2])
    draws = [[td.SampleBank(entries).draw(rng) for _ in range(40)] for rng in
             (np.random.default_rng(7), np.random.default_rng(7))]
    _same(*draws)
    n_exc = 0
    for s in draws[0]:
        p = s.prompt
        assert s.mask.any() and len(p.labels) + (p.box is not None) >= 1
        assert _inside(s.mask, p.points[p.labels == 1]).all()
        assert not _inside(s.mask, p.points[p.labels == 0]).any()
        n_exc += int((p.labels == 0).sum())
    assert n_exc >= 1 and any(s.prompt.box is not None for s in draws[0])
    assert set(s.feature_type for s in draws[0]) >= {"fault", "intrusion", "lineament"}


def test_kolari_held_out_block_never_in_training_crops(kolari):
    data = td.KolariData(kolari)
    bank = td.KolariBank(data, n_windows=24, seed=0)
    assert len(bank.entries) >= 10
    x0, y0, x1, y1 = td.KOLARI_HELD_OUT
    # the crops, and the larger windows shrunk to a zoomed-out view (resolution augmentation)
    windows = [(r0, c0, td.SIZE) for r0, c0 in bank.windows] + [(r0, c0, bank.coarse_size)
                                                                 for r0, c0 in bank.coarse_windows]
    assert bank.coarse_windows and bank.coarse_size == round(td.COARSE_ZOOM * td.SIZE)
    for r0, c0, size in windows:
        # the crop's map extent must not overlap the block
        left, top = data.transform * (c0, r0)
        right, bottom = data.transform * (c0 + size, r0 + size)
        assert right <= x0 + 1e-6 or left >= x1 or top <= y0 or bottom >= y1, (r0, c0, size)
    coarse = [e for e in bank.entries if e.source.startswith("kolari150:")]
    assert coarse and all(e.shape == (td.SIZE, td.SIZE) for e in coarse)
    # the magnetics are also seen as their tilt derivative and horizontal gradient, on the same pixels
    assert {"magnetic_tilt", "magnetic_horizontal_gradient"} <= set(data.bands)
    assert np.array_equal(np.isfinite(data.bands["magnetic_tilt"]), np.isfinite(data.bands["magnetic"]))
    assert all(n in data.bands for names, _ in td.KOLARI_BAND_SETS for n in names)
    kinds = {t for e in bank.entries for t in e.types}
    assert {"fault", "intrusion", "contact"} <= kinds
    ev = td.kolari_eval_samples(data, n_windows=2, modes=("click1",))
    assert ev and all(s.feature_type in td.FEATURE_TYPES for s in ev)
    for s in ev:
        r0, c0 = map(int, s.source.split(":")[1].split(","))
        left, top = data.transform * (c0, r0)
        right, bottom = data.transform * (c0 + td.SIZE, r0 + td.SIZE)
        assert left >= x0 - 100 and right <= x1 + 100 and bottom >= y0 - 100 and top <= y1 + 100


def test_training_views_include_the_tilt_and_other_stretches():
    """Training data closer to the task: synthetic magnetics and gravity also as their tilt derivative (what
    the tool's users trace on), and half the draws restretched (users display grids many ways)."""
    e = td.synthetic_entry(3)
    assert {"magnetic_tilt", "gravity_tilt"} <= set(e.layers)
    assert e.layers["magnetic_tilt"].std() > 10 and not np.array_equal(e.layers["magnetic_tilt"], e.layers["magnetic"])
    assert all(n in e.layers for names, _ in td.SYNTHETIC_BAND_SETS for n in names)
    rng = np.random.default_rng(0)
    changed = 0
    for _ in range(40):
        s = td.Sample(np.linspace(0, 255, 3 * 16 * 16, dtype=np.float32).reshape(3, 16, 16), None, "fault")
        before = s.image.copy()
        td.restretch(s, rng)
        assert s.image.min() >= 0 and s.image.max() <= 255.0 + 1e-3
        assert np.all(np.diff(s.image.ravel()) >= -1e-3)  # the same order of values: only the stretch changes
        changed += not np.allclose(s.image, before)
    assert 10 < changed < 30


class _Cancel:
    def __init__(self, after):
        self.n, self.after = 0, after

    def setProgress(self, p):  # noqa: N802
        pass

    def pushInfo(self, t):  # noqa: N802
        pass

    def isCanceled(self):  # noqa: N802
        self.n += 1
        return self.n > self.after


def test_centreline_f1_forgives_a_parallel_offset_iou_does_not():
    from engine.structures.evaluate import centreline_f1, iou

    truth = np.zeros((64, 64), bool)
    truth[30:32, 8:56] = True  # a 2 px wide mapped fault
    beside = np.roll(truth, 2, axis=0)  # the same trace, 2 px off
    across = truth.T.copy()  # a line crossing it
    half = truth.copy()
    half[:, 32:] = False  # half of it
    assert iou(beside, truth) == 0.0 and centreline_f1(beside, truth) == 1.0
    assert centreline_f1(np.roll(truth, 6, axis=0), truth) == 0.0  # beyond the 3 px tolerance
    assert centreline_f1(across, truth) < 0.2
    assert 0.55 < centreline_f1(half, truth) < 0.75  # precision 1, recall about a half
    assert centreline_f1(np.zeros_like(truth), truth) == 0.0


@pytest.mark.slow
def test_tiny_training_lowers_the_loss_and_writes_a_loadable_folder(tmp_path):
    from engine.structures.train import train_geosam
    from engine.structures.weights import load_geosam, read_card

    out = str(tmp_path / "geosam")
    # SAM's focal loss here (bce_warmup=0): from p = 0.5 everywhere it falls steeply once training works
    card = train_geosam(out, steps=24, batch=1, prompts_per_image=2, synthetic_scenes=3, kolari=None, config=TINY,
                        eval_seeds=[EVAL_SEED0], eval_kolari=False, onnx=False, log_every=4, lr=1e-2, threads=2,
                        bce_warmup=0, crop=128, crop_fraction=0.5)
    rows = list(csv.DictReader(open(os.path.join(out, "losses.csv"))))
    assert len(rows) == 6 and float(rows[-1]["loss"]) < 0.6 * float(rows[0]["loss"]), [r["loss"] for r in rows]
    for f in ("weights.safetensors", "model_card.json", "MODEL_CARD.md", "losses.csv", "losses.png", "evaluation.json"):
        assert os.path.isfile(os.path.join(out, f)), f
    model = load_geosam(out)
    assert model.config == TINY and model.image_encoder.img_size == 256
    c = read_card(out)
    assert c["training"]["steps"] == 24 and c["training"]["final_losses"]["loss"] > 0
    assert c["training"]["data"]["synthetic"]["held_out_seeds"] == f">= {EVAL_SEED0}"
    assert set(c["evaluation"]["synthetic"]["model"]) == {"click1", "click3", "box"}
    assert set(c["evaluation"]["synthetic"]["centreline_f1"]["model"]) == {"click1", "click3", "box"}
    ev = c["evaluation"]["synthetic"]
    n_lines = sum(ev["counts"]["click1"].get(t, 0) for t in ("fault", "lineament", "contact"))
    assert n_lines > 0 and ev["counts"]["click1"]["all"] == ev["n_samples"] // 3
    table = format_table(ev, "held out").splitlines()
    assert table[0] == "held out" and table[1].split()[-1] == "n"
    f1_at = next(i for i, line in enumerate(table) if line.startswith("centre-line F1 within 3 px"))
    rows = {line.split()[0]: line.split()[1:] for line in table[f1_at + 2:]}
    assert set(rows) <= {"fault", "lineament", "contact", "all"} and "all" in rows
    assert float(rows["all"][0]) == pytest.approx(ev["centreline_f1"]["model"]["click1"]["all"], abs=1e-3)
    assert card["sha256"] == c["sha256"]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".partial")]


def test_cancel_leaves_nothing(tmp_path):
    from engine.structures.train import train_geosam

    out = tmp_path / "geosam"
    with pytest.raises(Cancelled):
        train_geosam(str(out), steps=50, batch=1, prompts_per_image=1, synthetic_scenes=2, kolari=None, config=TINY,
                     feedback=_Cancel(after=5), onnx=False, log_every=1)
    assert not out.exists() and os.listdir(tmp_path) == []


def test_cli_has_sam_train():
    from engine.cli import build_parser

    a = build_parser().parse_args(["sam-train", "--out", "x", "--steps", "5", "--minutes", "1", "--kolari", "none"])
    assert a.command == "sam-train" and a.steps == 5 and a.minutes == 1.0


@pytest.mark.skipif(not os.path.isfile(os.path.join(SHIPPED, "model_card.json")), reason="no shipped GeoSAM yet")
@pytest.mark.slow
def test_shipped_model_loads_verifies_and_beats_the_baseline():
    from engine.foundation.model.weights import sha256_file
    from engine.structures.weights import load_geosam

    model = load_geosam(SHIPPED)  # checks the card's sha256 before parsing
    card = model.card
    assert sha256_file(os.path.join(SHIPPED, card["weights_file"])) == card["sha256"]
    assert os.path.getsize(os.path.join(SHIPPED, card["weights_file"])) < 15e6
    assert card["training"]["steps"] > 0 and card["evaluation"]["synthetic"]["model"]["click1"]["all"] > 0
    # held-out scenes the card's evaluation did not use either (training seeds are all < EVAL_SEED0)
    # what the shipped model is good for (README): faults and contacts, where the ridge filter and the watershed miss;
    # overall it is level with the baseline (it loses on dykes), so that is not claimed here
    samples = td.synthetic_eval_samples(range(EVAL_SEED0 + 500, EVAL_SEED0 + 508), modes=("click1",), seed=5)
    r = evaluate(model, samples)
    m, b = r["model"]["click1"], r["baseline"]["click1"]
    assert m["fault"] > 1.5 * b["fault"] and m["contact"] > 1.5 * b["contact"], (m, b)


@pytest.mark.skipif(not os.path.isfile(os.path.join(SHIPPED, "model_card.json")), reason="no shipped GeoSAM yet")
@pytest.mark.slow
def test_shipped_model_snapped_to_edges_traces_real_kolari_intrusions(kolari):
    """Why the tool snaps bodies by default: on the held-out Kolari block the model finds the 1:1M plutons but
    draws them too small, the watershed alone stops short; seeded with the model's mask it beats both."""
    from engine.structures.evaluate import MODES, held_out_samples
    from engine.structures.weights import load_geosam

    samples = [s for s in held_out_samples(eval_seeds=[], kolari=kolari)["kolari"] if s.feature_type == "intrusion"]
    assert len(samples) >= 3 * len(MODES)
    r = evaluate(load_geosam(SHIPPED), samples)
    for mode in MODES:
        m, snap, b = (r[k][mode]["intrusion"] for k in ("model", "snapped", "baseline"))
        assert snap > 1.5 * m and snap > 1.5 * b, (mode, m, snap, b)
