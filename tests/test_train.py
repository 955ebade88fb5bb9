"""Trainer + COCOLA recipe: tiny models, 1 s clips, a few steps (seconds)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import subprocess_pythonpath

torch = pytest.importorskip("torch")

from timbrefast.checkpoints import load_model  # noqa: E402
from timbrefast.models import CocolaConfig  # noqa: E402
from timbrefast.train import Trainer, TrainerConfig  # noqa: E402
from timbrefast.train.cocola import CocolaRecipe, CocolaRecipeConfig, split_tracks  # noqa: E402

SR = 16000
ROOT = Path(__file__).resolve().parents[1]


def _pairs(n, seed):
    """(anchor, positive) sub-mixes sharing a pitch and a pulse (1 s at 16 kHz)."""
    g = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    out = []
    for _ in range(n):
        f0 = 110 * 2 ** (g.integers(0, 24) / 12)
        pulse = (np.sin(2 * np.pi * g.uniform(1, 4) * t) > 0.9).astype(np.float32)
        a = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * g.standard_normal(SR)
        p = 0.3 * np.sin(2 * np.pi * 1.5 * f0 * t) * (0.5 + pulse) + 0.01 * g.standard_normal(SR)
        out.append((a.astype(np.float32), p.astype(np.float32)))
    return out


TINY = CocolaConfig(widths=(4, 8), embedding_dim=16)
RECIPE = CocolaRecipeConfig(batch_size=4, seconds=1.0, val_pairs=8, seed=3)


def _trainer(out, steps, *, recipe_cfg=RECIPE, model_cfg=TINY, **trainer_options):
    recipe = CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=model_cfg, config=recipe_cfg)
    cfg = TrainerConfig(out_dir=str(out), steps=steps, lr=1e-3, seed=recipe_cfg.seed,
                        val_every=2, ckpt_every=2, log_every=1, progress=False, **trainer_options)
    return Trainer(recipe, cfg)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_training_runs_logs_validates_and_saves(tmp_path):
    trainer = _trainer(tmp_path / "run", steps=4)
    before = _weights(trainer.model)
    result = trainer.fit()
    assert result["step"] == 4 and not result["stopped_early"]
    assert set(result["validation"]) == {"k2", "k8", "k2_mean", "k8_mean"}
    assert all(0.0 <= v <= 1.0 for v in result["validation"].values())
    after = trainer.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss"]) for r in log if "loss" in r)
    assert any("val_k2" in r for r in log)
    ckpt = tmp_path / "run" / "checkpoint"
    assert {p.name for p in ckpt.iterdir()} == {"config.json", "model.safetensors", "optimizer.safetensors", "trainer.json"}
    model = load_model(tmp_path / "run" / "model")
    for k, v in trainer.model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)


def test_deterministic_under_seed(tmp_path):
    a = _trainer(tmp_path / "a", steps=3)
    a.fit()
    b = _trainer(tmp_path / "b", steps=3)
    b.fit()
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k


def test_resume_equals_uninterrupted(tmp_path):
    straight = _trainer(tmp_path / "s", steps=4)
    straight.fit()
    first = _trainer(tmp_path / "r", steps=2)
    first.fit()
    resumed = _trainer(tmp_path / "r", steps=4)
    assert resumed.load_checkpoint() and resumed.step == 2
    resumed = _trainer(tmp_path / "r", steps=4)
    resumed.fit()
    assert resumed.step == 4
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, rtol=0, atol=0)


def test_learning_rate_schedules(tmp_path):
    const = TrainerConfig(out_dir=str(tmp_path), steps=100, lr=1e-3)
    assert [const.learning_rate(s) for s in (0, 50, 99)] == [1e-3] * 3
    warm = TrainerConfig(out_dir=str(tmp_path), steps=100, lr=1e-3, warmup_steps=4)
    np.testing.assert_allclose([warm.learning_rate(s) for s in range(5)], [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3])
    cos = TrainerConfig(out_dir=str(tmp_path), steps=110, lr=1e-3, min_lr=1e-5, lr_schedule="cosine", warmup_steps=10)
    assert cos.learning_rate(10) == pytest.approx(1e-3)
    assert cos.learning_rate(60) == pytest.approx((1e-3 + 1e-5) / 2)
    assert cos.learning_rate(110) == pytest.approx(1e-5)
    rates = [cos.learning_rate(s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainerConfig(out_dir=str(tmp_path), lr_schedule="step")
    with pytest.raises(ValueError, match="min_lr"):
        TrainerConfig(out_dir=str(tmp_path), lr=1e-3, min_lr=1e-2)
    with pytest.raises(ValueError, match="warmup_steps"):
        TrainerConfig(out_dir=str(tmp_path), warmup_steps=-1)


def test_optimizer_follows_the_schedule_and_resume_keeps_it(tmp_path):
    opts = dict(lr_schedule="cosine", warmup_steps=1, min_lr=1e-5)
    straight = _trainer(tmp_path / "s", steps=4, **opts)
    straight.fit()
    log = [json.loads(line) for line in (tmp_path / "s" / "log.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in log if "lr" in r]
    np.testing.assert_allclose(lrs, [straight.config.learning_rate(s) for s in range(4)])
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] < lrs[1]
    _trainer(tmp_path / "r", steps=2, **opts).fit()  # a shorter run, then resumed to 4 with the same curve
    resumed = _trainer(tmp_path / "r", steps=4, **opts)
    resumed.fit()
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, rtol=0, atol=0)


def test_keep_best_saves_the_best_validated_model(tmp_path):
    trainer = _trainer(tmp_path / "run", steps=6, keep_best="k2_mean")
    result = trainer.fit()
    vals = [(r["step"], r["val_k2_mean"]) for r in map(json.loads, (tmp_path / "run" / "log.jsonl").read_text().splitlines())
            if "val_k2_mean" in r]
    best_step, best_value = max(vals, key=lambda sv: (sv[1], -sv[0]))
    assert result["best"] == {"metric": "k2_mean", "value": best_value, "step": best_step}
    info = json.loads((tmp_path / "run" / "best" / "best.json").read_text())
    assert info["step"] == best_step and info["validation"]["k2_mean"] == best_value
    assert load_model(tmp_path / "run" / "best").config == TINY
    # the best record survives a resume
    again = _trainer(tmp_path / "run", steps=6, keep_best="k2_mean")
    assert again.load_checkpoint() and again.best == result["best"]
    with pytest.raises(ValueError, match="k3.*k2_mean"):  # refused before step 0
        _trainer(tmp_path / "bad", steps=2, keep_best="k3")
    assert not (tmp_path / "bad").exists()


def test_channel_masking_uses_silence(tmp_path):
    recipe = CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=TINY, config=RECIPE)
    batch = recipe.batch(0, 0, 1)
    keep = batch["keep"]
    assert keep.shape == (4, 2) and keep.any(dim=1).all()  # never both dropped
    seen = {}

    class Spy(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.head = inner.head

        def forward(self, a, p):
            seen["a"], seen["p"] = a, p
            return self.inner(a, p)

    recipe.loss(Spy(recipe.model), batch, 0)
    for i in range(4):
        for c in range(2):
            for x, raw in ((seen["a"], batch["anchors"]), (seen["p"], batch["positives"])):
                if keep[i, c]:
                    assert torch.equal(x[i, c], raw[i, c])
                else:  # the same channel is dropped in anchor and positive, set to silence
                    assert bool((x[i, c] == -80.0).all())


def test_masking_choice_per_batch_or_per_pair():
    per_batch = CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=TINY, config=RECIPE)
    cfg = CocolaRecipeConfig(batch_size=4, seconds=1.0, val_pairs=8, seed=3, masking_per="pair")
    per_pair = CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=TINY, config=cfg)
    patterns_batch, patterns_pair = set(), set()
    for step in range(12):
        kb = per_batch.batch(step, 0, 1)["keep"]
        assert bool((kb == kb[0]).all())  # one choice for the whole batch
        patterns_batch.add(tuple(kb[0].tolist()))
        patterns_pair.update(tuple(r) for r in per_pair.batch(step, 0, 1)["keep"].tolist())
    assert patterns_batch == patterns_pair == {(False, True), (True, False), (True, True)}
    with pytest.raises(ValueError, match="masking_per"):
        CocolaRecipeConfig(masking_per="clip")


def test_config_validation(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        CocolaRecipeConfig(batch_size=1)
    with pytest.raises(ValueError, match="steps"):
        TrainerConfig(out_dir=str(tmp_path), steps=0)
    with pytest.raises(ValueError, match="lr"):
        TrainerConfig(out_dir=str(tmp_path), lr=-1.0)
    with pytest.raises(ValueError, match="2 tracks"):
        split_tracks(["only"], val_fraction=0.1, seed=0)
    train, val = split_tracks(list(range(20)), val_fraction=0.1, seed=0)
    assert len(val) == 2 and sorted(train + val) == list(range(20))
    assert split_tracks(list(range(20)), val_fraction=0.1, seed=0) == (train, val)
    with pytest.raises(ValueError, match="empty"):
        CocolaRecipe([], [], model_config=TINY, config=RECIPE)


_DDP_SCRIPT = r"""
import sys, json, numpy as np, torch, torch.distributed as dist
sys.path.insert(0, sys.argv[2])
from test_train import _trainer
t = _trainer(sys.argv[1], steps=2)
res = t.fit(resume=False)
w = torch.cat([p.detach().flatten() for p in t.model.parameters()])
ws = [torch.zeros_like(w) for _ in range(dist.get_world_size())]
dist.all_gather(ws, w)
with open(f"{sys.argv[1]}.rank{dist.get_rank()}.json", "w") as f:
    json.dump({"rank": dist.get_rank(), "same": bool(all(torch.equal(ws[0], x) for x in ws)), "step": res["step"]}, f)
