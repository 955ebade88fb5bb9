"""Audio I/O and resampling."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from timbrefast.data.audio import audio_info, load_audio, resample, save_audio


def test_roundtrip_and_partial_read(tmp_path):
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)
    p = save_audio(tmp_path / "a" / "x.flac", y, sr=44100)
    assert audio_info(p) == (44100, 44100, 1)
    z, sr = load_audio(p)
    assert sr == 44100 and z.dtype == np.float32
    np.testing.assert_allclose(z, y, atol=1.0 / 32768)
    part, _ = load_audio(p, start=1000, frames=500)
    np.testing.assert_array_equal(part, z[1000:1500])


def test_stereo_to_mono(tmp_path):
    st = np.stack([np.full(100, 0.5), np.full(100, -0.25)]).astype(np.float32)
    p = save_audio(tmp_path / "s.wav", st, sr=8000, subtype="FLOAT")
    m, _ = load_audio(p)
    np.testing.assert_allclose(m, 0.125)
    both, _ = load_audio(p, mono=False)
    assert both.shape == (2, 100)


def test_resample_matches_librosa_polyphase_and_keeps_pitch():
    librosa = pytest.importorskip("librosa")
    t = np.arange(44100) / 44100
    y = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    r = resample(y, orig_sr=44100, target_sr=16000)
    assert r.shape == (16000,) and r.dtype == np.float32
    ref = librosa.resample(y, orig_sr=44100, target_sr=16000, res_type="polyphase")
    np.testing.assert_allclose(r, ref, atol=1e-6)
    spec = np.abs(np.fft.rfft(r))
    assert abs(np.argmax(spec) * 16000 / len(r) - 1000) < 2
    np.testing.assert_array_equal(resample(y, orig_sr=16000, target_sr=16000), y)


def test_load_with_resampling(tmp_path):
    p = save_audio(tmp_path / "x.wav", np.zeros(22050, np.float32), sr=22050)
    z, sr = load_audio(p, sr=16000)
    assert sr == 16000 and len(z) == 16000


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.wav"):
        load_audio(tmp_path / "gone.wav")
    with pytest.raises(FileNotFoundError, match="gone.wav"):
        audio_info(tmp_path / "gone.wav")
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"fLaC but not really")
    with pytest.raises(ValueError, match="bad.flac"):
        load_audio(bad)
    with pytest.raises(ValueError, match="bad.flac"):
        audio_info(bad)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.0, np.nan, 0.0], np.float32), 8000, subtype="FLOAT")
    with pytest.raises(ValueError, match="nan.wav contains NaN"):
        load_audio(nan)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 8000)
    with pytest.raises(ValueError, match="empty.wav is empty"):
        audio_info(empty)


def test_bad_arrays(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        save_audio(tmp_path / "x.wav", np.array([np.inf], np.float32), sr=8000)
    with pytest.raises(ValueError, match="shape"):
        save_audio(tmp_path / "x.wav", np.zeros((1, 1, 4), np.float32), sr=8000)
    with pytest.raises(ValueError, match="orig_sr must be a positive whole number"):
        resample(np.zeros(4, np.float32), orig_sr=0, target_sr=16000)


def test_rates_and_offsets_are_validated(tmp_path):
    # These used to be truncated silently (16000.7 -> 16000, start=1.5 -> 1) or to reach
    # soundfile / scipy as their own exception types.
    y = np.zeros(1600, np.float32)
    p = save_audio(tmp_path / "a.wav", y, sr=16000)
    for bad in (16000.7, float("nan"), 0, -8000):
        with pytest.raises(ValueError, match="whole number of Hz"):
            resample(y, orig_sr=bad, target_sr=8000)
        with pytest.raises(ValueError, match="sr"):
            save_audio(tmp_path / "b.wav", y, sr=bad)
    with pytest.raises(TypeError, match="sample rate"):
        load_audio(p, sr="8000")
    with pytest.raises(TypeError, match="start must be an int"):
        load_audio(p, start=1.5)
    with pytest.raises(ValueError, match="start must be >= 0"):
        load_audio(p, start=-100)
    assert resample(y, orig_sr=16000.0, target_sr=8000).shape == (800,)


def test_integer_complex_and_scalar_audio_refused(tmp_path):
    # int16 PCM was written unscaled (clipped to full scale) and resampled unscaled;
    # complex lost its imaginary part with only a warning; a 0-d array raised IndexError.
    pcm = (np.arange(1600) % 200).astype(np.int16)
    with pytest.raises(TypeError, match="integer PCM"):
        save_audio(tmp_path / "i.wav", pcm, sr=16000)
    with pytest.raises(TypeError, match="integer PCM"):
        resample(pcm, orig_sr=16000, target_sr=8000)
    with pytest.raises(TypeError, match="complex"):
        resample(np.ones(100, np.complex64), orig_sr=16000, target_sr=8000)
    with pytest.raises(ValueError, match="time"):
        resample(np.float32(1.0), orig_sr=16000, target_sr=8000)
    with pytest.raises(ValueError, match="NaN"):
        resample(np.full(100, np.nan, np.float32), orig_sr=16000, target_sr=8000)
    assert resample(np.zeros(0, np.float32), orig_sr=16000, target_sr=8000).shape == (0,)


def test_channel_layout_and_directories(tmp_path):
    # (n, channels) data was handed to libsndfile as 16000 channels ("Format not
    # recognised"); a directory path read as "not found"; a header-only file read as [].
    with pytest.raises(ValueError, match=r"pass y\.T"):
        save_audio(tmp_path / "s.wav", np.zeros((16000, 2), np.float32), sr=16000)
    d = tmp_path / "dir.wav"
    d.mkdir()
    with pytest.raises(IsADirectoryError):
        load_audio(d)
    with pytest.raises(IsADirectoryError):
        audio_info(d)
    with pytest.raises(IsADirectoryError):
        save_audio(d, np.zeros(10, np.float32), sr=16000)
    ok = save_audio(tmp_path / "ok.wav", np.zeros(1000, np.float32), sr=16000)
    header = tmp_path / "header.wav"
    header.write_bytes(open(ok, "rb").read()[:44])
    with pytest.raises(ValueError, match="no samples"):
        load_audio(header)


from hypothesis import given, settings, strategies as st  # noqa: E402


_RATES = st.sampled_from([8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3000), orig=_RATES, target=_RATES,
       lead=st.sampled_from([(), (2,)]))
def test_resample_length_and_batch_property(n, orig, target, lead):
    """Length is ceil(n * target / orig) as documented, for the common rates; leading axes are
    resampled independently."""
    y = np.random.default_rng(n).standard_normal(lead + (n,)).astype(np.float32)
    out = resample(y, orig_sr=orig, target_sr=target)
    assert out.dtype == np.float32 and out.shape == lead + (-(-n * target // orig),)
    assert np.isfinite(out).all()
    if lead:
        np.testing.assert_array_equal(out[1], resample(y[1], orig_sr=orig, target_sr=target))


# -- issue 12, defect 4: a header that claims 1 Hz must not become gigabytes ----------------
def _bomb(path, rate=1, n=20000):
    """A 40 KB 16-bit WAV whose header claims ``rate`` Hz (the defect's hostile file)."""
    sf.write(str(path), np.zeros(n, np.int16), rate, subtype="PCM_16")
    return str(path)


def test_sample_rate_bomb_is_refused_before_allocating(tmp_path):
    import tracemalloc

    p = _bomb(tmp_path / "bomb.wav")
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb\.wav.*1 Hz to 16000 Hz.*ratio of 16000"):
            load_audio(p, sr=16000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20  # it used to reach 1.2 GiB
    y, sr = load_audio(p)  # at its own rate the file is fine
    assert y.shape == (20000,) and sr == 1
    with pytest.raises(ValueError, match="ratio"):
        resample(y, orig_sr=1, target_sr=16000)
    with pytest.raises(ValueError, match="ratio"):
        resample(np.zeros(10, np.float32), orig_sr=48000 * 2000, target_sr=48000)


def test_output_size_is_bounded_before_allocating(tmp_path, monkeypatch):
    import timbrefast.data.audio as audio

    p = str(tmp_path / "long.wav")
    sf.write(p, np.zeros((4000, 2), np.float32), 8000, subtype="PCM_16")
    monkeypatch.setattr(audio, "MAX_SAMPLES", 10000)
    # 4000 frames x 2 channels fit; resampled to 48 kHz (x6) they do not
    assert load_audio(p, mono=False)[0].shape == (2, 4000)
    with pytest.raises(ValueError, match=r"long\.wav.*24000 frames x 2 channel.*8000 Hz to 48000 Hz.*GiB"):
        load_audio(p, sr=48000, mono=False)
    monkeypatch.setattr(audio, "MAX_SAMPLES", 5000)
    with pytest.raises(ValueError, match=r"long\.wav: 4000 frames x 2 channel\(s\) to read"):
        load_audio(p)
    assert load_audio(p, start=2000, frames=1000)[0].shape == (1000,)  # a part fits
    with pytest.raises(ValueError, match="above the limit"):
        resample(np.zeros((2, 4000), np.float32), orig_sr=8000, target_sr=16000)


def test_readers_and_samplers_skip_bombs_and_memory_errors(tmp_path, monkeypatch):
    from timbrefast.data import CocolaPairs, Stem, Track
    import timbrefast.data.samplers as samplers
    from timbrefast.data.readers.records import Skips, check_audio

    good = []
    for k in range(2):
        q = str(tmp_path / f"g{k}.wav")
        sf.write(q, np.full(16000, 0.25 / (k + 1), np.float32), 16000, subtype="FLOAT")
        good.append(Stem(name=f"g{k}", audio_path=q))
    bomb = Track(name="bomb", path=str(tmp_path),
                 stems=(Stem(name="b", audio_path=_bomb(tmp_path / "b.wav")), good[0]))
    ok = Track(name="ok", path=str(tmp_path), stems=tuple(good))
    with pytest.warns(UserWarning, match=r"skipped 1 track.*b\.wav.*ratio"):
        pairs = CocolaPairs([bomb, ok], sr=16000, seconds=0.5)
    assert [t.name for t in pairs.tracks] == ["ok"]

    # a MemoryError while reading (the file is too big for this machine) is skipped too
    def oom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(samplers, "load_audio", oom)
    with pytest.warns(UserWarning, match="out of memory"):
        with pytest.raises(RuntimeError, match="no window"):
            pairs[0]
    monkeypatch.setattr(samplers, "audio_info", oom)
    with pytest.warns(UserWarning, match="out of memory"):
        with pytest.raises(ValueError, match="no usable track"):
            CocolaPairs([ok], sr=16000, seconds=0.5)
    import timbrefast.data.audio as audio

    monkeypatch.setattr(audio, "audio_info", oom)
    skips = Skips()
    assert check_audio(good[0].audio_path, skips, verify=True) is False
    assert "out of memory" in skips.items[0][1]
