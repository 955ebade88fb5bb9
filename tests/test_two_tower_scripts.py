"""The bundled two-tower model's scripts: the frozen-tower output cache (head_cache.py), bank concatenation (make_data.py)."""
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


@pytest.mark.skipif(not (SCRIPTS / "make_data.py").is_file(), reason="scripts/ not in this checkout")
def test_make_data_concatenates_and_drops_soundfonts_and_sampled_programs(tmp_path):
    import json

    from timbrefast.train._two_tower_bank import CaptionBank
    from timbrefast.two_tower.captions import NoteDescription

    make_data = _load("make_data")

    def note(inst, source, program):
        return NoteDescription(inst, source, program, None, "x", "Strings", pitch=60, pitch_low=40,
                               pitch_high=90, velocity=80, duration=1.0)

    notes = [note("FluidR3_GM.sf2:0:40:Violin", "soundfont", 40), note("FluidR3_GM.sf2:0:0:Piano", "soundfont", 0),
             note("sf_GMbank.sf2:0:0:Piano", "soundfont", 0), note("modeled:violin:3", "modeled", 40)]
    feats = np.arange(4, dtype=np.float16)[:, None, None] * np.ones((4, 64, 5), np.float16)
    for name, idx in (("a", [0, 1, 2]), ("b", [3])):
        for split in ("train", "val"):
            CaptionBank(feats[idx], [notes[i] for i in idx]).save(tmp_path / name / split)
    make_data.main([str(tmp_path / "out"), "--concat", str(tmp_path / "a"), str(tmp_path / "b"),
                    "--drop-soundfont", "sf_GMbank.sf2", "--drop-sampled-programs", "40"])
    out = CaptionBank.load(tmp_path / "out" / "train")
    # the sampled violin and sf_GMbank's piano gone; the modeled violin (another source) stays
    assert [n.instrument for n in out.notes] == ["FluidR3_GM.sf2:0:0:Piano", "modeled:violin:3"]
    np.testing.assert_array_equal(np.asarray(out.features)[:, 0, 0], [1, 3])
    assert [n.instrument for n in CaptionBank.load(tmp_path / "out" / "val").notes] == ["FluidR3_GM.sf2:0:0:Piano"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["dropped_sampled_programs"] == [40] and manifest["train_clips"] == 2
