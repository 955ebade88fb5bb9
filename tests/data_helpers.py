"""Helpers shared by the data-engine tests: soundfont discovery and skip reasons."""
from __future__ import annotations

import os

import pytest

TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def fluidsynth_reason():
    """Why synthesis tests cannot run here, or None."""
    if not os.path.isfile(TIMGM):
        return f"soundfont {TIMGM} missing (Debian package timgm6mb-soundfont)"
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"pyfluidsynth / libfluidsynth unavailable: {exc}"
    return None


needs_synth = pytest.mark.skipif(fluidsynth_reason() is not None, reason=str(fluidsynth_reason()))
