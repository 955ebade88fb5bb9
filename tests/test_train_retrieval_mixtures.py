"""Retrieval recipe with mixtures: mixed single-note / mixture steps, the mixture batch
structure and positives, the losses, validation, a short fit, and the CLI end to end."""
import numpy as np
import pytest
import torch

from timbrefast.models.retrieval import RetrievalConfig
from timbrefast.train.retrieval import FeatureBank, MixtureBank, RetrievalRecipe, RetrievalRecipeConfig

SMALL = RetrievalConfig(embedding_dim=16, widths=(4, 8))
FAMS = ("a", "b", "c")


def _protos(n, seed):
    return -40 + np.random.default_rng(seed).uniform(-8, 8, (n, 64, 1))


def _banks(n=24, notes=3, n_mix=30, windows=2, seed=0):
    """Instruments with a spectral fingerprint; a mix is the (dB-domain) average of its stems."""
    rng = np.random.default_rng(seed)
    proto = _protos(n, seed)
    feats = proto[:, None] + rng.normal(0, 4, (n, notes, 64, 20))
    fam = [FAMS[i % 3] for i in range(n)]
    bank = FeatureBank(np.clip(feats, -80, 0).astype(np.float16), [f"i{i}" for i in range(n)], fam)
    ids, fams, stems, refs, mixes = [], [], [], [], []
    by_fam = {f: [i for i in range(n) if fam[i] == f] for f in FAMS}
    for _ in range(n_mix):
        inst = [int(rng.choice(by_fam[f])) for f in FAMS]
        s = proto[inst][:, None] + rng.normal(0, 4, (3, windows, 64, 20))
        stems.append(s)
        mixes.append(s.mean(0))
        refs.append(feats[inst, 0])
        ids.append([f"i{i}" for i in inst])
        fams.append([fam[i] for i in inst])
    clip = lambda x: np.clip(np.stack(x), -80, 0).astype(np.float16)  # noqa: E731
    return bank, MixtureBank(clip(mixes), clip(stems), clip(refs), ids, fams)


def test_mixture_steps_and_batches():
    bank, mix = _banks()
    cfg = RetrievalRecipeConfig(batch_size=8, mixture_ratio=0.25, mixture_batch_size=4, seed=2)
    r = RetrievalRecipe(bank, model_config=SMALL, config=cfg, mixtures=mix)
    kinds = [r.is_mixture_step(s) for s in range(100)]
    assert sum(kinds) == 25 and not all(kinds[:4])
    step = kinds.index(True)
    b = r.batch(step, 0, 1)
    assert b["features"].shape == (4 + 12, 1, 64, 20)
    np.testing.assert_array_equal(b["stem_to_mixture"].numpy(), np.repeat(np.arange(4), 3))
    assert torch.equal(r.batch(step, 0, 1)["features"], b["features"])  # pure function of the step
    # the positives: the same window of the stems, or each instrument's reference note
    rng = np.random.default_rng([cfg.seed, step, 0])
    chosen = r.draw_mixtures(rng)
    w = rng.integers(0, mix.windows, size=len(chosen))
    np.testing.assert_array_equal(b["features"][0, 0].numpy(), mix.mix[chosen[0], w[0]].astype(np.float32))
    np.testing.assert_array_equal(b["features"][4:7, 0].numpy(), mix.stems[chosen[0], :, w[0]].astype(np.float32))
    single = RetrievalRecipe(bank, model_config=SMALL, mixtures=mix,
                             config=RetrievalRecipeConfig(batch_size=8, mixture_ratio=0.25, mixture_batch_size=4,
                                                          seed=2, mixture_positives="single_notes"))
    bs = single.batch(step, 0, 1)
    np.testing.assert_array_equal(bs["features"][4:7, 0].numpy(), mix.references[chosen[0]].astype(np.float32))
    # instruments distinct across the mixes of a batch when the bank allows
    ids = [i for m in chosen for i in mix.ids[m]]
    assert len(set(ids)) == len(ids)
    # no mixture bank: every step is a single-note step
    plain = RetrievalRecipe(bank, model_config=SMALL, config=cfg)
    assert not any(plain.is_mixture_step(s) for s in range(20))
    assert "stem_to_mixture" not in plain.batch(step, 0, 1)


