"""Frontend configuration: :class:`FrontendConfig` (frozen, JSON) and the papers' :data:`PRESETS`."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Optional, Tuple, Union

from .._backends import cpu
from .._config import JsonConfig
from .._validate import check_bool, check_float32, check_int, check_positive
from ._params import MAX_KERNEL, MAX_MELS, PAD_MODES, WINDOWS, check_n_fft, mel_norm, pair

__all__ = ["FrontendConfig", "PRESETS", "MEL_PARAMS", "mel_config"]


@dataclasses.dataclass(frozen=True)
class FrontendConfig(JsonConfig):
    """Configuration of a fused frontend: waveform -> STFT -> (HPSS) -> mel -> scale.

    Frozen; saved and loaded as JSON (:meth:`to_json`, :meth:`from_json`). The defaults are
    librosa's (``melspectrogram`` then ``power_to_db``); :data:`PRESETS` holds the papers'.

    Attributes
    ----------
    sr, n_fft, hop_length, win_length, window, center, pad_mode
        The STFT (see :func:`stft`); ``hop_length=None`` means ``win_length // 4``.
    power : float
        Exponent of the (masked) magnitude fed to the mel bank (2: power, 1: magnitude).
    n_mels, fmin, fmax, htk, norm
        The mel bank (see :func:`mel_filters`).
    hpss : bool
        Two output channels (harmonic, percussive) from :func:`hpss` on the STFT magnitude,
        each ``|mask * |X||**power`` through the mel bank; otherwise one channel.
    kernel_size, mask_power, margin
        HPSS median windows (harmonic, percussive), soft-mask exponent and margins.
    scale : {"db", "log", "none"}
        "db": :func:`power_to_db` with ``ref``, ``amin``, ``top_db`` per channel and example;
        "log": ``ln(clip(x, *log_range))``; "none": the mel values.
    ref : "max" or float
        dB reference ("max" = each channel's maximum of each example).
    """

    _TUPLE_FIELDS = ("kernel_size", "margin", "log_range")

    sr: float = 22050
    n_fft: int = 2048
    hop_length: Optional[int] = 512
    win_length: Optional[int] = None
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    power: float = 2.0
    n_mels: int = 128
    fmin: float = 0.0
    fmax: Optional[float] = None
    htk: bool = False
    norm: Any = "slaney"
    hpss: bool = False
    kernel_size: Tuple[int, int] = (31, 31)
    mask_power: float = 2.0
    margin: Tuple[float, float] = (1.0, 1.0)
    scale: str = "db"
    ref: Union[str, float] = 1.0
    amin: float = 1e-10
    top_db: Optional[float] = 80.0
    log_range: Tuple[float, float] = (1e-5, 1e8)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("n_fft", check_n_fft(self.n_fft))
        if self.win_length is not None:
            set_("win_length", check_int(self.win_length, "win_length", minimum=1, maximum=self.n_fft))
        if self.hop_length is not None:
            set_("hop_length", check_int(self.hop_length, "hop_length", minimum=1))
        set_("sr", check_positive(self.sr, "sr"))
        if not isinstance(self.window, str) or self.window not in WINDOWS:
            raise ValueError(f"window must be one of {WINDOWS}, got {self.window!r}")
        for k in ("center", "htk", "hpss"):
            set_(k, check_bool(getattr(self, k), k))
        if self.pad_mode not in PAD_MODES:
            raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {self.pad_mode!r}")
        set_("power", check_positive(self.power, "power"))
        set_("n_mels", check_int(self.n_mels, "n_mels", minimum=1, maximum=MAX_MELS))
        set_("fmin", check_positive(self.fmin, "fmin", allow_zero=True))
        if self.fmax is not None:
            set_("fmax", check_positive(self.fmax, "fmax"))
        if (self.fmax if self.fmax is not None else self.sr / 2) <= self.fmin:
            raise ValueError(f"fmax must be greater than fmin={self.fmin}")
        mel_norm(self.norm)
        kh, kp = pair(self.kernel_size, "kernel_size")
        set_("kernel_size", (check_int(kh, "kernel_size", minimum=1, maximum=MAX_KERNEL),
                             check_int(kp, "kernel_size", minimum=1, maximum=MAX_KERNEL)))
        mh, mp = pair(self.margin, "margin")
        mh, mp = check_positive(mh, "margin"), check_positive(mp, "margin")
        if mh < 1 or mp < 1:
            raise ValueError(f"margins must be >= 1, got ({mh}, {mp})")
        set_("margin", (mh, mp))
        mpow = float(self.mask_power)
        if not mpow > 0:
            raise ValueError(f"mask_power must be > 0 (or inf), got {self.mask_power}")
        set_("mask_power", mpow)
        if self.scale not in ("db", "log", "none"):
            raise ValueError(f"scale must be 'db', 'log' or 'none', got {self.scale!r}")
        if not (self.ref == "max" or (isinstance(self.ref, (int, float)) and not isinstance(self.ref, bool)
                                      and math.isfinite(self.ref))):
            raise ValueError(f"ref must be 'max' or a finite number, got {self.ref!r}")
        if self.ref != "max":
            check_float32(self.ref, "ref")
        set_("amin", check_float32(check_positive(self.amin, "amin"), "amin", positive=True))
        if self.top_db is not None:
            set_("top_db", check_positive(self.top_db, "top_db", allow_zero=True))
        lo, hi = pair(self.log_range, "log_range")
        lo, hi = check_positive(lo, "log_range[0]"), check_positive(hi, "log_range[1]")
        if hi < lo:
            raise ValueError(f"log_range must be (low, high) with low <= high, got ({lo}, {hi})")
        set_("log_range", (lo, hi))

    # ---- derived values
    @property
    def channels(self) -> int:
        """Output channels: 2 (harmonic, percussive) with HPSS, else 1."""
        return 2 if self.hpss else 1

    def n_frames(self, n_samples: int) -> int:
        """Frames for a signal of n_samples (``ValueError`` if uncentred and too short)."""
        n = check_int(n_samples, "n_samples", minimum=1)
        return cpu.num_frames(n, self.n_fft, self._hop(), self.center)

    def output_shape(self, n_samples: int) -> Tuple[int, int, int]:
        """(channels, n_mels, frames) for one clip of n_samples."""
        return (self.channels, self.n_mels, self.n_frames(n_samples))

    def _hop(self) -> int:
        return self.hop_length if self.hop_length is not None else (self.win_length or self.n_fft) // 4

    # ---- serialisation: to_dict / from_dict / to_json / from_json from JsonConfig
    def replace(self, **changes: Any) -> "FrontendConfig":
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str) -> "FrontendConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown frontend preset {name!r}; known: {sorted(PRESETS)}")
        return PRESETS[name]


_COCOLA_STFT = dict(sr=16000, n_fft=1024, hop_length=160, win_length=400, window="hann", center=True,
                    pad_mode="constant")

PRESETS: Dict[str, FrontendConfig] = {
    # COCOLA, harmonic/percussive model: librosa stft -> hpss -> melspectrogram(S=|.|**2)
    # -> power_to_db(ref=np.max), per channel. 80,000 samples -> (2, 64, 501).
    "cocola": FrontendConfig(**_COCOLA_STFT, power=2.0, n_mels=64, fmin=60.0, fmax=7800.0, htk=False,
                             norm="slaney", hpss=True, kernel_size=(31, 31), mask_power=2.0,
                             margin=(1.0, 1.0), scale="db", ref="max", amin=1e-10, top_db=80.0),
    # COCOLA mel-only model: HTK mel without norm, 10 log10(max(x, 1e-10)) -> (1, 64, 501).
    "cocola_mel": FrontendConfig(**_COCOLA_STFT, power=2.0, n_mels=64, fmin=60.0, fmax=7800.0, htk=True,
                                 norm=None, scale="db", ref=1.0, amin=1e-10, top_db=None),
    # CAMIL audio side: window and hop 512, 128 bands; the paper gives no sample rate or
    # scaling: librosa's defaults (22,050 Hz, Slaney mel) and power_to_db(ref=max, top_db=80).
    "camil": FrontendConfig(sr=22050, n_fft=512, hop_length=512, win_length=512, n_mels=128, power=2.0,
                            scale="db", ref="max", top_db=80.0),
    # COLA: 400/160 frames in a 1024 FFT, uncentred, magnitude through a 64-band HTK mel
    # 60-7800 Hz without norm, natural log after clipping to [1e-5, 1e8]. Frames follow
    # librosa's convention (1 + (n - 1024) // 160; 94 for one second).
    "cola": FrontendConfig(sr=16000, n_fft=1024, hop_length=160, win_length=400, center=False, power=1.0,
                           n_mels=64, fmin=60.0, fmax=7800.0, htk=True, norm=None, scale="log",
                           log_range=(1e-5, 1e8)),
    # Timbre retrieval (timbrefast's own model): 64 ms windows, 20 ms hop, 64 Slaney bands
    # 30-8000 Hz, dB relative to each clip's maximum (level-invariant), floor -80 dB.
    # 2 s (32,000 samples) -> (1, 64, 101).
    "timbre": FrontendConfig(sr=16000, n_fft=1024, hop_length=320, win_length=1024, n_mels=64, fmin=30.0,
                             fmax=8000.0, htk=False, norm="slaney", power=2.0, scale="db", ref="max",
                             top_db=80.0),
}



# The parameters of melspectrogram that a FrontendConfig holds (its defaults are librosa's).
MEL_PARAMS = ("sr", "n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "power", "n_mels",
              "fmin", "fmax", "htk", "norm")


def mel_config(**params: Any) -> "FrontendConfig":
    """The FrontendConfig of :func:`melspectrogram` (one power channel, no scaling) for its
    keyword parameters (:data:`MEL_PARAMS`, librosa's names and defaults)."""
    unknown = sorted(set(params) - set(MEL_PARAMS))
    if unknown:
        raise TypeError(f"unexpected melspectrogram parameter(s) {unknown}; known: {list(MEL_PARAMS)}")
    return FrontendConfig(**params, hpss=False, scale="none")
