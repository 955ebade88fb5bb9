"""synthesize_stems' extra sources: recorded drum samples, synth-patch stems, several soundfonts."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import yaml

from data_helpers import TIMGM, needs_synth

pytestmark = needs_synth

GMBANK = "/usr/share/sounds/sf2/sf_GMbank.sf2"
SONIC_PI = "/usr/share/sonic-pi/samples"


@pytest.fixture
def kit_dir(tmp_path):
    """A folder of one-shot 'recordings' named like sonic-pi-samples': a decaying tone per role."""
    d = tmp_path / "kit"
    d.mkdir()
    sr = 22050
    t = np.arange(int(0.3 * sr)) / sr
    for k, name in enumerate(["drum_bass_hard", "bd_boom", "drum_snare_soft", "drum_cymbal_closed",
                              "drum_cymbal_open", "drum_splash_soft"]):
        y = 0.8 * np.sin(2 * np.pi * (80 + 150 * k) * t) * np.exp(-t * 12)
        sf.write(d / f"{name}.flac", y, sr)
    (d / "README.md").write_text("not audio")
    return d


def _synth(out, **kw):
    from timbrefast.data import synthesize_stems

    args = dict(soundfont=TIMGM, tracks=2, seed=7, seconds=4.0, progress=False)
    args.update(kw)
    return synthesize_stems(out, **args)


def _stems(path):
    meta = yaml.safe_load(open(os.path.join(path, "metadata.yaml")))
    return meta, {sid: sf.read(os.path.join(path, "stems", sid + ".flac"))[0] for sid in meta["stems"]}


def test_defaults_unchanged_by_the_new_options(tmp_path):
    """The options off give the very same tracks and the same recorded parameters."""
    a = _synth(tmp_path / "a", tracks=1, drums=True)[0]
    b = _synth(tmp_path / "b", tracks=1, drums=True, drum_source="soundfont", patch_prob=0.0)[0]
    ma, _ = _stems(a)
    mb, _ = _stems(b)
    assert ma == mb and set(ma["params"]) == {"seed", "ensemble", "source", "seconds", "drums", "audio_format",
                                              "sr", "soundfont", "generator"}
    np.testing.assert_array_equal(sf.read(os.path.join(a, "mix.flac"))[0], sf.read(os.path.join(b, "mix.flac"))[0])


def test_recorded_drum_samples(tmp_path, kit_dir):
    from timbrefast.data import read_dataset

    p = _synth(tmp_path / "d", tracks=2, drums=True, drum_source="samples", drum_samples=kit_dir)
    q = _synth(tmp_path / "e", tracks=2, drums=True, drum_source="samples", drum_samples=kit_dir)
    for a, b in zip(p, q):
        meta, stems = _stems(a)
        drum = [sid for sid, s in meta["stems"].items() if s["is_drum"]]
        assert len(drum) == 1
        info = meta["stems"][drum[0]]
        assert info["plugin_name"] == "recorded drum samples" and info["inst_class"] == "Drums"
        assert set(info["samples"]) == {36, 38, 42, 46, 49}
        assert info["samples"][46] == "drum_cymbal_open.flac"
        assert info["samples"][36] in ("drum_bass_hard.flac", "bd_boom.flac")
        assert np.sqrt(np.mean(stems[drum[0]] ** 2)) > 1e-3
        assert meta["params"]["drum_source"] == "samples"
        # deterministic under the seed
        np.testing.assert_array_equal(sf.read(os.path.join(a, "mix.flac"))[0], sf.read(os.path.join(b, "mix.flac"))[0])
    assert len(read_dataset(tmp_path / "d", layout="slakh")) == 2


def test_drum_samples_render_follows_the_pattern():
    """Each hit starts at its onset with the level of its velocity, choked by the next hit of its key."""
    from timbrefast.data.stems import render_drum_samples, _SAMPLE_CACHE
    from timbrefast.data.synth import Note

    one = np.linspace(1.0, 0.5, 1000, dtype=np.float32)
    _SAMPLE_CACHE[("mem:kick", 16000)] = one
    kit = {36: "mem:kick"}
    y = render_drum_samples([Note(36, 127, 0.0, 0.1), Note(36, 64, 0.025, 0.1)], kit, sr=16000)
    assert y.shape == (400 + 1000,)
    np.testing.assert_allclose(y[:400], 0.5 * one[:400], rtol=1e-6)  # choked at the second onset
    np.testing.assert_allclose(y[400:], 0.5 * (64 / 127) ** 1.5 * one, rtol=1e-5)
    with pytest.raises(ValueError, match="no recording for keys \\[38\\]"):
        render_drum_samples([Note(38, 100, 0.0, 0.1)], kit, sr=16000)


def test_sonic_pi_samples_cover_every_role():
    from timbrefast.data.stems import DRUM_SAMPLE_ROLES, _drum_sample_files

    if not os.path.isdir(SONIC_PI):
        pytest.skip(f"{SONIC_PI} missing (Debian package sonic-pi-samples)")
    files = _drum_sample_files(SONIC_PI)
    assert set(files) == set(DRUM_SAMPLE_ROLES) and all(len(v) >= 1 for v in files.values())
    assert len(files[36]) >= 5 and len(files[38]) >= 5
    names = {os.path.basename(f) for v in files.values() for f in v}
    assert "bd_mehackit.flac" not in names and "sn_generic.flac" not in names  # not CC0


