"""The fused frontend :class:`Frontend`: one call from waveform to model input."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from .._backends import cpu, is_tensor
from .._backends.specs import FrontendKernel
from .._validate import from_numpy_like
from ._params import mel_bank, signal_2d, threads, window_array
from .config import FrontendConfig

__all__ = ["Frontend"]


class Frontend:
    """One call from waveform to model input, fused in C++.

    ``Frontend("cocola")(y)`` with ``y`` of shape ``(..., 80000)`` at 16 kHz returns
    ``(..., 2, 64, 501)``: the harmonic and percussive log-mel spectrograms exactly as the
    COCOLA reference computes them with librosa, without any full-size intermediate
    crossing into Python (``|H|**2 = |X|**2 * mask**2``, so no phase is needed). numpy
    arrays run on the C++ core; tensors go through the ``timbrefast::frontend`` torch op
    (traceable by ``torch.compile``), CPU tensors on the core and CUDA tensors on the
    CUDA kernels. A tensor that requires grad gets a differentiable output (the backward is
    the C++ core's, see ``docs/frontends.md`` for its subgradient conventions); numpy input
    and tensors without grad take the no-grad path, which saves nothing.

    Parameters
    ----------
    config : str or FrontendConfig
        A preset name ("cocola", "cocola_mel", "camil", "cola") or a configuration.
    num_threads : int, optional
        Default thread count of this frontend's calls.

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> fe = timbrefast.Frontend("cocola")
    >>> fe(np.zeros((4, 80000), np.float32)).shape
    (4, 2, 64, 501)
    """

    def __init__(self, config: Union[str, FrontendConfig] = "cocola", *, num_threads: Optional[int] = None,
                 _window: Optional[np.ndarray] = None):
        if isinstance(config, str):
            config = FrontendConfig.preset(config)
        if not isinstance(config, FrontendConfig):
            raise TypeError(f"config must be a preset name or a FrontendConfig, got {type(config).__name__}")
        self.config = config
        self.num_threads = None if num_threads is None else threads(num_threads)
        c = config
        # `_window`: an analysis window array (melspectrogram's window=array), validated by the caller.
        window = window_array(c.window, c.win_length or c.n_fft, c.n_fft) if _window is None else _window
        mel = mel_bank(sr=c.sr, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax, htk=c.htk, norm=c.norm)
        self._kernel = FrontendKernel.get(
            window=window, mel_weights=mel, n_fft=c.n_fft, hop=c._hop(), center=c.center, pad_mode=c.pad_mode,
            power=c.power, hpss=c.hpss, kernel_size=c.kernel_size, mask_power=c.mask_power, margin=c.margin,
            scale=c.scale, ref=c.ref, amin=c.amin, top_db=c.top_db, log_range=c.log_range,
        )

    def __repr__(self) -> str:
        return f"Frontend({self.config!r})"

    @property
    def kernel(self) -> FrontendKernel:
        """The compiled spec (its ``key`` names it to the ``timbrefast::frontend`` op)."""
        return self._kernel

    @property
    def mel_filters(self) -> np.ndarray:
        """The mel bank, (n_mels, 1 + n_fft // 2)."""
        return self._kernel.mel_weights.copy()

    def output_shape(self, n_samples: int) -> Tuple[int, int, int]:
        """(channels, n_mels, frames) for one clip of n_samples."""
        return self.config.output_shape(n_samples)

    def __call__(self, y: Any, *, num_threads: Optional[int] = None) -> Any:
        """Features of ``y`` (shape ``(..., n)``) -> ``(..., channels, n_mels, frames)``."""
        n_threads = threads(num_threads) if num_threads is not None else (self.num_threads or 0)
        if is_tensor(y):
            from .._backends import torch_ops  # imports torch (loaded: y is a tensor) and registers the ops

            return torch_ops.frontend(self._kernel, y, n_threads)
        y2, lead, like = signal_2d(y)
        out = cpu.frontend(self._kernel, y2, n_threads)
        return from_numpy_like(out.reshape(lead + out.shape[1:]), like)
