"""The fused HPSS frontend's percussive median for every window size: computed in stage 2
strip by strip (windows up to the median's block algorithm: one strip of 31 bins per block
for cocola's 31, 32 bins otherwise) or in stage 1 (larger windows). Every path must give
librosa's result and the same bits for a batch, one clip, and one clip over threads."""
import dataclasses

import numpy as np
import pytest

import timbrefast

from frontend_refs import assert_db_close, ref_cocola

SR = 16000


def _config(kernel_size):
    from timbrefast.frontends.config import PRESETS

    return dataclasses.replace(PRESETS["cocola"], kernel_size=kernel_size)


def _signal(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    tone = 0.3 * np.sin(2 * np.pi * (220 + 30 * seed) * t) * (1 + np.sin(2 * np.pi * 3 * t))
    clicks = np.zeros(n)
    clicks[:: SR // 7] = 1.0
    return (tone + 0.2 * clicks + 0.02 * rng.standard_normal(n)).astype(np.float32)


# (harmonic, percussive) windows: cocola's 31; 16 and 17 and 32 (strip widths 32 and 17..32);
# 7 and 3 (several blocks per strip); 33 (a partial block per strip); 65 and 71 (stage 1).
KERNELS = [(31, 31), (13, 7), (31, 16), (31, 17), (9, 32), (9, 33), (5, 3), (17, 65), (31, 71)]


@pytest.mark.parametrize("kernel_size", KERNELS)
def test_batch_single_and_threads_agree_bit_for_bit(kernel_size):
    fe = timbrefast.Frontend(_config(kernel_size))
    y = np.stack([_signal(80000, 1), _signal(80000, 2), _signal(80000, 3)])
    whole = fe(y, num_threads=1)
    np.testing.assert_array_equal(fe(y, num_threads=2), whole)
    for i in range(len(y)):
        np.testing.assert_array_equal(fe(y[i], num_threads=1), whole[i])
        np.testing.assert_array_equal(fe(y[i : i + 1], num_threads=2), whole[i : i + 1])


@pytest.mark.parametrize("kernel_size", [(31, 31), (13, 7), (9, 33), (31, 71)])
def test_every_window_matches_librosa(kernel_size):
    pytest.importorskip("librosa")
    y = _signal(48000, 4)
    got = timbrefast.Frontend(_config(kernel_size))(y)
    ref = ref_cocola(y, kernel_size=kernel_size)
    for c in range(2):  # each channel on its own: >= 99.9 % of cells within 0.01 dB, none beyond 1 dB
        assert_db_close(got[c], ref[c])


@pytest.mark.parametrize("pad_mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("n", [1500, 16037])
def test_frames_at_the_edges_read_the_padding_as_librosa(pad_mode, n):
    """Every centring pad mode through the fused HPSS frontend (batch and one clip), where
    the groups of 16 frames at the clip's edges read the padding."""
    pytest.importorskip("librosa")
    y = _signal(n, 5)
    y[:50] += 0.5  # something at the edges for the padding to show
    y[-50:] -= 0.4
    cfg = dataclasses.replace(_config((31, 31)), pad_mode=pad_mode)
    got = timbrefast.Frontend(cfg)(y)
    np.testing.assert_array_equal(timbrefast.Frontend(cfg)(np.stack([y, y]), num_threads=2)[1], got)
    ref = ref_cocola(y, pad_mode=pad_mode)
    for c in range(2):
        assert_db_close(got[c], ref[c])