@pytest.mark.parametrize("name", ["info_nce", "full", "triplet", "triplet_full"])
def test_mixture_loss_in_the_recipe(name):
    from timbrefast.losses import mixture_loss

    bank, mix = _banks()
    cfg = RetrievalRecipeConfig(batch_size=8, mixture_ratio=1.0, mixture_batch_size=4, mixture_loss=name,
                                other_stems="ignore")
    r = RetrievalRecipe(bank, model_config=SMALL, config=cfg, mixtures=mix)
    r.model.eval()
    b = r.batch(0, 0, 1)
    loss, logs = r.loss(r.model, b, 0)
    emb = r.model(b["features"])
    want = mixture_loss(name, emb[:4], emb[4:], b["stem_to_mixture"], temperature=0.1, other_stems="ignore",
                        normalize=False)
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    assert 0 <= logs["mix_acc"] <= 1
    loss.backward()


def test_short_mixture_fit_improves_mixture_retrieval(tmp_path):
    from timbrefast.train import Trainer, TrainerConfig

    bank, mix = _banks(n=30, n_mix=60)
    _, val_mix = _banks(n=30, n_mix=30, seed=0)
    cfg = RetrievalRecipeConfig(batch_size=16, mixture_ratio=0.5, mixture_batch_size=8)
    r = RetrievalRecipe(bank, bank, model_config=SMALL, config=cfg, mixtures=mix, val_mixtures=val_mix)
    assert r.validation_metrics()[-5:] == ["mix_top1", "mix_top5", "mix_mean_rank", "mix_chance_top1", "score"]
    before = r.validate(r.model.eval())
    res = Trainer(r, TrainerConfig(out_dir=str(tmp_path / "run"), steps=80, lr=3e-3, val_every=80,
                                   ckpt_every=0, progress=False)).fit()
    after = res["validation"]
    assert after["mix_top1"] > before["mix_top1"] + 0.1
    # chance: 1 / (gallery size of the family), averaged over families; the gallery holds the
    # instruments the validation mixes play
    sizes = [len({i for row, fr in zip(val_mix.ids, val_mix.families) for i, f in zip(row, fr) if f == fam})
             for fam in FAMS]
    assert after["mix_chance_top1"] == pytest.approx(np.mean([1 / n for n in sizes]))
    assert after["score"] == pytest.approx(0.5 * (after["top1"] + after["mix_top1"]))


def test_bad_mixture_input():
    bank, mix = _banks()
    with pytest.raises(ValueError, match="mixture_loss"):
        RetrievalRecipeConfig(mixture_loss="contrastive")
    with pytest.raises(ValueError, match="other_stems"):
        RetrievalRecipeConfig(other_stems="none")
    with pytest.raises(TypeError, match="positives"):
        RetrievalRecipeConfig(mixture_positives=True)
    with pytest.raises(ValueError, match="mixture_ratio"):
        RetrievalRecipeConfig(mixture_ratio=1.5)
    with pytest.raises(ValueError, match="mixture_batch_size"):
        RetrievalRecipe(bank, model_config=SMALL, mixtures=mix, config=RetrievalRecipeConfig(
            batch_size=8, mixture_batch_size=64))
    with pytest.raises(TypeError, match="MixtureBank"):
        RetrievalRecipe(bank, model_config=SMALL, mixtures=bank, config=RetrievalRecipeConfig(batch_size=8))
    with pytest.raises(ValueError, match="disagree"):
        MixtureBank(mix.mix, mix.stems[:, :, :1], mix.references, mix.ids, mix.families)
    with pytest.raises(ValueError, match="features"):
        RetrievalRecipe(bank, model_config=SMALL, config=RetrievalRecipeConfig(batch_size=8), mixtures=MixtureBank(
            mix.mix[..., :10], mix.stems[..., :10], mix.references[..., :10], mix.ids, mix.families))


