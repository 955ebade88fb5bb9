"""The shared model-spec resolver (timbrefast.two_tower.load), with stand-in models."""
from __future__ import annotations

import importlib.machinery
import sys
import types

import numpy as np
import pytest

from timbrefast.two_tower import load as L
from timbrefast.two_tower.load import load_two_tower, model_name


class _Stand:
    sample_rate = 16000

    def __init__(self, path=None):
        self.path = path

    def embed_audio(self, audio, *, sr=None):
        return np.ones((len(audio), 2), np.float32) / np.sqrt(2)

    def embed_text(self, texts):
        return np.ones((len(texts), 2), np.float32) / np.sqrt(2)


def make_stand():
    return _Stand()


def not_a_model():
    return object()


@pytest.fixture
def fake_bundled(monkeypatch):
    """A stand-in ``timbrefast.two_tower.bundled`` module (the real one may not be merged yet)."""
    calls = []

    class TwoTowerModel(_Stand):
        @classmethod
        def from_pretrained(cls, path=None):
            calls.append(path)
            return cls(path)

    name = "timbrefast.two_tower._test_fake_bundled"
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.TwoTowerModel = TwoTowerModel
    monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(L, "_BUNDLED", name)
    return calls


def test_bundled_resolves_lazily_to_from_pretrained(fake_bundled, tmp_path):
    m = load_two_tower("bundled")
    assert isinstance(m, _Stand) and m.path is None and fake_bundled == [None]
    w = tmp_path / "weights"
    w.mkdir()
    m = load_two_tower(f"bundled:{w}")
    assert m.path == str(w) and fake_bundled[-1] == str(w)
    with pytest.raises(FileNotFoundError, match="bundled model weights not found"):
        load_two_tower(f"bundled:{tmp_path / 'nope'}")


def test_bundled_missing_module_says_so(monkeypatch):
    monkeypatch.setattr(L, "_BUNDLED", "timbrefast.two_tower._no_such_bundled_module")
    with pytest.raises(ImportError, match="no bundled two-tower model"):
        load_two_tower("bundled")


def test_py_factory_and_checks():
    m = load_two_tower("py:test_two_tower_load:make_stand")
    assert isinstance(m, _Stand)
    with pytest.raises(ValueError, match="is not callable"):
        load_two_tower("py:test_two_tower_load:nothing_here")
    with pytest.raises(ImportError, match="module 'no_such_mod_xyz' not found"):
        load_two_tower("py:no_such_mod_xyz:f")
    with pytest.raises(TypeError, match="lacks embed_audio"):
        load_two_tower("py:test_two_tower_load:not_a_model")
    with pytest.raises(ValueError, match="py:MODULE:FACTORY"):
        load_two_tower("py:only_module")


@pytest.mark.parametrize("spec, match", [
    ("", "non-empty"), ("nonsense", "unknown model spec 'nonsense'"), ("clap:x", "unknown model spec"),
    ("laion:", "laion:CHECKPOINT"), ("msclap:", "msclap:CHECKPOINT"), ("hf:", "hf:DIR"), ("bundled:", "needs a path"),
])
def test_malformed_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        load_two_tower(spec)
    with pytest.raises(ValueError):
        model_name(spec)


def test_adapter_specs_name_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_two_tower(f"laion:{tmp_path / 'missing.pt'}")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_two_tower(f"msclap:{tmp_path / 'missing.pth'}")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_two_tower(f"hf:{tmp_path / 'no_dir'}")


def test_model_name():
    assert model_name("bundled") == "bundled"
    assert model_name("py:pkg.mod:Factory") == "Factory"
    assert model_name("laion:/x/music_audioset_epoch_15.pt") == "laion-music_audioset_epoch_15"
    assert model_name("hf:/models/clap/") == "hf-clap"


def test_old_import_path_is_the_same_function():
    from timbrefast.studies import load_two_tower as lazy
    from timbrefast.studies._runner import load_two_tower as old

    assert old is load_two_tower and lazy is load_two_tower
