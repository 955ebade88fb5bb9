"""Adapters from the audio-text models people use to the :class:`TwoTower` protocol.

Every adapter is an optional import (the package loads when the adapter is built)
and never downloads anything: checkpoints, tokenizers and configs come from local
paths (Hugging Face loads run with ``local_files_only`` / offline mode), and a missing
file or package raises an error that names it.

* :class:`CallableTwoTower`: any pair of callables;
* :class:`LaionClapTwoTower`: LAION-CLAP (``laion_clap``, the ``[laion]`` extra);
* :class:`MSClapTwoTower`: Microsoft CLAP (``msclap``, the ``[msclap]`` extra);
* :class:`HFClapTwoTower`: a Hugging Face ``ClapModel`` saved in a local directory
  (``transformers``, the ``[hf]`` extra).
"""
from __future__ import annotations

import abc
import contextlib
import os
import tempfile
from typing import Any, Callable, Iterator, List, Optional, Sequence

import numpy as np

from .._validate import check_bool, check_int, require
from .protocol import AudioBatch, finish_embeddings, prepare_audio, prepare_texts, warn_truncated

__all__ = ["CallableTwoTower", "LaionClapTwoTower", "MSClapTwoTower", "HFClapTwoTower"]

_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Hugging Face libraries in offline mode: a cache miss raises instead of downloading."""
    before = {k: os.environ.get(k) for k in _OFFLINE}
    os.environ.update(_OFFLINE)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _checkpoint(path: Any, what: str, example: str) -> str:
    if path is None:
        raise ValueError(f"{what} needs a local checkpoint file (e.g. {example}); timbrefast never downloads weights")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a path, got {type(path).__name__}")
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"{what}: the checkpoint file {p} does not exist")
    return p


class _Base(abc.ABC):
    """Shared embed_audio / embed_text around ``_audio(batch)`` and ``_text(texts)``."""

    sample_rate: Optional[int] = None
    resample: bool = False

    def embed_audio(self, audio: Any, *, sr: Optional[int] = None) -> Any:
        """(n, d) L2-normalised audio embeddings; numpy in -> numpy out, tensor in -> tensor out."""
        batch = prepare_audio(audio, sr, target_sr=self.sample_rate, resample=self.resample)
        out = self._audio(batch)
        return finish_embeddings(out, len(batch), f"{type(self).__name__} audio embeddings", batch.like)

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) L2-normalised float32 text embeddings of ``texts`` (a list of strings)."""
        texts = prepare_texts(texts)
        return finish_embeddings(self._text(texts), len(texts), f"{type(self).__name__} text embeddings")

    def _per_clip_or_batch(self, batch: AudioBatch, fn: Callable[[np.ndarray], Any]) -> np.ndarray:
        from .protocol import _to_numpy

        if batch.batch is not None:
            return _to_numpy(fn(batch.batch), "audio embeddings")
        return np.concatenate([_to_numpy(fn(c[None]), "audio embeddings").reshape(1, -1) for c in batch.clips])

    @abc.abstractmethod
    def _audio(self, batch: AudioBatch) -> Any:
        """Raw audio embeddings of a prepared batch (each adapter's model call)."""

    @abc.abstractmethod
    def _text(self, texts: List[str]) -> Any:
        """Raw text embeddings of prepared texts (each adapter's model call)."""


class CallableTwoTower(_Base):
    """A two-tower model from two callables.

    Parameters
    ----------
    audio_fn : callable
        ``audio_fn(batch)`` with ``batch`` a float32 ``(n, T)`` numpy array at
        ``sample_rate`` -> ``(n, d)`` (numpy or tensor). Clips of different lengths are
        passed one at a time as ``(1, T_i)``.
    text_fn : callable
        ``text_fn(list_of_str)`` -> ``(n, d)``.
    sample_rate : int, optional
        The rate ``audio_fn`` expects (None: any; ``sr`` is then only checked).
    resample : bool, default False
        Resample arrays at another rate (scipy ``resample_poly``) instead of refusing them.

    Outputs are checked (shape, finite) and L2-normalised.

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.two_tower import CallableTwoTower
    >>> m = CallableTwoTower(lambda x: np.stack([x.mean(1), x.std(1)], 1) + 1,
    ...                      lambda t: np.array([[len(s), 1.0] for s in t]))
    >>> m.embed_audio(np.zeros((2, 100), np.float32), sr=16000).shape
    (2, 2)
    """

    def __init__(self, audio_fn: Callable[[np.ndarray], Any], text_fn: Callable[[List[str]], Any], *,
                 sample_rate: Optional[int] = None, resample: bool = False) -> None:
        if not callable(audio_fn):
            raise TypeError(f"audio_fn must be callable, got {type(audio_fn).__name__}")
        if not callable(text_fn):
            raise TypeError(f"text_fn must be callable, got {type(text_fn).__name__}")
        self.audio_fn = audio_fn
        self.text_fn = text_fn
        self.sample_rate = None if sample_rate is None else check_int(sample_rate, "sample_rate", minimum=1)
        self.resample = check_bool(resample, "resample")

    def _audio(self, batch: AudioBatch) -> Any:
        return self._per_clip_or_batch(batch, self.audio_fn)

    def _text(self, texts: List[str]) -> Any:
        return self.text_fn(texts)


