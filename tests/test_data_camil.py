"""CAMIL audio-MIDI pairs."""
from __future__ import annotations

import os

import numpy as np
import pytest

from data_helpers import TIMGM, needs_synth

pytestmark = needs_synth


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    from timbrefast.data import read_dataset, synthesize_stems

    root = tmp_path_factory.mktemp("camil")
    synthesize_stems(root / "s", soundfont=TIMGM, tracks=1, seed=0, ensemble="strings", seconds=8.0, progress=False)
    synthesize_stems(root / "b", soundfont=TIMGM, tracks=1, seed=0, ensemble="brass", seconds=8.0, progress=False)
    return list(read_dataset(root / "s", layout="slakh")) + list(read_dataset(root / "b", layout="slakh"))


def test_items_and_alignment(tracks):
    from timbrefast.data import CamilPairs
    from timbrefast.data.audio import load_audio

    pairs = CamilPairs(tracks, sr=16000, audio_samples=48000, negatives="class", seed=0)
    assert len(pairs) > 0
    assert set(np.unique(pairs.labels)) == {4, 5}  # Strings, Brass
    for i in range(len(pairs)):
        it = pairs[i]
        assert it["roll"].shape == (84, 192) and it["roll"].max() > 0
        assert it["audio"].shape == it["negative_audio"].shape == (48000,)
        assert it["negative_label"] != it["label"]
    # the audio is the stem over the segment's time span
    si, start, end = pairs.entries[1]
    y, _ = load_audio(pairs.stems[si][0])
    a = int(round(start * 16000))
    n = min(48000, int(round((end - start) * 16000)))
    np.testing.assert_allclose(pairs.audio(1)[:n], y[a:a + n], atol=1e-6)


def test_random_negatives_deterministic(tracks):
    from timbrefast.data import CamilPairs

    p1 = CamilPairs(tracks, sr=16000, audio_samples=16000, seed=1)
    p2 = CamilPairs(tracks, sr=16000, audio_samples=16000, seed=1)
    for i in range(len(p1)):
        a, b = p1[i], p2[i]
        np.testing.assert_array_equal(a["negative_audio"], b["negative_audio"])
        assert not np.array_equal(a["audio"], a["negative_audio"])


def test_frontend_and_resampling(tracks):
    from timbrefast.data import CamilPairs

    pairs = CamilPairs(tracks[:1], sr=22050, audio_samples=1024, frontend=lambda y: y[None, :4] * 0 + len(y))
    it = pairs[0]
    assert it["audio"].shape == (1, 4) and it["audio"][0, 0] == 1024


def test_errors(tracks, tmp_path):

    from timbrefast.data import CamilPairs, Stem, Track

    with pytest.raises(ValueError, match="two CAMIL classes"):
        CamilPairs(tracks[:1], negatives="class")
    with pytest.raises(ValueError, match="negatives"):
        CamilPairs(tracks, negatives="hard")
    s = tracks[0].stems[0]
    bad_midi = tmp_path / "bad.mid"
    bad_midi.write_bytes(b"garbage")
    broken = Track(name="x", path=str(tmp_path), stems=(Stem(name="S00", audio_path=s.audio_path, program=40,
                                                             midi_path=str(bad_midi)),))
    with pytest.warns(UserWarning, match="bad.mid"):
        pairs = CamilPairs(list(tracks[:1]) + [broken])
    assert pairs.skipped[0][0] == str(bad_midi)
    with pytest.raises(ValueError, match="no stem with a CAMIL class"):
        with pytest.warns(UserWarning):
            CamilPairs([broken])


def test_audio_damaged_after_indexing(tracks, tmp_path):
    import shutil

    from timbrefast.data import CamilPairs, read_dataset

    root = tmp_path / "copy"
    shutil.copytree(os.path.dirname(tracks[0].path), root)
    ds = read_dataset(root, layout="slakh")
    pairs = CamilPairs(ds, sr=16000, audio_samples=8000, seed=0)
    victim = pairs.stems[0][0]
    with open(victim, "wb") as f:
        f.write(b"damaged")
    with pytest.warns(UserWarning, match=os.path.basename(victim)):
        items = [pairs[i] for i in range(len(pairs))]
    assert all(it["audio"].shape == (8000,) for it in items)


def test_with_the_camil_frontend(tracks):
    import timbrefast
    from timbrefast.data import CamilPairs

    pairs = CamilPairs(tracks, frontend=timbrefast.Frontend("camil"), seed=0)
    it = pairs[0]
    assert it["audio"].shape == it["negative_audio"].shape == (1, 128, 282)  # the paper's 128 x 282
    assert it["roll"].shape == (84, 192)
