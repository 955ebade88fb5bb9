"""The SmallEncoder's inference fast path (timbrefast.models.inference): the eager encoder's
values on recorded and rendered music, used only in eval mode without autograd, rebuilt when
the weights change, and left alone by encoders it does not reproduce."""
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.models import CocolaConfig, CocolaModel, SmallEncoder  # noqa: E402
from timbrefast.models import inference  # noqa: E402
from timbrefast.models.inference import FastSmallEncoder, clear_cache, fast_encoder, fold_batch_norm  # noqa: E402

SR = 16000
W = 5 * SR
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_music"
SF2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def _rel(a, b):
    """max |a - b| / max |b| (embeddings lie in (-1, 1): an elementwise ratio means nothing near 0)."""
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max())


def _eager(model, feats, mode="both"):
    model.fast_inference = False
    try:
        with torch.inference_mode():
            return model.embed(feats, mode=mode)
    finally:
        model.fast_inference = True


def _fast(model, feats, mode="both"):
    with torch.inference_mode():
        return model.embed(feats, mode=mode)


@pytest.fixture
def counter(monkeypatch):
    """Counts the fast path's calls."""
    calls = []
    original = FastSmallEncoder.__call__

    def counted(self, x):
        calls.append(tuple(x.shape))
        return original(self, x)

    monkeypatch.setattr(FastSmallEncoder, "__call__", counted)
    return calls


