"""``timbrefast synth ...`` subcommands.

Register with ``timbrefast.data.cli:register`` (adds ``synth stems`` and ``synth notes``).
"""
from __future__ import annotations

import argparse
import contextlib

__all__ = ["register"]


@contextlib.contextmanager
def _os_errors_as_messages():
    """File-system errors (a folder where a file belongs, an output path that is a file)
    become ValueErrors, which the ``timbrefast`` entry point prints as one line."""
    try:
        yield
    except OSError as exc:
        raise ValueError(str(exc)) from None


def _stems(args: argparse.Namespace) -> int:
    from .stems import synthesize_stems

    with _os_errors_as_messages():
        paths = synthesize_stems(
            args.out,
            soundfont=args.soundfont,
            tracks=args.tracks,
            seed=args.seed,
            ensemble=args.ensemble,
            source=args.source,
            seconds=args.seconds,
            drums=args.drums,
            audio_format=args.format,
            sr=args.sr,
            workers=args.workers,
            start=args.start,
            progress=not args.quiet,
        )
    print(f"wrote {len(paths)} track(s) to {args.out}")
    return 0


def _notes(args: argparse.Namespace) -> int:
    from .notes import synthesize_notes

    with _os_errors_as_messages():
        ds = synthesize_notes(
            args.out,
            soundfont=args.soundfont,
            notes_per_instrument=args.notes_per_instrument,
            seed=args.seed,
            families=args.families,
            sr=args.sr,
            seconds=args.seconds,
            workers=args.workers,
            progress=not args.quiet,
        )
    print(f"wrote {ds} notes to {args.out}")
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
