"""CoherenceStream: pushed chunk by chunk, the score equals CoherenceScorer.score of the same audio."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.data.audio import resample  # noqa: E402
from timbrefast.models import CocolaConfig, CocolaModel  # noqa: E402
from timbrefast.scorers.coherence import CoherenceScorer  # noqa: E402
from timbrefast.scorers.streaming import CoherenceStream, _Resampler  # noqa: E402

SR = 16000
W = 5 * SR


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32))
    return CoherenceScorer.from_pretrained(save_model(model, tmp_path_factory.mktemp("tiny") / "model"))


def _music(seconds, seed=0, sr=SR):
    g = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    y = np.zeros(n)
    for k in range(int(seconds * 4)):
        f0 = 110 * 2 ** (g.integers(0, 24) / 12)
        start = int(k * sr / 4)
        seg = t[: n - start]
        y[start:] += 0.2 * np.sin(2 * np.pi * f0 * seg) * np.exp(-3 * seg)
    return (y + 0.01 * g.standard_normal(n)).astype(np.float32)


CAND = _music(12.0, seed=5)


@pytest.fixture(scope="module")
def context(scorer):
    return scorer.context(_music(5.0, seed=1), sr=SR)


def _push_all(stream, x, cuts):
    pos = 0
    for c in list(cuts) + [len(x)]:
        if c > pos:
            stream.push(x[pos:c], score=False)
            pos = c
    return stream.score()


def _last_start(n, hop=160):
    return max(0, -(-(n - W) // hop) * hop)


def _rel(a, b):
    return abs(float(a) - float(b)) / max(abs(float(b)), 1e-6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1000, 12 * SR), cuts=st.lists(st.integers(1, 12 * SR - 1), max_size=12),
       window=st.sampled_from(["last", "all"]))
def test_random_chunk_splits_equal_score(scorer, context, n, cuts, window):
    x = CAND[:n]
    stream = scorer.stream(context, sr=SR, window=window)
    got = _push_all(stream, x, sorted(c for c in set(cuts) if c < n))
    ref_audio = x if window == "all" else x[_last_start(n):]
    ref = context.score(ref_audio, sr=SR)[0]
    assert _rel(got, ref) < 1e-4


def test_every_push_scores_the_audio_so_far(scorer, context):
    stream = scorer.stream(context, sr=SR, window="last")
    streamed_all = scorer.stream(context, sr=SR, window="all")
    pos = 0
    for step in (3000, 40000, 1600, 37400, 1600, 16000, 333):
        chunk = CAND[pos:pos + step]
        pos += step
        got, got_all = stream.push(chunk), streamed_all.push(chunk)
        assert isinstance(got, float)
        assert _rel(got, context.score(CAND[_last_start(pos):pos], sr=SR)[0]) < 1e-4
        assert _rel(got_all, context.score(CAND[:pos], sr=SR)[0]) < 1e-4
    assert stream.samples == pos and stream.seconds == pytest.approx(pos / SR)


def test_small_push_recomputes_only_changed_frames(scorer, context):
    stream = scorer.stream(context, sr=SR)
    stream.push(CAND[:6 * SR], score=False)
    stream.push(CAND[6 * SR:6 * SR + 1600], score=False)  # 100 ms: the window slides 10 frames
    n_stft, n_mask = stream._last.recomputed
    assert n_stft <= 4 + 10 + 7  # start-padding frames + new frames + frames overlapping the old end
    assert n_mask <= n_stft + 2 * 15 + 4
    assert n_mask < 501 // 4


@pytest.mark.parametrize("rate", [44100, 48000, 22050, 8000])
def test_other_rates_resample_exactly(scorer, context, rate):
    x = resample(CAND[:7 * SR], orig_sr=SR, target_sr=rate)
    g = np.random.default_rng(rate)
    cuts = np.sort(g.choice(np.arange(1, len(x)), size=15, replace=False))
    for window in ("last", "all"):
        stream = scorer.stream(context, sr=rate, window=window)
        got = _push_all(stream, x, cuts)
        y = resample(x, orig_sr=rate, target_sr=SR)
        ref = context.score(y if window == "all" else y[_last_start(len(y)):], sr=SR)[0]
        assert _rel(got, ref) < 1e-4


def test_resampler_matches_whole_signal():
    g = np.random.default_rng(0)
    x = g.standard_normal(30000).astype(np.float32)
    for orig, target in [(44100, 16000), (48000, 16000), (8000, 16000), (22050, 16000)]:
        r = _Resampler(orig, target)
        out = np.zeros(-(-len(x) * target // orig) + 10, np.float32)
        pos = 0
        for c in sorted(g.choice(np.arange(1, len(x)), size=20, replace=False)) + [len(x)]:
            start, y = r.push(x[pos:c])
            out[start:start + len(y)] = y
            end = start + len(y)
            pos = c
        np.testing.assert_allclose(out[:end], resample(x, orig_sr=orig, target_sr=target), atol=1e-6)


def test_tensor_chunks_give_tensor_scores(scorer, context):
    stream = scorer.stream(context, sr=SR)
    v = stream.push(torch.from_numpy(CAND[:W]))
    assert torch.is_tensor(v) and v.ndim == 0
    assert _rel(v.item(), context.score(CAND[:W], sr=SR)[0]) < 1e-4


def test_stream_from_audio_context_and_stereo_chunks(scorer):
    ctx_audio = _music(5.0, seed=1)
    stream = scorer.stream(ctx_audio, sr=SR)
    x = CAND[:W]
    got = stream.push(np.stack([x, x]))  # (2, n): a stereo chunk, averaged
    assert _rel(got, scorer.score(ctx_audio, x, sr=SR)[0]) < 1e-4


def test_refused_chunks_leave_the_stream_intact(scorer, context):
    stream = scorer.stream(context, sr=SR)
    stream.push(CAND[:30000], score=False)
    bad_nan = CAND[30000:31600].copy()
    bad_nan[7] = np.nan
    with pytest.raises(ValueError, match="chunk"):
        stream.push(bad_nan)
    with pytest.raises(ValueError, match="chunk"):
        stream.push(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="sr"):
        stream.push(CAND[30000:31600], sr=44100)
    with pytest.raises(TypeError, match="chunk"):
        stream.push((CAND[30000:31600] * 32767).astype(np.int16))
    with pytest.raises(ValueError, match="chunk"):
        stream.push(np.zeros((3, 1000), np.float32))
    with pytest.raises(ValueError, match="gradient"):
        stream.push(torch.zeros(100, requires_grad=True))
    assert stream.samples == 30000
    got = stream.push(CAND[30000:90000])  # continues as if the refused chunks never came
    assert _rel(got, context.score(CAND[_last_start(90000):90000], sr=SR)[0]) < 1e-4


def test_bad_stream_arguments(scorer, context):
    with pytest.raises(ValueError, match="hop"):
        scorer.stream(context, sr=SR, hop=100)
    with pytest.raises(ValueError, match="window"):
        scorer.stream(context, sr=SR, window="first")
    with pytest.raises(ValueError, match="sr"):
        scorer.stream(context, sr=0)
    with pytest.raises(ValueError, match="nothing pushed"):
        scorer.stream(context, sr=SR).score()
    with pytest.raises(ValueError, match="context"):
        scorer.stream(np.zeros(0, np.float32), sr=SR)


def test_context_shorter_than_a_window(scorer):
    short = _music(1.2, seed=3)  # zero-padded to one window, as score() does
    stream = scorer.stream(short, sr=SR)
    got = _push_all(stream, CAND[:W], [12345, 50000])
    assert _rel(got, scorer.score(short, CAND[:W], sr=SR)[0]) < 1e-4


def test_hop_grid_and_reset(scorer, context):
    stream = scorer.stream(context, sr=SR, hop=1600)
    n = W + 2000
    got = _push_all(stream, CAND[:n], [W])
    assert _rel(got, context.score(CAND[_last_start(n, 1600):n], sr=SR)[0]) < 1e-4
    stream.reset()
    assert stream.samples == 0
    assert _rel(stream.push(CAND[:W]), context.score(CAND[:W], sr=SR)[0]) < 1e-4
    assert "CoherenceStream" in repr(stream) and isinstance(stream, CoherenceStream)


def test_bundled_model_stream_equals_score():
    scorer = CoherenceScorer.from_pretrained()
    ctx = scorer.context(_music(5.0, seed=11), sr=SR)
    x = CAND[:7 * SR + 1600]
    for window in ("last", "all"):
        got = _push_all(scorer.stream(ctx, sr=SR, window=window), x, list(range(1600, len(x), 1600)))
        ref = ctx.score(x if window == "all" else x[_last_start(len(x)):], sr=SR)[0]
        assert _rel(got, ref) < 1e-4


def test_stream_encodes_only_when_a_score_is_asked_and_uses_the_fast_encoder(scorer, context, monkeypatch):
    from timbrefast.models.inference import FastSmallEncoder

    calls = []
    original = FastSmallEncoder.__call__
    monkeypatch.setattr(FastSmallEncoder, "__call__", lambda self, x: calls.append(x.shape[0]) or original(self, x))
    for window in ("last", "all"):
        calls.clear()
        stream = scorer.stream(context, sr=SR, window=window)
        for i in range(3):  # features only: no encoder pass
            stream.push(CAND[i * 1600: (i + 1) * 1600], score=False)
        assert calls == []
        first = stream.score()
        assert calls == [1]  # one window, one pass
        assert stream.score() == first and calls == [1]  # nothing new: the cached score
        stream.push(CAND[4800:6400])
        assert calls == [1, 1]
    # "all": a finished window keeps its embedding; only the open one is re-encoded
    calls.clear()
    stream = scorer.stream(context, sr=SR, window="all")
    stream.push(CAND[: W + 3 * SR])  # a 3 s remainder: a second, open window
    assert calls == [1, 1]
    calls.clear()
    stream.push(CAND[W + 3 * SR: W + 3 * SR + 1600])
    assert calls == [1]
    stream.push(CAND[W + 3 * SR + 1600: W + 3 * SR + 3200])
    model = scorer.model
    model.fast_inference = False
    try:
        eager = scorer.stream(context, sr=SR, window="all")
        eager.push(CAND[: W + 3 * SR + 3200])
        assert calls == [1, 1]
    finally:
        model.fast_inference = True
    np.testing.assert_allclose(eager.score(), stream.score(), rtol=1e-5)