def _random_stats(model, seed=0):
    """Batch-norm statistics and affine parameters away from their initial values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.5, generator=g)
                m.running_var.uniform_(0.2, 2.0, generator=g)
                m.weight.normal_(1.0, 0.3, generator=g)
                m.bias.normal_(0.0, 0.3, generator=g)
    return model


def _features(waves):
    from timbrefast import Frontend

    return torch.from_numpy(Frontend("cocola")(np.ascontiguousarray(waves, dtype=np.float32)))


def _recorded_windows(count=6):
    files = sorted(SHARED.glob("*.flac")) if SHARED.is_dir() else []
    if not files:
        pytest.skip(f"no held-out music under {SHARED}")
    from timbrefast.data import load_audio

    out = []
    for f in files[:count]:
        y = load_audio(f, sr=SR)[0]
        start = min(len(y) // 3, max(0, len(y) - W))
        out.append(np.pad(y[start : start + W], (0, max(0, W - len(y[start : start + W])))))
    return np.stack(out)


def _rendered_windows(tmp_path):
    if not SF2.is_file():
        pytest.skip(f"soundfont {SF2} not installed")
    pytest.importorskip("fluidsynth", reason="pyfluidsynth not installed")
    from timbrefast.data import load_audio, read_dataset, synthesize_stems

    synthesize_stems(tmp_path, soundfont=str(SF2), tracks=2, seed=11, source="mixed", seconds=6.0, sr=SR,
                     progress=False)
    out = []
    for t in sorted(read_dataset(tmp_path, layout="slakh"), key=lambda t: t.name):
        stems = [load_audio(s.audio_path, sr=SR)[0][:W] for s in t.stems]
        stems = [np.pad(s, (0, W - s.size)) for s in stems]
        out.append(np.sum(stems, axis=0))
        out.append(stems[0])  # one stem alone: a sparser input, more cells at the -80 dB floor
    return np.stack(out)


@pytest.mark.parametrize("source", ["recorded", "rendered"])
def test_bundled_encoder_fast_path_matches_eager_on_music(source, tmp_path, counter):
    from timbrefast.scorers.coherence import CoherenceScorer

    scorer = CoherenceScorer.from_pretrained()
    waves = _recorded_windows() if source == "recorded" else _rendered_windows(tmp_path)
    feats = _features(waves)
    model = scorer.model
    ref = _eager(model, feats)
    assert not counter
    batch = _fast(model, feats)
    ones = torch.cat([_fast(model, feats[i : i + 1]) for i in range(feats.shape[0])])
    assert counter == [tuple(feats.shape)] + [(1,) + tuple(feats.shape[1:])] * feats.shape[0]
    assert _rel(batch, ref) <= 1e-5 and _rel(ones, ref) <= 1e-5
    for mode in ("harmonic", "percussive"):
        assert _rel(_fast(model, feats[:2], mode), _eager(model, feats[:2], mode)) <= 1e-5
    # the scores the scorer reports, through the one-candidate fast path and the batch path
    ctx = scorer.context(waves[0], sr=SR)
    fast_scores = np.array([ctx.score_one(w, sr=SR) for w in waves[1:]])
    model.fast_inference = False
    try:
        eager_scores = np.asarray(scorer.context(waves[0], sr=SR).score(waves[1:], sr=SR))
    finally:
        model.fast_inference = True
    np.testing.assert_allclose(fast_scores, eager_scores, rtol=1e-5, atol=1e-5 * np.abs(eager_scores).max())


@pytest.mark.parametrize("config", [
    dict(in_channels=1, frontend="cocola_mel", widths=(8, 16), embedding_dim=16),
    dict(widths=(4, 8, 8), time_steps=5, freq_bins=3, embedding_dim=24),
    dict(widths=(12,), time_steps=1, freq_bins=1, embedding_dim=8),
    # the patchify stem (the second bundled model's kind): square and (2, 4) strides
    dict(stem_width=6, stem_stride=(4, 4), widths=(8, 12, 16), freq_bins=2, embedding_dim=16),
    dict(stem_width=5, stem_stride=(2, 4), widths=(8, 8), time_steps=4, embedding_dim=12),
    dict(in_channels=1, frontend="cocola_mel", stem_width=4, stem_stride=(3, 1), widths=(6,), embedding_dim=8),
])
def test_fast_path_matches_other_small_encoders(config, counter):
    torch.manual_seed(1)
    model = _random_stats(CocolaModel(CocolaConfig(**config)), seed=2).eval()
    g = torch.Generator().manual_seed(3)
    feats = -80.0 * torch.rand(3, model.config.in_channels, 64, 101, generator=g)
    assert _rel(_fast(model, feats), _eager(model, feats)) <= 1e-5
    assert len(counter) == 1


def test_fold_batch_norm_is_the_eval_composition():
    torch.manual_seed(0)
    for bias in (False, True):
        conv = torch.nn.Conv2d(3, 5, 3, stride=(2, 1), padding=1, bias=bias).double()
        bn = _random_stats(torch.nn.Sequential(torch.nn.BatchNorm2d(5)).double())[0].eval()
        x = torch.randn(2, 3, 9, 11, dtype=torch.float64)
        w, b = fold_batch_norm(conv, bn)
        with torch.no_grad():
            np.testing.assert_allclose(torch.nn.functional.conv2d(x, w, b, conv.stride, conv.padding).numpy(),
                                       bn(conv(x)).numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="running statistics"):
        fold_batch_norm(conv, torch.nn.BatchNorm2d(5, track_running_stats=False))


def test_fast_path_runs_only_in_eval_mode_without_autograd(counter):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=16, dropout=0.0))
    feats = -80.0 * torch.rand(2, 2, 64, 101)
    with torch.no_grad():  # training mode: batch statistics, the eager modules
        model.train()(feats, feats)
    assert not counter
    model.eval()
    x = feats.clone().requires_grad_()
    emb = model.embed(x)  # autograd on: the guidance path keeps its graph
    assert emb.requires_grad and not counter
    emb.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with torch.no_grad():
        model.embed(feats)
    with torch.inference_mode():
        model.embed(feats)
    assert len(counter) == 2
    with torch.no_grad():
        model.double().embed(feats.double())  # float64: eager
    assert len(counter) == 2
    with torch.no_grad():
        model.float().embed(feats)  # float32 again: fast, from a new snapshot
    assert len(counter) == 3
    model.fast_inference = False
    with torch.no_grad():
        model.embed(feats)
    assert len(counter) == 3


def test_snapshot_follows_weight_changes():
    torch.manual_seed(0)
    model = _random_stats(CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=16))).eval()
    feats = -80.0 * torch.rand(2, 2, 64, 101)

    def check():
        assert _rel(_fast(model, feats), _eager(model, feats)) <= 1e-5

    check()
    first = fast_encoder(model.encoder)
    assert fast_encoder(model.encoder) is first  # cached while nothing changes
    # an optimizer step (in-place updates bump the version counters)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    loss = model.embed(feats).pow(2).sum() + model.head.weight.sum()
    loss.backward()
    opt.step()
    model.eval()
    assert fast_encoder(model.encoder) is not first
    check()
    # training-mode forwards move the running statistics (buffers)
    before = fast_encoder(model.encoder)
    with torch.no_grad():
        model.train()(feats, feats)
    model.eval()
    assert fast_encoder(model.encoder) is not before
    check()
    # load_state_dict (copy_) and load_state_dict(assign=True) (new tensors)
    other = _random_stats(CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=16)), seed=7)
    model.load_state_dict(other.state_dict())
    check()
    model.load_state_dict(_random_stats(other, seed=8).state_dict(), assign=True)
    check()
    # a replaced submodule
    model.encoder.stages[1].conv[1] = _random_stats(torch.nn.Sequential(torch.nn.BatchNorm2d(16)), seed=9)[0]
    model.eval()
    check()
    # .data bypasses the version counters: clear_cache() is the documented way out
    fast_encoder(model.encoder)
    model.encoder.projection.weight.data.mul_(2.0)
    clear_cache(model.encoder)
    check()
    clear_cache()
    check()


def test_encoders_without_a_fast_form_run_eagerly(counter):
    class Doubled(SmallEncoder):
        def forward(self, x):
            return 2 * super().forward(x)

    enc = Doubled(in_channels=2, widths=(4,), embedding_dim=8).eval()
    assert fast_encoder(enc) is None
    model = CocolaModel(CocolaConfig(widths=(4,), embedding_dim=8)).eval()
    model.encoder.stages[0].act = torch.nn.ReLU()
    assert fast_encoder(model.encoder) is None
    feats = -80.0 * torch.rand(1, 2, 64, 101)
    with torch.no_grad():
        out = model.embed(feats)
    model.fast_inference = False
    with torch.no_grad():
        torch.testing.assert_close(out, model.embed(feats), rtol=0, atol=0)
    assert not counter
    assert fast_encoder(torch.nn.Linear(2, 2)) is None
    with pytest.raises(TypeError, match="SmallEncoder"):
        FastSmallEncoder(torch.nn.Linear(2, 2))
    fast = FastSmallEncoder(SmallEncoder(in_channels=2, widths=(4,), embedding_dim=8).eval())
    with pytest.raises(ValueError, match="features must have shape"):
        fast(torch.zeros(1, 1, 64, 101))


def test_efficientnet_models_keep_the_eager_path(counter):
    pytest.importorskip("efficientnet_pytorch", reason="efficientnet_pytorch not installed")
    model = CocolaModel(CocolaConfig(encoder="efficientnet-b0", embedding_dim=16)).eval()
    assert fast_encoder(model.encoder) is None
    with torch.no_grad():
        assert model.embed(torch.full((1, 2, 64, 101), -80.0)).shape == (1, 16)
    assert not counter


def test_cache_is_weak():
    import gc

    model = CocolaModel(CocolaConfig(widths=(4,), embedding_dim=8)).eval()
    with torch.no_grad():
        model.embed(torch.full((1, 2, 64, 101), -80.0))
    assert model.encoder in inference._CACHE
    n = len(inference._CACHE)
    del model
    gc.collect()
    assert len(inference._CACHE) == n - 1
