"""timbrefast.studies.semantics: the released analysis reproduced from the released
per-condition tables, trajectory statistics, profiles and correlations, the CCMusic
layout reader, and the effect experiment on a small deterministic two-tower stand-in."""
from __future__ import annotations

import csv
import math
import zlib
from pathlib import Path

import numpy as np
import pytest

from timbrefast.studies import semantics as S

DENG = Path(__file__).resolve().parents[2] / "shared" / "data" / "deng2026" / "results" / "reference"
EXP2 = DENG / "experiment2"
EXP1 = DENG / "experiment1"
MODELS = {"laion-clap": "LAION-CLAP", "msclap": "MSCLAP", "muq-mulan": "MuQ-MuLan", "openflam": "OpenFLAM"}
needs_release = pytest.mark.skipif(not (EXP2 / "summary.csv").is_file(), reason=f"released Deng et al. tables not found under {DENG}")


# --- the released tables ----------------------------------------------------------


@needs_release
@pytest.mark.parametrize("model", sorted(MODELS))
def test_summary_csv_reproduced_to_every_printed_digit(model):
    with open(EXP2 / "summary.csv", encoding="utf-8") as fh:
        released = {r[0]: r[1:] for r in list(csv.reader(fh))[1:]}[MODELS[model]]
    s = S.summarize_trends(EXP2 / f"{model}.csv")
    keys = ["positive_slope_rate", "positive_final_delta_rate", "all_source_consistency", "mean_pearson_r", "mean_spearman_rho"]
    for key, printed in zip(keys, released):
        decimals = len(printed.split(".")[1]) if "." in printed else 0
        assert f"{s[key]:.{max(decimals, 1)}f}".rstrip("0").rstrip(".") == printed.rstrip("0").rstrip("."), (key, s[key], printed)
        assert round(s[key], 4) == float(printed), (key, s[key], printed)
    assert s["n_trajectories"] == 120 and s["n_pairs"] == 40


@needs_release
@pytest.mark.parametrize("model", sorted(MODELS))
def test_effects_csv_reproduced(model):
    with open(EXP2 / "effects.csv", encoding="utf-8") as fh:
        released = {(r["effect_type"], r["model"]): r for r in csv.DictReader(fh)}
    s = S.summarize_trends(EXP2 / f"{model}.csv")
    for effect in ("eq", "reverb"):
        ref, got = released[(effect, MODELS[model])], s["by_effect"][effect]
        assert got["n_trajectories"] == 60 and got["n_pairs"] == 20
        # Rates (printed in percent) are exact ratios: equal to the last printed digit.
        assert repr(100 * got["positive_slope_rate"]) == ref["positive_slope_rate"]
        assert repr(100 * got["positive_final_delta_rate"]) == ref["positive_final_delta_rate"]
        assert repr(100 * got["all_source_consistency"]) == ref["all_source_consistency_rate"]
        # Means of per-trajectory fits: the printed 16-17 digits agree to within a few
        # units in the last place (polyfit / pearsonr differ by an ulp across LAPACK and
        # scipy versions; 22 of the 32 printed means are equal digit for digit).
        for key in ("mean_slope", "mean_final_delta", "mean_pearson_r", "mean_spearman_rho"):
            assert got[key] == pytest.approx(float(ref[key]), rel=1e-14, abs=1e-17), key
        assert repr(got["mean_final_delta"]) == ref["mean_final_delta"]  # no fit involved: exact
        # Ranks need no LAPACK: with the released order (trajectories as they first appear,
        # compensated sums) the mean rho is exact to the last printed digit.
        assert repr(got["mean_spearman_rho"]) == ref["mean_spearman_rho"]


