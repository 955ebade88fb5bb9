"""The base of every scorer: a registered model on a device, its frontend, the shared input
layer (:mod:`timbrefast.scorers._inputs`), windows and embeddings.

A scorer subclass names the model types it accepts (``model_types``) and adds its own
question on top of :meth:`Scorer.embed` (coherence scores, gallery ranks, zero-shot
classes...). The model contract (see :mod:`timbrefast.models.registry`):
``model.config.sample_rate`` / ``clip_samples`` / ``frontend`` and
``model.embed(features) -> (batch, dim)``.

Features are computed on the model's device: on CUDA, when timbrefast's CUDA module is
usable and the frontend is a :class:`timbrefast.Frontend`, the windows go to the
frontend as CUDA tensors (its CUDA kernels; a CUDA tensor input is never copied to the
host); otherwise the C++ CPU frontend runs on host arrays and the features are moved
to the device.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import numpy as np

from .._validate import is_tensor
from .._validate import check_int, require_torch
from ._inputs import Clips, read_clip, read_clips, split_windows

__all__ = ["Scorer", "cuda_frontend_usable"]

PathLike = Union[str, "os.PathLike[str]"]
S = TypeVar("S", bound="Scorer")


def cuda_frontend_usable() -> bool:
    """True when timbrefast's CUDA module loaded and sees a device (``timbrefast.backends()``)."""
    from .. import backends

    try:
        return bool(backends()["cuda"]["usable"])
    except Exception:  # a broken driver reports through backends(); never fail a CPU user here
        return False


