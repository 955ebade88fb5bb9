"""Smoke test of benchmarks/semantics.py's study timing with a stand-in model (short clips)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "semantics.py"


def _bench():
    if not BENCH.is_file():
        pytest.skip("benchmarks/ is not part of this installation")
    spec = importlib.util.spec_from_file_location("bench_semantics", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