# Both ranks are past every collective and have written their results (rank 0 also the
# model, inside fit): leave without the process-group teardown, as the workers of
# test_losses_distributed.py do (that teardown once hung a rank for minutes in CI).
dist.barrier()
sys.stdout.flush()
import os
os._exit(0)
"""


def test_ddp_two_processes_gloo(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(_DDP_SCRIPT)
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath(),
           "OMP_NUM_THREADS": "1"}
    import socket

    with socket.socket() as sock:  # a free port: a fixed one can collide with other jobs
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
         str(script), str(tmp_path / "ddp"), str(Path(__file__).parent)],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads((tmp_path / f"ddp.rank{r}.json").read_text()) for r in range(2)]
    assert len(lines) == 2 and all(r["same"] and r["step"] == 2 for r in lines)
    assert (tmp_path / "ddp" / "model" / "model.safetensors").exists()


def test_feature_cache_pool(tmp_path):
    cfg = CocolaRecipeConfig(batch_size=4, seconds=1.0, val_pairs=8, seed=3, cache_pairs=10)
    recipe = CocolaRecipe(_pairs(6, 0), _pairs(8, 1), model_config=TINY, config=cfg,
                          cache_dir=tmp_path / "cache", progress=False)
    a, p = recipe._cache
    assert a.shape == (10, 2, 64, 101) and a.dtype == np.float16
    # pair j of the pool is item j % len of the sampler: its features, to float16 precision
    src = _pairs(6, 0)
    for j in (4, 9):  # pool entry j is sampler item j % 6
        direct = recipe.features(np.stack([recipe._fit_length(src[j % 6][0])])).numpy()[0]
        np.testing.assert_allclose(a[j].astype(np.float32), direct, atol=0.05)
    batch = recipe.batch(0, 0, 1)
    assert batch["anchors"].shape == (4, 2, 64, 101) and batch["anchors"].dtype == torch.float32
    # a second recipe with the same configuration reuses the files
    again = CocolaRecipe(_pairs(6, 0), _pairs(8, 1), model_config=TINY, config=cfg,
                         cache_dir=tmp_path / "cache", progress=False)
    assert isinstance(again._cache[0], np.memmap)
    np.testing.assert_array_equal(np.asarray(again._cache[1]), np.asarray(p))
    out = tmp_path / "run"
    t = Trainer(again, TrainerConfig(out_dir=str(out), steps=2, val_every=2, ckpt_every=0, progress=False, seed=3))
    assert t.fit()["step"] == 2


def test_train_cocola_command_end_to_end(tmp_path):
    """`timbrefast train cocola` on a tiny synthesized Slakh-layout set: trains, validates,
    writes a loadable model, and a second call resumes from the checkpoint."""
    pytest.importorskip("fluidsynth", reason="needs the [synth] extra to synthesize stems")
    sf2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
    if not sf2.is_file():
        pytest.skip("TimGM6mb.sf2 is not installed (scripts/install_system_deps.sh)")
    from timbrefast.cli import main
    from timbrefast.data import synthesize_stems

    data = tmp_path / "stems"
    synthesize_stems(data, soundfont=sf2, tracks=6, seed=3, seconds=8.0, progress=False)
    out = tmp_path / "run"
    args = ["--threads", "1", "train", "cocola", "--data", str(data), "--out", str(out),
            "--batch-size", "4", "--val-fraction", "0.34", "--val-pairs", "4", "--val-every", "2",
            "--ckpt-every", "2", "--no-progress", "--head-init-std", "0.005"]
    assert main(args + ["--steps", "2"]) == 0
    state = json.loads((out / "checkpoint" / "trainer.json").read_text())
    assert state["step"] == 2
    model = load_model(out / "model")
    assert model.config.encoder == "small"
    assert main(args + ["--steps", "3"]) == 0  # resumes at step 2, stops at 3
    assert json.loads((out / "checkpoint" / "trainer.json").read_text())["step"] == 3
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert any("val_k2" in rec for rec in log)

    # a separate validation set, warm start from the model above, cosine schedule, best model kept
    val = tmp_path / "val"
    synthesize_stems(val, soundfont=sf2, tracks=2, seed=4, seconds=8.0, progress=False)
    fine = tmp_path / "fine"
    args2 = ["--threads", "1", "train", "cocola", "--data", str(data), "--val-data", str(val),
             "--out", str(fine), "--init-from", str(out / "model"), "--batch-size", "4", "--val-pairs", "4",
             "--val-every", "1", "--ckpt-every", "0", "--log-every", "1", "--no-progress", "--lr-schedule", "cosine",
             "--keep-best", "k2_mean", "--steps", "2"]
    assert main(args2 + ["--lr", "1e-12", "--min-lr", "0"]) == 0
    log2 = [json.loads(line) for line in (fine / "log.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in log2 if "lr" in r]
    assert lrs[0] == pytest.approx(1e-12) and lrs[-1] < lrs[0]
    assert any("val_k2_mean" in r for r in log2)
    assert (fine / "best" / "best.json").is_file() and load_model(fine / "best").config == model.config
    tuned = dict(load_model(fine / "model").named_parameters())  # a vanishing learning rate:
    for k, v in load_model(out / "model").named_parameters():  # still the initial weights
        torch.testing.assert_close(tuned[k], v, rtol=0, atol=1e-6)
    assert main(args2 + ["--encoder", "efficientnet-b0", "--out", str(tmp_path / "x")]) == 2  # contradicts


# -- checkpoint layout, atomic replacement, resume checks ----------------------------------

def test_checkpoint_folder_loads_like_a_model(tmp_path):
    trainer = _trainer(tmp_path / "run", steps=2)
    trainer.fit()
    ckpt = tmp_path / "run" / "checkpoint"
    state = json.loads((ckpt / "trainer.json").read_text())
    assert state["step"] == 2 and set(state["files"]) == {"config.json", "model.safetensors", "optimizer.safetensors"}
    model = load_model(ckpt)  # exactly like model/ and best/
    assert model.config == TINY
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    assert not (tmp_path / "run" / "checkpoint.tmp").exists() and not (tmp_path / "run" / "checkpoint.old").exists()


def _straight_weights(tmp_path, steps):
    t = _trainer(tmp_path / f"straight{steps}", steps=steps)
    t.fit()
    return _weights(t.model)


def test_kill_between_the_renames_resumes_from_the_newest_complete_checkpoint(tmp_path, monkeypatch):
    """#12 defect 5: the old trainer deleted checkpoint/ before renaming checkpoint.tmp/; a
    kill in between left no checkpoint/ and resume restarted at step 0."""
    from timbrefast.train import trainer as trainer_module

    run = tmp_path / "run"
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        # os.replace is also how save_model writes its files: count only the promotions of
        # checkpoint.tmp to checkpoint, and kill the second (the step-4 save)
        if calls[-1] == ("checkpoint.tmp", "checkpoint") and calls.count(("checkpoint.tmp", "checkpoint")) > 1:
            raise KeyboardInterrupt("killed between the renames")  # the step-4 save: checkpoint/ is gone
        return real_replace(src, dst)

    monkeypatch.setattr(trainer_module.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        _trainer(run, steps=6).fit()
    monkeypatch.setattr(trainer_module.os, "replace", real_replace)
    assert not (run / "checkpoint").exists()  # what the kill left: the step-2 one as .old, step 4 as .tmp
    assert {p.name for p in run.iterdir() if p.name.startswith("checkpoint")} == {"checkpoint.old", "checkpoint.tmp"}
    resumed = _trainer(run, steps=6)
    assert resumed.load_checkpoint() and resumed.step == 4
    resumed = _trainer(run, steps=6)
    resumed.fit()
    assert resumed.step == 6 and (run / "checkpoint").is_dir() and not (run / "checkpoint.old").exists()
    for k, v in _straight_weights(tmp_path, 6).items():
        assert torch.equal(resumed.model.state_dict()[k], v), k


def test_kill_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from timbrefast.train import trainer as trainer_module

    run = tmp_path / "run"
    real = trainer_module.Trainer._write_state_files

    def write(self, folder):
        if self.step == 4:
            (folder / "model.safetensors").write_bytes(b"partial")
            raise KeyboardInterrupt("killed while writing")
        return real(self, folder)

    monkeypatch.setattr(trainer_module.Trainer, "_write_state_files", write)
    with pytest.raises(KeyboardInterrupt):
        _trainer(run, steps=6).fit()
    monkeypatch.undo()
    assert json.loads((run / "checkpoint" / "trainer.json").read_text())["step"] == 2
    resumed = _trainer(run, steps=6)
    resumed.fit()
    for k, v in _straight_weights(tmp_path, 6).items():
        assert torch.equal(resumed.model.state_dict()[k], v), k


def test_an_incomplete_checkpoint_is_not_taken(tmp_path):
    run = tmp_path / "run"
    _trainer(run, steps=2).fit()
    # a newer but truncated copy (its manifest disagrees with the file sizes) is ignored
    import shutil

    shutil.copytree(run / "checkpoint", run / "checkpoint.tmp")
    state = json.loads((run / "checkpoint.tmp" / "trainer.json").read_text())
    state["step"] = 9
    (run / "checkpoint.tmp" / "trainer.json").write_text(json.dumps(state))
    with open(run / "checkpoint.tmp" / "optimizer.safetensors", "r+b") as f:
        f.truncate(10)
    t = _trainer(run, steps=4)
    assert t.latest_checkpoint() == run / "checkpoint"
    assert t.load_checkpoint() and t.step == 2


@pytest.mark.parametrize("change", ["batch_size", "lr", "data"])
def test_resume_with_a_changed_run_is_refused_unless_forced(tmp_path, change):
    run = tmp_path / "run"
    _trainer(run, steps=2).fit()
    recipe_cfg, train = RECIPE, _pairs(12, 0)
    opts = {}
    if change == "batch_size":
        recipe_cfg = CocolaRecipeConfig(batch_size=6, seconds=1.0, val_pairs=8, seed=3)
    elif change == "lr":
        opts = {"lr": 5e-4}
    else:
        train = _pairs(10, 0)

    def make():
        recipe = CocolaRecipe(train, _pairs(8, 1), model_config=TINY, config=recipe_cfg)
        cfg = TrainerConfig(out_dir=str(run), steps=3, seed=3, val_every=0, ckpt_every=0, progress=False,
                            **{"lr": 1e-3, **opts})
        return Trainer(recipe, cfg)

    with pytest.raises(ValueError, match="--force"):
        make().fit()
    assert json.loads((run / "checkpoint" / "trainer.json").read_text())["step"] == 2  # untouched
    with pytest.warns(UserWarning, match="changed"):
        assert make().fit(force=True)["step"] == 3


# -- device, DDP backend, AMP, workers, clipping, TensorBoard ------------------------------

def test_device_checks(tmp_path):
    from timbrefast.train import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not usable"):
            _trainer(tmp_path / "x", steps=1, device="cuda")
    with pytest.raises(ValueError, match="amp=True needs a CUDA device"):
        _trainer(tmp_path / "x", steps=1, device="cpu", amp=True)
    with pytest.raises(ValueError, match="amp_dtype"):
        TrainerConfig(out_dir=str(tmp_path), amp_dtype="float8")
    with pytest.raises(ValueError, match="grad_clip"):
        TrainerConfig(out_dir=str(tmp_path), grad_clip=0.0)
    with pytest.raises(ValueError, match="keep_best needs validation"):
        TrainerConfig(out_dir=str(tmp_path), keep_best="k2", val_every=0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        _trainer(tmp_path / "file", steps=1)


def test_a_cpu_model_uses_gloo_even_where_cuda_exists(tmp_path, monkeypatch):
    """The old trainer chose NCCL whenever CUDA was present, so torchrun on a GPU machine
    wrapped a CPU model in a process group that cannot reduce CPU tensors."""
    import torch.distributed as dist

    seen = {}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend=None, **kw: seen.setdefault("backend", backend))
    monkeypatch.setattr(dist, "get_rank", lambda *a: 0)
    monkeypatch.setattr(dist, "get_world_size", lambda *a: 2)
    t = _trainer(tmp_path / "run", steps=1, device="cpu")
    assert seen["backend"] == "gloo" and t.device.type == "cpu" and t.world == 2


def test_dataloader_workers_give_the_same_batches(tmp_path):
    inline = _trainer(tmp_path / "w0", steps=3)
    inline.fit()
    workers = _trainer(tmp_path / "w2", steps=3, num_workers=2)
    workers.fit()
    for k, v in inline.model.state_dict().items():
        assert torch.equal(workers.model.state_dict()[k], v), k
    # and a resumed run with workers continues exactly
    _trainer(tmp_path / "r", steps=2, num_workers=2).fit()
    resumed = _trainer(tmp_path / "r", steps=3, num_workers=2)
    resumed.fit()
    for k, v in inline.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[k], v), k


def test_gradient_clipping(tmp_path):
    trainer = _trainer(tmp_path / "run", steps=2, grad_clip=1e-3)
    norms = []
    step = trainer.optimizer.step

    def spy(*a, **kw):
        norms.append(float(torch.linalg.vector_norm(torch.stack(
            [p.grad.norm() for p in trainer.model.parameters() if p.grad is not None]))))
        return step(*a, **kw)

    trainer.optimizer.step = spy
    trainer.fit()
    assert len(norms) == 2 and all(n <= 1e-3 * (1 + 1e-4) for n in norms)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert all(r["grad_norm"] > 1e-3 for r in log if "loss" in r)  # the norm before clipping is logged


def test_tensorboard(tmp_path):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"timbrefast\[tensorboard\]"):
            _trainer(tmp_path / "run", steps=1, tensorboard=True)
        return
    _trainer(tmp_path / "run", steps=2, tensorboard=True).fit()
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


_SIGINT_SCRIPT = r"""
import json, sys, time
import torch
import timbrefast
sys.path.insert(0, sys.argv[2])
torch.set_num_threads(int(sys.argv[3]))  # the parent's thread counts: bit-identical arithmetic
timbrefast.set_num_threads(int(sys.argv[4]))
import test_train as tt
from timbrefast.train.cocola import CocolaRecipe

