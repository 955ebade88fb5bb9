"""The held-out real-MIDI check: music21 corpus string quartets (Beethoven, Haydn, Mozart) and
piano works (Joplin, Clara Schumann), never used in training.

    PYTHONPATH=python python scripts/bundled_camil/heldout_music21.py convert MIDI_DIR [COMPOSER,...]
    PYTHONPATH=python python scripts/bundled_camil/heldout_music21.py eval MIDI_DIR MODEL [OUT.json]

``convert`` writes one MIDI file per piece (music21's MIDI export, one track per part);
``eval`` classifies every track with MidiInstrumentClassifier and scores each track's
segments against its true class: Strings for the quartets' parts, Piano for the piano
pieces' staves (segment accuracy, and track accuracy from the averaged probabilities).
"""
import json
import sys
from pathlib import Path

QUARTETS = ("beethoven", "haydn", "mozart")
PIANO = ("joplin", "schumann_clara")


def convert(out_dir: Path, composers=QUARTETS + PIANO) -> None:
    from music21 import corpus

    out_dir.mkdir(parents=True, exist_ok=True)
    for comp in composers:
        for k, path in enumerate(corpus.getComposer(comp)):
            p = Path(str(path))
            if p.suffix not in (".mxl", ".xml"):
                continue
            kind = "strings" if comp in QUARTETS else "piano"
            target = out_dir / f"{kind}__{comp}__{k:02d}_{p.stem}.mid"
            if target.exists():
                continue
            try:
                score = corpus.parse(str(path))
            except Exception as exc:  # a corpus file music21 cannot parse: reported, skipped
                print(f"skip {p}: {exc}", flush=True)
                continue
            n_parts = len(score.parts)
            if kind == "strings" and n_parts != 4:
                print(f"skip {p}: {n_parts} parts, not a quartet", flush=True)
                continue
            try:
                score.write("midi", fp=str(target))
            except Exception as exc:  # e.g. badly formed repeats: reported, skipped
                print(f"skip {p}: cannot write MIDI: {exc}", flush=True)
                continue
            print(f"{target.name}: {n_parts} parts", flush=True)


def evaluate(midi_dir: Path, model: str, out: str = None) -> dict:
    import numpy as np

    from timbrefast.scorers.classify import MidiInstrumentClassifier

    clf = MidiInstrumentClassifier.from_pretrained(model)
    classes = list(clf.classes)
    rows = {"strings": [0, 0, 0, 0], "piano": [0, 0, 0, 0]}  # seg correct, segs, track correct, tracks
    predicted = {"strings": {}, "piano": {}}
    for f in sorted(midi_dir.glob("*.mid")):
        kind = f.name.split("__")[0]
        truth = "Strings" if kind == "strings" else "Piano"
        for r in clf.predict(f):
            if r.skipped:
                continue
            from timbrefast.data.midi import piano_roll
            import copy
            import pretty_midi

            pm = pretty_midi.PrettyMIDI(str(f))
            one = copy.copy(pm)
            one.instruments = [pm.instruments[r.track]]
            seg = piano_roll(one)
            probs = clf.predict_rolls(seg.rolls[seg.nonempty()][: clf.max_segments])
            pred = np.array(classes)[probs.argmax(1)]
            rows[kind][0] += int(np.sum(pred == truth))
            rows[kind][1] += len(pred)
            rows[kind][2] += int(r.instrument_class == truth)
            rows[kind][3] += 1
            for c in pred:
                predicted[kind][str(c)] = predicted[kind].get(str(c), 0) + 1
    result = {k: {"segment_accuracy": v[0] / max(v[1], 1), "segments": v[1],
                  "track_accuracy": v[2] / max(v[3], 1), "tracks": v[3], "predicted_segments": predicted[k]}
              for k, v in rows.items()}
    text = json.dumps(result, indent=1)
    print(text)
    if out:
        Path(out).write_text(text + "\n")
    return result


if __name__ == "__main__":
    if sys.argv[1] == "convert":
        convert(Path(sys.argv[2]), *([tuple(sys.argv[3].split(","))] if len(sys.argv) > 3 else []))
    else:
        evaluate(Path(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
