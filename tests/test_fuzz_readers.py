"""Fuzzing the file readers with hostile bytes (issue 12, "keep it fixed": a fuzz suite).

Every reader must answer any byte string with a result or a clean exception -- never a
crash, a hang, or an unbounded allocation. Inputs are random bytes and mutations (byte
changes, truncation, insertion) of tiny valid files written here, so the mutations reach
the parsers' deep paths: WAV and FLAC (soundfile, through :func:`load_audio` with
resampling and :func:`audio_info`), MIDI (pretty_midi, through :func:`load_midi` and
:func:`piano_roll`), SF2 (:func:`list_presets`, our RIFF parser) and saved models
(safetensors weights and the JSON config, through the public
``timbrefast.checkpoints.load_model(path)``, read-only).

Clean failures are ValueError / TypeError / OSError (FileNotFoundError and the like).
The budget is fixed (``max_examples``) and the examples derandomized, so CI runs the
same cases every time (well under a minute); a hang is turned into a failure by
``faulthandler`` after :data:`HANG_S` seconds.
"""
from __future__ import annotations

import faulthandler
import io
import json
import os

import numpy as np
import pytest
import soundfile as sf

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

CLEAN = (ValueError, TypeError, OSError)
HANG_S = 120
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def _hang_guard():
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def _small_audio_limits(monkeypatch):
    # a mutated header may claim up to the real limits (4 GiB); keep the fuzz run small
    import timbrefast.data.audio as audio

    monkeypatch.setattr(audio, "MAX_SAMPLES", 2**22)


def _mutated(seed: bytes):
    """Strategy: ``seed`` with a few bytes changed, then truncated, plus inserted bytes."""
    n = len(seed)
    edits = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 255)), max_size=8)
    return st.builds(
        lambda e, cut, ins_at, ins: _apply(seed, e, cut, ins_at, ins),
        edits, st.integers(0, n), st.integers(0, n), st.binary(max_size=16))


def _apply(seed, edits, cut, ins_at, ins):
    b = bytearray(seed)
    for i, v in edits:
        b[i] = v
    b = b[:max(cut, 1)] if cut < len(b) // 2 else b  # truncate half the time or so
    return bytes(b[:ins_at] + ins + b[ins_at:])


def _hostile(seed: bytes):
    return st.one_of(st.binary(max_size=512), _mutated(seed), _mutated(seed), _mutated(seed))


