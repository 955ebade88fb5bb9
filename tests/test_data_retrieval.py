"""Timbre-retrieval instrument-pair batches, mixtures and references."""
from __future__ import annotations

import numpy as np
import pytest

from data_helpers import TIMGM, needs_synth

pytestmark = needs_synth


@pytest.fixture(scope="module")
def presets():
    from timbrefast.data import list_presets

    return list_presets(TIMGM)


def test_pair_batches(presets):
    from timbrefast.data import GM_FAMILIES, InstrumentPairs

    pairs = InstrumentPairs(presets, batch_size=8, batches=3, seconds=1.0, hard_negative_ratio=0.5, seed=0)
    b = pairs[0]
    assert b["audio"].shape == (8, 16000) and b["audio"].dtype == np.float32
    inst = b["instrument"]
    assert np.array_equal(inst[0::2], inst[1::2]) and len(set(inst[0::2])) == 4
    assert all(not np.array_equal(b["audio"][2 * j], b["audio"][2 * j + 1]) for j in range(4))
    assert np.all(np.sqrt(np.mean(b["audio"] ** 2, axis=1)) > 1e-4)
    fams = b["family"][0::2]
    assert np.max(np.unique(fams, return_counts=True)[1]) >= 2  # 2 hard negatives share a family
    assert all(0 <= f < len(GM_FAMILIES) for f in b["family"])
    np.testing.assert_array_equal(pairs[0]["audio"], b["audio"])  # deterministic


def test_hard_negative_ratio(presets):
    from timbrefast.data import InstrumentPairs

    pairs = InstrumentPairs(presets, batch_size=16, batches=1, hard_negative_ratio=1.0, seed=2)
    ids = pairs.draw_instruments(np.random.default_rng(0))
    assert len(set(pairs.families[ids])) == 1
    pairs0 = InstrumentPairs(presets, batch_size=16, batches=1, hard_negative_ratio=0.0)
    counts = [len(set(pairs0.families[pairs0.draw_instruments(np.random.default_rng(s))])) for s in range(20)]
    assert max(counts) > 3


def test_mixtures(presets):
    from timbrefast.data import Mixtures

    mixes = Mixtures(presets, mixtures=2, seconds=3.0, reference_seconds=1.0, seed=0)
    m = mixes[1]
    assert m["mix"].shape == (48000,) and m["stems"].shape == (3, 48000) and m["references"].shape == (3, 16000)
    assert len(set(m["family"])) == 3
    assert np.abs(m["mix"]).max() == pytest.approx(0.99)
    for s in m["stems"]:
        assert np.abs(s).max() == pytest.approx(0.99)
    assert 60 <= m["tempo"] <= 140
    np.testing.assert_array_equal(Mixtures(presets, mixtures=2, seconds=3.0, reference_seconds=1.0)[1]["mix"],
                                  m["mix"])


def test_references(presets):
    from timbrefast.data import reference_pitch, render_references

    refs = render_references(presets[:4], seconds=1.0)
    assert refs.shape == (4, 16000) and np.all(np.abs(refs).max(axis=1) > 1e-3)
    assert reference_pitch("Bass") == 43


def test_dataloader_workers(presets):
    torch = pytest.importorskip("torch")
    from timbrefast.data import InstrumentPairs

    pairs = InstrumentPairs(presets[:40], batch_size=4, batches=4, seconds=0.5, seed=3)
    dl = torch.utils.data.DataLoader(pairs, batch_size=None, num_workers=2)
    got = [b["audio"].numpy() for b in dl]
    for i, g in enumerate(got):
        np.testing.assert_array_equal(g, pairs[i]["audio"])


def test_errors(presets):
    from timbrefast.data import InstrumentPairs, Mixtures

    with pytest.raises(ValueError, match="even"):
        InstrumentPairs(presets, batch_size=7)
    with pytest.raises(ValueError, match="at least 64"):
        InstrumentPairs(presets[:10], batch_size=128)
    with pytest.raises(ValueError, match="hard_negative_ratio"):
        InstrumentPairs(presets, hard_negative_ratio=1.5)
    with pytest.raises(TypeError, match="Preset"):
        InstrumentPairs(["piano"] * 40, batch_size=4)
    with pytest.raises(ValueError, match="3 families"):
        Mixtures(presets[:8])
    with pytest.raises(IndexError):
        InstrumentPairs(presets, batch_size=4, batches=2)[2]
