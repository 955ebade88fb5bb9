"""CAMIL benchmark: piano-roll segments, a pair item against the encoder step it feeds, and
``MidiInstrumentClassifier.predict`` on a long many-track file. One run, 2 threads.

1. Piano-roll segments (84 x 192, 24 steps per quarter on the tick grid) of every track
   of a folder of music21 corpus pieces (converted to MIDI in a temp dir), three ways on
   the same loaded ``PrettyMIDI`` objects: ``timbrefast.data.midi.piano_roll``;
   pretty_midi's ``get_piano_roll(fs, times)`` with ``times`` the tick grid's step
   boundaries (fs fine enough that every step spans at least one column), cut into the
   same segments; and a plain python loop over the notes. Files/s, ratios, and the share
   of cells whose on/off state agrees with timbrefast's.
2. A CAMIL pair item (``CamilPairs``: roll + aligned 128 x 282 mel + a negative mel, read
   from a Slakh-layout folder rendered here) against one CAMIL encoder step (both
   encoders forward + Hadsell loss + backward + Adam) on a batch of 64 pairs.
3. ``predict`` on a 4-minute, 16-track MIDI file (15 pitched tracks and a drum track).

    PYTHONPATH=python python benchmarks/camil.py [--pieces 8] [--repeats 3] [--model PATH]
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _machine import print_header  # noqa: E402  (benchmarks/_machine.py: where the run happened)

THREADS = 2
CORPUS = ("bach/bwv66.6", "bach/bwv269", "bach/bwv347", "mozart/k155/movement1", "beethoven/opus18no1/movement2",
          "schubert/lindenbaum", "haydn/opus1no1/movement4", "joplin/maple_leaf_rag", "corelli/opus3no1/1grave",
          "handel/rinaldo/lascia_chio_pianga")


def best_of(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def convert_pieces(n, out_dir):
    from music21 import corpus

    paths = []
    for name in CORPUS:
        if len(paths) >= n:
            break
        try:
            score = corpus.parse(name)
            p = os.path.join(out_dir, name.replace("/", "_") + ".mid")
            score.write("midi", fp=p)
            paths.append(p)
        except Exception as exc:  # a corpus entry this music21 lacks or cannot export: said, skipped
            print(f"  (skipped {name}: {type(exc).__name__})")
    return paths


def tracks_of(pm):
    """One single-track PrettyMIDI per pitched instrument (CAMIL rolls are per track)."""
    out = []
    for inst in pm.instruments:
        if inst.is_drum or not inst.notes:
            continue
        one = copy.copy(pm)
        one.instruments = [inst]
        out.append(one)
    return out


def grid(pm, steps_per_beat=24, seg=192):
    """Step boundaries in seconds (from the tick grid) covering the track, whole segments."""
    last = max(pm.time_to_tick(n.end) for i in pm.instruments for n in i.notes)
    step_ticks = pm.resolution / steps_per_beat
    n_steps = int(-(-int(np.ceil(last / step_ticks)) // seg) * seg)
    return np.array([pm.tick_to_time(int(round(k * step_ticks))) for k in range(n_steps + 1)])


def roll_pretty_midi(pm):
    times = grid(pm)
    fs = max(100.0, 1.0 / max(np.diff(times).min(), 1e-4))
    pr = pm.get_piano_roll(fs=fs, times=times)[24:108, :-1]
    n_seg = pr.shape[1] // 192
    return pr.reshape(84, n_seg, 192).transpose(1, 0, 2)


def roll_python_loop(pm):
    inst = pm.instruments[0]
    step_ticks = pm.resolution / 24.0
    cells = {}
    vmax = max(n.velocity for n in inst.notes)
    last = 0
    for n in inst.notes:
        a = int(round(pm.time_to_tick(n.start) / step_ticks))
        b = max(a + 1, int(round(pm.time_to_tick(n.end) / step_ticks)))
        last = max(last, b)
        if not 24 <= n.pitch < 108:
            continue
        v = n.velocity / vmax
        for t in range(a, b):
            key = (n.pitch - 24, t)
            if cells.get(key, 0.0) < v:
                cells[key] = v
    n_seg = max(1, -(-last // 192))
    out = np.zeros((n_seg, 84, 192), np.float32)
    for (p, t), v in cells.items():
        out[t // 192, p, t % 192] = v
    return out


def bench_rolls(args):
    import pretty_midi

    from timbrefast.data.midi import piano_roll

    with tempfile.TemporaryDirectory() as tmp:
        paths = convert_pieces(args.pieces, tmp)
        pms = [pretty_midi.PrettyMIDI(p) for p in paths]
    tracks = [tracks_of(pm) for pm in pms]
    n_tracks = sum(len(t) for t in tracks)
    n_notes = sum(len(t.instruments[0].notes) for ts in tracks for t in ts)

    def run(fn):
        return [[fn(t) for t in ts] for ts in tracks]

    t_tf, r_tf = best_of(lambda: run(lambda t: piano_roll(t).rolls), args.repeats)
    t_pm, r_pm = best_of(lambda: run(roll_pretty_midi), args.repeats)
    t_py, r_py = best_of(lambda: run(roll_python_loop), max(1, args.repeats - 1))
    agree_pm, agree_py, cells = 0, 0, 0
    for a_f, b_f, c_f in zip(r_tf, r_pm, r_py):
        for a, b, c in zip(a_f, b_f, c_f):
            n = min(len(a), len(b), len(c))
            agree_pm += int(((a[:n] > 0) == (b[:n] > 0)).sum())
            agree_py += int(((a[:n] > 0) == (c[:n] > 0)).sum())
            cells += a[:n].size
    n = len(pms)
    print(f"\n1. piano-roll segments: {n} music21 corpus pieces, {n_tracks} tracks, {n_notes} notes "
          f"(best of {args.repeats}; all three on the same loaded PrettyMIDI objects)")
    print(f"   {'method':<46}{'total s':>9}{'files/s':>10}{'vs timbrefast':>15}{'cells agree':>13}")
    for name, t, agree in (("timbrefast piano_roll", t_tf, cells),
                           ("pretty_midi get_piano_roll(times=tick grid)", t_pm, agree_pm),
                           ("plain python loop over notes", t_py, agree_py)):
        print(f"   {name:<46}{t:9.4f}{n / t:10.1f}{t / t_tf:14.2f}x{agree / max(cells, 1):13.4f}")


def bench_pairs(args):
    import torch

    from timbrefast.data import CamilPairs, read_dataset, synthesize_stems
    from timbrefast.frontends import Frontend
    from timbrefast.losses import margin_contrastive
    from timbrefast.models.camil import CamilConfig, CamilModel

    sf2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    with tempfile.TemporaryDirectory() as tmp:
        tracks = []
        for ens in ("strings", "brass"):
            synthesize_stems(os.path.join(tmp, ens), soundfont=sf2, tracks=1, seed=0, ensemble=ens, seconds=30.0,
                             progress=False)
            tracks += list(read_dataset(os.path.join(tmp, ens), layout="slakh"))
        pairs = CamilPairs(tracks, sr=22050, negatives="class", seed=0, frontend=Frontend("camil"))
        n = len(pairs)
        items = list(range(min(n, 16)))
        t_item, item = best_of(lambda: [pairs[i] for i in items], args.repeats)
        t_item /= len(items)
    shapes = f"roll {item[0]['roll'].shape}, mel {tuple(np.shape(item[0]['audio']))}"
    cfg = CamilConfig(depth=10, width=0.125, audio_depth=10, audio_width=0.125, embedding_dim=128)
    model = CamilModel(cfg)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    b = 64
    rolls = torch.rand(b, 84, 192)
    mels = torch.randn(2 * b, 128, 282)
    z = torch.cat([torch.ones(b), torch.zeros(b)])

    def step():
        opt.zero_grad()
        m = model.embed_midi(rolls)
        a = model.embed_audio(mels)
        loss = margin_contrastive(m.repeat(2, 1), a, z, margin=1.0)
        loss.backward()
        opt.step()

    step()
    t_step, _ = best_of(step, args.repeats)
    print(f"\n2. CAMIL pair item vs the encoder step it feeds ({n} segments of 2 rendered 30 s stems; {shapes})")
    print(f"   pair item (read 2 audio windows + 2 'camil' mels):   {t_item * 1e3:8.1f} ms / item")
    print(f"   encoder step, batch {b} pairs (depth 10, width 0.125, 1:1 negatives, fwd+bwd+Adam): "
          f"{t_step * 1e3:8.1f} ms = {t_step / b * 1e3:.1f} ms / pair")
    print(f"   item / per-pair step = {t_item / (t_step / b):.2f}x  (loader workers needed to keep one "
          f"trainer busy: {max(1, int(np.ceil(t_item / (t_step / b))))})")


def long_midi(path, minutes=4.0, tracks=16, bpm=120.0, seed=0):
    import pretty_midi

    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    beats = int(minutes * bpm)
    spq = 60.0 / bpm
    for k in range(tracks):
        drum = k == tracks - 1
        inst = pretty_midi.Instrument(program=0 if drum else (8 * k) % 80, is_drum=drum, name=f"track {k}")
        lo = 36 + (k * 5) % 40
        t = 0.0
        while t < beats:
            d = float(rng.choice([0.25, 0.5, 1.0, 2.0]))
            p = int(rng.integers(lo, lo + 24)) if not drum else int(rng.choice([36, 38, 42]))
            inst.notes.append(pretty_midi.Note(velocity=int(rng.integers(50, 110)), pitch=p, start=t * spq,
                                               end=(t + d) * spq))
            t += d
        pm.instruments.append(inst)
    pm.write(path)
    return sum(len(i.notes) for i in pm.instruments)


def bench_predict(args):
    from timbrefast.scorers.classify import MidiInstrumentClassifier, read_midi

    clf = MidiInstrumentClassifier.from_pretrained(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "long.mid")
        notes = long_midi(p)
        clf.predict(p)
        t, res = best_of(lambda: clf.predict(p), args.repeats)
        t_read, pm = best_of(lambda: read_midi(p), args.repeats)
    t_pm, _ = best_of(lambda: clf.predict(pm), args.repeats)
    t_model, _ = best_of(lambda: clf.predict_rolls(np.zeros((sum(r.segments for r in res), 84, 192), np.float32)),
                         args.repeats)
    segs = sum(r.segments for r in res)
    skipped = sum(1 for r in res if r.skipped)
    print(f"\n3. predict on a 4-minute, 16-track MIDI file ({notes} notes; {segs} segments classified, "
          f"{skipped} drum track skipped; bundled model unless --model)")
    print(f"   predict(path): {t * 1e3:.0f} ms  ({segs / t:.0f} segments/s)")
    print(f"     of which reading the file (pretty_midi): {t_read * 1e3:.0f} ms; predict(PrettyMIDI): {t_pm * 1e3:.0f} ms; "
          f"the model alone on the {segs} rolls (predict_rolls): {t_model * 1e3:.0f} ms")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    import torch

    torch.set_num_threads(THREADS)
    print_header(THREADS)
    print(f"started {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    bench_rolls(args)
    bench_pairs(args)
    bench_predict(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
