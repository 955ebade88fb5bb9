"""COCOLA recipe: waveform augmentations, tempo jitter and calibration negatives (tiny models)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.models import CocolaConfig  # noqa: E402
from timbrefast.train import Trainer, TrainerConfig  # noqa: E402
from timbrefast.train.cocola import CocolaRecipe, CocolaRecipeConfig  # noqa: E402
from test_train import _pairs  # noqa: E402 - the same synthetic (anchor, positive) sub-mixes

SR = 16000
TINY = CocolaConfig(widths=(4, 8), embedding_dim=16)
BASE = dict(batch_size=4, seconds=1.0, val_pairs=8, seed=3)
ALL = dict(aug_gain_p=0.5, aug_tilt_p=0.5, aug_reverb_p=0.5, aug_noise_p=0.5, aug_tempo_p=0.5,
           calibration_negatives=3, calibration_pool=10)



def _recipe(**kw):
    return CocolaRecipe(_pairs(12, 0), _pairs(8, 1), model_config=TINY, config=CocolaRecipeConfig(**BASE, **kw),
                        progress=False)


def test_defaults_leave_batches_unchanged():
    plain = _recipe()
    b = plain.batch(5, 0, 1)
    assert set(b) == {"anchors", "positives", "keep"}
    assert plain.config.augmentation_settings() == {}
    assert "augment" not in plain.fingerprint()


def test_batches_are_deterministic_and_shaped():
    a, b = _recipe(**ALL), _recipe(**ALL)
    for step in (0, 7):
        x, y = a.batch(step, 0, 1), b.batch(step, 0, 1)
        assert set(x) == {"anchors", "positives", "keep", "calibration"}
        assert x["anchors"].shape == x["positives"].shape == (4, 2, 64, 101)
        assert x["calibration"].shape == (3, 2, 64, 101)
        for k in x:
            assert torch.equal(x[k], y[k])
    plain = _recipe().batch(7, 0, 1)
    assert not torch.equal(plain["anchors"], a.batch(7, 0, 1)["anchors"])
    assert a.fingerprint()["augment"]["aug_gain_p"] == 0.5


def test_waveform_augmentation_of_a_pair_draws_anchor_and_positive_apart():
    r = _recipe(aug_gain_p=1.0, aug_gain_db=10.0)
    y = _pairs(1, 5)[0][0]
    a, p = r.augment_pair(y, y.copy(), (0, 1))
    ga, gp = (10 * np.log10(np.mean(z.astype(np.float64) ** 2) / np.mean(y.astype(np.float64) ** 2)) for z in (a, p))
    assert abs(ga) <= 10.001 and abs(gp) <= 10.001 and abs(ga - gp) > 1e-3
    a2, _ = r.augment_pair(y, y.copy(), (0, 1))
    np.testing.assert_array_equal(a, a2)


def test_tempo_jitter_stretches_both_features_of_a_pair_alike():
    r = _recipe(aug_tempo_p=1.0, aug_tempo=0.2)
    plain = _recipe()
    j, b = r.batch(2, 0, 1), plain.batch(2, 0, 1)
    from timbrefast.data.augment import stretch_frames

    rng = np.random.default_rng([3, 0x7E4, 2])
    rng.random(4)
    rates = np.exp(rng.uniform(-np.log1p(0.2), np.log1p(0.2), 4))
    for i in range(4):
        np.testing.assert_allclose(j["anchors"][i].numpy(), stretch_frames(b["anchors"][i].numpy(), rates[i]), atol=1e-5)
        np.testing.assert_allclose(j["positives"][i].numpy(), stretch_frames(b["positives"][i].numpy(), rates[i]),
                                   atol=1e-5)
    assert torch.equal(j["keep"], b["keep"])


def test_calibration_pool_and_loss():
    r = _recipe(calibration_negatives=4, calibration_pool=10)
    r.model.eval()  # no dropout: the same embeddings in both computations
    assert [i["kind"] for i in r.calibration_info[:5]] == ["silence", "near_silence", "white", "pink", "brown"]
    batch = r.batch(0, 0, 1)
    loss, metrics = r.loss(r.model, batch, 0)
    assert loss.ndim == 0 and torch.isfinite(loss) and set(metrics) == {"acc", "cal_win"}
    # the loss is the cross-entropy over the B positives and the C extra columns
    from timbrefast.models import mask_channels

    keep = batch["keep"]
    a = mask_channels(batch["anchors"], keep)
    pc = torch.cat([mask_channels(batch["positives"], keep),
                    mask_channels(batch["calibration"], keep[:1].expand(4, 2))])
    ea, epc = r.model(a, pc)
    logits = ea @ r.model.head.weight @ epc.T
    want = torch.nn.functional.cross_entropy(logits, torch.arange(4))
    torch.testing.assert_close(loss, want)
    # with no calibration negatives it equals the plain recipe's bilinear InfoNCE on B columns
    from timbrefast.losses import bilinear_info_nce

    plain_loss, _ = r.loss(r.model, {k: v for k, v in batch.items() if k != "calibration"}, 0)
    ea2, ep2 = r.model(a, mask_channels(batch["positives"], keep))
    torch.testing.assert_close(plain_loss, bilinear_info_nce(ea2, ep2, r.model.head.weight))


def test_cached_pool_with_augmentations(tmp_path):
    cfg = dict(cache_pairs=10, aug_gain_p=1.0, aug_noise_p=1.0)
    r = CocolaRecipe(_pairs(6, 0), _pairs(8, 1), model_config=TINY, config=CocolaRecipeConfig(**BASE, **cfg),
                     cache_dir=tmp_path / "c", progress=False)
    meta = json.loads((tmp_path / "c" / "cache.json").read_text())
    assert meta["augment"]["gain_p"] == 1.0
    augmented = np.array(r._cache[0])  # a copy: the memory map is rewritten below
    plain = CocolaRecipe(_pairs(6, 0), _pairs(8, 1), model_config=TINY,
                         config=CocolaRecipeConfig(**BASE, cache_pairs=10), cache_dir=tmp_path / "c", progress=False)
    # another configuration rebuilds the pool instead of reusing the augmented one
    assert "augment" not in json.loads((tmp_path / "c" / "cache.json").read_text())
    assert not np.array_equal(augmented, np.asarray(plain._cache[0]))


def test_training_with_everything_on_runs_and_resumes(tmp_path):
    def trainer(out, steps):
        recipe = _recipe(**ALL)
        cfg = TrainerConfig(out_dir=str(out), steps=steps, lr=1e-3, seed=3, val_every=2, ckpt_every=2, log_every=1,
                            progress=False)
        return Trainer(recipe, cfg)

    straight = trainer(tmp_path / "a", 4)
    straight.fit()
    first = trainer(tmp_path / "b", 2)
    first.fit()
    resumed = trainer(tmp_path / "b", 4)
    resumed.fit()
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v)
    log = [json.loads(x) for x in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all("cal_win" in r for r in log if "loss" in r)


def test_config_validation():
    for bad, match in ((dict(aug_gain_p=2.0), "gain_p"), (dict(aug_tempo_p=-0.1), "aug_tempo_p"),
                       (dict(aug_tempo=1.0), "aug_tempo"), (dict(calibration_negatives=-1), "calibration_negatives"),
                       (dict(calibration_pool=0), "calibration_pool")):
        with pytest.raises(ValueError, match=match):
            CocolaRecipeConfig(**bad)


def test_cli_has_the_flags():
    import argparse

    from timbrefast.train.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["train", "cocola", "--data", "d", "--out", "o", "--aug-gain-p", "0.3",
                              "--aug-tempo-p", "0.5", "--calibration-negatives", "8"])
    assert args.aug_gain_p == 0.3 and args.aug_tempo_p == 0.5 and args.calibration_negatives == 8
