"""timbrefast.two_tower: the TwoTower protocol and the adapters, with stand-ins the tests build."""
from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest
import soundfile as sf

from conftest import subprocess_pythonpath
from two_tower_helpers import band_energy, sine_in_band, text_vector

from timbrefast.two_tower import (
    CallableTwoTower,
    HFClapTwoTower,
    LaionClapTwoTower,
    MSClapTwoTower,
    TwoTower,
)


def _callable(sr=16000, **kw):
    return CallableTwoTower(lambda x: band_energy(x, sr), text_vector, sample_rate=sr, **kw)


def _unit(x):
    return np.allclose(np.linalg.norm(np.asarray(x, dtype=np.float64), axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------ CallableTwoTower and the input layer


def test_callable_protocol_shapes_and_normalisation():
    m = _callable()
    assert isinstance(m, TwoTower)
    clips = np.stack([sine_in_band(b, 16000) for b in range(3)])
    e = m.embed_audio(clips, sr=16000)
    assert isinstance(e, np.ndarray) and e.dtype == np.float32 and e.shape == (3, 8) and _unit(e)
    assert e.argmax(1).tolist() == [0, 1, 2]
    one = m.embed_audio(clips[1], sr=16000)  # a single waveform is a batch of one
    assert one.shape == (1, 8) and np.allclose(one, e[1:2], atol=1e-6)
    t = m.embed_text(["band2", "A band5 track"])
    assert t.shape == (2, 8) and _unit(t) and t.argmax(1).tolist() == [2, 5]
    assert m.embed_text("band1").shape == (1, 8)


def test_ragged_lists_files_and_tensors(tmp_path):
    m = _callable()
    a, b = sine_in_band(1, 16000, 0.2), sine_in_band(4, 16000, 0.3)
    e = m.embed_audio([a, b], sr=16000)  # different lengths: one clip at a time
    assert e.shape == (2, 8) and e.argmax(1).tolist() == [1, 4]
    # files: read, mixed to mono and resampled to the model's rate
    p1, p2 = tmp_path / "a.wav", tmp_path / "b.flac"
    sf.write(p1, np.stack([a, a], 1), 16000)
    sf.write(p2, sine_in_band(4, 32000, 0.3, band_sr=16000), 32000)
    f = m.embed_audio([str(p1), p2])
    assert f.shape == (2, 8) and f.argmax(1).tolist() == [1, 4]
    assert np.allclose(f[0], e[0], atol=1e-4)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        m.embed_audio(tmp_path / "missing.wav")
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(np.stack([a, a]))
    out = m.embed_audio(x, sr=16000)
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2, 8)
    assert np.allclose(out.numpy(), e[[0, 0]], atol=1e-6)


def test_rates_are_checked_or_resampled():
    m = _callable()
    y = sine_in_band(2, 32000, band_sr=16000)
    with pytest.raises(ValueError, match="expects 16000 Hz"):
        m.embed_audio(y, sr=32000)
    r = _callable(resample=True).embed_audio(y, sr=32000)
    assert r.argmax(1).tolist() == [2]
    with pytest.raises(ValueError, match="sr .*required"):
        m.embed_audio(y)
    free = CallableTwoTower(lambda x: band_energy(x, 16000), text_vector)  # any rate
    assert free.embed_audio(y, sr=32000).shape == (1, 8)


@pytest.mark.parametrize(
    "audio, err, match",
    [
        (np.zeros((2, 2, 10), np.float32), ValueError, r"\(T,\) or \(n, T\)"),
        (np.zeros((0, 10), np.float32), ValueError, "empty"),
        (np.zeros(0, np.float32), ValueError, "empty"),
        (np.array([0.0, np.nan], np.float32), ValueError, "non-finite"),
        (np.zeros(10, np.int16), TypeError, "integer PCM"),
        ([], ValueError, "empty list"),
        (3.0, TypeError, "audio must be"),
    ],
)
def test_bad_audio(audio, err, match):
    with pytest.raises(err, match=match):
        _callable().embed_audio(audio, sr=16000)


def test_bad_texts_and_outputs():
    m = _callable()
    with pytest.raises(ValueError, match="texts is empty"):
        m.embed_text([])
    with pytest.raises(ValueError, match=r"texts\[1\] is empty"):
        m.embed_text(["band1", "  "])
    with pytest.raises(TypeError, match=r"texts\[0\] must be a string"):
        m.embed_text([3])
    with pytest.raises(TypeError, match="callable"):
        CallableTwoTower(None, text_vector)
    bad = CallableTwoTower(lambda x: np.full((x.shape[0], 4), np.nan), lambda t: np.zeros((len(t), 4)))
    with pytest.raises(ValueError, match="non-finite"):
        bad.embed_audio(np.zeros(10, np.float32), sr=1)
    with pytest.raises(ValueError, match="all zeros"):
        bad.embed_text(["x"])
    wrong = CallableTwoTower(lambda x: np.ones((x.shape[0] + 1, 4)), lambda t: np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"must be \(1, d\)"):
        wrong.embed_audio(np.zeros(10, np.float32), sr=1)
    with pytest.raises(ValueError, match=r"must be \(2, d\)"):
        wrong.embed_text(["a", "b"])


# ------------------------------------------------------------------ LAION-CLAP with a fake module


class _FakeClapModule:
    instances: list = []

    def __init__(self, enable_fusion=False, amodel="HTSAT-tiny", device=None):
        self.kwargs = dict(enable_fusion=enable_fusion, amodel=amodel, device=device)
        self.offline = os.environ.get("HF_HUB_OFFLINE") == "1" and os.environ.get("TRANSFORMERS_OFFLINE") == "1"
        self.calls = []
        _FakeClapModule.instances.append(self)

    def load_ckpt(self, ckpt, verbose=True):
        self.ckpt = ckpt

    def get_audio_embedding_from_data(self, x, use_tensor=False):
        assert x.dtype == np.float32 and x.ndim == 2 and not use_tensor
        self.calls.append(("audio", x.copy()))
        return band_energy(x, 48000)

    def get_text_embedding(self, texts, use_tensor=False):
        self.calls.append(("text", list(texts)))
        out = text_vector(texts)
        return out[0] if len(texts) == 1 else out  # the real module squeezes a batch of one

    def tokenize(self, texts):
        return {"input_ids": [t.split() for t in texts]}


@pytest.fixture
def fake_laion(monkeypatch):
    mod = types.ModuleType("laion_clap")
    mod.CLAP_Module = _FakeClapModule
    monkeypatch.setitem(sys.modules, "laion_clap", mod)
    _FakeClapModule.instances.clear()
    return mod


def test_laion_adapter_with_a_fake_module(fake_laion, tmp_path, monkeypatch):
    ckpt = tmp_path / "music_audioset_epoch_15_esc_90.14.pt"
    ckpt.write_bytes(b"weights")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    m = LaionClapTwoTower(ckpt)
    inner = _FakeClapModule.instances[-1]
    assert inner.kwargs["amodel"] == "HTSAT-base" and inner.ckpt == str(ckpt)
    assert inner.offline and "HF_HUB_OFFLINE" not in os.environ  # offline only while loading
    clips = np.stack([sine_in_band(b, 48000, 0.1) for b in (1, 6)])
    e = m.embed_audio(clips, sr=48000)
    assert e.shape == (2, 8) and _unit(e) and e.argmax(1).tolist() == [1, 6]
    sent = inner.calls[-1][1]  # quantised through int16 as LAION's examples do
    assert np.allclose(sent * 32767.0, np.round(sent * 32767.0), atol=1e-3)
    assert np.abs(sent - clips).max() < 1e-4
    t = m.embed_text(["band3"])  # a batch of one is embedded twice and the first row kept
    assert t.shape == (1, 8) and t.argmax() == 3 and inner.calls[-1] == ("text", ["band3", "band3"])
    with pytest.raises(ValueError, match="expects 48000 Hz"):
        m.embed_audio(clips, sr=16000)
    with pytest.warns(UserWarning, match="exceed the LAION-CLAP text tower's 77 tokens"):
        m.embed_text(["band1 " + "word " * 100, "band2"])
    tiny = LaionClapTwoTower(ckpt, amodel="HTSAT-tiny")
    assert _FakeClapModule.instances[-1].kwargs["amodel"] == "HTSAT-tiny" and tiny.checkpoint == str(ckpt)
    other = tmp_path / "630k-audioset-best.pt"
    other.write_bytes(b"w")
    LaionClapTwoTower(other)
    assert _FakeClapModule.instances[-1].kwargs["amodel"] == "HTSAT-tiny"
    wrapped = LaionClapTwoTower(model=inner)
    assert np.allclose(wrapped.embed_text(["band3", "band4"])[0], t[0])


def test_laion_adapter_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="never downloads"):
        LaionClapTwoTower()
    with pytest.raises(FileNotFoundError, match="nope.pt does not exist"):
        LaionClapTwoTower(tmp_path / "nope.pt")
    ckpt = tmp_path / "music.pt"
    ckpt.write_bytes(b"w")
    monkeypatch.setitem(sys.modules, "laion_clap", None)  # not installed
    with pytest.raises(ImportError, match=r"LaionClapTwoTower needs laion_clap: pip install 'timbrefast\[laion\]'"):
        LaionClapTwoTower(ckpt)
    # a text tower missing from the local cache: a clear error, not a download
    mod = types.ModuleType("laion_clap")

    class NoCache(_FakeClapModule):
        def __init__(self, **kw):
            raise OSError("We couldn't connect to 'https://huggingface.co'")

    mod.CLAP_Module = NoCache
    monkeypatch.setitem(sys.modules, "laion_clap", mod)
    with pytest.raises(OSError, match="'roberta-base' tokenizer and config in the local Hugging Face cache"):
        LaionClapTwoTower(ckpt)


