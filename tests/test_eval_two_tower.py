"""``timbrefast eval two-tower`` and its pieces, end to end on a tiny synthetic TinySOL
with stand-in two-tower models."""
from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from data_helpers import TIMGM, needs_synth
from timbrefast.eval import two_tower as E
from timbrefast.metrics import prototype_similarity, zero_shot_metrics
from timbrefast.two_tower import PROMPT_SETS, TINYSOL_CLASSES, CallableTwoTower

SR = 16000
SYNTH = ["--pitch-step", "24", "--dynamics", "pp", "ff", "--synth-sr", str(SR)]


def band_features(x):
    """(n, T) -> (n, 24) log energies in 24 log-spaced bands (a crude timbre embedding)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    spec = np.abs(np.fft.rfft(x, axis=1)) ** 2
    f = np.fft.rfftfreq(x.shape[1], 1 / SR)
    edges = np.geomspace(40, SR / 2, 25)
    e = np.stack([spec[:, (f >= lo) & (f < hi)].sum(1) for lo, hi in zip(edges[:-1], edges[1:])], 1)
    e = np.log10(e + 1e-6)
    return e - e.mean(1, keepdims=True) + 1e-3


def _seeded(text, d=24):
    return np.random.default_rng(sum(map(ord, text))).standard_normal(d)


def toy_model():
    """A two-tower stand-in at 16 kHz: band energies / a seeded vector per text."""
    return CallableTwoTower(band_features, lambda ts: np.stack([_seeded(t) for t in ts]), sample_rate=SR)


def oracle_model(prototypes):
    """Texts naming a class embed as that class's audio prototype (longest name wins)."""
    names = sorted(prototypes, key=len, reverse=True)

    def text_fn(ts):
        out = []
        for t in ts:
            hit = next((c for c in names if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", t.lower())), None)
            out.append(prototypes[hit] if hit else _seeded(t))
        return np.stack(out)

    return CallableTwoTower(band_features, text_fn, sample_rate=SR)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("fluidsynth")
    from timbrefast.data.tinysol_synth import render_synthetic_tinysol

    root = tmp_path_factory.mktemp("ts")
    render_synthetic_tinysol(TIMGM, root, pitch_step=24, dynamics=("pp", "ff"), sr=SR, seconds=1.0, note_seconds=0.6)
    return root


@needs_synth
def test_load_tinysol_and_the_table_against_an_oracle(tiny):
    data = E.load_tinysol(tiny, sr=SR)
    assert data["classes"] == list(TINYSOL_CLASSES) and data["sr"] == SR
    assert len(data["audio"]) == len(data["labels"]) and all(c.shape == (SR,) for c in data["audio"])
    feats = band_features(np.stack(data["audio"]))
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    protos = {c: unit[data["labels"] == k].mean(0) for k, c in enumerate(data["classes"])}
    timings = {}
    res = E.evaluate_zero_shot(oracle_model(protos), data["audio"], data["labels"], data["classes"], sr=SR,
                               batch_size=7, timings=timings)
    rows = res["rows"]
    assert list(rows)[:8] == list(PROMPT_SETS)
    assert [r for r in rows if r.startswith("family: ")] == ["family: A {x} track", "family: A {x} instruments track",
                                                            "family: A track of {x} musical instruments"]
    assert list(rows)[-2:] == ["audio_only", "audio_only_loo"]
    # a prompt that names the class embeds as the class prototype: the zero-shot row is the audio-only row
    for name in ("muscall_prompt", "this_is_a_recording_of", "sound_of_musical_instrument"):
        for k in E.METRICS:
            assert rows[name][k] == pytest.approx(rows["audio_only"][k], abs=1e-9), (name, k)
    expected = zero_shot_metrics(prototype_similarity(unit, data["labels"], leave_one_out=True), data["labels"])
    for k in E.METRICS:
        assert rows["audio_only_loo"][k] == pytest.approx(expected[k], abs=1e-12)
    # family rows: 4 families, so no top5
    fam = rows["family: A {x} track"]
    assert fam["top5"] is None and fam["top4"] == 1.0 and res["families"] == ["key", "brass", "woodwind", "string"]
    assert res["similarities"]["muscall_prompt"].shape == (len(data["labels"]), 14)
    assert set(timings) == {"audio_embeddings", "text_embeddings", "metrics"}


def test_embed_audio_batched_and_prompt_selection():
    m = toy_model()
    clips = [np.sin(np.arange(n) * 0.05).astype(np.float32) for n in (800, 800, 900)]
    a = E.embed_audio_batched(m, clips, sr=SR, batch_size=2)
    b = np.concatenate([m.embed_audio(c, sr=SR) for c in clips])
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert E._prompt_sets("all") == (list(PROMPT_SETS), True)
    assert E._prompt_sets("definition, family") == (["definition"], True)
    with pytest.raises(ValueError, match="unknown prompt set"):
        E._prompt_sets("definition,bogus")
    with pytest.raises(ValueError, match="labels must be indices"):
        E.evaluate_zero_shot(m, clips, [0, 1, 5], ["a", "b"], sr=SR, prompts="muscall_prompt")
    with pytest.raises(ValueError, match="no family"):
        E.evaluate_zero_shot(m, clips, [0, 1, 1], ["a", "b"], sr=SR, prompts="family")


@needs_synth
def test_cli_synthetic_tinysol_end_to_end(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from timbrefast.cli import main

    from timbrefast import plot

    panels = []  # the 14-panel figures are slow (tested in test_plot): record which ones would be drawn
    monkeypatch.setattr(plot, "class_similarity_histograms", lambda s, y, class_names, path: panels.append(path.name))
    out = tmp_path / "out"
    rc = main(["eval", "two-tower", "--synthetic-tinysol", TIMGM, "--model", "py:test_eval_two_tower:toy_model",
               "--prompts", "muscall_prompt", "--out", str(out), "--quiet", *SYNTH])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "muscall_prompt" in cap.out and "0.453" in cap.out and "audio_only_loo" in cap.out
    report = json.loads((out / "table.json").read_text())
    assert report["n_clips"] == sum(report["class_counts"].values()) and len(report["classes"]) == 14
    npz = np.load(out / "similarities.npz")
    ours = zero_shot_metrics(prototype_similarity(npz["audio_embeddings"], npz["labels"]), npz["labels"])
    assert ours["top1"] == pytest.approx(report["rows"]["audio_only"]["top1"])
    for f in ("table", "muscall_prompt_all", "muscall_prompt_posneg", "muscall_prompt_top2_gap",
              "audio_only_all", "audio_only_loo_top2_gap"):
        assert (out / "figures" / f"{f}.png").stat().st_size > 1000, f
    assert panels == ["muscall_prompt_per_class.png", "audio_only_per_class.png"]
    assert "muscall_prompt_per_class.png" in report["figures"]
    # a second run reuses the rendered set and prints JSON
    rc = main(["eval", "two-tower", "--synthetic-tinysol", TIMGM, "--model", "py:test_eval_two_tower:toy_model",
               "--prompts", "muscall_prompt,definition_no_label_word,family", "--out", str(out), "--json",
               "--no-figures", *SYNTH])
    cap = capsys.readouterr()
    assert rc == 0 and "reusing the synthetic TinySOL" in cap.err
    assert list(json.loads(cap.out)["rows"]) == ["muscall_prompt", "definition_no_label_word", "family: A {x} track",
                                                 "family: A {x} instruments track",
                                                 "family: A track of {x} musical instruments", "audio_only",
                                                 "audio_only_loo"]
    with open(out / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["prompt_set"] for r in rows] == list(json.loads(cap.out)["rows"])
    assert rows[2]["kind"] == "family" and rows[2]["top5"] == "" and rows[-1]["kind"] == "audio"
    report = json.loads((out / "table.json").read_text())
    assert report["rows"]["muscall_prompt"]["top1"] == pytest.approx(float(rows[0]["top1"]), abs=1e-6)
    assert "trumpet in c" not in " ".join(report["prompts"]["definition_no_label_word"]).lower()


@needs_synth
def test_cli_dataset_tinysol(tiny, tmp_path, capsys):
    from timbrefast.cli import main

    rc = main(["eval", "two-tower", "--dataset", "tinysol", str(tiny), "--model", "py:test_eval_two_tower:toy_model",
               "--prompts", "muscall_prompt", "--out", str(tmp_path / "o"), "--no-figures", "--split", "0", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "o" / "table.json").read_text())
    assert report["split"] == "0" and 0 < report["n_clips"] < 60
    # a fold where some class has one clip: the leave-one-out row is left out, and said so
    if "audio_only_loo" not in report["rows"]:
        assert any("audio_only_loo: left out" in n for n in report["notes"])


def test_cli_errors(tmp_path, capsys):
    from timbrefast.cli import main

    toy = "py:test_eval_two_tower:toy_model"
    with pytest.raises(SystemExit) as exc:  # neither --dataset nor --synthetic-tinysol
        main(["eval", "two-tower", "--model", toy, "--out", str(tmp_path)])
    assert exc.value.code == 2
    capsys.readouterr()
    assert main(["eval", "two-tower", "--dataset", "nsynth", str(tmp_path), "--model", toy, "--out", str(tmp_path / "o")]) == 2
    assert "only 'tinysol'" in capsys.readouterr().err
    assert main(["eval", "two-tower", "--dataset", "tinysol", str(tmp_path / "nope"), "--model", toy,
                 "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "folder not found" in err and err.count("\n") == 1
    assert main(["eval", "two-tower", "--dataset", "tinysol", str(tmp_path), "--model", toy, "--prompts", "bogus",
                 "--out", str(tmp_path / "o")]) == 2
    assert "unknown prompt set(s) ['bogus']" in capsys.readouterr().err
    assert main(["eval", "two-tower", "--dataset", "tinysol", str(tmp_path), "--model", toy, "--seconds", "-1",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--seconds must be a positive" in capsys.readouterr().err
    assert main(["eval", "two-tower", "--dataset", "tinysol", str(tmp_path), "--model", "nonsense",
                 "--out", str(tmp_path / "o")]) == 1
    assert "unknown model spec 'nonsense'" in capsys.readouterr().err
    assert main(["eval", "two-tower", "--synthetic-tinysol", str(tmp_path / "none.sf2"), "--model", toy,
                 "--out", str(tmp_path / "o")]) == 1
    assert "soundfont not found" in capsys.readouterr().err


def test_audio_files_are_read_lazily_batch_by_batch(tmp_path):
    import soundfile as sf

    paths = []
    for k, n in enumerate((800, 1200, 1200)):
        p = tmp_path / f"c{k}.wav"
        sf.write(p, 0.1 * np.sin(np.arange(n) * 0.1 * (k + 1)), SR, subtype="FLOAT")
        paths.append(str(p))
    files = E.AudioFiles(paths, sr=SR)
    assert len(files) == 3 and [c.size for c in files] == [800, 1200, 1200]
    assert isinstance(files[1:], list) and files[2].dtype == np.float32
    fixed = E.AudioFiles(paths, sr=SR, seconds=0.0625)
    assert {c.size for c in fixed} == {1000}
    m = toy_model()
    np.testing.assert_allclose(E.embed_audio_batched(m, files, sr=SR, batch_size=2),
                               np.concatenate([m.embed_audio(c, sr=SR) for c in files]), atol=1e-6)
    half = E.AudioFiles(paths, sr=SR // 2)
    assert half[0].size == 400