def test_missing_or_incomplete_drum_samples_fail_before_any_work(tmp_path, kit_dir):
    with pytest.raises(FileNotFoundError, match="sonic-pi-samples"):
        _synth(tmp_path / "x", drums=True, drum_source="samples", drum_samples=tmp_path / "nope")
    os.remove(kit_dir / "drum_cymbal_open.flac")
    with pytest.raises(ValueError, match="key 46"):
        _synth(tmp_path / "x", drums=True, drum_source="mixed", drum_samples=kit_dir)
    assert not os.path.exists(tmp_path / "x")
    with pytest.raises(ValueError, match="drum_source"):
        _synth(tmp_path / "x", drums=True, drum_source="tape")
    with pytest.raises(ValueError, match="patch_prob"):
        _synth(tmp_path / "x", patch_prob=1.5)
    with pytest.raises(TypeError, match="soundfont"):
        _synth(tmp_path / "x", soundfont=[TIMGM, 3])
    with pytest.raises(ValueError, match="twice"):
        _synth(tmp_path / "x", soundfont=[TIMGM, TIMGM])


def test_mixed_drum_source_uses_both(tmp_path, kit_dir):
    paths = _synth(tmp_path / "m", tracks=8, drums=True, drum_source="mixed", drum_samples=kit_dir, seconds=2.0)
    plugins = set()
    for p in paths:
        meta, _ = _stems(p)
        plugins |= {s["plugin_name"] for s in meta["stems"].values() if s["is_drum"]}
    assert plugins == {"recorded drum samples", "TimGM6mb.sf2"}


def test_synth_patch_stems(tmp_path):
    from timbrefast.data.patches import Patch

    paths = _synth(tmp_path / "p", tracks=2, patch_prob=1.0)
    again = _synth(tmp_path / "q", tracks=2, patch_prob=1.0)
    for a, b in zip(paths, again):
        meta, stems = _stems(a)
        assert all(s["plugin_name"] == "timbrefast.patches" for s in meta["stems"].values())
        for sid, s in meta["stems"].items():
            patch = Patch.from_dict(s["patch"])
            assert s["preset_name"] == f"{patch.category}:{patch.name}"
            assert np.sqrt(np.mean(stems[sid] ** 2)) > 1e-3
        np.testing.assert_array_equal(sf.read(os.path.join(a, "mix.flac"))[0], sf.read(os.path.join(b, "mix.flac"))[0])


def test_patch_stem_is_the_patch_playing_the_notes(tmp_path):
    """A one-note part rendered by render_patch_notes equals render_note at its onset, scaled by 0.5."""
    from timbrefast.data.patches import random_patch, render_note
    from timbrefast.data.stems import PATCH_MAX_TAIL, render_patch_notes
    from timbrefast.data.synth import Note

    patch = random_patch(5, "pad")
    y = render_patch_notes([Note(60, 100, 0.5, 1.0)], patch, sr=16000)
    ref = render_note(patch, 60, velocity=100, duration=0.5, sr=16000, tail=min(patch.amp_env.release * 1.2,
                                                                                    PATCH_MAX_TAIL))
    assert y.shape == (8000 + len(ref),)
    np.testing.assert_array_equal(y[:8000], 0)
    np.testing.assert_allclose(y[8000:], 0.5 * ref, rtol=1e-6)


def test_patch_prob_keeps_the_score(tmp_path):
    """Patches replace who plays a part, not what is played: same MIDI with and without."""
    a = _synth(tmp_path / "a", tracks=1, patch_prob=0.5)[0]
    b = _synth(tmp_path / "b", tracks=1)[0]
    for sid in sorted(os.listdir(os.path.join(b, "MIDI"))):
        assert open(os.path.join(a, "MIDI", sid), "rb").read() == open(os.path.join(b, "MIDI", sid), "rb").read()


def test_several_soundfonts(tmp_path):
    if not os.path.isfile(GMBANK):
        pytest.skip(f"{GMBANK} missing (Debian package csound-soundfont)")
    paths = _synth(tmp_path / "s", tracks=8, seconds=2.0, soundfont=[TIMGM, GMBANK])
    used = [yaml.safe_load(open(os.path.join(p, "metadata.yaml")))["soundfont"] for p in paths]
    assert set(used) == {"TimGM6mb.sf2", "sf_GMbank.sf2"}
    # a track's soundfont and content depend only on (seed, index): workers agree
    again = _synth(tmp_path / "w", tracks=8, seconds=2.0, soundfont=[TIMGM, GMBANK], workers=2)
    for a, b in zip(paths, again):
        np.testing.assert_array_equal(sf.read(os.path.join(a, "mix.flac"))[0], sf.read(os.path.join(b, "mix.flac"))[0])
    meta = yaml.safe_load(open(os.path.join(paths[0], "metadata.yaml")))
    assert meta["params"]["soundfont"] == ["TimGM6mb.sf2", "sf_GMbank.sf2"]
    # resuming with the same list keeps the tracks; another list is refused
    from timbrefast.data import synthesize_stems

    with pytest.raises(FileExistsError):
        synthesize_stems(tmp_path / "s", soundfont=[GMBANK, TIMGM], tracks=8, seed=7, seconds=2.0, progress=False)