class LaionClapTwoTower(_Base):
    """LAION-CLAP (``pip install laion-clap``; the ``[laion]`` extra) from a local checkpoint.

    Parameters
    ----------
    checkpoint : path
        A ``.pt`` checkpoint, e.g. ``music_audioset_epoch_15_esc_90.14.pt`` (music) or
        ``music_speech_audioset_epoch_15_esc_89.98.pt`` (music + speech).
    amodel : str, optional
        Audio encoder; default ``"HTSAT-base"`` for the music checkpoints (file name
        containing "music"), else ``"HTSAT-tiny"`` (the 630k checkpoints).
    enable_fusion : bool, default False
    device : str, optional
        Passed to ``laion_clap.CLAP_Module``.
    model : laion_clap.CLAP_Module, optional
        An already-loaded module to wrap instead of ``checkpoint``.
    quantize : bool, default True
        Round the waveform through int16 first, as LAION-CLAP's own examples do.
    resample : bool, default False
        Resample arrays that are not at 48 kHz instead of refusing them.

    The text tower needs the ``roberta-base`` tokenizer and config in the local Hugging
    Face cache; they are looked up offline (an error says so when missing).
    """

    sample_rate = 48000
    max_text_tokens = 77

    def __init__(self, checkpoint: Any = None, *, amodel: Optional[str] = None, enable_fusion: bool = False,
                 device: Optional[str] = None, model: Any = None, quantize: bool = True,
                 resample: bool = False) -> None:
        self.resample = check_bool(resample, "resample")
        self.quantize = check_bool(quantize, "quantize")
        if model is not None:
            self.model = model
            self.checkpoint = None
            return
        path = _checkpoint(checkpoint, "LaionClapTwoTower", "music_audioset_epoch_15_esc_90.14.pt")
        laion_clap = require("laion_clap", "LaionClapTwoTower", "laion")
        if amodel is None:
            amodel = "HTSAT-base" if "music" in os.path.basename(path).lower() else "HTSAT-tiny"
        kwargs = {"enable_fusion": check_bool(enable_fusion, "enable_fusion"), "amodel": amodel}
        if device is not None:
            kwargs["device"] = device
        try:
            with _offline():
                self.model = laion_clap.CLAP_Module(**kwargs)
        except OSError as exc:
            raise OSError(
                "LaionClapTwoTower: LAION-CLAP's text tower needs the 'roberta-base' tokenizer and config "
                "in the local Hugging Face cache (HF_HOME); timbrefast does not download them"
            ) from exc
        self.model.load_ckpt(path, verbose=False)
        self.checkpoint = path

    def _audio(self, batch: AudioBatch) -> Any:
        def run(x: np.ndarray) -> Any:
            if self.quantize:
                x = (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16).astype(np.float32) / 32767.0
            return self.model.get_audio_embedding_from_data(x=x, use_tensor=False)

        return self._per_clip_or_batch(batch, run)

    def _text(self, texts: List[str]) -> Any:
        tok = getattr(self.model, "tokenize", None)
        if callable(tok):
            try:
                ids = tok(texts)["input_ids"]
                warn_truncated([len(i) for i in ids], self.max_text_tokens, texts, "LAION-CLAP")
            except (TypeError, KeyError):  # a tokenizer that cannot count: no warning
                pass
        if len(texts) == 1:  # LAION-CLAP squeezes a batch of one: embed it twice
            return np.asarray(self.model.get_text_embedding(texts * 2, use_tensor=False))[:1]
        return self.model.get_text_embedding(texts, use_tensor=False)


