"""The bundled two-tower model's scripts: the frozen-tower output cache (head_cache.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts" / "bundled_two_tower"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_tt_{name}", SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not (SCRIPTS / "head_cache.py").is_file(), reason="scripts/ not in this checkout")
def test_head_cache_returns_the_recipes_own_arrays(tmp_path, monkeypatch):
    import timbrefast.train.two_tower as tt
    from timbrefast.two_tower.bundled import TwoTowerConfig, TwoTowerModel

    original = tt.audio_head_inputs
    monkeypatch.setattr(tt, "audio_head_inputs", original)  # restored after the test
    head_cache = _load("head_cache")
    torch.manual_seed(0)
    model = TwoTowerModel(TwoTowerConfig(embedding_dim=16, hidden_dim=32))
    n_mels = model.config.n_mels
    feats = np.random.default_rng(0).uniform(-80, 0, size=(5, n_mels, 101)).astype(np.float16)
    aug = {"freq_shift": 2, "tilt_db": 12.0}
    want = original(model, feats)
    want_aug = original(model, feats, augment=aug, seed=[0, 1])
    cached = head_cache.install(tmp_path / "cache")
    assert tt.audio_head_inputs is cached
    np.testing.assert_array_equal(cached(model, feats), want)
    np.testing.assert_array_equal(cached(model, feats, augment=aug, seed=[0, 1]), want_aug)
    files = sorted((tmp_path / "cache").glob("*.npy"))
    assert len(files) == 2  # one per (features, augmentation, seed)
    np.testing.assert_array_equal(cached(model, feats), want)  # from the file now
    assert len(sorted((tmp_path / "cache").glob("*.npy"))) == 2
    # other features, another key
    other = feats.copy()
    other[0, 0, 0] = -1.0
    assert not np.array_equal(cached(model, other), want)
    # a head without the log-mel summary reuses the embedding columns of the full inputs
    slim = TwoTowerModel(TwoTowerConfig(embedding_dim=16, hidden_dim=32, log_mel_summary=False))
    slim.audio_encoder.load_state_dict(model.audio_encoder.state_dict())
    np.testing.assert_array_equal(cached(slim, feats), original(slim, feats))
    # another encoder state, another key
    with torch.no_grad():
        next(slim.audio_encoder.parameters()).add_(1.0)
    np.testing.assert_array_equal(cached(slim, feats), original(slim, feats))
