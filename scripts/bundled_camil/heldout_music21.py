"""The held-out real-MIDI check: music21 corpus string quartets (Beethoven, Haydn, Mozart) and
piano works (Joplin, Clara Schumann), never used in training.

    PYTHONPATH=python python scripts/bundled_camil/heldout_music21.py convert MIDI_DIR [COMPOSER,...]
    PYTHONPATH=python python scripts/bundled_camil/heldout_music21.py eval MIDI_DIR MODEL [OUT.json]

``convert`` writes one MIDI file per piece (music21's MIDI export, one track per part);
``eval`` classifies every track with MidiInstrumentClassifier and scores each track's
segments against its true class, from the kind of piece: Strings for every part of a
quartet (music21 writes programs 40-42, or 48 "String Ensemble" for some Haydn), Piano
for the piano staves (one track per staff). Segment accuracy, and track accuracy from
the averaged probabilities. Files are read with ``read_midi`` (music21 writes 10,080
ticks per quarter, which pretty_midi refuses for long movements); files that still
cannot be read are listed under ``skipped_files``.
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
    import copy

    import numpy as np
    from timbrefast.data.midi import piano_roll
    from timbrefast.scorers.classify import MidiInstrumentClassifier, read_midi

    clf = MidiInstrumentClassifier.from_pretrained(model)
    classes = np.array(clf.classes)
    # per true class: correct segments, segments, correct tracks, tracks, predicted segment classes
    rows = {c: [0, 0, 0, 0, {}] for c in ("Strings", "Piano")}
    skipped = []
    for f in sorted(midi_dir.glob("*.mid")):
        try:
            pm = read_midi(f)
            results = clf.predict(pm)
        except ValueError as exc:  # e.g. a file pretty_midi refuses: reported
            skipped.append(f"{f.name}: {exc}")
            continue
        for r in results:
            truth = "Strings" if f.name.startswith("strings__") else "Piano"
            if r.skipped or (truth == "Piano" and r.program > 7):  # a non-piano part of a piano piece
                continue
            one = copy.copy(pm)
            one.instruments = [pm.instruments[r.track]]
            seg = piano_roll(one)
            pred = classes[clf.predict_rolls(seg.rolls[seg.nonempty()][: clf.max_segments]).argmax(1)]
            row = rows[truth]
            row[0] += int(np.sum(pred == truth))
            row[1] += len(pred)
            row[2] += int(r.instrument_class == truth)
            row[3] += 1
            for c in pred:
                row[4][str(c)] = row[4].get(str(c), 0) + 1
    result = {c: {"segment_accuracy": v[0] / max(v[1], 1), "segments": v[1], "track_accuracy": v[2] / max(v[3], 1),
                  "tracks": v[3], "predicted_segments": v[4]} for c, v in rows.items()}
    result["skipped_files"] = skipped
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
