"""Retrieval recipe: batch structure, hard negatives, loss, validation, saving, a short fit."""
import json

import numpy as np
import pytest
import torch

from timbrefast.models.retrieval import RetrievalConfig, RetrievalModel
from timbrefast.train.retrieval import (
    FeatureBank,
    RetrievalRecipe,
    RetrievalRecipeConfig,
    draw_pair_instruments,
)

SMALL = RetrievalConfig(embedding_dim=16, widths=(4, 8))


def _bank(n=24, notes=4, seed=0):
    """Instruments whose notes share a per-instrument spectral fingerprint."""
    rng = np.random.default_rng(seed)
    proto = -40 + rng.uniform(-4, 4, (n, 1, 64, 1))
    feats = proto + rng.normal(0, 6, (n, notes, 64, 20))
    fam = [("a", "b", "c")[i % 3] for i in range(n)]
    return FeatureBank(np.clip(feats, -80, 0).astype(np.float16), [f"i{i}" for i in range(n)], fam)


def test_batches_pair_instruments_with_different_notes():
    bank = _bank()
    r = RetrievalRecipe(bank, model_config=SMALL, config=RetrievalRecipeConfig(batch_size=8, seed=1))
    b = r.batch(3, 0, 1)
    inst = b["instrument"].numpy()
    assert b["features"].shape == (8, 1, 64, 20)
    assert (inst[0::2] == inst[1::2]).all() and len(set(inst[0::2])) == 4
    assert not torch.equal(b["features"][0], b["features"][1])
    again = r.batch(3, 0, 1)
    assert torch.equal(again["features"], b["features"])  # a pure function of (seed, step, rank)
    assert not torch.equal(r.batch(4, 0, 1)["features"], b["features"])


def test_hard_negatives_from_one_family():
    fam = np.array([0] * 10 + [1] * 10 + [2] * 10)
    rng = np.random.default_rng(0)
    for _ in range(20):
        ids = draw_pair_instruments(fam, 8, 0.5, rng)
        assert len(set(ids)) == 8
        counts = np.bincount(fam[ids], minlength=3)
        assert counts.max() >= 4
    ids = draw_pair_instruments(fam, 8, 0.0, np.random.default_rng(1))
    assert len(set(ids)) == 8


def test_loss_is_symmetric_info_nce_at_temperature():
    bank = _bank()
    r = RetrievalRecipe(bank, model_config=SMALL, config=RetrievalRecipeConfig(batch_size=8, temperature=0.1))
    r.model.eval()  # no dropout: both passes below see the same network
    b = r.batch(0, 0, 1)
    loss, logs = r.loss(r.model, b, 0)
    emb = r.model(b["features"])
    a, p = emb[0::2], emb[1::2]
    logits = a @ p.T / 0.1
    target = torch.arange(4)
    ref = 0.5 * (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(logits.T, target))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-4)
    assert 0.0 <= logs["acc"] <= 1.0


def test_short_fit_learns_and_saves(tmp_path):
    from timbrefast.train import Trainer, TrainerConfig

    bank = _bank(n=30, notes=4)
    r = RetrievalRecipe(bank, bank, model_config=SMALL, config=RetrievalRecipeConfig(batch_size=16))
    before = r.validate(r.model.eval())["top1"]
    res = Trainer(r, TrainerConfig(out_dir=str(tmp_path / "run"), steps=60, lr=3e-3, val_every=60,
                                   ckpt_every=0, progress=False)).fit()
    after = res["validation"]["top1"]
    assert after > before + 0.2
    cfg = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert cfg["model_type"] == "retrieval"
    from timbrefast.checkpoints import load_model

    back = load_model(tmp_path / "run" / "model")
    assert isinstance(back, RetrievalModel) and back.config == SMALL
    x = r.batch(0, 0, 1)["features"]
    torch.testing.assert_close(back(x), r.model.eval()(x))


def test_bad_recipe_input():
    with pytest.raises(ValueError, match="even"):
        RetrievalRecipeConfig(batch_size=7)
    with pytest.raises(ValueError, match="2 notes"):
        RetrievalRecipe(_bank(notes=1), model_config=SMALL)
    with pytest.raises(ValueError, match="instruments"):
        RetrievalRecipe(_bank(n=3), model_config=SMALL, config=RetrievalRecipeConfig(batch_size=8))
    with pytest.raises(ValueError, match="model_type"):
        RetrievalConfig.from_dict({"model_type": "cocola"})
    with pytest.raises(ValueError, match="embedding_dim"):
        RetrievalConfig(embedding_dim=10**6)
    with pytest.raises(ValueError, match="preset"):
        RetrievalConfig(frontend="nope")
    with pytest.raises(ValueError, match="features"):
        RetrievalModel(SMALL)(torch.zeros(2, 2, 64, 20))


def test_cli_train_retrieval_end_to_end(tmp_path, capsys):
    from timbrefast.cli import main

    bank = _bank(n=12, notes=3)
    bank.save(tmp_path / "bank")
    run = tmp_path / "run"
    common = ["train", "retrieval", "--data", str(tmp_path / "bank"), "--val-data", str(tmp_path / "bank"),
              "--out", str(run), "--val-every", "4", "--ckpt-every", "2", "--no-progress"]
    argv = common + ["--steps", "4", "--batch-size", "8", "--keep-best", "top1"]
    assert main(argv) == 0
    assert (run / "model" / "config.json").exists() and (run / "best" / "model.safetensors").exists()
    from timbrefast.checkpoints import load_model

    assert isinstance(load_model(run / "checkpoint"), RetrievalModel)
    # a changed batch size is refused on resume (exit 2, one line)
    assert main(common + ["--steps", "6", "--batch-size", "4"]) == 2
    assert main(["train", "retrieval", "--out", str(run)]) == 2  # neither --data nor --soundfont
    assert main(argv[:2] + ["--data", str(tmp_path / "nope"), "--out", str(run)]) == 2
    assert main(argv + ["--keep-best", "k2"]) == 2  # not a metric of this recipe
    assert "Traceback" not in capsys.readouterr().err
