"""Data-engine benchmark: rendering speed and sampler item cost.

Rendering is reported as × realtime on one core (FluidSynth runs single-threaded here),
beside FluidSynth's own command-line fast renderer (``fluidsynth -F``) on the same MIDI
measured in the same run (the anchor). Sampler items are reported against the feature
extraction they feed, also measured in this run: librosa's COCOLA HPSS frontend for
CocolaPairs (5 s clips) and librosa's CAMIL mel (n_fft 512, hop 512, 128 bands) for
CamilPairs, and timbrefast's fused C++ frontends (one thread) when the build has them.

    PYTHONPATH=python python benchmarks/data.py [--soundfont SF] [--repeats N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

from _machine import print_header  # benchmarks/_machine.py: where the run happened


def best_of(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def librosa_cocola(y):
    import librosa

    S = librosa.stft(y, n_fft=1024, hop_length=160, win_length=400, center=True, pad_mode="constant")
    H, P = librosa.decompose.hpss(S)
    out = []
    for X in (H, P):
        m = librosa.feature.melspectrogram(S=np.abs(X) ** 2, sr=16000, n_mels=64, fmin=60, fmax=7800)
        out.append(librosa.power_to_db(m, ref=np.max, amin=1e-10, top_db=80))
    return np.stack(out)


def librosa_camil(y, sr):
    import librosa

    return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, hop_length=512, n_mels=128))


def _fused(preset):
    """timbrefast's fused C++ frontend, when this build has it."""
    try:
        import timbrefast

        return timbrefast.Frontend(preset)
    except (ImportError, AttributeError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soundfont", default="/usr/share/sounds/sf2/TimGM6mb.sf2")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from timbrefast.data import (CamilPairs, CocolaPairs, InstrumentPairs, Mixtures, Note, Synthesizer,
                                 corpus_paths, corpus_score, list_presets, read_dataset, score_to_midi,
                                 synthesize_stems)
    from timbrefast.data.stems import synthesize_track

    sf2 = args.soundfont
    tmp = tempfile.mkdtemp(prefix="tf-bench-data-")
    print_header()
    print(f"soundfont: {os.path.basename(sf2)}; one process, FluidSynth single-threaded; "
          f"best of {args.repeats}\n")
    rows = []
    try:
        # -- rendering --------------------------------------------------------------
        for sr in (16000, 44100):
            synth = Synthesizer(sf2, sr=sr)
            score = corpus_score(corpus_paths("bach")[0], tempo=80.0)
            score.parts = score.parts[:4]
            pm = score_to_midi(score, [40, 41, 42, 43])
            mid = os.path.join(tmp, "chorale.mid")
            pm.write(mid)
            t, parts = best_of(lambda: synth.render_midi(mid, by_instrument=True), args.repeats)
            audio_s = len(parts) * len(parts[0]) / sr
            ours = audio_s / t
            anchor = None
            if shutil.which("fluidsynth"):
                wav = os.path.join(tmp, "cli.wav")
                cmd = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-R", "0", "-C", "0", "-r", str(sr),
                       "-o", "synth.cpu-cores=1", "-F", wav, sf2, mid]
                tc, _ = best_of(lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeats)
                anchor = (len(parts[0]) / sr) / tc  # the CLI renders the 4 parts at once
            rows.append((f"render_midi, Bach chorale, 4 stems, {sr} Hz", f"{ours:8.0f}x realtime",
                         f"fluidsynth -F (mix of 4): {anchor:.0f}x" if anchor else "fluidsynth CLI absent"))
            notes = [Note(int(48 + (7 * k) % 24), 90, 0.0, 1.0) for k in range(1)]

            def many_notes():
                with synth.sequence():
                    return [synth.render_notes(notes, program=k % 100) for k in range(50)]

            t, ys = best_of(many_notes, args.repeats)
            rows.append((f"single notes (1 s held + tail), {sr} Hz", f"{sum(map(len, ys)) / sr / t:8.0f}x realtime",
                         f"{1e3 * t / 50:.2f} ms per note"))
            synth.close()

        synth = Synthesizer(sf2, sr=16000)
        out = os.path.join(tmp, "stems")
        t, path = best_of(lambda: synthesize_track(synth, out, 0, seed=0, seconds=20.0), args.repeats)
        import soundfile as sf

        stems_dir = os.path.join(path, "stems")
        audio_s = sum(sf.info(os.path.join(stems_dir, f)).duration for f in os.listdir(stems_dir))
        rows.append(("synthesize_track: 20 s phrase, render + FLAC + MIDI", f"{audio_s / t:8.0f}x realtime",
                     f"{t:.2f} s per track ({len(os.listdir(stems_dir))} stems)"))
        synth.close()

        # -- samplers ---------------------------------------------------------------
        ds_root = os.path.join(tmp, "ds")
        synthesize_stems(ds_root, soundfont=sf2, tracks=4, seed=1, seconds=20.0, progress=False, drums=True)
        ds_wav = os.path.join(tmp, "dswav")
        synthesize_stems(ds_wav, soundfont=sf2, tracks=4, seed=1, seconds=20.0, progress=False, drums=True,
                         audio_format="wav")
        ds44 = os.path.join(tmp, "ds44")
        synthesize_stems(ds44, soundfont=sf2, tracks=2, seed=1, seconds=20.0, progress=False, sr=44100)
        clip = None
        for root, label in ((ds_root, "16 kHz FLAC"), (ds_wav, "16 kHz WAV"), (ds44, "44.1 kHz FLAC, resampled")):
            pairs = CocolaPairs(read_dataset(root, layout="slakh"), sr=16000, seconds=5.0, seed=0)
            pairs[0]
            n = min(len(pairs), 12)
            t, items = best_of(lambda: [pairs[i] for i in range(n)], args.repeats)
            clip = items[0]["anchor"]
            rows.append((f"CocolaPairs item (5 s, {label})", f"{1e3 * t / n:8.2f} ms", ""))
        librosa_cocola(clip)
        ta, _ = best_of(lambda: librosa_cocola(clip), args.repeats)
        item16 = float(rows[-3][1].split()[0])
        item_wav = float(rows[-2][1].split()[0])
        # an item feeds two clips (anchor, positive) to the frontend
        rows.append(("  anchor: librosa COCOLA HPSS frontend, one 5 s clip", f"{1e3 * ta:8.2f} ms",
                     f"item / its 2 clips: FLAC {item16 / (2e3 * ta):.3f}, WAV {item_wav / (2e3 * ta):.3f}"))
        fused = _fused("cocola")
        if fused is not None:
            batch = np.stack([clip] * 32)
            fused(batch)
            tf, _ = best_of(lambda: fused(batch, num_threads=1), args.repeats)
            rows.append(("  anchor: timbrefast fused COCOLA frontend, 1 thread, per clip (batch 32)",
                         f"{1e3 * tf / 32:8.2f} ms", f"item / its 2 clips: FLAC {item16 / (2e3 * tf / 32):.2f}, "
                         f"WAV {item_wav / (2e3 * tf / 32):.2f}"))

        cam = CamilPairs(read_dataset(ds_root, layout="slakh"), sr=22050, seed=0)
        cam[0]
        n = min(len(cam), 12)
        t, items = best_of(lambda: [cam[i] for i in range(n)], args.repeats)
        rows.append(("CamilPairs item (roll + 2 audio segments, 22.05 kHz)", f"{1e3 * t / n:8.2f} ms", ""))
        y = items[0]["audio"]
        tm, _ = best_of(lambda: (librosa_camil(y, 22050), librosa_camil(items[0]["negative_audio"], 22050)),
                        args.repeats)
        rows.append(("  anchor: librosa CAMIL mel of its 2 segments", f"{1e3 * tm:8.2f} ms",
                     f"item / mel = {1e3 * t / n / (1e3 * tm):.2f}"))
        fused = _fused("camil")
        if fused is not None:
            two = np.stack([items[0]["audio"], items[0]["negative_audio"]])
            fused(two)
            tf, _ = best_of(lambda: fused(two, num_threads=1), args.repeats)
            rows.append(("  anchor: timbrefast fused CAMIL frontend of its 2 segments, 1 thread",
                         f"{1e3 * tf:8.2f} ms", f"item / frontend = {1e3 * t / n / (1e3 * tf):.2f}"))

        presets = list_presets(sf2)
        ip = InstrumentPairs(presets, batch_size=32, batches=4, seconds=4.0, seed=0)
        t, _ = best_of(lambda: ip[0], args.repeats)
        rows.append(("InstrumentPairs batch 32 x 4 s (16 instruments x 2)", f"{1e3 * t / 32:8.2f} ms per rendering",
                     f"{32 * 4.0 / t:.0f}x realtime"))
        mx = Mixtures(presets, mixtures=4, seconds=10.0, seed=0)
        t, _ = best_of(lambda: mx[0], args.repeats)
        rows.append(("Mixtures item (3 x 10 s stems + 3 references)", f"{1e3 * t:8.2f} ms",
                     f"{(3 * 10.0 + 3 * 2.0) / t:.0f}x realtime"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    w = max(len(r[0]) for r in rows)
    for name, val, note in rows:
        print(f"{name:<{w}}  {val:>24}  {note}")


if __name__ == "__main__":
    main()