@needs_release
def test_released_layout_checks_and_trend_table():
    rows = S.read_rows(EXP2 / "laion-clap.csv")
    trends = S.trend_table(rows)
    assert len(trends) == 120 and trends[0]["effect_type"] == "eq"
    assert [t["source_type"] for t in trends[:1]] == ["guitar"]
    bad = [dict(r) for r in rows]
    bad[7]["delta_target_sim"] = "0.5"
    with pytest.raises(ValueError, match="row 7: delta_target_sim"):
        S.summarize_trends(bad)
    bad = [dict(r) for r in rows]
    bad[3]["scale"] = "1.5"
    with pytest.raises(ValueError, match=r"row 3: strength \(scale\) 1.5 is outside \[0, 1\]"):
        S.summarize_trends(bad)
    bad = [dict(r) for r in rows]
    bad[0]["target_text"] = "a bright timbre"
    with pytest.raises(ValueError, match="row 0: target_text"):
        S.summarize_trends(bad)
    several = [dict(r, model="a") for r in rows] + [dict(r, model="b") for r in rows]
    with pytest.raises(ValueError, match="several models"):
        S.summarize_trends(several)


@needs_release
def test_experiment1_descriptor_means_match_the_release():
    """The correlation-summary conventions (NaN-skipping mean, positive count) against
    the released experiment-1 descriptor table: REFERENCE's published means."""
    with open(EXP1 / "descriptors.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by = {m: S.summarize_correlations([r for r in rows if r["model"] == m]) for m in {r["model"] for r in rows}}
    assert round(by["LAION_CLAP"]["mean_pearson"], 3) == 0.117 and by["LAION_CLAP"]["n_positive"] == 12
    assert round(by["MSCLAP"]["mean_pearson"], 3) == 0.027
    assert round(by["MuQ_MuLan"]["mean_pearson"], 3) == -0.011
    assert by["MuQ_MuLan"]["min"][1] == "vigorous" and round(by["MuQ_MuLan"]["min"][0], 3) == -0.483
    assert round(by["OpenFLAM"]["mean_pearson"], 3) == 0.021
    for split, n in (("chinese", 37), ("western", 24)):
        with open(EXP1 / f"laion-clap_{split}.csv", encoding="utf-8") as fh:
            inst = list(csv.DictReader(fh))
        assert len(inst) == n
        assert all(-1 <= float(r["pearson"]) <= 1 and -1 <= float(r["spearman"]) <= 1 for r in inst)


# --- statistics --------------------------------------------------------------------


def test_trajectory_statistics():
    x = [1.0, 0.2, 0.6, 0.4, 0.8]  # unsorted on purpose
    y = [5.0, 1.0, 3.0, 2.0, 4.0]
    st = S.trajectory_stats(x, y)
    assert st["slope"] == pytest.approx(5.0) and st["final_delta"] == 5.0
    assert st["pearson_r"] == pytest.approx(1.0) and st["spearman_rho"] == pytest.approx(1.0)
    flat = S.trajectory_stats(x, [0.1] * 5)
    assert math.isnan(flat["pearson_r"]) and math.isnan(flat["spearman_rho"]) and flat["slope"] == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 30))
    from scipy import stats

    assert S.correlations(a, b) == (pytest.approx(stats.pearsonr(a, b)[0]), pytest.approx(stats.spearmanr(a, b)[0]))
    with pytest.raises(ValueError, match="finite"):
        S.correlations([1.0, np.nan], [1.0, 2.0])


def test_compensated_mean_and_cosine():
    assert S.nanmean([0.1] * 10) == pytest.approx(0.1, abs=0)  # Kahan: exactly 1.0 / 10
    assert S.nanmean([1.0, math.nan, 3.0]) == 2.0 and math.isnan(S.nanmean([math.nan]))
    assert S.nanmean([True, False, True, True]) == 0.75
    a = np.array([[3.0, 4.0], [1.0, 0.0]])
    np.testing.assert_allclose(S.cosine_matrix(a, np.array([[0.0, 2.0]])), [[0.8], [0.0]])
    with pytest.raises(ValueError, match="zero row"):
        S.cosine_matrix(np.zeros((1, 2)), a)


def test_text_prompt():
    assert S.text_prompt("echo") == "an echo sound" and S.text_prompt("bright") == "a bright sound"
    assert S.text_prompt("Open") == "an Open sound"
    with pytest.raises(ValueError):
        S.text_prompt("")