# ------------------------------------------------------------------ MS-CLAP with a fake module


class _FakeMSClap:
    instances: list = []

    def __init__(self, model_fp=None, version="2023", use_cuda=False):
        self.model_fp, self.version, self.use_cuda = model_fp, version, use_cuda
        self.paths = []
        _FakeMSClap.instances.append(self)

    def get_audio_embeddings(self, audio_files, resample=True):
        self.paths.append(list(audio_files))
        out = []
        for p in audio_files:
            y, sr = sf.read(p, dtype="float32")
            out.append(band_energy(y[None], sr)[0])
        return np.stack(out)

    def get_text_embeddings(self, class_labels):
        return text_vector(class_labels)


def test_msclap_adapter_with_a_fake_module(tmp_path, monkeypatch):
    mod = types.ModuleType("msclap")
    mod.CLAP = _FakeMSClap
    monkeypatch.setitem(sys.modules, "msclap", mod)
    ckpt = tmp_path / "CLAP_weights_2023.pth"
    ckpt.write_bytes(b"w")
    m = MSClapTwoTower(ckpt, version="2023")
    inner = _FakeMSClap.instances[-1]
    assert inner.model_fp == str(ckpt) and inner.version == "2023" and inner.use_cuda is False
    clips = [sine_in_band(2, 44100, 0.1), sine_in_band(5, 44100, 0.2)]
    e = m.embed_audio(clips, sr=44100)  # arrays go through temporary WAV files at their own rate
    assert e.shape == (2, 8) and _unit(e) and e.argmax(1).tolist() == [2, 5]
    assert all(not os.path.exists(p) for p in inner.paths[-1])  # cleaned up
    f = tmp_path / "x.wav"
    sf.write(f, sine_in_band(7, 22050, 0.1), 22050)
    assert m.embed_audio(f).argmax(1).tolist() == [7]
    assert inner.paths[-1] == [str(f)]  # files are passed as they are
    assert m.embed_text(["band4", "band0"]).argmax(1).tolist() == [4, 0]
    with pytest.raises(ValueError, match="version"):
        MSClapTwoTower(ckpt, version="2024")
    monkeypatch.setitem(sys.modules, "msclap", None)
    with pytest.raises(ImportError, match=r"timbrefast\[msclap\]"):
        MSClapTwoTower(ckpt)
    with pytest.raises(ValueError, match="never downloads"):
        MSClapTwoTower()


