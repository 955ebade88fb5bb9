"""``timbrefast synth ...`` subcommands.

Register with ``timbrefast.data.cli:register`` (adds ``synth stems`` and ``synth notes``).
Every error is one line on stderr, no traceback: exit code 2 for a usage error (a bad or
out-of-range argument, a missing soundfont, an output folder holding tracks made with
other parameters without ``--overwrite``), 1 for a runtime error (writing, rendering).
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def _fail(args: argparse.Namespace, exc: BaseException, code: int) -> int:
    """Print ``exc`` as one line (no traceback) and return the exit code: 2 for a usage
    error (a bad argument), 1 for a runtime error (files, rendering)."""
    msg = str(exc) if not isinstance(exc, MemoryError) else "out of memory"
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        msg = f"{exc.strerror}: {exc.filename}"
    msg = " ".join(msg.split())  # one line
    print(f"timbrefast synth {args.synth_command}: error: {msg}", file=sys.stderr)
    return code


_RUNTIME_ERRORS = (OSError, ValueError, TypeError, RuntimeError, ImportError, MemoryError)


def _stems(args: argparse.Namespace) -> int:
    from .stems import _synthesize, check_stems_arguments

    try:
        checked = check_stems_arguments(
            args.out, soundfont=args.soundfont, tracks=args.tracks, seed=args.seed, ensemble=args.ensemble,
            source=args.source, seconds=args.seconds, drums=args.drums, audio_format=args.format, sr=args.sr,
            workers=args.workers, start=args.start, progress=not args.quiet, overwrite=args.overwrite,
        )
    except _RUNTIME_ERRORS as exc:  # a bad argument (a missing soundfont included)
        return _fail(args, exc, 2)
    try:
        paths, kept = _synthesize(checked)
    except FileExistsError as exc:  # tracks made with other parameters, no --overwrite
        return _fail(args, exc, 2)
    except _RUNTIME_ERRORS as exc:
        return _fail(args, exc, 1)
    if kept:
        print(f"resumed: {kept} track(s) already in {args.out} with the same parameters were kept")
    print(f"wrote {len(paths) - kept} track(s) to {args.out}")
    return 0


def _notes(args: argparse.Namespace) -> int:
    from .notes import check_notes_arguments, synthesize_notes

    kw = dict(soundfont=args.soundfont, notes_per_instrument=args.notes_per_instrument, seed=args.seed,
              families=args.families, sr=args.sr, seconds=args.seconds, workers=args.workers,
              progress=not args.quiet)
    try:
        check_notes_arguments(args.out, **kw)
    except _RUNTIME_ERRORS as exc:
        return _fail(args, exc, 2)
    try:
        n = synthesize_notes(args.out, **kw)
    except _RUNTIME_ERRORS as exc:
        return _fail(args, exc, 1)
    print(f"wrote {n} notes to {args.out}")
    return 0


def register(subparsers) -> None:
    """Add ``synth stems`` and ``synth notes`` to the ``timbrefast`` parser."""
    synth = subparsers.add_parser("synth", help="synthesize datasets with soundfonts (FluidSynth)")
    sub = synth.add_subparsers(dest="synth_command", metavar="MODE")
    synth.set_defaults(func=lambda a: (synth.print_help(), 2)[1])

    st = sub.add_parser("stems", help="multi-stem tracks in the Slakh layout")
    st.add_argument("out", help="output folder")
    st.add_argument("--soundfont", required=True, help=".sf2/.sf3 file")
    st.add_argument("--tracks", type=int, required=True, help="number of tracks")
    st.add_argument("--seed", type=int, default=0)
    st.add_argument("--ensemble", default="random", choices=("random", "strings", "brass", "woodwind"))
    st.add_argument("--source", default="phrases", choices=("phrases", "chorales", "mixed"),
                    help="generated phrases, music21 Bach chorales, or both")
    st.add_argument("--seconds", type=float, default=20.0, help="length of each track before release tails")
    st.add_argument("--drums", action="store_true", help="add a drum-kit stem to every track")
    st.add_argument("--format", default="flac", choices=("flac", "wav"),
                    help="stem files: FLAC as Slakh, or WAV (faster to read back)")
    st.add_argument("--sr", type=int, default=16000, help="sample rate (Hz)")
    st.add_argument("--workers", type=int, default=1, help="processes")
    st.add_argument("--start", type=int, default=0, help="index of the first track")
    st.add_argument("--quiet", action="store_true", help="no progress bar")
    st.add_argument("--overwrite", action="store_true",
                    help="replace tracks of OUT made with other parameters (without it they are refused; "
                         "tracks made with the same parameters are kept, so a run resumes)")
    st.set_defaults(func=_stems)

    nt = sub.add_parser("notes", help="single notes per instrument in the NSynth layout")
    nt.add_argument("out", help="output folder")
    nt.add_argument("--soundfont", required=True, help=".sf2/.sf3 file")
    nt.add_argument("--notes-per-instrument", type=int, default=8)
    nt.add_argument("--seed", type=int, default=0)
    nt.add_argument("--families", nargs="*", default=None,
                    help="General MIDI families to keep (default: all melodic)")
    nt.add_argument("--seconds", type=float, default=4.0, help="length of each example (NSynth: 4)")
    nt.add_argument("--sr", type=int, default=16000)
    nt.add_argument("--workers", type=int, default=1)
    nt.add_argument("--quiet", action="store_true")
    nt.set_defaults(func=_notes)