# --- a deterministic two-tower stand-in ----------------------------------------------


class ToyTwoTower:
    """Audio: L2-normalised, mean-removed log energies in 8 octave bands (plus a constant
    and a tail-energy feature); text: a fixed direction per word ("bright" = the top
    bands, "dark" = the bottom ones, "reverberant" = the tail feature), others seeded."""

    edges = 55.0 * 2.0 ** np.arange(9)

    def embed_audio(self, audio, *, sr):
        audio = np.asarray(audio, dtype=np.float64)
        spec = np.abs(np.fft.rfft(audio, axis=-1)) ** 2
        f = np.fft.rfftfreq(audio.shape[-1], 1 / sr)
        bands = np.stack([spec[:, (f >= lo) & (f < hi)].sum(-1) for lo, hi in zip(self.edges[:-1], self.edges[1:])], -1)
        logb = np.log10(bands + 1e-9)
        logb -= logb.mean(-1, keepdims=True)
        n = audio.shape[-1]
        tail = np.log10((audio[:, int(0.75 * n):] ** 2).sum(-1) / ((audio**2).sum(-1) + 1e-12) + 1e-9)
        e = np.concatenate([logb, tail[:, None] + 3.0, np.ones((audio.shape[0], 1))], -1)
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    def embed_text(self, texts):
        out = []
        for t in texts:
            word = t.split()[1] if t.count(" ") == 2 else t
            v = np.zeros(10)
            v[9] = 0.5
            if word in ("bright", "tinny", "thin"):
                v[5:8] = 1.0
            elif word in ("dark", "muffled", "warm", "heavy"):
                v[0:3] = 1.0
            elif word in ("reverberant", "spacious", "hall", "distant", "echo"):
                v[8] = 1.0
            else:
                v = np.random.default_rng(zlib.crc32(word.encode())).standard_normal(10)
            out.append(v / np.linalg.norm(v))
        return np.array(out)


class AudioOnly:
    def embed_audio(self, audio, *, sr):
        return np.ones((len(audio), 4)) / 2


SR = 16000


def _sources():
    t = np.arange(int(0.5 * SR)) / SR
    env = np.exp(-6 * t)
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 30)) * env
    other = sum(np.sin(2 * np.pi * 330 * k * t) / k**1.5 for k in range(1, 20)) * env
    return {"saw": (0.2 * tone).astype(np.float32), "soft": (0.2 * other).astype(np.float32)}


def test_effect_trends_with_a_stand_in_model():
    timings = {}
    rows = S.effect_trends(ToyTwoTower(), _sources(), descriptors=["bright", "dark", "reverberant", "echo"], sr=SR, timings=timings)
    assert set(timings) == {"effects", "audio_embeddings", "text_embeddings"}
    assert len(rows) == 2 * (2 + 2) * 5  # sources x (eq: bright, dark; reverb: reverberant, echo) x strengths
    assert set(rows[0]) == set(S.ROW_COLUMNS)
    echo = [r for r in rows if r["descriptor"] == "echo"]
    assert echo[0]["target_text"] == "an echo sound" and echo[0]["effect_type"] == "reverb"
    assert rows[0]["filename"] == "saw_EQ_bright_0.2.wav"
    for r in rows:
        assert r["delta_target_sim"] == pytest.approx(r["manip_target_sim"] - r["orig_target_sim"])
    trends = {(t["source_type"], t["descriptor"]): t for t in S.trend_table(rows)}
    for src in ("saw", "soft"):
        assert trends[(src, "bright")]["slope"] > 0 and trends[(src, "dark")]["slope"] > 0
        assert trends[(src, "reverberant")]["slope"] > 0
        assert trends[(src, "bright")]["spearman_rho"] == pytest.approx(1.0)
    s = S.summarize_trends(rows)
    assert s["by_effect"]["eq"]["positive_slope_rate"] == 1.0
    assert s["by_effect"]["eq"]["all_source_consistency"] == 1.0
    assert 0 <= s["positive_slope_rate"] <= 1


