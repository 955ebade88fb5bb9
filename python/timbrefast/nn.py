"""``torch.nn.Module`` wrappers of the frontends (this module imports torch).

The modules hold no parameters and compute no gradients: features are inputs of the
models, computed by the C++ core for CPU tensors. CUDA tensors raise a clear error until
the CUDA kernels are built. A module can sit at the front of an ``nn.Sequential``::

    model = torch.nn.Sequential(timbrefast.nn.Frontend("cocola"), encoder)
"""
from __future__ import annotations

from typing import Any, Optional, Union

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "timbrefast.nn needs PyTorch: pip install 'timbrefast[torch]'"
    ) from exc

from . import frontends as _fe

__all__ = ["Frontend", "MelSpectrogram"]


def _as_input(y: Any) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(y).__name__}")
    return y.detach()


class Frontend(torch.nn.Module):
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
        super().__init__()
        self.frontend = _fe.Frontend(config, num_threads=num_threads)

    @property
    def config(self) -> "_fe.FrontendConfig":
        return self.frontend.config

    def extra_repr(self) -> str:
        return self.config.to_json()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.frontend(_as_input(y))


class MelSpectrogram(torch.nn.Module):
    """:func:`timbrefast.melspectrogram` of a waveform as a module (librosa's parameters).

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

    def __init__(
        self,
        *,
        sr: float = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        win_length: Optional[int] = None,
        window: str = "hann",
        center: bool = True,
        pad_mode: str = "constant",
        power: float = 2.0,
        n_mels: int = 128,
        fmin: float = 0.0,
        fmax: Optional[float] = None,
        htk: bool = False,
        norm: Any = "slaney",
        num_threads: Optional[int] = None,
    ):
        super().__init__()
        cfg = _fe.FrontendConfig(
            sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window, center=center,
            pad_mode=pad_mode, power=power, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm,
            hpss=False, scale="none",
        )
        self.frontend = _fe.Frontend(cfg, num_threads=num_threads)

    @property
    def config(self) -> "_fe.FrontendConfig":
        return self.frontend.config

    def extra_repr(self) -> str:
        return self.config.to_json()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.frontend(_as_input(y))[..., 0, :, :]