class Scorer:
    """Model + device + frontend + input layer + embeddings, shared by every scorer.

    Parameters
    ----------
    model : torch.nn.Module
        A registered model (:mod:`timbrefast.models.registry`) whose type is in
        ``model_types`` (any registered type when that is empty).
    device : str or torch.device
        Where the model runs (and the features are computed, see the module notes).
    batch_size : int
        Windows per frontend / encoder call.
    frontend : callable, optional
        Waveforms ``(n, clip_samples)`` float32 at the model rate → features
        ``(n, channels, n_mels, frames)``; default ``timbrefast.Frontend(model.config.frontend)``.
        A callable other than a :class:`timbrefast.Frontend` gets numpy arrays.
    """

    #: Model types this scorer accepts (empty: any registered model).
    model_types: ClassVar[Tuple[str, ...]] = ()
    #: Model loaded by ``from_pretrained()`` without a path (None: a path is required).
    default_model: ClassVar[Optional[Path]] = None

    def __init__(self, model: Any, *, device: Any = "cpu", batch_size: int = 32,
                 frontend: Optional[Any] = None) -> None:
        torch = require_torch(type(self).__name__)
        from .. import Frontend
        from ..models.registry import registered_model_type

        name = type(self).__name__
        try:
            model_type = registered_model_type(model)
        except TypeError:
            raise TypeError(f"model must be a registered timbrefast model"
                            f"{' of type ' + str(self.model_types) if self.model_types else ''}, "
                            f"got {type(model).__name__}") from None
        if self.model_types and model_type not in self.model_types:
            raise TypeError(f"{name} needs a model of type {self.model_types}, got a {model_type!r} model")
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device: not a torch device ({device!r}: {exc})") from None
        self.model = model.to(self.device).eval()
        self.config = model.config
        if frontend is None:
            frontend = Frontend(self.config.frontend)
        elif not callable(frontend):
            raise TypeError(f"frontend must be callable, got {type(frontend).__name__}")
        self.frontend = frontend
        #: Whether features are computed on ``device`` by the CUDA frontend (no host round trip).
        self.features_on_device = (
            self.device.type == "cuda" and isinstance(frontend, Frontend) and cuda_frontend_usable()
        )

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_pretrained(cls: Type[S], path: Optional[PathLike] = None, *, device: Any = "cpu",
                        batch_size: int = 32, trust: bool = False, **options: Any) -> S:
        """A scorer on a saved model.

        Parameters
        ----------
        path : str or os.PathLike, optional
            A directory saved by :func:`timbrefast.checkpoints.save_model` (a training
            run's ``model/``, ``best/`` or ``checkpoint/`` too); a released checkpoint
            (``.ckpt``) where the scorer has a converter; None: ``default_model``.
        device, batch_size
            As in the constructor.
        trust : bool
            For ``.ckpt`` files only: allow full unpickling (runs code from the file).
        **options
            Further constructor arguments of the subclass.
        """
        model = cls._load_model(path, device=device, trust=trust)
        return cls(model, device=device, batch_size=batch_size, **options)

    @classmethod
    def _load_model(cls, path: Optional[PathLike], *, device: Any, trust: bool) -> Any:
        from ..checkpoints import load_model

        if path is None:
            if cls.default_model is None:
                raise ValueError(f"{cls.__name__}.from_pretrained needs a path (there is no bundled model)")
            path = cls.default_model
        p = Path(path)
        if p.suffix == ".ckpt":
            return cls._load_released(p, trust=trust)
        return load_model(p, device=device)

    @classmethod
    def _load_released(cls, path: Path, *, trust: bool) -> Any:
        raise ValueError(f"{path}: {cls.__name__} reads no released .ckpt checkpoints; convert it to a "
                         "model directory (timbrefast.checkpoints.save_model)")

    # -- properties -----------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """Rate (Hz) the model's frontend runs at; other rates are resampled."""
        return int(self.config.sample_rate)

    @property
    def clip_samples(self) -> int:
        """Samples per window at :attr:`sample_rate`."""
        return int(self.config.clip_samples)

    # -- input ----------------------------------------------------------------------

    @property
    def _input_device(self) -> Any:
        return self.device if self.features_on_device else None

    def read_clips(self, audio: Any, *, sr: Optional[int], name: str) -> Clips:
        """One clip or a batch → :class:`~timbrefast.scorers._inputs.Clips` at the model rate."""
        return read_clips(audio, sr=sr, target_sr=self.sample_rate, name=name, device=self._input_device)

    def read_clip(self, audio: Any, *, sr: Optional[int], name: str) -> Any:
        """One clip → a 1-D float32 clip at the model rate."""
        return read_clip(audio, sr=sr, target_sr=self.sample_rate, name=name, device=self._input_device)

    def windows(self, clip: Any) -> Any:
        """``(count, clip_samples)`` windows of a 1-D clip at the model rate."""
        return split_windows(clip, self.clip_samples)

    # -- features and embeddings ----------------------------------------------------

    def _stack(self, windows: Sequence[Any]) -> Any:
        torch = require_torch(type(self).__name__)
        if self.features_on_device:
            parts = [w if is_tensor(w) else torch.from_numpy(w) for w in windows]
            return torch.cat([p.to(self.device, torch.float32) for p in parts], dim=0)
        return np.concatenate([w.cpu().numpy() if is_tensor(w) else w for w in windows], axis=0)

    def features(self, windows: Any) -> Any:
        """Frontend features of ``(n, clip_samples)`` windows as a float32 tensor on ``device``."""
        torch = require_torch(type(self).__name__)
        if self.features_on_device:
            if not is_tensor(windows):
                windows = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
            feats = self.frontend(windows.to(self.device, torch.float32).contiguous())
        else:
            if is_tensor(windows):
                windows = windows.detach().cpu().numpy()
            feats = self.frontend(np.ascontiguousarray(windows, dtype=np.float32))
        if not is_tensor(feats):
            feats = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))
        return feats.to(self.device, torch.float32)

    def embed_features(self, features: Any) -> Any:
        """The model's embeddings of a batch of features (subclasses add options such as a mode)."""
        return self.model.embed(features)

    def embed_windows(self, windows: Any) -> Any:
        """Embeddings ``(n, dim)`` (torch, on ``device``) of ``(n, clip_samples)`` windows."""
        torch = require_torch(type(self).__name__)
        outs = []
        with torch.inference_mode():
            for start in range(0, int(windows.shape[0]), self.batch_size):
                feats = self.features(windows[start : start + self.batch_size])
                outs.append(self.embed_features(feats))
        return torch.cat(outs, dim=0)

    def embed_clips(self, clips: Sequence[Any]) -> Any:
        """``(len(clips), dim)``: each clip's embedding is the mean of its windows' embeddings."""
        torch = require_torch(type(self).__name__)
        wins: List[Any] = [self.windows(c) for c in clips]
        counts = [int(w.shape[0]) for w in wins]
        emb = self.embed_windows(self._stack(wins))
        if all(c == 1 for c in counts):
            return emb
        return torch.stack([e.mean(dim=0) for e in torch.split(emb, counts, dim=0)])

    @staticmethod
    def _output(values: Any, like: Any) -> Any:
        """A tensor on ``like``'s device for tensor input, numpy otherwise."""
        if like is not None:
            return values.to(like.device)
        return values.detach().cpu().numpy()

    def embed(self, audio: Any, *, sr: Optional[int] = None) -> Any:
        """Embeddings of one clip or a batch of clips.

        Parameters
        ----------
        audio : np.ndarray, torch.Tensor, path, or list of them
            One clip ``(n,)``, a batch ``(batch, n)`` or ``(batch, channels, n)``, an
            audio file, or a list of clips/files (lengths may differ); channels follow
            the rule of :mod:`timbrefast.scorers._inputs` (a ``(2, n)`` array is refused
            as ambiguous, a ``(n, 2)`` one is a stereo clip).
        sr : int
            Sample rate in Hz of array input (files use their own rate).

        Returns
        -------
        np.ndarray or torch.Tensor
            ``(dim,)`` for one clip, ``(batch, dim)`` for a batch; a tensor (on the
            input's device) for tensor input, numpy otherwise.
        """
        parsed = self.read_clips(audio, sr=sr, name="audio")
        emb = self.embed_clips(parsed.clips)
        if not parsed.batched:
            emb = emb[0]
        return self._output(emb, parsed.like)