# ------------------------------------------------------------------ Hugging Face ClapModel


def test_hf_adapter_names_missing_files(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        HFClapTwoTower(tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        HFClapTwoTower(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"preprocessor_config.json \(or processor_config.json\) is missing"):
        HFClapTwoTower(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"HFClapTwoTower needs transformers: pip install 'timbrefast\[hf\]'"):
        HFClapTwoTower(tmp_path)


def _tiny_hf_clap(path):
    """A randomly initialised, tiny ClapModel + processor saved to ``path``."""
    transformers = pytest.importorskip("transformers", reason="transformers (the [hf] extra) is not installed")
    import json

    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + list("abcdefghijklmnopqrstuvwxyz0123456789") + ["\u0120"])}
    (path / "vocab.json").write_text(json.dumps(vocab))
    (path / "merges.txt").write_text("#version: 0.2\n")
    tok = transformers.RobertaTokenizer(str(path / "vocab.json"), str(path / "merges.txt"), model_max_length=32)
    fe = transformers.ClapFeatureExtractor(feature_size=16, sampling_rate=8000, hop_length=80, max_length_s=1,
                                           fft_window_size=256, frequency_min=0, frequency_max=4000,
                                           truncation="rand_trunc")
    proc = transformers.ClapProcessor(feature_extractor=fe, tokenizer=tok)
    cfg = transformers.ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16, max_position_embeddings=40, projection_dim=8),
        audio_config=dict(spec_size=64, num_mel_bins=16, patch_stride=[4, 4], patch_embeds_hidden_size=8,
                          hidden_size=16, depths=[1, 1], num_attention_heads=[2, 2], window_size=2,
                          projection_dim=8, enable_fusion=False, patch_size=4),
        projection_dim=8,
    )
    model = transformers.ClapModel(cfg)
    model.save_pretrained(str(path))
    proc.save_pretrained(str(path))


def test_hf_adapter_with_a_tiny_random_model(tmp_path):
    _tiny_hf_clap(tmp_path)
    m = HFClapTwoTower(tmp_path)
    assert m.sample_rate == 8000
    e = m.embed_audio(np.stack([sine_in_band(1, 8000, 0.5), sine_in_band(3, 8000, 0.5)]), sr=8000)
    assert e.shape == (2, 8) and _unit(e)
    t = m.embed_text(["a violin", "an oboe"])
    assert t.shape == (2, 8) and _unit(t)
    with pytest.warns(UserWarning, match="truncated"):
        m.embed_text(["a " * 50])
    with pytest.raises(ValueError, match="expects 8000 Hz"):
        m.embed_audio(sine_in_band(1, 16000), sr=16000)


def test_import_does_not_load_optional_packages():
    code = (
        "import sys, timbrefast, timbrefast.two_tower, timbrefast.taxonomy, timbrefast.plot; "
        "print(sorted(m for m in ('torch', 'matplotlib', 'laion_clap', 'msclap', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": subprocess_pythonpath(), "PATH": ""}, check=True)
    assert out.stdout.strip() == "[]"
