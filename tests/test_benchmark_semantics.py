"""Smoke test of benchmarks/semantics.py's study timing with a stand-in model (short clips)."""
from __future__ import annotations

from conftest import load_benchmark


def _bench():
    return load_benchmark("semantics")


def test_study_timing_reports_the_effects_and_embedding_shares(capsys):
    bench = _bench()
    bench.bench_study("py:test_studies_semantics:ToyTwoTower", 0.1, 1)
    out = capsys.readouterr().out
    assert "200 clips of 0.1 s" in out and "effects" in out and "embeddings" in out and "%" in out


def test_study_timing_without_a_model_times_the_effects(capsys, monkeypatch):
    from timbrefast.two_tower import load as L

    monkeypatch.setattr(L, "_BUNDLED", "timbrefast.two_tower._absent_bundled")
    bench = _bench()
    bench.bench_study("bundled", 0.05, 1)
    out = capsys.readouterr().out
    assert "not available" in out and "study effects: 200 clips" in out
