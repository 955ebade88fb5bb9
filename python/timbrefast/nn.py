"""``torch.nn.Module`` wrappers of the frontends (this module imports torch).

The modules hold no parameters and compute no gradients: features are inputs of the
models, computed by the C++ core for CPU tensors and by the CUDA kernels of
``timbrefast._cuda`` for CUDA tensors (a RuntimeError says why when that backend is not
usable). A module can sit at the front of an ``nn.Sequential``::

    model = torch.nn.Sequential(timbrefast.nn.Frontend("cocola"), encoder)
"""
from __future__ import annotations

import inspect
from typing import Any, Optional, Union

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "timbrefast.nn needs PyTorch: pip install 'timbrefast[torch]'"
    ) from exc

from . import frontends as _fe
from .frontends.config import MEL_PARAMS, mel_config
from .frontends.functional import melspectrogram as _melspectrogram

__all__ = ["Frontend", "MelSpectrogram"]


def _as_input(y: Any) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(y).__name__}")
    return y.detach()


class _FrontendModule(torch.nn.Module):
    """A module holding a :class:`timbrefast.Frontend` (no parameters, no gradients)."""

    def __init__(self, config: Union[str, "_fe.FrontendConfig"], num_threads: Optional[int]):
        super().__init__()
        self.frontend = _fe.Frontend(config, num_threads=num_threads)

    @property
    def config(self) -> "_fe.FrontendConfig":
        return self.frontend.config

    def extra_repr(self) -> str:
        return self.config.to_json()


class Frontend(_FrontendModule):
    """Fused frontend (:class:`timbrefast.Frontend`) as a module.

    Parameters
    ----------
    config : str or FrontendConfig
        A preset ("cocola", "cocola_mel", "camil", "cola") or a configuration.
    num_threads : int, optional
        Threads per call (default: the global setting).

    Shapes
    ------
    input ``(..., n)`` float32 waveform -> output ``(..., channels, n_mels, frames)``.

    Examples
    --------
    >>> import torch, timbrefast
    >>> fe = timbrefast.nn.Frontend("cocola")
    >>> fe(torch.zeros(2, 80000)).shape
    torch.Size([2, 2, 64, 501])
    """

    def __init__(self, config: Union[str, "_fe.FrontendConfig"] = "cocola", *, num_threads: Optional[int] = None):
        super().__init__(config, num_threads)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.frontend(_as_input(y))


class MelSpectrogram(_FrontendModule):
    """:func:`timbrefast.melspectrogram` of a waveform as a module (librosa's parameters).

    Parameters
    ----------
    sr, n_fft, hop_length, win_length, window, center, pad_mode, power, n_mels, fmin, fmax, htk, norm
        Keyword-only, as in :func:`timbrefast.melspectrogram` (librosa's names and defaults;
        ``window`` is a name).
    num_threads : int, optional
        Threads per call (default: the global setting).

    Shapes
    ------
    input ``(..., n)`` -> output ``(..., n_mels, frames)`` (power, not dB).

    Examples
    --------
    >>> import torch, timbrefast
    >>> m = timbrefast.nn.MelSpectrogram(sr=16000, n_fft=1024, hop_length=160, n_mels=64)
    >>> m(torch.zeros(16000)).shape
    torch.Size([64, 101])
    """

    def __init__(self, *, num_threads: Optional[int] = None, **params: Any):
        super().__init__(mel_config(**params), num_threads)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.frontend(_as_input(y))[..., 0, :, :]


def _mel_signature() -> inspect.Signature:
    """``MelSpectrogram(*, sr=22050, ..., norm="slaney", num_threads=None)`` for help() and IDEs."""
    mel = inspect.signature(_melspectrogram).parameters
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [mel[name] for name in MEL_PARAMS] + [mel["num_threads"]]
    return inspect.Signature(params)


MelSpectrogram.__init__.__signature__ = _mel_signature()  # type: ignore[attr-defined]
