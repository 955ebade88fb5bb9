"""CoherenceScorer: input forms, windows, resampling, modes, reuse, metrics, errors."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import timbrefast  # noqa: E402
from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.models import CocolaConfig, CocolaModel, apply_mode  # noqa: E402
from timbrefast.scorers.coherence import (  # noqa: E402
    CoherenceScorer,
    kway_accuracy,
    pearson_with_ratings,
)

SR = 16000
W = 5 * SR


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32))
    return save_model(model, tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def scorer(tiny_dir):
    return CoherenceScorer.from_pretrained(tiny_dir)


def _music(seconds, seed=0, sr=SR):
    """A few harmonic notes with onsets, plus a little noise (deterministic)."""
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


def test_embed_shapes_and_types(scorer):
    one = _music(5)
    batch = np.stack([_music(5, 1), _music(5, 2), _music(5, 9)])
    e1 = scorer.embed(one, sr=SR)
    assert isinstance(e1, np.ndarray) and e1.shape == (32,) and e1.dtype == np.float32
    eb = scorer.embed(batch, sr=SR)
    assert eb.shape == (3, 32)
    et = scorer.embed(torch.from_numpy(batch), sr=SR)
    assert torch.is_tensor(et) and et.shape == (3, 32)
    np.testing.assert_allclose(et.numpy(), eb, rtol=1e-5, atol=1e-6)
    mixed = scorer.embed([one, _music(3, 3)], sr=SR)
    assert mixed.shape == (2, 32)
    np.testing.assert_allclose(mixed[0], e1, rtol=1e-5, atol=1e-6)


def test_score_is_bilinear_similarity_and_context_reuse(scorer):
    ctx = _music(5)
    cands = np.stack([_music(5, s) for s in (1, 2, 3)])
    scores = scorer.score(ctx, cands, sr=SR)
    assert scores.shape == (3,)
    c, x = scorer.embed(ctx, sr=SR), scorer.embed(cands, sr=SR)
    W_ = scorer.model.head.weight.detach().numpy()
    np.testing.assert_allclose(scores, x @ (c @ W_), rtol=1e-4, atol=1e-5)
    context = scorer.context(ctx, sr=SR)
    np.testing.assert_allclose(context.score(cands, sr=SR), scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context.score(cands[1], sr=SR), scores[1:2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scorer.similarity(c, x), scores, rtol=1e-4, atol=1e-5)
    st = scorer.score(torch.from_numpy(ctx), torch.from_numpy(cands), sr=SR)
    assert torch.is_tensor(st)


def test_window_rules(scorer):
    y = _music(12.0, 4)
    # <= 5 s: zero-padded to 5 s
    short = y[: 3 * SR]
    padded = np.zeros(W, np.float32)
    padded[: short.size] = short
    np.testing.assert_allclose(scorer.embed(short, sr=SR), scorer.embed(padded, sr=SR), rtol=1e-5, atol=1e-6)
    # 12 s: two full windows, the 2 s remainder (< 2.5 s) is dropped
    two = scorer.embed([y[:W], y[W : 2 * W]], sr=SR).mean(axis=0)
    np.testing.assert_allclose(scorer.embed(y, sr=SR), two, rtol=1e-4, atol=1e-5)
    # 13 s: a 3 s remainder becomes a third, zero-padded window
    y13 = _music(13.0, 5)
    tail = np.zeros(W, np.float32)
    tail[: 3 * SR] = y13[2 * W :]
    three = scorer.embed(np.stack([y13[:W], y13[W : 2 * W], tail]), sr=SR).mean(axis=0)
    np.testing.assert_allclose(scorer.embed(y13, sr=SR), three, rtol=1e-4, atol=1e-5)


def test_resampling_and_files(scorer, tmp_path):
    import soundfile as sf
    from timbrefast.data.audio import resample

    y44 = _music(5, 6, sr=44100)
    via = scorer.embed(resample(y44, orig_sr=44100, target_sr=SR), sr=SR)
    np.testing.assert_allclose(scorer.embed(y44, sr=44100), via, rtol=1e-5, atol=1e-6)
    path = tmp_path / "clip.wav"
    sf.write(path, np.stack([y44, y44], axis=1), 44100, subtype="FLOAT")  # stereo: averaged
    np.testing.assert_allclose(scorer.embed(str(path)), via, rtol=1e-4, atol=1e-5)
    scores = scorer.score(path, [path, str(path)])
    assert scores.shape == (2,) and scores[0] == pytest.approx(scores[1])
    with pytest.raises(ValueError, match="44100"):
        scorer.embed(path, sr=SR)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(ValueError, match="bad.wav"):
        scorer.embed(bad)
    with pytest.raises(FileNotFoundError):
        scorer.embed(tmp_path / "missing.wav")


def test_modes_mask_with_silence_consistently(tiny_dir):
    y = np.stack([_music(5, 7), _music(5, 8), _music(5, 9)])
    feats = torch.from_numpy(np.asarray(timbrefast.Frontend("cocola")(y)))
    for mode in ("harmonic", "percussive"):
        s = CoherenceScorer.from_pretrained(tiny_dir, mode=mode)
        with torch.no_grad():
            expected = s.model.encoder(apply_mode(feats, mode)).numpy()
        np.testing.assert_allclose(s.embed(y, sr=SR), expected, rtol=1e-4, atol=1e-5)
        masked = apply_mode(feats, mode)
        assert float(masked.min()) == -80.0
    both = CoherenceScorer.from_pretrained(tiny_dir)
    assert not np.allclose(both.embed(y, sr=SR), CoherenceScorer.from_pretrained(tiny_dir, mode="harmonic").embed(y, sr=SR))
    with pytest.raises(ValueError, match="mode"):
        CoherenceScorer.from_pretrained(tiny_dir, mode="drums")


def test_bad_input(scorer):
    y = _music(5)
    with pytest.raises(ValueError, match="sr"):
        scorer.embed(y)
    bad = y.copy()
    bad[10] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        scorer.embed(bad, sr=SR)
    with pytest.raises(TypeError, match="int16"):
        scorer.embed((y * 1000).astype(np.int16), sr=SR)
    with pytest.raises(ValueError, match="empty"):
        scorer.embed(np.zeros(0, np.float32), sr=SR)
    with pytest.raises(ValueError, match="shape"):
        scorer.embed(np.zeros((2, 3, 100), np.float32), sr=SR)  # 3 channels
    with pytest.raises(ValueError, match="shape"):
        scorer.embed(np.zeros((2, 2, 2, 100), np.float32), sr=SR)
    with pytest.raises(ValueError, match="sr"):
        scorer.embed(y, sr=0)
    with pytest.raises(TypeError):
        scorer.embed({"audio": y}, sr=SR)
    with pytest.raises(ValueError, match="one clip"):
        scorer.context(np.stack([y, y, y]), sr=SR)
    with pytest.raises(ValueError, match="empty"):
        scorer.score(y, [], sr=SR)


def test_former_metric_names_are_the_metrics():
    """kway_accuracy / pearson_with_ratings stay importable as thin aliases of timbrefast.metrics
    (one rule each: the alias has no rules of its own)."""
    from timbrefast import metrics

    g = np.random.default_rng(1)
    s = g.standard_normal((50, 50)) + np.eye(50)
    assert kway_accuracy(s, k=4, seed=3) == metrics.k_way_accuracy(s, k=4, seed=3)
    assert kway_accuracy(s, k=4) == metrics.k_way_accuracy(s, k=4, seed=0)
    scores = g.standard_normal(41)
    ratings = 0.5 * scores + g.standard_normal(41)
    assert pearson_with_ratings(scores, ratings) == metrics.pearson(scores, ratings)
    r_t, _ = pearson_with_ratings(torch.from_numpy(scores), ratings)
    assert r_t == pytest.approx(metrics.pearson(scores, ratings)[0])
    for bad in ((scores, ratings[:-1]), ([1.0], [2.0]), (np.ones(5), np.arange(5.0)), ([1.0, np.nan, 2.0], [1.0, 2.0, 3.0])):
        with pytest.raises(ValueError):
            pearson_with_ratings(*bad)


def test_evaluate_matches_manual_kway(scorer):
    pairs = [(_music(5, 10 + i), _music(5, 50 + i)) for i in range(8)]
    res = scorer.evaluate(pairs, k=(2, 4), progress=False)
    a = scorer.embed(np.stack([p[0] for p in pairs]), sr=SR)
    p = scorer.embed(np.stack([p[1] for p in pairs]), sr=SR)
    sims = scorer.similarity(a[0], p)  # row 0, sanity of shapes
    assert sims.shape == (8,)
    full = a @ scorer.model.head.weight.detach().numpy() @ p.T
    assert res["k2"] == pytest.approx(kway_accuracy(full, k=2, seed=0))
    assert res["k4"] == pytest.approx(kway_accuracy(full, k=4, seed=0))
    assert res["pairs"] == 8 and res["mode"] == "both"
    from timbrefast.metrics import expected_k_way_accuracy

    assert res["k2_mean"] == pytest.approx(expected_k_way_accuracy(full, k=2))
    assert res["k4_mean"] == pytest.approx(expected_k_way_accuracy(full, k=4))
    with pytest.raises(ValueError, match="K=16"):
        scorer.evaluate(pairs, k=(16,), progress=False)
    # a limit draws a seeded subset of the whole dataset, not its first items
    sub = scorer.evaluate(pairs, k=(2,), limit=4, seed=1, progress=False)
    idx = np.sort(np.random.default_rng(1).choice(8, size=4, replace=False))
    part = full[np.ix_(idx, idx)]
    assert sub["pairs"] == 4 and sub["k2_mean"] == pytest.approx(expected_k_way_accuracy(part, k=2))


def _cli(register, argv):
    import argparse

    parser = argparse.ArgumentParser(prog="timbrefast")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_coherence_cli(tiny_dir, tmp_path, capsys):
    import json

    import soundfile as sf
    from timbrefast.scorers.cli import register

    ctx, a, b = tmp_path / "ctx.wav", tmp_path / "a.wav", tmp_path / "b.flac"
    sf.write(ctx, _music(5, 1), SR)
    sf.write(a, _music(5, 2), SR)
    sf.write(b, _music(7, 3), 22050)
    assert _cli(register, ["coherence", str(ctx), str(a), str(b), "--model", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    assert "a.wav" in out and "b.flac" in out and "COCOLA score" in out
    assert _cli(register, ["coherence", str(ctx), str(a), str(b), "--model", str(tiny_dir), "--json",
                           "--mode", "percussive"]) == 0
    res = json.loads(capsys.readouterr().out)
    scorer = CoherenceScorer.from_pretrained(tiny_dir, mode="percussive")
    expected = scorer.score(str(ctx), [str(a), str(b)])
    assert res["mode"] == "percussive"
    np.testing.assert_allclose([res["scores"][str(a)], res["scores"][str(b)]], expected, rtol=1e-5)


@pytest.fixture(scope="module")
def rendered_tracks(tmp_path_factory):
    """Four short multi-stem pieces rendered by the data engine (TimGM6mb)."""
    from timbrefast.data import load_audio, read_dataset, synthesize_stems

    sf2 = "/usr/share/sounds/sf2/TimGM6mb.sf2"
    import os

    if not os.path.exists(sf2):
        pytest.skip(f"soundfont {sf2} not installed (scripts/install_system_deps.sh)")
    root = tmp_path_factory.mktemp("stems")
    synthesize_stems(root, soundfont=sf2, tracks=4, seed=5, source="phrases", seconds=6.0, sr=SR, progress=False)
    out = []
    for t in sorted(read_dataset(root, layout="slakh"), key=lambda t: t.name):
        stems = [load_audio(s.audio_path)[0][:W] for s in t.stems]
        stems = [np.pad(s, (0, W - s.size)) for s in stems]
        out.append(np.stack(stems))
    return out


def test_bundled_model_loads_and_prefers_matching_accompaniments(rendered_tracks):
    from timbrefast.scorers.coherence import BUNDLED_MODEL

    files = {p.name for p in BUNDLED_MODEL.iterdir()}
    assert {"model.safetensors", "config.json", "MODEL_CARD.md"} <= files
    assert sum(p.stat().st_size for p in BUNDLED_MODEL.iterdir()) <= 20 * 2**20
    scorer = timbrefast.CoherenceScorer.from_pretrained()
    assert scorer.config.in_channels == 2 and scorer.config.frontend == "cocola"
    contexts = [stems[0] for stems in rendered_tracks]
    accompaniments = np.stack([stems[1:].sum(axis=0) for stems in rendered_tracks])
    table = np.stack([scorer.score(ctx, accompaniments, sr=SR) for ctx in contexts])  # (context, candidate)
    assert table.shape == (4, 4) and np.all(np.isfinite(table))
    np.testing.assert_allclose(scorer.score(contexts[0], accompaniments, sr=SR), table[0], rtol=1e-5, atol=1e-5)
    # the matching accompaniment of each context scores above the mismatched ones on average
    matching = np.diag(table).mean()
    mismatched = table[~np.eye(4, dtype=bool)].mean()
    assert matching > mismatched


def test_demo_prints_scores_and_timings(capsys):
    from timbrefast.demo import register

    assert _cli(register, ["demo", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    for label in ("matching accompaniment", "2.5 s late", "semitone sharp", "another chorale", "timings:"):
        assert label in out
    scores = [float(line.rsplit(None, 1)[-1]) for line in out.splitlines()
              if line.startswith(("matching", "same", "accompaniment of"))]
    assert len(scores) == 4 and np.all(np.isfinite(scores))


def test_stereo_arrays_and_tensors_follow_the_channel_rule(scorer):
    """(n, 2) numpy as soundfile returns it and a (2, n) context as torchaudio returns it are
    one stereo clip, averaged like files; a (2, n) candidate batch is refused as ambiguous;
    (batch, 2, n) is a batch of stereo clips: one score per clip, never per channel."""
    left, right = _music(5, 20), _music(5, 21)
    stereo = np.stack([left, right])  # (2, n)
    mono = stereo.mean(axis=0)
    e_mono = scorer.embed(mono, sr=SR)
    np.testing.assert_allclose(scorer.embed(stereo.T, sr=SR), e_mono, rtol=1e-5, atol=1e-6)  # (n, 2)
    with pytest.raises(ValueError, match=r"ambiguous.*mean\(0\)"):
        scorer.embed(torch.from_numpy(stereo), sr=SR)
    with pytest.raises(ValueError, match="ambiguous"):
        scorer.score(mono, stereo, sr=SR)
    ctx = scorer.context(torch.from_numpy(stereo), sr=SR)  # a context is one clip: (2, n) is stereo
    np.testing.assert_allclose(ctx.embedding.numpy(), e_mono, rtol=1e-5, atol=1e-6)
    batch = np.stack([stereo, stereo[::-1], np.stack([left, left])])  # (3, 2, n)
    scores = scorer.score(stereo.T, batch, sr=SR)
    assert scores.shape == (3,)
    expected = scorer.score(mono, batch.mean(axis=1), sr=SR)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    assert scores[0] == pytest.approx(scores[1], rel=1e-5)  # L/R order does not matter after the downmix
    st = scorer.score(torch.from_numpy(mono), torch.from_numpy(batch[:1]), sr=SR)  # (1, 2, n) tensor
    assert torch.is_tensor(st) and st.shape == (1,)


def test_scorer_and_cli_load_a_training_checkpoint_folder(tmp_path, capsys):
    """out/checkpoint/ (model + optimiser state + trainer files) loads like model/ and best/."""
    import json

    import soundfile as sf
    from safetensors.torch import save_file

    torch.manual_seed(1)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32))
    ckpt = save_model(model, tmp_path / "run" / "checkpoint")
    save_file({"state.0.exp_avg": torch.zeros(3), "rng.torch": torch.zeros(4, dtype=torch.uint8)},
              str(ckpt / "optimizer.safetensors"))
    (ckpt / "state.json").write_text(json.dumps({"step": 7}))
    scorer = CoherenceScorer.from_pretrained(ckpt)
    ctx, a = tmp_path / "ctx.wav", tmp_path / "a.wav"
    sf.write(ctx, _music(5, 1), SR)
    sf.write(a, _music(5, 2), SR)
    expected = scorer.score(str(ctx), [str(a)])
    from timbrefast.scorers.cli import register

    assert _cli(register, ["coherence", str(ctx), str(a), "--model", str(ckpt), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose([res["scores"][str(a)]], expected, rtol=1e-5)


def test_coherence_cli_errors_are_one_line(tmp_path):
    """Issue 12, defect 12: a folder where audio is expected -> one line on stderr and exit 2;
    an unreadable file or model -> exit 1; never a traceback."""
    import os
    import subprocess
    import sys

    from conftest import subprocess_pythonpath

    env = dict(os.environ, PYTHONPATH=subprocess_pythonpath())
    folder = tmp_path / "clips"
    folder.mkdir()
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF0000WAVEjunk")

    def run(*argv):
        r = subprocess.run([sys.executable, "-m", "timbrefast", "coherence", *map(str, argv)],
                           capture_output=True, text=True, env=env, timeout=300)
        assert "Traceback" not in r.stderr, r.stderr
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("timbrefast coherence: error:"), r.stderr
        return r.returncode, lines[0]

    assert run(folder, folder) == (2, f"timbrefast coherence: error: context {folder} is a directory, not an audio file")
    code, msg = run(junk, folder)
    assert code == 2 and "candidate" in msg and "directory" in msg
    code, msg = run(junk, tmp_path / "missing.wav")
    assert code == 2 and "no such file" in msg
    code, msg = run(junk, junk)
    assert code == 1 and "junk.wav" in msg
    code, msg = run(junk, junk, "--model", folder)
    assert code == 1 and "model.safetensors" in msg
