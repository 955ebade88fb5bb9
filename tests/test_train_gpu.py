"""The trainer on CUDA: model and batches on the device, mixed precision, one DDP step with
NCCL. Skipped with a reason where no CUDA device is usable."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import subprocess_pythonpath

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)"),
]


def _autocast_on():
    try:
        return torch.is_autocast_enabled("cuda")
    except TypeError:  # torch < 2.4: no device argument, the CUDA state
        return torch.is_autocast_enabled()


class _Spy:
    """Wraps a recipe and records where the model and the batches are."""

    def __init__(self, inner):
        self.inner = inner
        self.model = inner.model
        self.seen = []

    def batch(self, step, rank, world):
        return self.inner.batch(step, rank, world)

    def loss(self, model, batch, step):
        self.seen.append({"model": type(model).__name__, "batch": {k: v.device.type for k, v in batch.items()},
                          "autocast": _autocast_on()})
        return self.inner.loss(model, batch, step)

    def validate(self, model):
        return self.inner.validate(model)

    def save_model(self, model, path):
        return self.inner.save_model(model, path)


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
def test_steps_on_cuda_with_amp(tmp_path, amp_dtype):
    from test_train import RECIPE, TINY, _pairs

    from timbrefast.checkpoints import load_model
    from timbrefast.train import Trainer, TrainerConfig
    from timbrefast.train.cocola import CocolaRecipe

    recipe = _Spy(CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=TINY, config=RECIPE))
    cfg = TrainerConfig(out_dir=str(tmp_path / "run"), steps=2, seed=3, val_every=2, ckpt_every=1, log_every=1,
                        progress=False, amp=True, amp_dtype=amp_dtype, grad_clip=1.0, num_workers=1)
    trainer = Trainer(recipe, cfg)
    assert trainer.device.type == "cuda"  # the default where CUDA is usable
    result = trainer.fit()
    assert result["step"] == 2 and set(result["validation"]) >= {"k2", "k2_mean"}
    assert all(p.is_cuda for p in trainer.model.parameters())
    assert all(s["batch"] == {"anchors": "cuda", "positives": "cuda", "keep": "cuda"} and s["autocast"]
               for s in recipe.seen)
    model = load_model(tmp_path / "run" / "checkpoint")
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v.cpu()), k
    resumed = Trainer(_Spy(CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=TINY, config=RECIPE)), cfg)
    assert resumed.load_checkpoint() and resumed.step == 2


_NCCL_SCRIPT = r"""
import json, os, sys
import torch, torch.distributed as dist
sys.path.insert(0, sys.argv[2])
if int(os.environ["WORLD_SIZE"]) == 1:  # one GPU: a one-process group, still DDP over NCCL
    dist.init_process_group("nccl")
from test_gpu_spy import run
print(json.dumps(run(sys.argv[1])))
"""

_SPY_MODULE = r"""
import json, torch, torch.distributed as dist
from test_train import RECIPE, TINY, _pairs
from test_train_gpu import _Spy
from timbrefast.train import Trainer, TrainerConfig
from timbrefast.train.cocola import CocolaRecipe

def run(out):
    recipe = _Spy(CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=TINY, config=RECIPE))
    t = Trainer(recipe, TrainerConfig(out_dir=out, steps=1, seed=3, val_every=1, ckpt_every=0, progress=False))
    res = t.fit(resume=False)
    w = torch.cat([p.detach().flatten() for p in t.model.parameters()])
    ws = [torch.zeros_like(w) for _ in range(dist.get_world_size())]
    dist.all_gather(ws, w)
    out = {"rank": dist.get_rank(), "backend": dist.get_backend(), "device": str(t.device),
           "wrapper": recipe.seen[0]["model"], "batch": recipe.seen[0]["batch"], "step": res["step"],
           "same": bool(all(torch.equal(ws[0], x) for x in ws))}
    with open(f"{t.out}.rank{dist.get_rank()}.json", "w") as f:
        json.dump(out, f)
    return out
"""


def test_one_ddp_step_on_cuda_with_nccl(tmp_path):
    here = Path(__file__).parent
    (tmp_path / "test_gpu_spy.py").write_text(_SPY_MODULE)
    script = tmp_path / "nccl.py"
    script.write_text(_NCCL_SCRIPT)
    nproc = min(2, torch.cuda.device_count())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath(str(here), str(tmp_path)), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_port", port,
         str(script), str(tmp_path / "ddp"), str(here)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"ddp.rank{r}.json").read_text()) for r in range(nproc)]
    for r in ranks:
        assert r["backend"] == "nccl" and r["device"] == f"cuda:{r['rank']}"
        assert r["wrapper"] == "DistributedDataParallel" and r["step"] == 1 and r["same"]
        assert set(r["batch"].values()) == {"cuda"}
    assert (tmp_path / "ddp" / "model" / "model.safetensors").exists()