class MSClapTwoTower(_Base):
    """Microsoft CLAP (``pip install msclap``; the ``[msclap]`` extra) from a local checkpoint.

    Parameters
    ----------
    checkpoint : path
        The weights file, e.g. ``CLAP_weights_2023.pth``.
    version : {"2022", "2023", "clapcap"}, default "2023"
    use_cuda : bool, default False
    model : msclap.CLAP, optional
        An already-loaded wrapper instead of ``checkpoint``.

    MS-CLAP reads audio from files and resamples them itself (to 44.1 kHz): arrays are
    written to temporary WAV files at their own rate. Its text encoder (GPT-2 for 2023,
    BERT for 2022) comes from the local Hugging Face cache, looked up offline. MS-CLAP
    crops clips longer than its duration at a random offset (its own behaviour).
    """

    sample_rate = None  # any rate: MS-CLAP resamples

    def __init__(self, checkpoint: Any = None, *, version: str = "2023", use_cuda: bool = False,
                 model: Any = None) -> None:
        self.resample = False
        if model is not None:
            self.model = model
            self.checkpoint = None
            return
        if version not in ("2022", "2023", "clapcap"):
            raise ValueError(f"version must be '2022', '2023' or 'clapcap', got {version!r}")
        path = _checkpoint(checkpoint, "MSClapTwoTower", "CLAP_weights_2023.pth")
        msclap = require("msclap", "MSClapTwoTower", "msclap")
        try:
            with _offline():
                self.model = msclap.CLAP(model_fp=path, version=version, use_cuda=check_bool(use_cuda, "use_cuda"))
        except OSError as exc:
            raise OSError(
                f"MSClapTwoTower: MS-CLAP {version}'s text encoder must be in the local Hugging Face cache "
                "(HF_HOME); timbrefast does not download it"
            ) from exc
        self.checkpoint = path

    def _audio(self, batch: AudioBatch) -> Any:
        from .protocol import _to_numpy

        if batch.paths is not None:
            return _to_numpy(self.model.get_audio_embeddings(batch.paths, resample=True), "audio embeddings")
        import soundfile as sf

        with tempfile.TemporaryDirectory(prefix="timbrefast-msclap-") as tmp:
            paths = []
            for i, clip in enumerate(batch.clips):
                p = os.path.join(tmp, f"clip{i:06d}.wav")
                sf.write(p, clip, batch.sr, subtype="FLOAT")
                paths.append(p)
            return _to_numpy(self.model.get_audio_embeddings(paths, resample=True), "audio embeddings")

    def _text(self, texts: List[str]) -> Any:
        return self.model.get_text_embeddings(texts)


class HFClapTwoTower(_Base):
    """A Hugging Face ``transformers.ClapModel`` saved in a local directory (the ``[hf]`` extra).

    Parameters
    ----------
    path : directory
        Holds ``config.json``, the weights and the processor files
        (``preprocessor_config.json`` or ``processor_config.json``, and the tokenizer), as
        ``save_pretrained`` writes them.
    device : str, default "cpu"
    resample : bool, default False
        Resample arrays not at the feature extractor's rate (48 kHz for CLAP).

    Loaded with ``local_files_only=True``: nothing is downloaded. Texts longer than the
    tokenizer's limit are truncated with a warning.
    """

    def __init__(self, path: Any, *, device: str = "cpu", resample: bool = False) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a directory path, got {type(path).__name__}")
        p = os.fspath(path)
        if not os.path.isdir(p):
            raise FileNotFoundError(f"HFClapTwoTower: the model directory {p} does not exist")
        if not os.path.isfile(os.path.join(p, "config.json")):
            raise FileNotFoundError(f"HFClapTwoTower: {os.path.join(p, 'config.json')} is missing (save_pretrained writes it)")
        if not any(os.path.isfile(os.path.join(p, f)) for f in ("preprocessor_config.json", "processor_config.json")):
            raise FileNotFoundError(
                f"HFClapTwoTower: {os.path.join(p, 'preprocessor_config.json')} (or processor_config.json) is missing "
                "(the processor's save_pretrained writes it)"
            )
        transformers = require("transformers", "HFClapTwoTower", "hf")
        self.torch = require("torch", "HFClapTwoTower", "hf")
        with _offline():
            try:
                self.model = transformers.ClapModel.from_pretrained(p, local_files_only=True).to(device).eval()
                self.processor = transformers.ClapProcessor.from_pretrained(p, local_files_only=True)
            except OSError as exc:
                raise OSError(f"HFClapTwoTower: {p} lacks a file the model or processor needs: {exc}") from exc
        self.device = device
        self.path = p
        self.resample = check_bool(resample, "resample")
        self.sample_rate = int(self.processor.feature_extractor.sampling_rate)

    @staticmethod
    def _features(out: Any) -> Any:
        if hasattr(out, "pooler_output") and not hasattr(out, "shape"):
            return out.pooler_output
        return out

    def _audio(self, batch: AudioBatch) -> Any:
        feats = self.processor.feature_extractor(batch.clips, sampling_rate=self.sample_rate, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in feats.items() if k in ("input_features", "is_longer")}
        with self.torch.no_grad():
            return self._features(self.model.get_audio_features(**inputs))

    def _text(self, texts: List[str]) -> Any:
        tok = self.processor.tokenizer
        limit = int(min(tok.model_max_length, self.model.config.text_config.max_position_embeddings - 2))
        warn_truncated([len(i) for i in tok(texts)["input_ids"]], limit, texts, "Hugging Face CLAP")
        enc = tok(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        with self.torch.no_grad():
            return self._features(self.model.get_text_features(**inputs))
