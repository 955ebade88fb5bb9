"""The semantics study end to end: sources, model, tables in the released layout, figures."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import semantics as S
from ..two_tower.load import load_two_tower  # noqa: F401  (the shared resolver; kept importable here)

__all__ = [
    "RELEASED_DESCRIPTORS",
    "SONIC_PI_SAMPLES",
    "default_sources",
    "load_sources",
    "load_two_tower",
    "run_semantics_study",
]

PathLike = Union[str, Path]

#: Experiment 2's descriptor words (Deng, Pardo & Pappas), used when a descriptor table has them.
RELEASED_DESCRIPTORS = {
    "eq": ["warm", "cold", "soft", "loud", "bright", "soothing", "harsh", "heavy", "cool", "smooth",
           "calm", "clear", "tinny", "sharp", "hard", "crisp", "mellow", "dark", "peaceful", "gentle"],
    "reverb": ["echo", "distant", "warm", "spacious", "loud", "deep", "muffled", "church", "big", "distorted",
               "hollow", "sad", "soft", "bass", "strong", "low", "haunting", "clear", "tinny", "hall"],
}
#: Debian's sonic-pi-samples (CC0 recordings): the files used as recorded sources.
SONIC_PI_SAMPLES = Path("/usr/share/sonic-pi/samples")
_RECORDED = {"recorded_guitar": "guit_em9.flac", "recorded_piano": "ambi_piano.flac"}
_SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")
_AUDIO_EXT = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, y.size)] = y[:n]
    return out


def _normalise(y: np.ndarray, peak: float = 0.5) -> np.ndarray:
    m = float(np.abs(y).max())
    return (y * (peak / m)).astype(np.float32) if m > 0 else y.astype(np.float32)


def default_sources(*, sr: int, seconds: float = 5.0, soundfont: Optional[PathLike] = None,
                    recorded: bool = True) -> Dict[str, np.ndarray]:
    """The study's sources without user data: a guitar, a piano and a mixture (guitar,
    piano, bass) playing the same chord progression, rendered from a soundfont
    (FluidR3 GM, else TimGM6mb; needs ``timbrefast[synth]``), plus the CC0 recordings
    of Debian's ``sonic-pi-samples`` (an electric-guitar chord and a piano) when
    installed. Mono float32 at ``sr``, each ``seconds`` long, peak 0.5."""
    from ..data.synth import Note, Synthesizer

    sf = Path(soundfont) if soundfont is not None else next((Path(p) for p in _SOUNDFONTS if Path(p).is_file()), None)
    if sf is None or not sf.is_file():
        raise FileNotFoundError(f"no soundfont for the default sources (looked for {soundfont or _SOUNDFONTS}); pass --sources DIR")
    n = int(round(seconds * sr))
    beat = seconds / 8.0
    chords = [(48, 52, 55, 60), (45, 48, 52, 57), (41, 45, 48, 53), (43, 47, 50, 55)]  # C Am F G
    arp, block, bass = [], [], []
    for c, chord in enumerate(chords):
        t0 = 2 * c * beat
        for k, p in enumerate(chord + (chord[1] + 12,)):
            s = t0 + k * 2 * beat / 5
            arp.append(Note(p + 12, 90, s, t0 + 2 * beat))
        block += [Note(p + 12, 80, t0, t0 + 1.9 * beat) for p in chord[1:]]
        bass.append(Note(chord[0] - 12, 100, t0, t0 + 1.9 * beat))
    with Synthesizer(sf, sr=int(sr)) as synth:
        guitar = _fit(synth.render_notes(arp, program=25), n)
        piano = _fit(synth.render_notes(block, program=0), n)
        bassline = _fit(synth.render_notes(bass, program=33), n)
    out = {"guitar": _normalise(guitar), "piano": _normalise(piano),
           "mixture": _normalise(guitar + piano + 0.8 * bassline)}
    if recorded and SONIC_PI_SAMPLES.is_dir():
        from ..data.audio import load_audio

        for name, fname in _RECORDED.items():
            p = SONIC_PI_SAMPLES / fname
            if p.is_file():
                out[name] = _normalise(_fit(load_audio(str(p), sr=int(sr))[0], n))
    return out


def load_sources(directory: PathLike, *, sr: int, seconds: Optional[float] = None) -> Dict[str, np.ndarray]:
    """Every audio file of ``directory`` (wav, flac, ogg, aiff) as a mono source named by
    its stem, resampled to ``sr`` (cut or zero-padded to ``seconds`` if given)."""
    from ..data.audio import load_audio

    d = Path(directory).expanduser()
    if not d.is_dir():
        raise FileNotFoundError(f"sources folder not found: {d}")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in _AUDIO_EXT)
    if not files:
        raise FileNotFoundError(f"no audio files ({', '.join(_AUDIO_EXT)}) in {d}")
    out = {}
    for p in files:
        y = load_audio(str(p), sr=int(sr))[0]
        out[p.stem] = _fit(y, int(round(seconds * sr))) if seconds else y.astype(np.float32)
    return out


def _plan(table) -> Dict[str, List[str]]:
    """The released words where the table has them, else all of the table's words."""
    plan = {}
    for effect in ("eq", "reverb"):
        have = table.words(effect)
        released = [w for w in RELEASED_DESCRIPTORS[effect] if w in have]
        plan[effect] = released if released else have
    return plan