def test_effect_trends_bad_input(tmp_path):
    src = _sources()
    with pytest.raises(TypeError, match="no text tower"):
        S.effect_trends(AudioOnly(), src, sr=SR)
    with pytest.raises(ValueError, match=r"strengths must lie in \[0, 1\]"):
        S.effect_trends(ToyTwoTower(), src, strengths=(0.5, 1.5), sr=SR)
    with pytest.raises(ValueError, match="unknown descriptor 'brigth'.*'bright'"):
        S.effect_trends(ToyTwoTower(), src, descriptors=["brigth"], sr=SR)
    with pytest.raises(ValueError, match="source 'x'"):
        S.effect_trends(ToyTwoTower(), {"x": np.full(100, np.nan)}, sr=SR)


def test_rows_round_trip_through_csv(tmp_path):
    rows = S.effect_trends(ToyTwoTower(), _sources(), descriptors={"eq": ["bright"], "reverb": ["hall"]}, sr=SR)
    path = S.write_rows(rows, tmp_path / "toy.csv", columns=S.ROW_COLUMNS)
    assert S.summarize_trends(path) == S.summarize_trends(rows)


# --- descriptor profiles and ratings ---------------------------------------------------


def test_profiles_and_rating_correlations():
    model = ToyTwoTower()
    clips = list(_sources().values()) + [np.random.default_rng(1).standard_normal(4000).astype(np.float32)]
    words = ["bright", "dark", "reverberant", "clear"]
    sims = S.descriptor_profiles(model, clips, words, sr=SR)
    assert sims.shape == (3, 4) and np.all(np.abs(sims) <= 1 + 1e-12)
    ratings = sims * 10 + 0.01 * np.arange(12).reshape(3, 4)
    desc, inst = S.rating_correlations(ratings, sims, descriptors=words, instruments=["a", "b", "c"], splits=["x", "x", "y"])
    pooled = [r for r in desc if r["split"] == "all"]
    assert len(pooled) == 4 and all(r["pearson"] > 0.99 for r in pooled)
    per_split = [r for r in desc if r["split"] == "y"]
    assert all(math.isnan(r["pearson"]) for r in per_split)  # one instrument: no correlation
    assert [r["instrument"] for r in inst] == ["a", "b", "c"] and all(r["spearman"] == pytest.approx(1.0) for r in inst)
    bad = ratings.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="instrument 'b', descriptor 'reverberant'"):
        S.rating_correlations(bad, sims, descriptors=words, instruments=["a", "b", "c"])


def _write_ccmusic(root: Path, *, nan_at=None, missing_wav=None, extra_wav=False):
    import soundfile as sf

    words = list(S.CCMUSIC_DESCRIPTORS)
    rng = np.random.default_rng(0)
    for split, ids in (("Chinese", ["1", "2", "3"]), ("Western", ["1", "2"])):
        (root / "audio" / split.lower()).mkdir(parents=True, exist_ok=True)
        with open(root / f"{split}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["instrument_id", "instrument_name", *words])
            for i in ids:
                vals = [f"{v:.2f}" for v in rng.uniform(1, 9, len(words))]
                if nan_at == (split, i):
                    vals[4] = "nan"
                w.writerow([i, f"{split.lower()}_{i}", *vals])
                if missing_wav != (split, i):
                    sf.write(root / "audio" / split.lower() / f"{i}.wav", rng.uniform(-0.1, 0.1, 800), 8000)
        if extra_wav and split == "Western":
            sf.write(root / "audio" / "western" / "9.wav", np.zeros(800), 8000)


def test_ccmusic_reader(tmp_path):
    _write_ccmusic(tmp_path)
    data = S.read_ccmusic_timbre(tmp_path)
    assert len(data) == 5 and data.ratings.shape == (5, 16)
    assert data.splits == ["chinese"] * 3 + ["western"] * 2 and data.names[3] == "western_1"
    audio = data.load_audio(sr=16000)
    assert len(audio) == 5 and audio[0].shape == (1600,) and audio[0].dtype == np.float32
    sims = S.descriptor_profiles(ToyTwoTower(), audio, data.descriptors, sr=16000)
    desc, inst = S.rating_correlations(data.ratings, sims, descriptors=data.descriptors, instruments=data.names, splits=data.splits)
    assert len(desc) == 16 * 3 and len(inst) == 5


@pytest.mark.parametrize("case,match", [
    (dict(nan_at=("Chinese", "2")), r"Chinese.csv line 3 \(instrument '2'\): rating 'dry' is nan"),
    (dict(missing_wav=("Western", "2")), r"Western.csv line 3: instrument_id '2' has no recording"),
    (dict(extra_wav=True), r"recordings without a row in Western.csv: \['9'\]"),
])
def test_ccmusic_reader_errors(tmp_path, case, match):
    _write_ccmusic(tmp_path, **case)
    with pytest.raises(ValueError, match=match):
        S.read_ccmusic_timbre(tmp_path)


def test_ccmusic_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="Chinese.csv"):
        S.read_ccmusic_timbre(tmp_path)


