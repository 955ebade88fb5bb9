"""Samplers: COCOLA sub-mix pairs."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from timbrefast.data import CocolaPairs, Stem, Track

# Stem values are distinct powers of two, so a sub-mix's value tells which stems it holds.
VALUES = (2.0 ** -2, 2.0 ** -3, 2.0 ** -4, 2.0 ** -5)
QUIET = 2.0 ** -14  # RMS 6e-5: silent for the default threshold 1e-3


def _track(root, name, values, sr=16000, seconds=12.0, silent_after=None):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    stems = []
    for k, v in enumerate(values):
        y = np.full(int(seconds * sr), v, np.float32)
        if silent_after is not None and k == 0:
            y[int(silent_after * sr):] = 0.0
        p = os.path.join(d, f"S{k:02d}.wav")
        sf.write(p, y, sr, subtype="FLOAT")
        stems.append(Stem(name=f"S{k:02d}", audio_path=p))
    return Track(name=name, path=d, stems=tuple(stems))


def _decode(x):
    """Which stems a constant sub-mix holds (bit set of VALUES / QUIET)."""
    v = float(np.median(x))
    held = set()
    for k, val in enumerate(VALUES):
        if v >= val - 1e-7:
            held.add(k)
            v -= val
    if v >= QUIET - 1e-7:
        held.add("quiet")
    return held


def test_pairs_disjoint_nonempty_and_never_silent(tmp_path):
    tracks = [_track(tmp_path, "A", VALUES[:3] + (QUIET,)), _track(tmp_path, "B", (VALUES[0], 0.0, VALUES[3]))]
    pairs = CocolaPairs(tracks, sr=16000, seconds=2.0, max_overlap=0.5, seed=0)
    assert len(pairs) > 10
    for i in range(len(pairs)):
        it = pairs[i]
        assert it["anchor"].shape == (32000,) and it["anchor"].dtype == np.float32
        a, p = _decode(it["anchor"]), _decode(it["positive"])
        assert a and p and not (a & p)
        assert "quiet" not in a | p
        assert len(a) == it["n_anchor"] and len(p) == it["n_positive"]
        if it["track"] == 1:
            assert a | p == {0, 3}  # the all-zero stem never forms a sub-mix


def test_stems_of_several_files_are_summed(tmp_path):
    t = _track(tmp_path, "Z", VALUES[:3])
    # stem 0 = files of VALUES[0] and VALUES[3]
    merged = Stem(name="S00", audio_path=t.stems[0].audio_path,
                  mixed_with=(_track(tmp_path, "Z2", VALUES[3:4]).stems[0].audio_path,))
    t2 = Track(name="Z", path=t.path, stems=(merged,) + t.stems[1:])
    stems = CocolaPairs([t2], seconds=1.0, seed=0).load_window(0, 0)
    np.testing.assert_allclose(stems[:, 0], [VALUES[0] + VALUES[3], VALUES[1], VALUES[2]])


def test_silent_windows_are_redrawn(tmp_path):
    # in the second half only one stem sounds: those windows must never be returned
    t = _track(tmp_path, "C", (VALUES[0], VALUES[1]), seconds=12.0, silent_after=6.0)
    pairs = CocolaPairs([t], sr=16000, seconds=2.0, max_overlap=0.0, seed=1)
    starts = {pairs[i]["start"] for i in range(len(pairs))}
    assert starts and max(starts) + 32000 <= 6 * 16000


@pytest.mark.parametrize("max_overlap", [0.0, 0.25, 0.5, 0.9])
def test_window_overlap_at_target_rate(tmp_path, max_overlap):
    t = _track(tmp_path, "D", VALUES[:2], sr=44100, seconds=11.0)
    pairs = CocolaPairs([t], sr=16000, seconds=1.0, max_overlap=max_overlap, seed=0)
    starts = np.sort(pairs.windows[:, 1])
    gaps = np.diff(starts)
    assert np.all(1.0 - gaps / 16000 <= max_overlap + 1e-9)
    assert starts[-1] + 16000 <= 11.0 * 16000
    assert len(starts) == 1 + (11 * 16000 - 16000) // pairs.hop


def test_resampling_to_target_rate(tmp_path):
    t = _track(tmp_path, "E", VALUES[:2], sr=44100, seconds=3.0)
    it = CocolaPairs([t], sr=16000, seconds=1.0, seed=0)[0]
    assert it["anchor"].shape == (16000,)
    mid = (it["anchor"] + it["positive"])[2000:-2000]  # away from the filter's edges
    np.testing.assert_allclose(mid, VALUES[0] + VALUES[1], atol=1e-4)


def test_deterministic_and_epoch_dependent(tmp_path):
    tracks = [_track(tmp_path, "F", VALUES)]
    p1 = CocolaPairs(tracks, seconds=1.0, seed=3, noise_std=1e-3)
    p2 = CocolaPairs(tracks, seconds=1.0, seed=3, noise_std=1e-3)
    items1 = [p1[i] for i in range(len(p1))]
    for i in reversed(range(len(p2))):  # order does not matter
        np.testing.assert_array_equal(items1[i]["positive"], p2[i]["positive"])
    p2.set_epoch(1)
    assert any(not np.array_equal(items1[i]["anchor"], p2[i]["anchor"]) for i in range(len(p2)))


def test_noise_on_positive_only(tmp_path):
    tracks = [_track(tmp_path, "G", VALUES[:2])]
    it = CocolaPairs(tracks, seconds=1.0, seed=0, noise_std=1e-2)[0]
    assert np.std(it["anchor"]) < 1e-6
    assert abs(np.std(it["positive"]) - 1e-2) < 1e-3


def test_one_stem_track(tmp_path):
    one = _track(tmp_path, "H", VALUES[:1])
    two = _track(tmp_path, "I", VALUES[:2])
    with pytest.raises(ValueError, match="H.*1 stem"):
        CocolaPairs([one, two], seconds=1.0, on_error="raise")
    with pytest.warns(UserWarning, match="skipped 1 track"):
        pairs = CocolaPairs([one, two], seconds=1.0)
    assert [t.name for t in pairs.tracks] == ["I"] and pairs.skipped[0][0].endswith("H")
    with pytest.raises(ValueError, match="no usable track"):
        with pytest.warns(UserWarning):
            CocolaPairs([one], seconds=1.0)


def test_corrupt_audio_names_file(tmp_path):
    t = _track(tmp_path, "J", VALUES[:2])
    with open(t.stems[1].audio_path, "wb") as f:
        f.write(b"garbage")
    with pytest.raises(ValueError, match="S01.wav"):
        CocolaPairs([t], seconds=1.0, on_error="raise")


def test_all_silent_raises(tmp_path):
    t = _track(tmp_path, "K", (QUIET, QUIET))
    pairs = CocolaPairs([t], seconds=1.0, max_redraws=5)
    with pytest.raises(RuntimeError, match="non-silent"):
        pairs[0]


@pytest.mark.parametrize("kw,match", [({"sr": 0}, "sr"), ({"seconds": -1.0}, "seconds"),
                                      ({"max_overlap": 1.0}, "max_overlap"), ({"noise_std": -1.0}, "noise_std"),
                                      ({"seed": -2}, "seed"), ({"on_error": "ignore"}, "on_error")])
def test_bad_arguments(tmp_path, kw, match):
    t = _track(tmp_path, "L", VALUES[:2], seconds=2.0)
    with pytest.raises(ValueError, match=match):
        CocolaPairs([t], **kw)


def test_index_errors(tmp_path):
    pairs = CocolaPairs([_track(tmp_path, "M", VALUES[:2], seconds=2.0)], seconds=1.0)
    with pytest.raises(IndexError):
        pairs[len(pairs)]
    with pytest.raises(TypeError):
        pairs["0"]


def test_torch_dataloader_workers(tmp_path):
    torch = pytest.importorskip("torch")
    pairs = CocolaPairs([_track(tmp_path, "N", VALUES)], seconds=1.0, seed=5)
    dl = torch.utils.data.DataLoader(pairs, batch_size=4, num_workers=2, shuffle=False)
    got = torch.cat([b["anchor"] for b in dl])
    want = np.stack([pairs[i]["anchor"] for i in range(len(pairs))])
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.skipif(not os.path.isfile("/usr/share/sounds/sf2/TimGM6mb.sf2"), reason="TimGM6mb soundfont missing")
def test_on_synthesized_slakh_tracks(tmp_path):
    pytest.importorskip("fluidsynth")
    from timbrefast.data import read_dataset, synthesize_stems

    synthesize_stems(tmp_path / "ds", soundfont="/usr/share/sounds/sf2/TimGM6mb.sf2", tracks=2, seed=0,
                     seconds=6.0, progress=False)
    pairs = CocolaPairs(read_dataset(tmp_path / "ds", layout="slakh"), sr=16000, seconds=2.0, seed=0)
    for i in range(len(pairs)):
        it = pairs[i]
        assert np.sqrt(np.mean(it["anchor"] ** 2)) >= 1e-3
        assert np.sqrt(np.mean(it["positive"] ** 2)) >= 1e-3


from hypothesis import given, strategies as st  # noqa: E402

from timbrefast.data import window_starts  # noqa: E402


@given(st.integers(0, 10**6), st.integers(1, 10**5), st.floats(0.0, 0.99))
def test_window_starts_property(length, window, max_overlap):
    starts = window_starts(length, window=window, max_overlap=max_overlap)
    assert starts[0] == 0 and len(starts) >= 1
    if len(starts) > 1:
        gaps = np.diff(starts)
        assert np.all(gaps == gaps[0])
        assert (window - gaps[0]) / window <= max_overlap + 1e-12  # overlap at most max_overlap
        assert starts[-1] + window <= length  # every window inside the signal
        assert length - (starts[-1] + window) < gaps[0]  # and no room left for another
    else:
        assert length < window + int(np.ceil(window * (1 - max_overlap)))


def test_window_starts_bad():
    with pytest.raises(ValueError, match="window"):
        window_starts(10, window=0, max_overlap=0.5)
    with pytest.raises(ValueError, match="max_overlap"):
        window_starts(10, window=5, max_overlap=1.0)


def test_file_damaged_after_indexing_does_not_stop_the_epoch(tmp_path):
    good = _track(tmp_path, "P", VALUES[:2])
    bad = _track(tmp_path, "Q", VALUES[:2])
    pairs = CocolaPairs([good, bad], seconds=1.0, seed=0)
    with open(bad.stems[0].audio_path, "wb") as f:
        f.write(b"damaged")
    with pytest.warns(UserWarning, match="S00.wav"):
        items = [pairs[i] for i in range(len(pairs))]
    assert {it["track"] for it in items} == {0}


def test_items_feed_the_cocola_frontend(tmp_path):
    import timbrefast

    t = _track(tmp_path, "R", VALUES[:3], seconds=6.0)
    it = CocolaPairs([t], sr=16000, seconds=5.0, seed=0)[0]
    feats = timbrefast.Frontend("cocola")(np.stack([it["anchor"], it["positive"]]))
    assert feats.shape == (2, 2, 64, 501)


def test_stem_path_that_is_a_folder_is_skipped(tmp_path):
    # load_audio/audio_info raise IsADirectoryError (an OSError) for a folder: the sampler
    # must skip that track like a missing file, not die while indexing.
    bad = _track(tmp_path, "K", VALUES[:2])
    os.remove(bad.stems[1].audio_path)
    os.makedirs(bad.stems[1].audio_path)
    good = _track(tmp_path, "L", VALUES[:2])
    with pytest.warns(UserWarning, match="skipped 1 track"):
        pairs = CocolaPairs([bad, good], seconds=1.0)
    assert [t.name for t in pairs.tracks] == ["L"] and "directory" in pairs.skipped[0][1]


def test_window_starts_types():
    # A float length or window was used as is (window=10.5 gave a hop of 6).
    with pytest.raises(TypeError, match="length must be an int"):
        window_starts(100.5, window=10, max_overlap=0.5)
    with pytest.raises(TypeError, match="window must be an int"):
        window_starts(100, window=10.5, max_overlap=0.5)
    with pytest.raises(TypeError, match="max_overlap must be a number"):
        window_starts(100, window=10, max_overlap="0.5")
    assert window_starts(np.int64(100), window=np.int32(10), max_overlap=0.5)[:3].tolist() == [0, 5, 10]
