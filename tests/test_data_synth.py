"""Rendering notes, phrases and MIDI files with FluidSynth."""
from __future__ import annotations

import numpy as np
import pytest

from data_helpers import TIMGM, needs_synth

pytestmark = needs_synth


@pytest.fixture(scope="module")
def synth():
    from timbrefast.data import Synthesizer

    s = Synthesizer(TIMGM, sr=16000)
    yield s
    s.close()


def test_note_is_mono_float32_with_tail(synth):
    y = synth.render_note(60, program=0, duration=0.5, velocity=100)
    assert y.dtype == np.float32 and y.ndim == 1
    assert np.all(np.isfinite(y))
    end = int(0.5 * 16000)
    assert len(y) > end + 160  # the release tail is kept
    assert np.abs(y[end:]).max() > 1e-3
    assert np.abs(y[:end]).max() > 1e-2


def test_pitch_of_rendered_note(synth):
    # A4 on a flute: spectral peak within a semitone of 440 Hz
    y = synth.render_note(69, program=73, duration=1.0)[:16000]
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    f0 = np.argmax(spec) * 16000 / len(y)
    assert abs(12 * np.log2(f0 / 440.0)) < 1.0


def test_renders_are_deterministic(synth):
    from timbrefast.data import Note

    notes = [Note(48 + i, 90, 0.1 * i, 0.1 * i + 0.3) for i in range(8)]
    a = synth.render_notes(notes, program=48)
    synth.render_note(30, program=33, duration=0.2)  # something else in between
    b = synth.render_notes(notes, program=48)
    np.testing.assert_array_equal(a, b)
    with synth.sequence():
        s1 = [synth.render_note(60 + k, program=k * 8, duration=0.2) for k in range(5)]
    with synth.sequence():
        s2 = [synth.render_note(60 + k, program=k * 8, duration=0.2) for k in range(5)]
    for x, y in zip(s1, s2):
        np.testing.assert_array_equal(x, y)


def test_sample_rate_scales_length():
    from timbrefast.data import Synthesizer

    with Synthesizer(TIMGM, sr=22050, max_tail=0.0) as s:
        y = s.render_note(60, program=0, duration=1.0)
    assert abs(len(y) - 22050) <= 64


def test_render_midi_file(synth, tmp_path):
    import pretty_midi

    from timbrefast.data import score_to_midi, generate_phrase

    score = generate_phrase(np.random.default_rng(3), registers=[(60, 72), (40, 52)], seconds=3.0)
    pm = score_to_midi(score, [0, 32])
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes = [pretty_midi.Note(velocity=100, pitch=36, start=0.5 * k, end=0.5 * k + 0.1) for k in range(4)]
    pm.instruments.append(drums)
    path = tmp_path / "x.mid"
    pm.write(str(path))
    mix = synth.render_midi(path)
    parts = synth.render_midi(str(path), by_instrument=True)
    assert len(parts) == 3
    np.testing.assert_allclose(mix, np.sum(parts, axis=0), atol=1e-6)
    assert len(mix) >= int(3.0 * 16000) - 64


def test_bad_inputs(synth, tmp_path):
    from timbrefast.data import Note, Synthesizer

    with pytest.raises(ValueError, match="pitch"):
        synth.render_notes([Note(200, 90, 0, 1)], program=0)
    with pytest.raises(ValueError, match="start"):
        synth.render_notes([Note(60, 90, 1.0, 0.5)], program=0)
    with pytest.raises(ValueError, match="no notes"):
        synth.render_notes([], program=0)
    with pytest.raises(ValueError, match="duration"):
        synth.render_note(60, program=0, duration=float("nan"))
    with pytest.raises(ValueError, match="sr"):
        Synthesizer(TIMGM, sr=100)
    with pytest.raises(FileNotFoundError, match="missing.sf2"):
        Synthesizer(tmp_path / "missing.sf2")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd garbage")
    with pytest.raises(ValueError, match="bad.mid"):
        synth.render_midi(bad)
    with pytest.raises(FileNotFoundError, match="gone.mid"):
        synth.render_midi(tmp_path / "gone.mid")
    with pytest.raises(TypeError, match="pickled"):
        import pickle

        pickle.dumps(synth)


@pytest.mark.skipif(__import__("shutil").which("fluidsynth") is None, reason="fluidsynth command-line program absent")
def test_parity_with_fluidsynth_cli_on_a_bach_chorale(synth, tmp_path):
    """render_midi against FluidSynth's own file renderer on real music: same spectrum
    (within 1 dB at every frequency 50 Hz-7 kHz), same loudness, same envelope."""
    pytest.importorskip("music21")
    import subprocess

    import soundfile as sf
    from scipy.signal import welch

    from timbrefast.data import corpus_paths, corpus_score, score_to_midi

    score = corpus_score(corpus_paths("bach")[0], tempo=90.0)
    score.parts = score.parts[:4]
    for part in score.parts:  # the first 30 s
        part.notes = [n for n in part.notes if n.end <= 30.0]
    mid = str(tmp_path / "chorale.mid")
    score_to_midi(score, [0, 40, 71, 32]).write(mid)
    ours = synth.render_midi(mid)
    wav = str(tmp_path / "cli.wav")
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-R", "0", "-C", "0", "-r", "16000", "-O", "float",
                    "-T", "wav", "-F", wav, TIMGM, mid], check=True, capture_output=True)
    ref = sf.read(wav)[0].mean(axis=1)
    f, p_ours = welch(ours, 16000, nperseg=2048)
    _, p_ref = welch(ref, 16000, nperseg=2048)
    band = (f > 50) & (f < 7000)
    db = 10 * np.log10(p_ours[band] / p_ref[band])
    assert np.max(np.abs(db)) < 1.5 and np.median(np.abs(db)) < 0.5
    # align (the CLI's player schedules events in milliseconds) and compare 100 ms envelopes
    n = min(len(ours), len(ref)) - 2000
    w = 48000
    lag = int(np.argmax([np.dot(ours[:w], ref[k:k + w]) for k in range(0, 1024, 16)])) * 16
    a, b = ours[:n], ref[lag:lag + n]
    assert abs(np.sum(a ** 2) / np.sum(b ** 2) - 1) < 0.03
    m = n // 1600 * 1600
    env_a = np.sqrt((a[:m].reshape(-1, 1600) ** 2).mean(1))
    env_b = np.sqrt((b[:m].reshape(-1, 1600) ** 2).mean(1))
    assert np.corrcoef(env_a, env_b)[0, 1] > 0.98


def test_synthesizers_in_threads_render_the_same():
    import threading

    from timbrefast.data import Synthesizer

    def job(out, key):
        with Synthesizer(TIMGM, sr=16000) as s:
            with s.sequence():
                out[key] = [s.render_note(48 + k, program=8 * k, duration=0.3) for k in range(6)]

    alone, threaded = {}, {}
    job(alone, 0)
    threads = [threading.Thread(target=job, args=(threaded, i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        for a, b in zip(alone[0], threaded[i]):
            np.testing.assert_array_equal(a, b)


def test_absurd_duration_is_a_value_error(synth):
    # duration=1e9 s used to try to allocate 58 TiB (MemoryError).
    with pytest.raises(ValueError, match="render it in parts"):
        synth.render_note(60, duration=1e9, program=0)
