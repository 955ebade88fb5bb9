"""Gradients of the frontends (issue 17): the C++ backward passes behind Frontend,
melspectrogram, hpss and power_to_db for tensors that require grad.

The C++ core computes in float32, so float64 ``torch.autograd.gradcheck`` runs on a float64
pure-torch reference of the same formula (tests/frontend_grad_reference.py: same STFT,
medians, masks, mel bank and dB); the C++ forward is checked to equal that reference, and
the C++ vector-Jacobian products to equal the reference's autograd ones. On real music the
float32 gradients also agree with central finite differences.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch extra not installed")

import timbrefast  # noqa: E402
from timbrefast import _core  # noqa: E402
from timbrefast.frontends.config import PRESETS, FrontendConfig  # noqa: E402

import frontend_grad_reference as R  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_music"

SMALL = {
    "hpss_db_max": FrontendConfig(sr=8000, n_fft=64, hop_length=16, win_length=48, n_mels=8, fmin=50.0, fmax=3500.0,
                                  hpss=True, kernel_size=(5, 4), scale="db", ref="max", top_db=80.0),
    "hpss_power1_margin": FrontendConfig(sr=8000, n_fft=32, hop_length=8, n_mels=6, power=1.0, hpss=True,
                                         kernel_size=(3, 6), mask_power=1.5, margin=(1.0, 2.0), scale="none"),
    "mel_db_ref_reflect": FrontendConfig(sr=8000, n_fft=64, hop_length=16, n_mels=8, scale="db", ref=1.0, top_db=60.0,
                                         pad_mode="reflect"),
    "mel_edge_nodb": FrontendConfig(sr=8000, n_fft=32, hop_length=12, n_mels=6, pad_mode="edge", scale="db", ref=1.0,
                                    top_db=None),
    "cola_like_log": FrontendConfig(sr=8000, n_fft=64, hop_length=16, win_length=40, center=False, power=1.0,
                                    n_mels=8, scale="log"),
}


def _signal(n, seed=0):
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _cpp_vjp(kernel, y, v):
    return _core.frontend_backward(y[None], v[None], kernel.spec)[0]


def _ref_vjp(kernel, y, v):
    yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    (R.frontend(yt, kernel) * torch.from_numpy(v).double()).sum().backward()
    return yt.grad.numpy()


def _rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


# --------------------------------------------------------------------------- per-element derivatives


def test_grad_math_matches_autograd_of_the_element_formulas():
    for x, r, q in [(0.7, 0.2, 2.0), (0.1, 0.9, 2.0), (0.3, 0.5, 1.0), (2.0, 1.5, 1.5), (0.4, 0.4, 3.0)]:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        rt = torch.tensor(r, dtype=torch.float64, requires_grad=True)
        dx, dr = torch.autograd.grad(R.softmask(xt, rt, q, True), (xt, rt))
        got = _core._softmask_grad(np.float32(x), np.float32(r), q, False, True)
        np.testing.assert_allclose(got, (float(dx), float(dr)), rtol=1e-6)
    assert _core._softmask_grad(0.0, 0.0, 2.0, False, True) == (0.0, 0.0)  # the constant 0.5
    assert _core._softmask_grad(0.7, 0.2, 1.0, True, True) == (0.0, 0.0)  # hard masks
    assert _core._power_grad(3.0, 2.0) == 6.0 and _core._power_grad(0.0, 0.5) == 0.0
    assert _core._power_grad(4.0, 1.5) == pytest.approx(1.5 * 2.0)
    assert _core._db_grad(0.01, 1e-10) == pytest.approx(10 / math.log(10) / 0.01)
    assert _core._db_grad(1e-12, 1e-10) == 0.0  # below amin: the clamp
    assert _core._log_clipped_grad(2.0, 1e-5, 1e8) == 0.5 and _core._log_clipped_grad(1e-6, 1e-5, 1e8) == 0.0


# --------------------------------------------------------------------------- fused frontend


@pytest.mark.parametrize("name", sorted(SMALL))
def test_reference_formula_gradcheck_float64(name):
    """float64 gradcheck of the reference formula the C++ backward implements."""
    kernel = timbrefast.Frontend(SMALL[name]).kernel
    y = torch.tensor(_signal(96, seed=1), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: R.frontend(x, kernel), (y,), eps=1e-6, atol=1e-5, rtol=1e-4,
                                    fast_mode=True)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_cpp_forward_and_vjp_equal_the_float64_reference(name):
    kernel = timbrefast.Frontend(SMALL[name]).kernel
    y = _signal(700)
    out = _core.frontend(y[None], kernel.spec)[0]
    ref = R.frontend(torch.from_numpy(y).double(), kernel).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)
    v = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    assert _rel(_cpp_vjp(kernel, y, v), _ref_vjp(kernel, y, v)) < 1e-4


def test_frontend_tensor_gradient_is_the_cpp_vjp_and_batches_like_items():
    fe = timbrefast.Frontend(SMALL["hpss_db_max"])
    y = torch.from_numpy(np.stack([_signal(500, 3), _signal(500, 4)])).requires_grad_()
    out = fe(y)
    assert out.requires_grad and out.dtype == torch.float32
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
    (g,) = torch.autograd.grad((out * w).sum(), y)
    for b in range(2):
        np.testing.assert_allclose(g[b].numpy(), _cpp_vjp(fe.kernel, y[b].detach().numpy(), w[b].numpy()),
                                   rtol=1e-6, atol=1e-6)
    # float64 input: features are float32, the gradient comes back in float64
    y64 = y.detach().double().requires_grad_()
    (g64,) = torch.autograd.grad((fe(y64) * w).sum(), y64)
    assert g64.dtype == torch.float64
    np.testing.assert_allclose(g64.numpy(), g.numpy(), rtol=1e-6, atol=1e-6)


def test_melspectrogram_of_a_waveform_is_differentiable():
    y = torch.from_numpy(_signal(600, 5)).double().requires_grad_()
    kw = dict(sr=8000, n_fft=64, hop_length=16, n_mels=8)
    M = timbrefast.melspectrogram(y, **kw)
    assert M.shape == (8, 1 + 600 // 16)
    (g,) = torch.autograd.grad(M.sum(), y)
    kernel = timbrefast.Frontend(FrontendConfig(**kw, scale="none")).kernel
    ones = np.ones((1,) + tuple(M.shape), np.float32)
    np.testing.assert_allclose(g.numpy(), _ref_vjp(kernel, y.detach().numpy().astype(np.float32), ones),
                               rtol=1e-4, atol=1e-4 * float(g.abs().max()))


def test_no_grad_paths_record_nothing():
    fe = timbrefast.Frontend("cocola")
    y = torch.randn(1, 8000, requires_grad=True)
    with torch.no_grad():
        assert not fe(y).requires_grad
    assert not fe(y.detach()).requires_grad
    assert isinstance(fe(y.detach().numpy()), np.ndarray)
    # numpy in -> numpy out, bit-equal to the tensor path
    np.testing.assert_array_equal(fe(y.detach().numpy()), fe(y).detach().numpy())


def test_stft_is_still_not_differentiable_and_says_so():
    y = torch.randn(4000, requires_grad=True)
    with pytest.warns(UserWarning, match="not differentiable"):
        assert not timbrefast.stft(y, n_fft=512).requires_grad


# --------------------------------------------------------------------------- functional paths


def test_melspectrogram_of_S_gradcheck_and_vjp():
    w = timbrefast.mel_filters(sr=8000, n_fft=64, n_mels=8)
    S = torch.rand(2, 33, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: torch.from_numpy(w).double() @ s, (S,), fast_mode=True)  # the reference formula
    M = timbrefast.melspectrogram(S=S, sr=8000, n_mels=8)
    g = torch.randn(M.shape, dtype=torch.float32)
    (got,) = torch.autograd.grad((M * g).sum(), S)
    np.testing.assert_allclose(got.numpy(), (torch.from_numpy(w).double().T @ g.double()).numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("kernel_size,power,margin", [((5, 4), 2.0, 1.0), ((3, 6), 1.5, (1.0, 2.0))])
def test_hpss_masks_gradcheck_and_vjp(kernel_size, power, margin):
    rng = np.random.default_rng(7)
    mag = rng.random((2, 12, 15)).astype(np.float32) + 0.05
    mt = torch.tensor(mag, dtype=torch.float64, requires_grad=True)
    mh_margin, mp_margin = (margin, margin) if np.isscalar(margin) else margin
    split = mh_margin == 1.0 and mp_margin == 1.0

    def ref(m):
        H, P = R.median_filter(m, kernel_size[0], -1), R.median_filter(m, kernel_size[1], -2)
        return R.softmask(H, P * mh_margin, power, split), R.softmask(P, H * mp_margin, power, split)

    assert torch.autograd.gradcheck(ref, (mt,), eps=1e-7, atol=1e-5, fast_mode=True)
    m32 = torch.from_numpy(mag).requires_grad_()
    mh, mp = timbrefast.hpss(m32, kernel_size=kernel_size, power=power, margin=margin, mask=True)
    rh, rp = ref(mt)
    np.testing.assert_allclose(mh.detach().numpy(), rh.detach().numpy(), rtol=1e-5, atol=1e-6)
    gh, gp = torch.randn(mh.shape), torch.randn(mh.shape)
    (got,) = torch.autograd.grad((mh * gh).sum() + (mp * gp).sum(), m32)
    (want,) = torch.autograd.grad((rh * gh.double()).sum() + (rp * gp.double()).sum(), mt)
    assert _rel(got.numpy(), want.numpy()) < 1e-4


def test_hpss_separation_of_a_complex_stft_is_differentiable():
    D = torch.from_numpy(timbrefast.stft(_signal(2000, 8), n_fft=64)).requires_grad_()
    H, P = timbrefast.hpss(D, kernel_size=5)
    assert H.dtype == torch.complex64 and H.requires_grad
    (g,) = torch.autograd.grad(H.abs().sum() + 0.5 * P.abs().sum(), D)
    assert g.shape == D.shape and bool(torch.isfinite(g).all()) and float(g.abs().sum()) > 0


@pytest.mark.parametrize("ref,top_db", [("max", 80.0), ("max", 20.0), (1.0, 20.0), (0.5, None), (np.max, 30.0)])
def test_power_to_db_gradcheck_and_vjp(ref, top_db):
    rng = np.random.default_rng(9)
    S = (rng.random((2, 6, 9)) ** 4).astype(np.float32) + 1e-6
    St = torch.tensor(S, dtype=torch.float64, requires_grad=True)
    p = dict(scale="db", ref_max=not isinstance(ref, float), ref=ref if isinstance(ref, float) else 1.0,
             amin=1e-10, top_db=top_db)
    ref_fn = lambda s: torch.stack([R.scale(x, p) for x in s])  # noqa: E731
    assert torch.autograd.gradcheck(ref_fn, (St,), eps=1e-9, atol=1e-4, rtol=1e-4, fast_mode=True)
    S32 = torch.from_numpy(S).requires_grad_()
    D = timbrefast.power_to_db(S32, ref=ref, top_db=top_db)
    np.testing.assert_allclose(D.detach().numpy(), ref_fn(St).detach().numpy(), atol=1e-3)
    g = torch.randn(D.shape)
    (got,) = torch.autograd.grad((D * g).sum(), S32)
    (want,) = torch.autograd.grad((ref_fn(St) * g.double()).sum(), St)
    assert _rel(got.numpy(), want.numpy()) < 1e-4


def test_power_to_db_ref_max_sends_the_reference_gradient_to_the_argmax():
    S = torch.tensor([[4.0, 1.0, 2.0, 1e-3]], requires_grad=True)
    D = timbrefast.power_to_db(S, ref="max", top_db=20.0)  # 1e-3 is 36 dB down: clipped
    (g,) = torch.autograd.grad(D.sum(), S)
    k = 10 / math.log(10)
    # cells 1, 2 pass k/x; the max gets k/4 from itself and -k/4 for each of the three unclipped cells
    np.testing.assert_allclose(g.numpy(), [[k / 4 - 3 * k / 4, k / 1.0, k / 2.0, 0.0]], rtol=1e-6)


# --------------------------------------------------------------------------- real music, float32


def _real_music(seconds=1.0):
    files = sorted(SHARED.glob("*.flac")) if SHARED.is_dir() else []
    if not files:
        pytest.skip(f"no held-out music under {SHARED}")
    sf = pytest.importorskip("soundfile")
    y, sr = sf.read(str(files[0]), dtype="float32", always_2d=True)
    assert sr == 16000
    y = y.mean(axis=1)
    start = len(y) // 3
    return np.ascontiguousarray(y[start : start + int(seconds * sr)])


def _rendered_music(seconds=1.0):
    sf2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
    if not sf2.is_file():
        pytest.skip("no soundfont to render music with")
    pytest.importorskip("fluidsynth", reason="pyfluidsynth not installed")
    from timbrefast.data.instruments import render, soundfont_instruments

    inst = soundfont_instruments(sf2)[0]
    notes = [render(inst, p, duration=0.2, sr=16000)[:3200] for p in (60, 64, 67, 72, 65)]
    y = np.concatenate(notes)[: int(seconds * 16000)].astype(np.float32)
    return y / max(1e-6, float(np.abs(y).max())) * 0.5


@pytest.mark.parametrize("source", ["shared", "fluidsynth"])
def test_cocola_gradient_on_music_matches_reference_and_finite_differences(source):
    y = _real_music() if source == "shared" else _rendered_music()
    kernel = timbrefast.Frontend("cocola").kernel
    out = _core.frontend(y[None], kernel.spec)[0]
    w = np.random.default_rng(11).standard_normal(out.shape).astype(np.float32)
    g = _cpp_vjp(kernel, y, w)
    # against the float64 pure-torch autograd of the same formula. Sustained synthetic tones
    # hold nearly equal magnitudes over many frames: where float32 and float64 rounding make
    # the harmonic median select a different (near-tied) frame, the gradient lands on that
    # frame instead, so the rendered notes get a looser bound than recorded music.
    assert _rel(g, _ref_vjp(kernel, y, w)) < (1e-3 if source == "shared" else 0.1)
    # against central finite differences of the float32 frontend along directions y * envelope
    # (a slow random gain curve: every cell's power moves by about the same fraction, so that
    # eps stays in the linear range of the dB of quiet cells, which white noise would swamp)
    rng = np.random.default_rng(12)
    loss = lambda x: float((_core.frontend(x[None].astype(np.float32), kernel.spec)[0].astype(np.float64) * w).sum())  # noqa: E731
    t = np.arange(len(y)) / 16000.0
    for _ in range(3):
        env = sum(rng.standard_normal() * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f in (0.7, 1.9, 3.1))
        v = y.astype(np.float64) * env
        eps = 1e-3
        fd = (loss(y + eps * v) - loss(y - eps * v)) / (2 * eps)
        assert fd == pytest.approx(float(g.astype(np.float64) @ v), rel=2e-2, abs=1e-3 * float(np.abs(g) @ np.abs(v)))


# --------------------------------------------------------------------------- the torch op


def test_frontend_op_opcheck_and_compiled_gradient_equal_eager():
    from timbrefast._backends import torch_ops  # noqa: F401  (registers the timbrefast:: ops)

    fe = timbrefast.Frontend(SMALL["hpss_db_max"])
    y = torch.from_numpy(np.stack([_signal(400, 13), _signal(400, 14)])).requires_grad_()
    torch.library.opcheck(torch.ops.timbrefast.frontend.default, (y, fe.kernel.key, 0),
                          test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))
    w = torch.randn(fe(y).shape, generator=torch.Generator().manual_seed(1))
    (eager,) = torch.autograd.grad((fe(y) * w).sum(), y)
    compiled = torch.compile(lambda x: (fe(x) * w).sum(), backend="aot_eager", fullgraph=True)
    (got,) = torch.autograd.grad(compiled(y), y)
    np.testing.assert_allclose(got.numpy(), eager.numpy(), rtol=1e-6, atol=1e-6)


def _cuda_usable():
    from timbrefast import _backends

    return torch.cuda.is_available() and _backends.cuda_available()


@pytest.mark.skipif(not _cuda_usable(), reason="needs a CUDA device, a CUDA build of torch and timbrefast's CUDA module")
def test_cuda_tensor_gradient_equals_the_cpu_one():
    fe = timbrefast.Frontend("cocola")
    y = torch.from_numpy(np.stack([_signal(16000, 15), _signal(16000, 16)]))
    w = torch.randn(fe(y).shape, generator=torch.Generator().manual_seed(2))
    yc = y.cuda().requires_grad_()
    (gc,) = torch.autograd.grad((fe(yc) * w.cuda()).sum(), yc)
    assert gc.device == yc.device
    y.requires_grad_()
    (g,) = torch.autograd.grad((fe(y) * w).sum(), y)
    assert _rel(gc.cpu().numpy(), g.numpy()) < 1e-3  # CUDA forward, C++ backward: near-tied medians may differ
