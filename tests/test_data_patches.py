"""The built-in patch synthesizer: determinism, variety, category character, validation, I/O."""
import json

import numpy as np
import pytest

from timbrefast.data.patches import (
    CATEGORIES,
    Envelope,
    Oscillator,
    Patch,
    load_patches,
    random_patch,
    random_patches,
    render_note,
    save_patches,
)

SR = 16000


def _centroid(y, sr=SR):
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    f = np.fft.rfftfreq(len(y), 1 / sr)
    return float((spec * f).sum() / spec.sum())


def test_deterministic_and_distinct():
    a = render_note(random_patch(11, "lead"), 64, duration=0.5)
    b = render_note(random_patch(11, "lead"), 64, duration=0.5)
    np.testing.assert_array_equal(a, b)
    patches = random_patches(600, seed=0)
    assert len({json.dumps(p.to_dict(), sort_keys=True) for p in patches}) == 600
    assert {p.category for p in patches} == set(CATEGORIES)
    # Distinct sounds, not only distinct parameters: no two of 60 renderings coincide.
    ys = np.stack([render_note(p, 60, duration=0.3, tail=0.1) [: int(0.4 * SR) - 1] for p in patches[:60]])
    d = np.abs(ys[:, None, :] - ys[None, :, :]).mean(axis=2)
    assert d[~np.eye(60, dtype=bool)].min() > 1e-3


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_renders_finite_and_bounded(category):
    for seed in range(20):
        p = random_patch(seed, category)
        y = render_note(p, 60, velocity=100, duration=0.8)
        assert y.dtype == np.float32 and np.isfinite(y).all()
        assert 0.05 < np.abs(y).max() <= 0.9 * (100 / 127) ** 1.5 + 1e-6


def test_category_character():
    """Envelopes and spectra separate the categories the way their names say."""
    n = 12
    rms = lambda y: float(np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-12)  # noqa: E731
    late_over_early = {c: [] for c in CATEGORIES}
    centroids = {c: [] for c in CATEGORIES}
    for c in CATEGORIES:
        for s in range(n):
            y = render_note(random_patch(s, c), 48, duration=1.5, tail=0.0)
            early, late = y[: int(0.05 * SR)], y[int(1.2 * SR):]
            late_over_early[c].append(rms(late) / rms(early))
            centroids[c].append(_centroid(y[: int(0.5 * SR)]))
    med = {c: float(np.median(v)) for c, v in late_over_early.items()}
    assert med["pad"] > 1.0  # slow attack: louder later than at the onset
    assert med["pluck"] < 0.1  # no sustain: it has died away after 1.2 s
    assert med["lead"] > med["pluck"]
    cen = {c: float(np.median(v)) for c, v in centroids.items()}
    assert cen["bass"] < cen["lead"]


def test_polyblep_limits_aliasing():
    """A saw near Nyquist/8 keeps far less energy between its harmonics than a naive saw."""
    p = Patch(oscillators=(Oscillator("saw"),), cutoff=20000.0, key_tracking=0.0, amp_env=Envelope(0, 0, 1.0, 0.0))
    f0 = 1000.0 * 2 ** (7 / 12)  # not a divisor of the rate: aliases land between harmonics
    pitch = 69 + 12 * np.log2(f0 / 440)
    y = render_note(p, pitch, duration=1.0, tail=0.0).astype(np.float64)
    t = np.arange(len(y)) / SR
    naive = 2 * ((f0 * t) % 1.0) - 1

    def off_harmonic_share(x):
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
        f = np.fft.rfftfreq(len(x), 1 / SR)
        near = np.abs((f / f0) - np.round(f / f0)) * f0 < 15.0
        return spec[~near].sum() / spec.sum()

    assert off_harmonic_share(y) < 0.25 * off_harmonic_share(naive)


def test_json_roundtrip(tmp_path):
    ps = random_patches(30, seed=5)
    path = save_patches(ps, str(tmp_path / "set.json"))
    back = load_patches(path)
    assert back == ps
    np.testing.assert_array_equal(render_note(back[3], 50), render_note(ps[3], 50))


@pytest.mark.parametrize(
    "payload, match",
    [
        ({"format": "timbrefast.patches/1", "patches": [{"cutoff": 1e9}]}, "cutoff"),
        ({"format": "timbrefast.patches/1", "patches": [{"surprise": 1}]}, "unknown patch fields"),
        ({"format": "timbrefast.patches/1", "patches": [{"oscillators": [{"waveform": "wobble"}]}]}, "waveform"),
        ({"format": "timbrefast.patches/1", "patches": [{"oscillators": [{}] * 9}]}, "at most 3"),
        ({"format": "timbrefast.patches/1", "patches": [{"amp_env": {"attack": "slow"}}]}, "number"),
        ({"format": "timbrefast.patches/1", "patches": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"format": "other", "patches": []}, "not a timbrefast patch set"),
    ],
)
def test_hostile_patch_files(tmp_path, payload, match):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=match):
        load_patches(str(path))


def test_not_json(tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not a patch set"):
        load_patches(str(path))


def test_bad_render_arguments():
    p = random_patch(0, "keys")
    with pytest.raises(ValueError, match="pitch"):
        render_note(p, 200)
    with pytest.raises(ValueError, match="velocity"):
        render_note(p, 60, velocity=0)
    with pytest.raises(ValueError, match="at most"):
        render_note(p, 60, duration=1e9)
    with pytest.raises(ValueError, match="duration"):
        render_note(p, 60, duration=float("nan"))
    with pytest.raises(TypeError, match="Patch"):
        render_note({"name": "x"}, 60)
    with pytest.raises(ValueError, match="category"):
        random_patch(0, "wobble")
    with pytest.raises(TypeError, match="seed"):
        random_patch(1.5)
