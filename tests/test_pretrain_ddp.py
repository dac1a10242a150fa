"""Data-parallel pretraining: the single-process path is unchanged, and 2 gloo processes on the CPU
(started by torchrun, as a user would) train, stop together on cancel, and write one model from rank 0."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from helpers import ROOT
from test_model_pretrain import SMALL, tiny_scene

from engine.foundation.model.pretrain import pretrain, state_digest

pytestmark = pytest.mark.slow

# A rank of a torchrun job: tiny pretraining, then its summary (or its cancel) to rank<N>.json.
WORKER = r"""
import json, os, sys
sys.path[:0] = [sys.argv[1], os.path.join(sys.argv[1], "tests")]
from test_model_pretrain import SMALL, tiny_scene
from engine.core.errors import Cancelled
from engine.foundation.model.pretrain import pretrain
from engine.core.progress import Feedback
out, report, mode = sys.argv[2], sys.argv[3], sys.argv[4]
rank = int(os.environ["RANK"])

class CancelOnRank1(Feedback):  # only rank 1 is asked to stop, after its 4th check
    calls = 0
    def isCanceled(self):
        self.calls += 1
        return rank == 1 and self.calls > 4

fb = CancelOnRank1() if mode == "cancel" else None
try:
    r = pretrain([tiny_scene(0), tiny_scene(1)], SMALL, steps_stage1=8, steps_stage2=4, out_dir=out, seed=0,
                 batch_size=4, lr=3e-3, checkpoint_every=100, feedback=fb)
except Cancelled:
    r = {"cancelled": True}
with open(os.path.join(report, f"rank{rank}.json"), "w") as f:
    json.dump(r, f)
"""


def _weights(folder):
    w = load_file(os.path.join(folder, "weights.safetensors"))
    return {k: w[k] for k in sorted(w)}


def test_single_process_path_is_unchanged(tmp_path, monkeypatch):
    """WORLD_SIZE unset and WORLD_SIZE=1 (torchrun with one process) give the same weights, bit for bit:
    the single process keeps its historical seeds and never touches torch.distributed."""
    import torch.distributed as dist

    kw = dict(steps_stage1=6, steps_stage2=3, seed=0, batch_size=4, lr=3e-3, checkpoint_every=100)
    scenes = [tiny_scene(0), tiny_scene(1)]
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    a = pretrain(scenes, SMALL, out_dir=str(tmp_path / "a"), **kw)
    monkeypatch.setenv("WORLD_SIZE", "1")
    pretrain(scenes, SMALL, out_dir=str(tmp_path / "b"), **kw)
    assert not dist.is_initialized()
    assert "rank" not in a and "state_digest" not in a  # the summary is as before
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])


def _torchrun(tmp_path, mode):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out, report = tmp_path / "model", tmp_path / "report"
    report.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        str(script), ROOT, str(out), str(report), mode],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=180)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    ranks = [json.loads((report / f"rank{i}.json").read_text()) for i in range(2)]
    return out, ranks


def test_two_gloo_processes_train_identical_weights_and_rank0_writes(tmp_path):
    from engine.foundation.model.weights import load_model

    out, (r0, r1) = _torchrun(tmp_path, "train")
    assert (r0["rank"], r1["rank"]) == (0, 1) and r0["world_size"] == r1["world_size"] == 2
    assert r0["state_digest"] == r1["state_digest"]  # DDP kept the ranks' weights identical
    assert sorted(os.listdir(out)) == ["MODEL_CARD.md", "checkpoint.pt", "losses.csv", "losses.png", "model_card.json",
                                       "pretrain_summary.json", "weights.safetensors"]
    model = load_model(str(out))  # sha256-checked weights written by rank 0 are the trained ones
    assert state_digest(model) == r0["state_digest"]
    rows = (out / "losses.csv").read_text().splitlines()
    assert len(rows) == 1 + 8 * 2 + 4  # one curve (rank 0's, stage 1 averaged over ranks), not one per rank


def test_cancel_on_one_rank_stops_every_rank(tmp_path):
    import torch

    out, ranks = _torchrun(tmp_path, "cancel")
    assert ranks == [{"cancelled": True}, {"cancelled": True}]
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (ck["stage"], ck["step"]) == (1, 4)  # rank 0 saved where both stopped: resumable
    assert not (out / "weights.safetensors").exists()