def test_cli_train_retrieval_mixtures(tmp_path, capsys):
    from timbrefast.checkpoints import load_model, save_model
    from timbrefast.cli import main
    from timbrefast.models.retrieval import RetrievalModel

    bank, mix = _banks(n=12, notes=3, n_mix=12)
    bank.save(tmp_path / "bank")
    mix.save(tmp_path / "mix")
    assert MixtureBank.load(tmp_path / "mix").ids == mix.ids
    init = RetrievalModel(SMALL)
    save_model(init, tmp_path / "init")
    run = tmp_path / "run"
    argv = ["train", "retrieval", "--data", str(tmp_path / "bank"), "--val-data", str(tmp_path / "bank"),
            "--mixtures", str(tmp_path / "mix"), "--val-mixtures", str(tmp_path / "mix"),
            "--mixture-loss", "triplet_full", "--other-stems", "ignore", "--mixture-ratio", "0.5",
            "--mixture-batch-size", "4", "--init-from", str(tmp_path / "init"), "--out", str(run),
            "--steps", "4", "--batch-size", "8", "--val-every", "4", "--ckpt-every", "0", "--keep-best", "score",
            "--no-progress"]
    assert main(argv) == 0
    back = load_model(run / "best")
    assert isinstance(back, RetrievalModel) and back.config == SMALL
    assert "mixtures" in capsys.readouterr().out
    bad = list(argv)
    assert main(bad[:2] + ["--data", str(tmp_path / "bank"), "--mixtures", "--out", str(run)]) == 2  # no BANK
    assert main(bad[:2] + ["--data", str(tmp_path / "bank"), "--mixtures", str(tmp_path / "bank"),
                           "--out", str(run)]) == 2  # not a mixture bank
    assert main(bad[:2] + ["--data", str(tmp_path / "bank"), "--val-mixtures", str(tmp_path / "mix"),
                           "--out", str(run)]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse's own choice check
        main(argv[:-1] + ["--mixture-loss", "nope"])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_freeze_batchnorm_keeps_running_statistics():
    bank, mix = _banks()
    for freeze in (True, False):
        cfg = RetrievalRecipeConfig(batch_size=8, mixture_ratio=1.0, mixture_batch_size=4, freeze_batchnorm=freeze)
        r = RetrievalRecipe(bank, model_config=SMALL, config=cfg, mixtures=mix)
        r.model.train()
        bn = [m for m in r.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        before = [m.running_mean.clone() for m in bn]
        loss, _ = r.loss(r.model, r.batch(0, 0, 1), 0)
        loss.backward()
        same = all(torch.equal(a, m.running_mean) for a, m in zip(before, bn))
        assert same == freeze
        assert all(m.weight.grad is not None for m in bn)  # affine parameters still train


@pytest.mark.slow
def test_cli_renders_mixtures_from_a_soundfont(tmp_path):
    from data_helpers import TIMGM

    pytest.importorskip("fluidsynth")
    from pathlib import Path

    if not Path(TIMGM).is_file():
        pytest.skip("TimGM6mb.sf2 is not installed")
    from timbrefast.cli import main

    run = tmp_path / "run"
    argv = ["train", "retrieval", "--soundfont", str(TIMGM), "--notes", "2", "--mixtures", "--mixture-count", "4",
            "--mixture-seconds", "2", "--mixture-batch-size", "2", "--batch-size", "8", "--steps", "2",
            "--val-every", "2", "--ckpt-every", "0", "--out", str(run), "--no-progress"]
    assert main(argv) == 0
    bank = MixtureBank.load(run / "bank" / "mix_train")
    assert bank.mix.shape[:2] == (4, 1) and bank.stems.shape[:3] == (4, 3, 1)
    val_ids = set(FeatureBank.load(run / "bank" / "val").ids)
    assert all(i in val_ids for row in MixtureBank.load(run / "bank" / "mix_val").ids for i in row)
    assert not any(i in val_ids for row in bank.ids for i in row)  # training mixtures: training instruments only


def test_family_gallery_batch_and_loss():
    from timbrefast.losses import family_gallery_info_nce, mixture_loss

    bank, mix = _banks(n=30, n_mix=40)
    cfg = RetrievalRecipeConfig(batch_size=8, mixture_ratio=1.0, mixture_batch_size=4, gallery_weight=0.5,
                                gallery_negatives=2, mixture_weight=2.0)
    r = RetrievalRecipe(bank, model_config=SMALL, config=cfg, mixtures=mix)
    b = r.batch(3, 0, 1)
    n_gal = b["gallery_families"].shape[0]
    assert b["features"].shape[0] == 4 + 12 + n_gal
    assert 12 <= n_gal <= 12 + 12 * 2
    # the gallery: reference notes, the batch's instruments first (in stem order), each slot's
    # target of its own family, no instrument twice
    rng = np.random.default_rng([cfg.seed, 3, 0])
    chosen = r.draw_mixtures(rng)
    slot_ids = [i for m in chosen for i in mix.ids[m]]
    targets = b["gallery_targets"].numpy()
    np.testing.assert_array_equal(targets, np.arange(12))
    where = {i: (m, j) for m in range(len(mix.ids)) for j, i in enumerate(mix.ids[m])}
    g0 = b["features"][16, 0].numpy()
    m0, j0 = where[slot_ids[0]]
    assert np.abs(g0 - mix.references[m0, j0].astype(np.float32)).max() < 1e-3 or cfg.freq_shift or cfg.time_mask
    fam = b["gallery_families"].numpy()
    np.testing.assert_array_equal(fam[targets], b["slot_families"].numpy())
    for f in set(fam.tolist()):  # negatives were added: more than one entry per family
        assert (fam == f).sum() >= 2
    # the loss: weights x (mixture loss + family-gallery InfoNCE of mixes and stems)
    r.model.eval()
    loss, logs = r.loss(r.model, b, 3)
    emb = r.model(b["features"])
    mixes, stems, gal = emb[:4], emb[4:16], emb[16:]
    idx = b["stem_to_mixture"]
    q = torch.cat([mixes[idx], stems])
    t = torch.cat([b["gallery_targets"]] * 2)
    qf = torch.cat([b["slot_families"]] * 2)
    want = 2.0 * mixture_loss("info_nce", mixes, stems, idx, normalize=False) + 0.5 * family_gallery_info_nce(
        q, gal, t, qf, b["gallery_families"], normalize=False)
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    assert 0 <= logs["gal_acc"] <= 1 and "gal_loss" in logs and "mix_loss" in logs
    loss.backward()
    # only the gallery term; mixes alone as queries
    only = RetrievalRecipe(bank, model_config=SMALL, mixtures=mix, config=RetrievalRecipeConfig(
        batch_size=8, mixture_ratio=1.0, mixture_batch_size=4, gallery_weight=1.0, mixture_weight=0.0,
        gallery_stem_queries=False))
    only.model.eval()
    b2 = only.batch(3, 0, 1)
    loss2, logs2 = only.loss(only.model, b2, 3)
    e2 = only.model(b2["features"])
    want2 = family_gallery_info_nce(e2[:4][b2["stem_to_mixture"]], e2[16:], b2["gallery_targets"],
                                    b2["slot_families"], b2["gallery_families"], normalize=False)
    assert loss2.item() == pytest.approx(want2.item(), rel=1e-5) and "mix_loss" not in logs2
    with pytest.raises(ValueError, match="both 0"):
        RetrievalRecipeConfig(mixture_weight=0.0, gallery_weight=0.0)
    with pytest.raises(ValueError, match="gallery_weight"):
        RetrievalRecipeConfig(gallery_weight=-1.0)
    with pytest.raises(ValueError, match="gallery_negatives"):
        RetrievalRecipeConfig(gallery_negatives=-1)
    with pytest.raises(TypeError, match="gallery_stem_queries"):
        RetrievalRecipeConfig(gallery_stem_queries=1)


def test_short_gallery_fit_improves_mixture_retrieval(tmp_path):
    from timbrefast.train import Trainer, TrainerConfig

    bank, mix = _banks(n=30, n_mix=60)
    _, val_mix = _banks(n=30, n_mix=30, seed=0)
    cfg = RetrievalRecipeConfig(batch_size=16, mixture_ratio=0.5, mixture_batch_size=8, gallery_weight=1.0,
                                mixture_weight=0.0)
    r = RetrievalRecipe(bank, bank, model_config=SMALL, config=cfg, mixtures=mix, val_mixtures=val_mix)
    before = r.validate(r.model.eval())
    res = Trainer(r, TrainerConfig(out_dir=str(tmp_path / "run"), steps=80, lr=3e-3, val_every=80,
                                   ckpt_every=0, progress=False)).fit()
    assert res["validation"]["mix_top1"] > before["mix_top1"] + 0.1