def run_semantics_study(
    model: Any,
    out: PathLike,
    *,
    model_name: str = "model",
    sources: Optional[Mapping[str, np.ndarray]] = None,
    sr: Optional[int] = None,
    ratings: Optional[PathLike] = None,
    descriptors: Optional[PathLike] = None,
    strengths: Sequence[float] = S.DEFAULT_STRENGTHS,
    figures: bool = True,
    reference: Optional[Mapping[str, Mapping[str, float]]] = None,
    log: Any = None,
) -> Dict[str, Any]:
    """Run both experiments and write tables (and PNG figures) under ``out``.

    ``reference``: model -> summary rates (:func:`semantics.read_summary`) drawn beside
    this run in ``summary.png``. Writes ``experiment2/<model_name>.csv`` (per-condition rows, released layout),
    ``experiment2/group_trends.csv``, ``experiment2/summary.csv`` and
    ``experiment2/effects.csv`` (fractions), ``profiles.csv`` (sources x descriptor
    similarities); with ``ratings`` (a CCMusic folder) ``experiment1/descriptors.csv``,
    ``experiment1/descriptors_by_split.csv`` and ``experiment1/<model_name>_<split>.csv``;
    with ``figures`` ``figures/{trends,summary,profiles}.png`` (and ``ratings.png``).
    ``descriptors``: an Audealize-style descriptor file or folder (default the built-in
    parametric descriptors). Returns the summary dict (with ``timings`` in seconds).
    """
    from .. import effects as fx

    say = log or (lambda msg: None)
    out = Path(out)
    sr = int(sr or getattr(model, "sample_rate", None) or 44100)
    t_start = time.perf_counter()
    table = fx.load_audealize_descriptors(descriptors) if descriptors else fx.builtin_descriptors()
    if sources is None:
        say("synthesizing the default sources")
        sources = default_sources(sr=sr)
    plan = _plan(table) if descriptors else {e: table.words(e) for e in ("eq", "reverb")}
    say(f"effect experiment: {len(sources)} sources x {sum(map(len, plan.values()))} descriptors x {len(strengths)} strengths")
    timings: Dict[str, float] = {}
    rows = S.effect_trends(model, sources, descriptors=plan, strengths=strengths, sr=sr, table=table, timings=timings)
    e2 = out / "experiment2"
    S.write_rows(rows, e2 / f"{model_name}.csv", columns=S.ROW_COLUMNS)
    trends = S.trend_table(rows)
    for t in trends:
        t["model"] = model_name
    S.write_rows(trends, e2 / "group_trends.csv", columns=S.TREND_COLUMNS)
    summary = S.summarize_trends(rows)
    summary["model"] = model_name
    cols = ["model", "n_trajectories", "n_pairs", *S.SUMMARY_KEYS]
    S.write_rows([summary], e2 / "summary.csv", columns=cols)
    S.write_rows([{"effect_type": e, **v, "model": model_name} for e, v in summary["by_effect"].items()],
                 e2 / "effects.csv", columns=["effect_type", *cols])
    words = sorted({w for ws in plan.values() for w in ws})
    names = list(sources)
    profiles = S.descriptor_profiles(model, [sources[k] for k in names], words, sr=sr)
    S.write_rows([{"clip": n, **dict(zip(words, row))} for n, row in zip(names, profiles)], out / "profiles.csv",
                 columns=["clip", *words])
    result: Dict[str, Any] = dict(summary)
    if ratings:
        say("descriptor-profile experiment on the ratings folder")
        data = S.read_ccmusic_timbre(ratings)
        sims = S.descriptor_profiles(model, data.load_audio(sr=sr), data.descriptors, sr=sr)
        desc, inst = S.rating_correlations(data.ratings, sims, descriptors=data.descriptors,
                                           instruments=data.names, splits=data.splits)
        e1 = out / "experiment1"
        pooled = [{"model": model_name, **{k: r[k] for k in ("descriptor", "pearson", "spearman")}} for r in desc if r["split"] == "all"]
        S.write_rows(pooled, e1 / "descriptors.csv", columns=["model", "descriptor", "pearson", "spearman"])
        S.write_rows(desc, e1 / "descriptors_by_split.csv", columns=["split", "descriptor", "pearson", "spearman", "n"])
        for split in dict.fromkeys(data.splits):
            S.write_rows([r for r in inst if r["split"] == split], e1 / f"{model_name}_{split}.csv",
                         columns=["instrument", "pearson", "spearman"])
        result["descriptor_level"] = S.summarize_correlations([r for r in desc if r["split"] == "all"])
        result["instrument_level"] = {s: S.summarize_correlations([r for r in inst if r["split"] == s], key="instrument")
                                      for s in dict.fromkeys(data.splits)}
        if figures:
            from ._plots import plot_profiles

            plot_profiles(sims, data.names, data.descriptors, out / "figures" / "ratings.png",
                          title=f"{model_name}: instrument x descriptor similarity")
    if figures:
        from ._plots import plot_profiles, plot_summary, plot_trends

        plot_trends(rows, out / "figures" / "trends.png", title=f"({model_name})")
        plot_summary({model_name: summary, **{f"{model_name} {e}": v for e, v in summary["by_effect"].items()},
                      **{f"{k} (reference)": v for k, v in (reference or {}).items()}},
                     out / "figures" / "summary.png",
                     title=f"{model_name}: effect-trend summary")
        plot_profiles(profiles, names, words, out / "figures" / "profiles.png",
                      title=f"{model_name}: source x descriptor similarity")
    timings["total"] = time.perf_counter() - t_start
    result["timings"] = timings
    (out / "summary.json").write_text(json.dumps(_jsonable(result), indent=2))
    return result


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if x != x else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x
