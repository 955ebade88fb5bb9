"""Audio effects for timbre studies: graphic/parametric EQ, reverb, descriptor-driven use.

numpy in -> numpy out (float32 or float64, dtype kept), shape (..., n_samples) with any
leading batch dimensions. Filtering uses ``scipy.signal``; nothing here imports torch.

* :func:`eq` - Audealize's 40-band peaking-biquad EQ (Web Audio "peaking" coefficients).
* :func:`reverb` - the Rafii-Pardo reverberator (Audealize's reverb), mono or stereo out;
  :func:`reverb_rt60` sets it by decay time and wet level.
* :func:`low_shelf`, :func:`high_shelf`, :func:`tilt`, :func:`gain`, :func:`lowpass`.
* :func:`load_audealize_descriptors` / :func:`apply_descriptor` - word -> settings files
  that the user brings; :func:`builtin_descriptors` - words the parametric effects express.
"""
from __future__ import annotations

from ._descriptors import (
    EFFECT_TYPES,
    DescriptorTable,
    ReverbSettings,
    apply_descriptor,
    builtin_descriptors,
    load_audealize_descriptors,
)
from ._filters import (
    AUDEALIZE_FREQS,
    AUDEALIZE_Q,
    eq,
    gain,
    graphic_eq_gains,
    high_shelf,
    high_shelf_sos,
    low_shelf,
    low_shelf_sos,
    lowpass,
    lowpass_sos,
    peaking_sos,
    response_db,
    sosfilt,
    tilt,
)
from ._reverb import prev_prime, reverb, reverb_delays, reverb_rt60

__all__ = [
    "AUDEALIZE_FREQS",
    "AUDEALIZE_Q",
    "EFFECT_TYPES",
    "DescriptorTable",
    "ReverbSettings",
    "apply_descriptor",
    "builtin_descriptors",
    "eq",
    "gain",
    "graphic_eq_gains",
    "high_shelf",
    "high_shelf_sos",
    "load_audealize_descriptors",
    "low_shelf",
    "low_shelf_sos",
    "lowpass",
    "lowpass_sos",
    "peaking_sos",
    "prev_prime",
    "response_db",
    "reverb",
    "reverb_delays",
    "reverb_rt60",
    "sosfilt",
    "tilt",
]
