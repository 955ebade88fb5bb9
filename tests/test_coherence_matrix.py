"""score_matrix equals N x M individual scores; score_one equals score; the thread policy."""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import timbrefast  # noqa: E402
from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.models import CocolaConfig, CocolaModel  # noqa: E402
from timbrefast.scorers.coherence import CoherenceScorer  # noqa: E402
from timbrefast.scorers.threads import SMALL_CALL_WINDOWS, ThreadPolicy, default_threads, scoring_threads  # noqa: E402

SR = 16000
W = 5 * SR


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32))
    return save_model(model, tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def scorer(model_dir):
    return CoherenceScorer.from_pretrained(model_dir)


def _clip(seconds, seed):
    g = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = 110 * 2 ** (g.integers(0, 24) / 12)
    return (0.2 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * g.uniform(1, 4) * t))
            + 0.01 * g.standard_normal(t.size)).astype(np.float32)


def test_matrix_equals_individual_scores(scorer):
    contexts = [_clip(5, 1), _clip(3, 2), _clip(11, 3)]
    candidates = [_clip(5, 4), _clip(8, 5), _clip(2, 6), _clip(5, 7)]
    m = scorer.score_matrix(contexts, candidates, sr=SR)
    assert isinstance(m, np.ndarray) and m.shape == (3, 4)
    for i, c in enumerate(contexts):
        np.testing.assert_allclose(m[i], scorer.score(c, candidates, sr=SR), rtol=1e-4, atol=1e-4)
    one = scorer.score_matrix(contexts[0], candidates, sr=SR)  # one clip = one row
    assert one.shape == (1, 4)
    np.testing.assert_allclose(one[0], m[0], rtol=1e-5, atol=1e-5)
    mt = scorer.score_matrix(torch.from_numpy(np.stack([contexts[0]] * 3)), candidates, sr=SR)
    assert torch.is_tensor(mt) and mt.shape == (3, 4)
    np.testing.assert_allclose(mt.numpy()[2], m[0], rtol=1e-4, atol=1e-4)
    m44 = scorer.score_matrix(contexts[0], candidates, sr=44100)  # arrays at another rate are resampled
    np.testing.assert_allclose(m44[0], scorer.score(contexts[0], candidates, sr=44100), rtol=1e-4, atol=1e-4)


def test_matrix_embeds_each_clip_once(scorer, monkeypatch):
    calls = []
    orig = type(scorer).embed_windows

    def counting(self, windows):
        calls.append(int(windows.shape[0]))
        return orig(self, windows)

    monkeypatch.setattr(type(scorer), "embed_windows", counting)
    scorer.score_matrix([_clip(5, 1), _clip(5, 2)], [_clip(5, 3), _clip(10, 4), _clip(5, 5)], sr=SR)
    assert sum(calls) == 2 + 4  # windows: 1 + 1 contexts, 1 + 2 + 1 candidates


def test_matrix_bad_input(scorer):
    with pytest.raises(ValueError, match="candidates"):
        scorer.score_matrix(_clip(5, 1), [], sr=SR)
    with pytest.raises(ValueError, match="contexts"):
        scorer.score_matrix(_clip(5, 1)[None].repeat(2, 0), _clip(5, 2), sr=SR)  # (2, n) is ambiguous
    with pytest.raises(ValueError, match="sr"):
        scorer.score_matrix(_clip(5, 1), _clip(5, 2))


def test_score_one_equals_score(scorer):
    ctx = scorer.context(_clip(5, 1), sr=SR)
    for x in (_clip(5, 2), _clip(2, 3), _clip(9, 4)):
        v = ctx.score_one(x, sr=SR)
        assert isinstance(v, float)
        assert v == pytest.approx(float(ctx.score(x, sr=SR)[0]), rel=1e-5, abs=1e-5)
    vt = ctx.score_one(torch.from_numpy(_clip(5, 2)), sr=SR)
    assert torch.is_tensor(vt) and vt.ndim == 0
    with pytest.raises(TypeError, match="one clip"):
        ctx.score_one([_clip(5, 2)], sr=SR)


def test_policy_counts():
    assert ThreadPolicy().count(1) == 1 and ThreadPolicy().count(SMALL_CALL_WINDOWS) == 1
    assert ThreadPolicy().count(64) == default_threads()
    assert ThreadPolicy(3).count(1) == 3 and ThreadPolicy(3).count(64) == 3
    with pytest.raises(ValueError, match="threads"):
        ThreadPolicy(0)
    with pytest.raises(TypeError, match="threads"):
        ThreadPolicy(1.5)
    assert "auto" in repr(ThreadPolicy())


def test_scoring_threads_sets_and_restores():
    before = (torch.get_num_threads(), timbrefast.get_num_threads())
    with scoring_threads(1):
        assert torch.get_num_threads() == 1 and timbrefast.get_num_threads() == 1
        with scoring_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1  # the outer scope still holds
    assert (torch.get_num_threads(), timbrefast.get_num_threads()) == before
    with pytest.raises(RuntimeError):
        with scoring_threads(1):
            raise RuntimeError("boom")
    assert (torch.get_num_threads(), timbrefast.get_num_threads()) == before
    assert timbrefast.scoring_threads is scoring_threads


def test_scorer_calls_run_under_the_policy(model_dir, monkeypatch):
    seen = []
    scorer = CoherenceScorer.from_pretrained(model_dir, threads=1)
    assert scorer.thread_policy.threads == 1
    orig = scorer.model.embed

    def spy(features, mode="both"):
        seen.append((torch.get_num_threads(), timbrefast.get_num_threads()))
        return orig(features, mode=mode)

    monkeypatch.setattr(scorer.model, "embed", spy)
    before = (torch.get_num_threads(), timbrefast.get_num_threads())
    ctx = scorer.context(_clip(5, 1), sr=SR)
    ctx.score([_clip(5, 2)] * 3, sr=SR)
    ctx.score_one(_clip(5, 2), sr=SR)
    scorer.stream(ctx, sr=SR).push(_clip(1, 3))
    assert seen and all(s == (1, 1) for s in seen)
    assert (torch.get_num_threads(), timbrefast.get_num_threads()) == before
    with pytest.raises(ValueError, match="threads"):
        CoherenceScorer.from_pretrained(model_dir, threads=0)


def test_concurrent_callers_get_correct_results(model_dir):
    scorer = CoherenceScorer.from_pretrained(model_dir, threads=1)
    ctx = scorer.context(_clip(5, 1), sr=SR)
    cands = [_clip(5, 10 + i) for i in range(8)]
    expected = [float(ctx.score(c, sr=SR)[0]) for c in cands]
    before = (torch.get_num_threads(), timbrefast.get_num_threads())
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait() if i < 4 else None
        return ctx.score_one(cands[i], sr=SR), float(ctx.score(cands[i], sr=SR)[0])

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(work, range(8)))
    for (a, b), e in zip(got, expected):
        assert a == pytest.approx(e, rel=1e-5, abs=1e-5) and b == pytest.approx(e, rel=1e-5, abs=1e-5)
    assert (torch.get_num_threads(), timbrefast.get_num_threads()) == before
