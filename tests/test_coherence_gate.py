"""The calibration gate: silence, near-silence, noise and quiet copies are flagged and floored."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.models import CocolaConfig, CocolaModel  # noqa: E402
from timbrefast.scorers.coherence import CoherenceScorer  # noqa: E402
from timbrefast.scorers.gate import (GateConfig, clip_level_db, feature_stats, judge,  # noqa: E402
                                     score_floor)

SR = 16000
W = 5 * SR


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    # the gate does not depend on the model: a tiny one keeps the tests fast
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32))
    return CoherenceScorer.from_pretrained(save_model(model, tmp_path_factory.mktemp("tiny") / "model"))


def _music(seconds, seed=0, gain=1.0):
    g = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = np.zeros(n)
    for k in range(int(seconds * 4)):
        f0 = 110 * 2 ** (g.integers(0, 24) / 12)
        start = int(k * SR / 4)
        seg = t[: n - start]
        y[start:] += 0.2 * np.sin(2 * np.pi * f0 * seg) * np.exp(-3 * seg)
    return (gain * y).astype(np.float32)


def _noise(alpha, db, seed=0):
    g = np.random.default_rng(seed)
    X = np.fft.rfft(g.standard_normal(W))
    f = np.arange(len(X), dtype=np.float64)
    f[0] = 1
    y = np.fft.irfft(X / f ** (alpha / 2), W)
    return (y / np.sqrt(np.mean(y ** 2)) * 10 ** (db / 20)).astype(np.float32)


def test_level_in_dbfs():
    t = np.arange(SR) / SR
    assert clip_level_db(np.sin(2 * np.pi * 440 * t)) == pytest.approx(-3.01, abs=0.01)
    assert clip_level_db(np.zeros(100, np.float32)) == -120.0
    assert clip_level_db(0.01 * np.sin(2 * np.pi * 440 * t)) == pytest.approx(-43.01, abs=0.01)


def test_silence_noise_and_quiet_copies_are_flagged(scorer):
    context = scorer.context(_music(5, seed=1), sr=SR)
    music = _music(5, seed=2)
    cands = {
        "music": music,
        "music -6 dB": music * 0.5,
        "silence": np.zeros(W, np.float32),
        "music -40 dB": music * 0.01,
        "white -20": _noise(0, -20),
        "pink -10": _noise(1, -10, seed=1),
        "brown -30": _noise(2, -30, seed=2),
        "white -70": _noise(0, -70, seed=3),
    }
    a = context.assess(list(cands.values()), sr=SR)
    flags = dict(zip(cands, a.flags))
    assert flags["music"] == "ok" and flags["music -6 dB"] == "ok"
    assert flags["silence"] == "silent" and flags["white -70"] == "silent"
    assert flags["music -40 dB"] in ("quiet", "silent")
    assert flags["white -20"] == flags["pink -10"] == flags["brown -30"] == "noise"
    assert list(a.gated) == [f != "ok" for f in a.flags]
    assert np.all(a.confidence[a.gated] == 0) and np.all(a.confidence[~a.gated] > 0)
    assert np.all((a.confidence >= 0) & (a.confidence <= 1))
    # gated scores sit at the floor, below every ungated one; raw scores are kept
    floor = scorer.score_floor
    assert np.all(a.scores[a.gated] == floor) and np.all(a.scores[~a.gated] > floor)
    np.testing.assert_allclose(a.raw_scores, context.score(list(cands.values()), sr=SR), rtol=1e-4, atol=1e-3)
    # a gain change is neither rewarded nor punished above the thresholds
    assert a.raw_scores[1] == pytest.approx(a.raw_scores[0], rel=1e-3)
    ungated = context.assess(list(cands.values()), sr=SR, gate=False)
    np.testing.assert_allclose(ungated.scores, a.raw_scores)
    assert ungated.flags == a.flags
    d = a.to_dict()
    assert d["flags"] == a.flags and len(d["scores"]) == len(cands)


def test_floor_is_below_any_reachable_score(scorer):
    w = scorer.model.head.weight.detach()
    worst = -w.abs().sum().item()  # h_y^T W h_x >= -sum |W| for embeddings in (-1, 1)^d
    assert score_floor(scorer) < worst
    x = torch.sign(torch.randn(w.shape[0]))
    assert float(x @ w @ -torch.sign(w.T @ x)) > score_floor(scorer)


def test_stationary_tonal_music_is_not_noise():
    # a slow accompaniment of held chords: stationary (3.5 dB) but tonal (flatness 0.0014)
    assert judge(-28.0, 0.0014, 3.48, -28.0)[0] == "ok"
    assert judge(-28.0, 0.03, 3.6, -28.0)[0] == "noise"  # brown noise: stationary and not tonal
    t = np.arange(W) / SR
    chord = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (196.0, 246.9, 293.7)).astype(np.float32)
    import timbrefast

    flat, var = feature_stats(timbrefast.Frontend("cocola")(chord[None]), [501])
    assert judge(clip_level_db(chord), flat[0], var[0], None)[0] == "ok"


def test_relative_level_uses_the_context():
    # -45 dBFS is above quiet_db, but 40 dB below a -5 dBFS context
    assert judge(-45.0, 0.05, 8.0, None)[0] == "ok"
    assert judge(-45.0, 0.05, 8.0, -5.0)[0] == "quiet"
    assert judge(-45.0, 0.05, 8.0, -5.0, GateConfig(relative_db=50.0))[0] == "ok"
    with pytest.raises(ValueError, match="silent_db"):
        GateConfig(silent_db=-10.0, quiet_db=-20.0)
    with pytest.raises(ValueError, match="finite"):
        GateConfig(noise_flatness=float("nan"))


def test_feature_stats_ignore_padding(scorer):
    short_noise = _noise(0, -20)[: SR]  # 1 s of noise, padded to 5 s: the padding must not look like music
    feats = scorer.features(np.pad(short_noise, (0, W - SR))[None])
    flat, var = feature_stats(feats, [SR // 160 + 1])
    assert flat[0] > 0.35 or var[0] < 3.5
    context = scorer.context(_music(5, seed=1), sr=SR)
    assert context.assess(short_noise, sr=SR).flags == ["noise"]


def test_tensor_input_and_matrix_gate(scorer):
    context = scorer.context(_music(5, seed=1), sr=SR)
    batch = torch.from_numpy(np.stack([_music(5, seed=2), np.zeros(W, np.float32), _noise(0, -20)]))
    a = context.assess(batch, sr=SR)
    assert torch.is_tensor(a.scores) and a.flags == ["ok", "silent", "noise"]
    m = scorer.score_matrix([_music(5, seed=1), _music(5, seed=3)], batch, sr=SR, gate=True)
    assert torch.is_tensor(m) and m.shape == (2, 3)
    assert torch.all(m[:, 1:] == scorer.score_floor) and torch.all(m[:, 0] > scorer.score_floor)


def test_stream_gate(scorer):
    context = scorer.context(_music(5, seed=1), sr=SR)
    stream = scorer.stream(context, sr=SR, gate=True)
    assert stream.push(np.zeros(W, np.float32)) == scorer.score_floor
    assert stream.flag == "silent" and stream.level_db == -120.0 and stream.confidence == 0.0
    stream.reset()
    v = stream.push(_music(5, seed=2))
    assert v > scorer.score_floor and stream.flag == "ok" and stream.confidence > 0
    noisy = scorer.stream(context, sr=SR, gate=True, window="all")
    assert noisy.push(_noise(1, -20)) == scorer.score_floor and noisy.flag == "noise"


@pytest.mark.parametrize("window", ["last", "all"])
def test_stream_verdict_is_computed_when_read(scorer, window, monkeypatch):
    """Without the gate a stream's flag and confidence wait until they are read (a loop that
    reads only scores does not pay for them), and then judge the audio of the last score, as
    assess does for the same clip."""
    from timbrefast.scorers import streaming

    calls = []
    stats = streaming.feature_stats
    monkeypatch.setattr(streaming, "feature_stats", lambda *a, **k: calls.append(1) or stats(*a, **k))
    context = scorer.context(_music(5, seed=1), sr=SR)
    stream = scorer.stream(context, sr=SR, window=window)
    assert stream.flag is None and stream.confidence is None
    noise = _noise(0, -20)
    stream.push(noise)
    # "all" keeps the statistics of each finished 5 s window (one call when it closes)
    finished = 1 if window == "all" else 0
    assert len(calls) == finished
    stream.push(_music(5, seed=2)[:SR], score=False)  # features only: the verdict stays the scored one's
    assert stream.flag == "noise" and not 0 < stream.confidence
    assert len(calls) == (finished if window == "all" else 1)
    ref = context.assess(noise[None], sr=SR)
    assert stream.flag == ref.flags[0] and stream.level_db == pytest.approx(ref.level_db[0], abs=1e-3)
    stream.confidence
    assert len(calls) == (finished if window == "all" else 1)  # computed once
    stream.reset()
    assert stream.flag is None
