"""An inference-only fast path of :class:`~timbrefast.models.SmallEncoder` (no autograd).

The encoder of the bundled COCOLA model costs most of a one-candidate score: at batch 1 its
eight 3×3 convolutions are cheap (≈ 105 M multiply-adds) but eager evaluation adds a
batch-norm pass after each, separate SiLU and residual passes that allocate, and layout
conversions around the oneDNN convolutions (NCHW activations). :class:`FastSmallEncoder` computes the same function with less:

- each batch norm (eval mode: running statistics) is folded into the convolution before it
  (the optional patchify stem's too),
  ``w' = w·γ/√(σ²+ε)``, ``b' = β − μ·γ/√(σ²+ε)``, computed in float64 once and stored as
  float32;
- weights and activations are ``channels_last`` (oneDNN's native layout: no reorder of the
  activations between layers), activations and the residual add run in place;
- the pooling, projection, layer norm and ``tanh`` are the encoder's own operations.

The result equals the eager encoder to float32 rounding (≈ 1e-6 relative on the embeddings;
``tests/test_models_inference.py`` holds it to 1e-5 on recorded and rendered music).

:func:`fast_encoder` returns the fast form of an encoder, built on first use and rebuilt
when any parameter or buffer of the encoder changes (an optimizer step, ``load_state_dict``,
``.to()``, a replaced submodule): the snapshot is keyed on every submodule's identity and
every tensor's identity, storage and version counter (a change made through ``.data``
bypasses the version counter: call :func:`clear_cache` after one).
:meth:`CocolaModel.embed <timbrefast.models.CocolaModel.embed>` uses it when the model is
in eval mode, autograd is off (``torch.no_grad()`` / ``torch.inference_mode()``) and the
features are float32 on the CPU; anything else (training, guidance gradients, CUDA,
EfficientNet) runs the eager modules.
"""
from __future__ import annotations

import weakref
from typing import Any, List, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from .small import SmallEncoder

__all__ = ["FastSmallEncoder", "clear_cache", "fast_encoder", "fold_batch_norm"]


def fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of one convolution equal to ``bn(conv(x))`` with ``bn`` in eval mode.

    Computed in float64 and returned in the convolution's dtype: ``weight`` ``(out, in, kh, kw)``,
    ``bias`` ``(out,)``.
    """
    if not bn.track_running_stats or bn.running_mean is None or bn.running_var is None:
        raise ValueError("fold_batch_norm needs a batch norm with running statistics")
    w = conv.weight.detach().double()
    scale = torch.rsqrt(bn.running_var.detach().double() + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.detach().double()
    shift = -bn.running_mean.detach().double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.detach().double()
    if conv.bias is not None:
        shift = shift + conv.bias.detach().double() * scale
    dtype = conv.weight.dtype
    return (w * scale[:, None, None, None]).to(dtype), shift.to(dtype)


def _supported(encoder: Any) -> bool:
    """Whether ``encoder`` computes exactly what :class:`FastSmallEncoder` reproduces (a
    SmallEncoder whose forward and modules are the stock ones)."""
    from .small import _Stage

    if not isinstance(encoder, SmallEncoder) or type(encoder).forward is not SmallEncoder.forward:
        return False
    if not isinstance(encoder.projection, nn.Linear) or not isinstance(encoder.layer_norm, nn.LayerNorm):
        return False
    pairs = []
    stem = getattr(encoder, "stem", None)
    if stem is not None:
        if not isinstance(stem, nn.Sequential) or len(stem) != 3 or type(stem[2]) is not nn.SiLU:
            return False
        pairs.append((stem[0], stem[1]))
    for st in encoder.stages:
        if type(st).forward is not _Stage.forward or not isinstance(st.act, nn.SiLU):
            return False
        if len(st.down) != 3 or len(st.conv) != 2 or not isinstance(st.down[2], nn.SiLU):
            return False
        pairs += [(st.down[0], st.down[1]), (st.conv[0], st.conv[1])]
    for conv, bn in pairs:
        if not (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d and bn.track_running_stats
                and conv.groups == 1 and conv.dilation == (1, 1) and conv.padding_mode == "zeros"
                and isinstance(conv.padding, tuple)):
            return False
    return True


class FastSmallEncoder:
    """Inference form of a :class:`SmallEncoder` (a snapshot of its weights, eval semantics).

    Call it on ``(batch, in_channels, n_mels, frames)`` float32 features (CPU) under
    ``torch.no_grad()`` / ``torch.inference_mode()``; returns ``(batch, embedding_dim)``,
    the eager encoder's output (dropout off, batch norm on running statistics) to float32
    rounding. The folded convolutions are copies, the projection and layer norm views of the
    encoder's tensors: after changing the encoder, use :func:`fast_encoder`, which rebuilds it.

    Parameters
    ----------
    encoder : SmallEncoder
        The encoder to copy (its mode does not matter: the snapshot is the eval function).
    """

    def __init__(self, encoder: SmallEncoder) -> None:
        if not _supported(encoder):
            raise TypeError(f"FastSmallEncoder needs a SmallEncoder, got {type(encoder).__name__}")
        cl = torch.channels_last
        self.in_channels = encoder.in_channels
        self.embedding_dim = encoder.embedding_dim
        self.time_steps = encoder.time_steps
        self.freq_bins = encoder.freq_bins
        self.shift = float(encoder.input_shift)
        self.scale = float(encoder.input_scale)
        self.stem: Optional[tuple] = None
        if encoder.stem is not None:  # the patchify stem: conv + batch norm (folded) + SiLU
            ws, bs = fold_batch_norm(encoder.stem[0], encoder.stem[1])
            self.stem = (ws.contiguous(memory_format=cl), bs.contiguous(), tuple(encoder.stem[0].stride),
                         tuple(encoder.stem[0].padding))
        self.stages: List[tuple] = []
        for st in encoder.stages:
            wd, bd = fold_batch_norm(st.down[0], st.down[1])
            wc, bc = fold_batch_norm(st.conv[0], st.conv[1])
            self.stages.append((wd.contiguous(memory_format=cl), bd.contiguous(), tuple(st.down[0].stride),
                                tuple(st.down[0].padding), wc.contiguous(memory_format=cl), bc.contiguous(),
                                tuple(st.conv[0].padding)))
        # the projection and layer norm are used as they are (views, not copies: 5 MB for the
        # bundled model); fast_encoder rebuilds the snapshot when they change
        self.proj_weight = encoder.projection.weight.detach()
        self.proj_bias = None if encoder.projection.bias is None else encoder.projection.bias.detach()
        ln = encoder.layer_norm
        self.ln_shape = tuple(ln.normalized_shape)
        self.ln_weight = None if ln.weight is None else ln.weight.detach()
        self.ln_bias = None if ln.bias is None else ln.bias.detach()
        self.ln_eps = float(ln.eps)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"features must have shape (batch, {self.in_channels}, n_mels, frames), "
                             f"got {tuple(x.shape)}")
        # (x + shift) * scale, written straight into a channels_last buffer
        h = torch.empty_like(x, memory_format=torch.channels_last)
        torch.add(x, self.shift, out=h).mul_(self.scale)
        if self.stem is not None:
            ws, bs, stride, pad = self.stem
            h = F.silu(F.conv2d(h, ws, bs, stride, pad), inplace=True)
        for wd, bd, stride, pad_d, wc, bc, pad_c in self.stages:
            h = F.silu(F.conv2d(h, wd, bd, stride, pad_d), inplace=True)
            h = F.silu(F.conv2d(h, wc, bc, 1, pad_c).add_(h), inplace=True)
        over_time = F.adaptive_avg_pool1d(h.mean(dim=2), self.time_steps)
        over_freq = F.adaptive_avg_pool1d(h.mean(dim=3), self.freq_bins)
        pooled = torch.cat([over_time.flatten(1), over_freq.flatten(1)], dim=1)
        z = F.linear(pooled, self.proj_weight, self.proj_bias)
        return torch.tanh(F.layer_norm(z, self.ln_shape, self.ln_weight, self.ln_bias, self.ln_eps))


#: encoder -> (state key, FastSmallEncoder); weak, so that a dropped model frees its snapshot
_CACHE: "weakref.WeakKeyDictionary[nn.Module, tuple]" = weakref.WeakKeyDictionary()


def _state_key(module: nn.Module) -> Optional[tuple]:
    """Every submodule's identity and every parameter's and buffer's identity, storage and
    version counter (None when a tensor has no version counter: an inference tensor). The
    module dicts are read directly: ``nn.Module.__getattr__`` would cost more than the check."""
    out: list = []
    stack = [module]
    try:
        while stack:
            mod = stack.pop()
            out.append(id(mod))
            for t in mod._parameters.values():
                if t is not None:
                    out.append((id(t), t.data_ptr(), t._version))
            for t in mod._buffers.values():
                if t is not None:
                    out.append((id(t), t.data_ptr(), t._version))
            stack.extend(mod._modules.values())
    except RuntimeError:
        return None
    return tuple(out)


def clear_cache(encoder: Any = None) -> None:
    """Forget the fast form of ``encoder`` (of every encoder when None). Needed only after
    changing weights through ``.data``, which bypasses the version counters."""
    if encoder is None:
        _CACHE.clear()
    else:
        _CACHE.pop(encoder, None)


def fast_encoder(encoder: Any) -> Optional[FastSmallEncoder]:
    """The :class:`FastSmallEncoder` of ``encoder``, cached and rebuilt when any of its tensors
    changes; None for encoders without a fast form (EfficientNet, a modified SmallEncoder, or
    weights created under ``torch.inference_mode()``, whose changes cannot be tracked)."""
    if not isinstance(encoder, SmallEncoder):
        return None
    key = _state_key(encoder)
    if key is None:
        return None
    cached = _CACHE.get(encoder)
    if cached is not None and cached[0] == key:
        return cached[1]
    fast = None
    if _supported(encoder):
        with torch.no_grad():
            fast = FastSmallEncoder(encoder)
    _CACHE[encoder] = (key, fast)
    return fast
