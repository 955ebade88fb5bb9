"""Instrument and synthesizer-patch retrieval (Le Vaillant & Molle) in process.

:class:`InstrumentRetriever` embeds audio with a retrieval model (``model_type``
``"retrieval"``, the bundled one by default) and builds :class:`~timbrefast.scorers.gallery.Gallery`
objects from audio, from every preset of a soundfont (the paper's gallery: one reference
note per instrument, the family's median pitch at velocity 100) or from a set of
synthesizer patches; ``search`` ranks queries against a gallery.

Examples
--------
>>> from timbrefast import InstrumentRetriever                       # doctest: +SKIP
>>> r = InstrumentRetriever.from_pretrained()                        # doctest: +SKIP
>>> gallery = r.gallery_from_soundfont("FluidR3_GM.sf2")             # doctest: +SKIP
>>> ids, scores = r.search("note.wav", gallery, k=5)                 # doctest: +SKIP
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._validate import check_int, require_torch
from .base import Scorer
from .gallery import Gallery

__all__ = ["InstrumentRetriever", "BUNDLED_RETRIEVER"]

#: Directory of the retrieval model shipped inside the package.
BUNDLED_RETRIEVER = Path(__file__).resolve().parent.parent / "assets" / "retrieval_small"

PathLike = Union[str, "os.PathLike[str]"]


class InstrumentRetriever(Scorer):
    """Embeddings for timbre retrieval, and galleries to search.

    Parameters
    ----------
    model : RetrievalModel
        A model of ``model_type`` ``"retrieval"`` (see :meth:`from_pretrained`).
    device, batch_size, frontend
        As in :class:`~timbrefast.scorers.base.Scorer`.

    Notes
    -----
    A clip longer than the model's window (2 s for the bundled model) is cut into windows
    whose unit embeddings are averaged and renormalised; a shorter one is zero-padded.
    """

    model_types = ("retrieval", "ast")
    default_model = BUNDLED_RETRIEVER

    def __init__(self, model: Any, *, device: Any = "cpu", batch_size: int = 32, frontend: Optional[Any] = None) -> None:
        if frontend is None and getattr(getattr(model, "config", None), "model_type", None) == "ast":
            frontend = model.feature_function()  # the AST's own feature extractor
        super().__init__(model, device=device, batch_size=batch_size, frontend=frontend)

    @classmethod
    def from_ast(
        cls,
        path: PathLike,
        *,
        pooling: str = "pooler",
        embedding_dim: int = 0,
        seconds: Optional[float] = None,
        device: Any = "cpu",
        batch_size: int = 8,
    ) -> "InstrumentRetriever":
        """A retriever on a local Hugging Face AST directory (never downloads; needs the
        ``[hf]`` extra), see :mod:`timbrefast.models.ast`.

        ``seconds``: the window audio is cut into (default: what the feature extractor's
        ``max_length`` frames of 10 ms cover). ``pooling`` / ``embedding_dim`` as in
        :class:`~timbrefast.models.ast.ASTEncoderConfig` (a projection starts random: train it).
        """
        require_torch("InstrumentRetriever.from_ast")
        from .._validate import require

        require("transformers", "InstrumentRetriever.from_ast", "hf")
        from ..models.ast import ASTEncoder, ASTEncoderConfig, check_ast_dir

        hf_dir = check_ast_dir(path)
        import json

        pre = json.loads((hf_dir / "preprocessor_config.json").read_text())
        rate = int(pre.get("sampling_rate", 16000))
        if seconds is None:
            clip = int(pre.get("max_length", 1024)) * rate // 100  # 10 ms frames
        else:
            if not (isinstance(seconds, (int, float)) and 0 < seconds <= 600):
                raise ValueError(f"seconds must be in (0, 600], got {seconds!r}")
            clip = int(round(seconds * rate))
        config = ASTEncoderConfig(hf_dir=str(hf_dir), pooling=pooling, embedding_dim=embedding_dim,
                                  sample_rate=rate, clip_samples=clip)
        return cls(ASTEncoder(config), device=device, batch_size=batch_size)

    def embed_clips(self, clips: Sequence[Any]) -> Any:
        torch = require_torch("InstrumentRetriever")
        return torch.nn.functional.normalize(super().embed_clips(clips), dim=-1)

    # -- galleries ------------------------------------------------------------------

    def _as_numpy(self, emb: Any) -> np.ndarray:
        return emb.detach().cpu().numpy() if hasattr(emb, "detach") else np.asarray(emb)

    def build_gallery(
        self,
        audio: Any,
        *,
        ids: Sequence[str],
        sr: Optional[int] = None,
        families: Optional[Sequence[str]] = None,
        metric: str = "cosine",
    ) -> Gallery:
        """A gallery of ``audio`` (a batch, a list of clips or files), one entry per clip."""
        emb = self._as_numpy(self.embed(audio, sr=sr))
        if emb.ndim == 1:
            emb = emb[None]
        return Gallery(emb, list(ids), families=families, metric=metric)

    def gallery_from_instruments(
        self,
        instruments: Sequence[Any],
        *,
        pitch: Union[str, int] = "median",
        velocity: int = 100,
        family_names: str = "gm",
        metric: str = "cosine",
        progress: bool = False,
    ) -> Gallery:
        """One reference note per :class:`~timbrefast.data.instruments.Instrument`.

        ``pitch="median"`` is the paper's gallery note (the median of the family's pitch
        range, held 1 s, at ``velocity``); an int is one MIDI pitch for every instrument.
        ``family_names``: ``"gm"`` (General MIDI families) or ``"paper"`` (the paper's merged
        families) as the gallery's families.
        """
        from ..data.instruments import render_note_bank

        insts = list(instruments)
        if not insts:
            raise ValueError("no instruments to build a gallery from")
        if family_names not in ("gm", "paper"):
            raise ValueError(f"family_names must be 'gm' or 'paper', got {family_names!r}")
        velocity = check_int(velocity, "velocity", minimum=1, maximum=127)
        seconds = self.clip_samples / self.sample_rate
        if pitch == "median":
            bank = render_note_bank(insts, notes_per_instrument=1, seconds=seconds, sr=self.sample_rate,
                                    reference_first=True, progress=progress)
            audio = bank.audio[:, 0]
            if velocity != 100:
                audio = self._render_fixed(insts, None, velocity, seconds)
        else:
            p = check_int(pitch, "pitch", minimum=0, maximum=127)
            audio = self._render_fixed(insts, p, velocity, seconds)
        fams = [i.family if family_names == "gm" else i.paper_family for i in insts]
        emb = self._as_numpy(self.embed(list(audio), sr=self.sample_rate))  # a list: always a batch
        return Gallery(emb, [i.id for i in insts], families=fams, metric=metric)

    def _render_fixed(self, insts: Sequence[Any], pitch: Optional[int], velocity: int, seconds: float) -> np.ndarray:
        from ..data.families import FAMILY_PITCH_RANGES
        from ..data.instruments import render

        n = self.clip_samples
        out = np.zeros((len(insts), n), np.float32)
        for j, inst in enumerate(insts):
            lo, hi = FAMILY_PITCH_RANGES[inst.family]
            y = render(inst, (lo + hi) // 2 if pitch is None else pitch, velocity=velocity, duration=1.0,
                       sr=self.sample_rate)[:n]
            out[j, : len(y)] = y
        return out

    def gallery_from_soundfont(self, path: Union[PathLike, Sequence[PathLike]], **kwargs: Any) -> Gallery:
        """The paper's gallery of every melodic preset of one or more soundfonts (see
        :meth:`gallery_from_instruments` for the options)."""
        from ..data.instruments import soundfont_instruments

        return self.gallery_from_instruments(soundfont_instruments(path), **kwargs)

    def gallery_from_patches(self, patches: Union[PathLike, Sequence[Any]], **kwargs: Any) -> Gallery:
        """A gallery of synthesizer patches: a list of :class:`~timbrefast.data.patches.Patch`
        or the path of a patch set (:func:`~timbrefast.data.patches.save_patches`)."""
        from ..data.instruments import patch_instruments
        from ..data.patches import load_patches

        if isinstance(patches, (str, os.PathLike)):
            patches = load_patches(os.fspath(patches))
        return self.gallery_from_instruments(patch_instruments(patches), **kwargs)

    # -- search ---------------------------------------------------------------------

    def search(
        self,
        audio: Any,
        gallery: Gallery,
        *,
        sr: Optional[int] = None,
        k: int = 5,
        family: Optional[str] = None,
        exclude: Any = None,
    ) -> Tuple[np.ndarray, Any]:
        """The ``k`` best gallery ids and scores of each query clip, ``(n, k)`` each
        (``(1, k)`` for one clip); see :meth:`Gallery.search`."""
        if not isinstance(gallery, Gallery):
            raise TypeError(f"gallery must be a Gallery, got {type(gallery).__name__}")
        emb = self.embed(audio, sr=sr)
        if gallery.dim != int(emb.shape[-1]):
            raise ValueError(f"the gallery has dimension {gallery.dim}, this model embeds in {int(emb.shape[-1])}: "
                             "build the gallery with the same model")
        return gallery.search(emb, k=k, family=family, exclude=exclude)