def _write(tmp_path, name, data: bytes) -> str:
    p = os.path.join(tmp_path, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def _audio_seed(fmt: str) -> bytes:
    buf = io.BytesIO()
    y = (0.3 * np.sin(np.arange(400) * 0.2)).astype(np.float32)
    sf.write(buf, np.stack([y, -y], axis=1), 8000, format=fmt, subtype="PCM_16")
    return buf.getvalue()


WAV, FLAC = _audio_seed("WAV"), _audio_seed("FLAC")


def _check_audio(path):
    from timbrefast.data.audio import audio_info, load_audio

    for call in (lambda: audio_info(path), lambda: load_audio(path), lambda: load_audio(path, sr=16000),
                 lambda: load_audio(path, sr=16000, mono=False, start=3, frames=50)):
        try:
            out = call()
        except CLEAN:
            continue
        if isinstance(out, tuple) and isinstance(out[0], np.ndarray):
            assert out[0].dtype == np.float32 and np.all(np.isfinite(out[0]))


@FUZZ
@given(data=_hostile(WAV))
def test_wav(tmp_path, data):
    _check_audio(_write(tmp_path, "x.wav", data))


@FUZZ
@given(data=_hostile(FLAC))
def test_flac(tmp_path, data):
    _check_audio(_write(tmp_path, "x.flac", data))


def _midi_seed() -> bytes:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    inst = pretty_midi.Instrument(program=40)
    inst.notes = [pretty_midi.Note(velocity=90, pitch=60 + k, start=0.25 * k, end=0.25 * k + 0.3) for k in range(6)]
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


MIDI = _midi_seed()


@FUZZ
@given(data=_hostile(MIDI))
def test_midi(tmp_path, data):
    from timbrefast.data import load_midi, piano_roll

    p = _write(tmp_path, "x.mid", data)
    try:
        load_midi(p)
    except CLEAN:
        pass
    try:
        seg = piano_roll(p)
    except CLEAN:
        return
    assert seg.rolls.ndim == 3 and seg.rolls.shape[1:] == (84, 192) and np.all(np.isfinite(seg.rolls))


def _sf2_seed() -> bytes:
    """A minimal SoundFont: RIFF sfbk with INFO, an empty sdta and a pdta/phdr of two
    presets plus the terminal EOP record."""
    import struct

    def chunk(cid, data):
        return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")

    def phdr(name, program, bank, bag):
        return struct.pack("<20sHHHIII", name.encode(), program, bank, bag, 0, 0, 0)

    pdta = b"pdta" + chunk(b"phdr", phdr("Violin", 40, 0, 0) + phdr("Drums", 0, 128, 1) + phdr("EOP", 0, 0, 2))
    info = b"INFO" + chunk(b"ifil", struct.pack("<HH", 2, 1)) + chunk(b"INAM", b"fuzz\0\0")
    body = b"sfbk" + chunk(b"LIST", info) + chunk(b"LIST", b"sdta") + chunk(b"LIST", pdta)
    return b"RIFF" + struct.pack("<I", len(body)) + body


SF2 = _sf2_seed()


def test_sf2_seed_is_valid(tmp_path):
    from timbrefast.data import list_presets

    presets = list_presets(_write(tmp_path, "x.sf2", SF2))
    assert [(p.bank, p.program, p.name) for p in presets] == [(0, 40, "Violin"), (128, 0, "Drums")]


@FUZZ
@given(data=_hostile(SF2))
def test_sf2(tmp_path, data):
    from timbrefast.data import list_presets

    try:
        presets = list_presets(_write(tmp_path, "x.sf2", data))
    except CLEAN:
        return
    assert presets and all(0 <= p.program <= 127 and 0 <= p.bank <= 128 for p in presets)


# -- saved models: safetensors weights and config.json, through load_model(path) ------------
_TINY = {"encoder": "small", "embedding_dim": 4, "widths": [2, 2, 2, 2], "time_steps": 2, "freq_bins": 2}


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """(weights bytes, config text) of a tiny saved model."""
    pytest.importorskip("torch")
    from timbrefast.checkpoints import save_model
    from timbrefast.models import CocolaConfig, CocolaModel

    d = save_model(CocolaModel(CocolaConfig(**{k: tuple(v) if isinstance(v, list) else v
                                               for k, v in _TINY.items()})), tmp_path_factory.mktemp("m") / "m")
    names = sorted(os.listdir(d))
    weights = next(n for n in names if n.endswith(".safetensors"))
    config = next(n for n in names if n.endswith(".json"))
    return weights, (d / weights).read_bytes(), config, (d / config).read_text()


def _load(tmp_path, weights_name, weights, config_name, config):
    from timbrefast.checkpoints import load_model

    d = os.path.join(tmp_path, "model")
    os.makedirs(d, exist_ok=True)
    _write(d, weights_name, weights)
    _write(d, config_name, config.encode() if isinstance(config, str) else config)
    try:
        model = load_model(d)
    except CLEAN:
        return None
    return model


def test_model_seed_loads(tmp_path, model_files):
    assert _load(tmp_path, *model_files) is not None


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_safetensors_weights(tmp_path, model_files, data):
    wn, weights, cn, config = model_files
    hostile = data.draw(st.one_of(st.binary(max_size=256), _mutated(weights[:4096]).map(lambda b: b + weights[4096:]),
                                  _mutated(weights)))
    _load(tmp_path, wn, hostile, cn, config)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-8, 64) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_json_config(tmp_path, model_files, data):
    wn, weights, cn, config = model_files
    base = json.loads(config)
    kind = data.draw(st.sampled_from(["bytes", "mutated", "field", "drop", "extra"]))
    if kind == "bytes":
        hostile = data.draw(st.binary(max_size=256))
    elif kind == "mutated":
        hostile = data.draw(_mutated(config.encode()))
    else:
        cfg = dict(base)
        key = data.draw(st.sampled_from(sorted(cfg)))
        if kind == "field":  # small values only: unbounded sizes are the config-bounds defect (6)
            cfg[key] = data.draw(_JSON_VALUES)
        elif kind == "drop":
            del cfg[key]
        else:
            cfg[data.draw(st.text(max_size=10))] = data.draw(_JSON_VALUES)
        hostile = json.dumps(cfg, allow_nan=True).encode()
    _load(tmp_path, wn, weights, cn, hostile)


def test_sf2_chunk_size_claim_is_checked_before_reading(tmp_path):
    """A phdr chunk claiming 4 GiB in a 200-byte file: a ValueError, not a 4 GiB read."""
    import struct

    from timbrefast.data import list_presets

    i = SF2.index(b"phdr")
    bomb = SF2[:i + 4] + struct.pack("<I", 0xFFFFFFF0) + SF2[i + 8:]
    with pytest.raises(ValueError, match="phdr chunk claims 4294967280 bytes"):
        list_presets(_write(tmp_path, "bomb.sf2", bomb))


def test_mutations_reach_past_the_headers(tmp_path):
    """The strategy is not only noise: a good share of mutated files still decode."""
    from hypothesis import find

    from timbrefast.data.audio import load_audio

    ok = []

    def decodes(b):
        try:
            load_audio(_write(tmp_path, "m.wav", b))
        except CLEAN:
            return False
        ok.append(b != WAV)
        return len(ok) >= 5 and sum(ok) >= 3

    find(_mutated(WAV), decodes, settings=settings(max_examples=300, derandomize=True, database=None))