def test_effect_trends_restricted_to_one_effect_and_custom_strengths():
    rows = S.effect_trends(ToyTwoTower(), _sources(), effects=["reverb"], strengths=(0.0, 0.5, 1.0), sr=SR)
    assert {r["effect_type"] for r in rows} == {"reverb"}
    assert sorted({r["scale"] for r in rows}) == [0.0, 0.5, 1.0]
    zero = [r for r in rows if r["scale"] == 0.0]
    assert all(abs(r["delta_target_sim"]) < 1e-6 for r in zero)  # strength 0 = the original
    with pytest.raises(ValueError, match="unknown effect type 'chorus'"):
        S.effect_trends(ToyTwoTower(), _sources(), effects=["chorus"], sr=SR)


def test_studies_package_is_lazy_and_torch_free():
    import subprocess
    import sys

    from conftest import subprocess_pythonpath

    code = ("import sys, timbrefast.studies as st; st.semantics; st.run_semantics_study; "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": subprocess_pythonpath(), "PATH": "/usr/bin:/bin"})


def test_csv_errors_name_the_line(tmp_path):
    rows = S.effect_trends(ToyTwoTower(), _sources(), descriptors=["bright"], sr=SR)
    rows[3]["delta_target_sim"] = float("nan")
    path = S.write_rows(rows, tmp_path / "bad.csv", columns=S.ROW_COLUMNS)
    with pytest.raises(ValueError, match=r"bad.csv line 5: delta_target_sim is not"):
        S.summarize_trends(path)
    rows[3]["delta_target_sim"] = rows[3]["manip_target_sim"] - rows[3]["orig_target_sim"]
    rows[3]["scale"] = rows[2]["scale"]
    with pytest.raises(ValueError, match=r"repeated strength \(at \['row 2', 'row 3'\]\)"):
        S.summarize_trends(rows)
    with pytest.raises(ValueError, match="no rows"):
        S.summarize_trends([])


def test_trend_table_order_option():
    rows = [
        {"effect_type": e, "source_type": s, "descriptor": d, "target_text": f"a {d} sound", "scale": str(x),
         "orig_target_sim": "0.1", "manip_target_sim": str(0.1 + k * x), "delta_target_sim": str(k * x)}
        for (e, s, d, k) in (("reverb", "piano", "warm", 0.2), ("eq", "guitar", "bright", -0.1))
        for x in (0.2, 0.6, 1.0)
    ]
    sorted_ = S.trend_table(rows, check=False)
    as_rows = S.trend_table(rows, check=False, order="rows")
    assert [t["effect_type"] for t in sorted_] == ["eq", "reverb"]
    assert [t["effect_type"] for t in as_rows] == ["reverb", "eq"]
    with pytest.raises(ValueError, match="order must be"):
        S.trend_table(rows, order="random")
