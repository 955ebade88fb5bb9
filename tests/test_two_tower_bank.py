"""The two-tower caption bank builder: onset, held-note and release windows of long
rendered notes, their offsets, pitch-range overrides, determinism."""
import json

import numpy as np
import pytest

pytest.importorskip("torch")

from data_helpers import TIMGM, needs_synth  # noqa: E402
from timbrefast.train._two_tower_bank import CaptionBank, _window, _window_offset, build_caption_bank  # noqa: E402
from timbrefast.two_tower.captions import NoteDescription  # noqa: E402


def test_window_cuts_and_pads():
    y = np.arange(1, 11, dtype=np.float32)
    assert np.array_equal(_window(y, 0, 4), [1, 2, 3, 4])
    assert np.array_equal(_window(y, -2, 4), [0, 0, 1, 2])
    assert np.array_equal(_window(y, 8, 4), [9, 10, 0, 0])
    assert np.array_equal(_window(y, 12, 3), [0, 0, 0])
    assert np.array_equal(_window(y, -5, 3), [0, 0, 0])


def test_window_offsets_by_kind():
    rng = np.random.default_rng(0)
    for d in (0.1, 0.5, 2.0, 4.5):
        for _ in range(50):
            o0 = _window_offset(rng, 0, d, 0.3)
            assert -0.3 <= o0 <= 0.0
            o1 = _window_offset(rng, 1, d, 0.3)
            assert min(0.2, d / 2) <= o1 <= max(min(0.2, d / 2), d - 0.2)
            o2 = _window_offset(rng, 2, d, 0.3)
            assert max(0.1, d - 0.2) <= o2 <= d + 0.3
    assert _window_offset(rng, 0, 1.0, 0.0) == 0.0


def test_note_offset_field():
    kw = dict(instrument="x", source="soundfont", program=40, category=None, preset_name="x", family="Strings",
              pitch=60, pitch_low=55, pitch_high=100, velocity=64, duration=1.0)
    assert NoteDescription(**kw).offset == 0.0
    assert NoteDescription(**kw, offset=-0.2).offset == -0.2
    with pytest.raises(ValueError, match="offset"):
        NoteDescription(**kw, offset=float("nan"))


@needs_synth
def test_windows_of_long_notes_match_the_render(tmp_path):
    from timbrefast.data.instruments import render, soundfont_instruments
    from timbrefast.frontends import Frontend

    insts = [i for i in soundfont_instruments(TIMGM) if i.preset.program in (40, 73) and i.preset.bank == 0][:2]
    kw = dict(notes_per_instrument=2, seed=3, windows_per_note=3, lead_max=0.3, duration_range=(0.5, 4.0),
              pitch_ranges={40: (60, 62)})
    bank = build_caption_bank(insts, **kw)
    assert bank.features.shape[1:] == (64, 101) and len(bank) <= 12
    assert len(bank) >= 8
    again = build_caption_bank(insts, **kw)
    assert np.array_equal(bank.features, again.features) and bank.notes == again.notes
    for note in bank.notes:
        if note.program == 40:
            assert 60 <= note.pitch <= 62 and (note.pitch_low, note.pitch_high) == (60, 62)
        assert 0.5 <= note.duration <= 4.0 and -0.3 <= note.offset <= note.duration + 0.3
    # one window recomputed from its render: the same features
    note, feat = bank.notes[1], bank.features[1]
    inst = next(i for i in insts if i.id == note.instrument)
    y = render(inst, note.pitch, velocity=note.velocity, duration=note.duration, sr=16000)
    w = _window(y, int(round(note.offset * 16000)), 32000)
    ref = np.asarray(Frontend("timbre")(w[None]))[0, 0].astype(np.float16)
    assert np.abs(ref.astype(np.float32) - feat.astype(np.float32)).mean() < 0.2
    assert note.offset > 0  # window 1: inside the held note, no onset
    # the old recipe: one onset clip per note, offsets 0
    one = build_caption_bank(insts, notes_per_instrument=2, seed=3)
    assert len(one) == 4 and all(n.offset == 0.0 for n in one.notes)
    # saved and loaded; an older notes.json without offsets still loads
    one.save(tmp_path / "b")
    notes = json.loads((tmp_path / "b" / "notes.json").read_text())
    for n in notes:
        n.pop("offset")
    (tmp_path / "b" / "notes.json").write_text(json.dumps(notes))
    assert CaptionBank.load(tmp_path / "b").notes == one.notes
    with pytest.raises(ValueError, match="lead_max"):
        build_caption_bank(insts, lead_max=2.5)