class Slow(CocolaRecipe):
    def batch(self, step, rank, world):
        if step == 3:
            open(sys.argv[1] + ".ready", "w").close()
        time.sleep(0.2)
        return super().batch(step, rank, world)

recipe = Slow(tt._pairs(12, 0), tt._pairs(8, 1), model_config=tt.TINY, config=tt.RECIPE)
t = tt.Trainer(recipe, tt.TrainerConfig(out_dir=sys.argv[1], steps=10000, seed=3, val_every=0, ckpt_every=0,
                                       log_every=1, progress=False, num_workers=int(sys.argv[5])))
print(json.dumps(t.fit()))
"""


@pytest.mark.parametrize("workers", [0, 1])
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path, workers):
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it (DataLoader
    workers included): the run stops after the current step with a checkpoint."""
    import signal
    import time

    script = tmp_path / "sigint.py"
    script.write_text(_SIGINT_SCRIPT)
    run = tmp_path / "run"
    import timbrefast

    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath()}
    proc = subprocess.Popen([sys.executable, str(script), str(run), str(Path(__file__).parent),
                             str(torch.get_num_threads()), str(timbrefast.get_num_threads()), str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not Path(str(run) + ".ready").exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the training never reached step 3"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    result = json.loads(out.strip().splitlines()[-1])
    # workers prepare batches ahead: batch 3 may be ready while the optimiser is at step 1
    assert result["interrupted"] == "SIGINT" and (3 if workers == 0 else 1) <= result["step"] < 10000
    state = json.loads((run / "checkpoint" / "trainer.json").read_text())
    assert state["step"] == result["step"]
    assert not (run / "model").exists()  # the run is not finished
    # the checkpoint is the state after that many steps, and the run resumes from it
    ref = _trainer(tmp_path / "ref", steps=result["step"])
    ref.fit()
    saved = load_model(run / "checkpoint")
    for k, v in ref.model.state_dict().items():
        assert torch.equal(saved.state_dict()[k], v), k
    again = _trainer(run, steps=result["step"] + 1)
    assert again.load_checkpoint() and again.step == result["step"]
