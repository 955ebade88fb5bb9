"""Smoke test of benchmarks/two_tower.py with a stand-in model and a few clips (timings
are not checked here: they belong to the benchmark's own runs)."""
from __future__ import annotations

import numpy as np
from conftest import load_benchmark

from timbrefast.two_tower import CallableTwoTower


def standin():
    rng = np.random.default_rng(0)
    proj = rng.standard_normal((64, 16))

    def audio_fn(x):
        spec = np.abs(np.fft.rfft(x, axis=1))[:, : 64 * 8]
        return np.log1p(spec.reshape(len(x), 64, 8).mean(2)) @ proj

    return CallableTwoTower(audio_fn, lambda ts: np.stack([np.random.default_rng(len(t)).standard_normal(16) for t in ts]),
                            sample_rate=8000)


def _bench():
    return load_benchmark("two_tower")


def test_benchmark_runs_small(capsys):
    bench = _bench()
    assert sum(bench.TINYSOL_COUNTS) == 2913
    counts = bench.class_counts(60)
    assert sum(counts) == 60 and min(counts) >= 2 and counts[4] == max(counts)  # accordion is the largest class
    rc = bench.main(["--model", "py:test_benchmark_two_tower:standin", "--clips", "40", "--seconds", "0.5",
                     "--baseline-clips", "10", "--batch-size", "8"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "machine:" in out and "40 clips of 0.5 s" in out and "112 texts" in out
    assert "clips/s" in out and "texts/s" in out and "ratio: timbrefast is" in out and "extrapolated from 10" in out


def test_benchmark_model_missing(capsys):
    bench = _bench()
    assert bench.main(["--model", "laion:/nonexistent.pt", "--clips", "28"]) == 1
    assert "not available" in capsys.readouterr().err
