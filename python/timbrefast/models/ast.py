"""A local Hugging Face Audio Spectrogram Transformer (AST) as a timbre-retrieval encoder.

The paper (Le Vaillant & Molle) fine-tunes a hub-hosted AST. timbrefast never downloads: this
module accepts a *local* directory written by ``save_pretrained`` (``config.json`` of an
``"audio-spectrogram-transformer"`` model, its weights, and the ``ASTFeatureExtractor``'s
``preprocessor_config.json``), loaded with ``local_files_only=True`` and the hub offline.
Needs ``transformers`` (``pip install 'timbrefast[hf]'``).

:class:`ASTEncoder` (``model_type`` ``"ast"``) maps the extractor's features ``(batch, frames,
mel)`` to unit embeddings: the AST's pooled output (the mean of its two class tokens) or the
mean of its patch tokens, optionally through a linear projection (``embedding_dim``) that a
retrieval recipe can train. :meth:`ASTEncoder.feature_function` is the matching frontend
(waveforms at the extractor's rate -> features), which
:meth:`timbrefast.InstrumentRetriever.from_ast` plugs in.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Union

import numpy as np
import torch
from torch import nn

from .._config import ModelConfig, choice_field, int_field, str_field
from .._validate import require
from .registry import register_model

__all__ = ["ASTEncoderConfig", "ASTEncoder", "check_ast_dir"]

_AST_MODEL_TYPE = "audio-spectrogram-transformer"
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")

PathLike = Union[str, "os.PathLike[str]"]


def check_ast_dir(path: PathLike) -> Path:
    """The resolved local AST directory, or FileNotFoundError / ValueError naming what is missing."""
    p = Path(os.fspath(path)).expanduser()
    if not p.is_dir():
        raise FileNotFoundError(
            f"{path}: not a local directory. The AST encoder never downloads: save a Hugging Face AST "
            "model and its feature extractor there with save_pretrained() first"
        )
    p = p.resolve()
    cfg = p / "config.json"
    if not cfg.is_file():
        raise FileNotFoundError(f"{p}: missing config.json (the AST model's configuration)")
    try:
        model_type = json.loads(cfg.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{cfg}: not a readable JSON model configuration ({exc})") from None
    if model_type != _AST_MODEL_TYPE:
        raise ValueError(f"{cfg}: model_type is {model_type!r}, not an AST ({_AST_MODEL_TYPE!r})")
    if not any((p / w).is_file() for w in _WEIGHTS):
        raise FileNotFoundError(f"{p}: missing the model weights (one of {', '.join(_WEIGHTS)})")
    if not (p / "preprocessor_config.json").is_file():
        raise FileNotFoundError(
            f"{p}: missing preprocessor_config.json (the ASTFeatureExtractor: save it with "
            "feature_extractor.save_pretrained(path))"
        )
    return p


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    before = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class ASTEncoderConfig(ModelConfig):
    """An AST encoder: the local directory ``hf_dir`` and how embeddings are made.

    ``pooling``: ``"pooler"`` (the AST's pooled class tokens) or ``"mean"`` (mean of the patch
    tokens); ``embedding_dim``: a linear projection to that size (0: none, the AST's hidden
    size); ``sample_rate`` must be the feature extractor's; ``clip_samples`` is the window the
    retriever cuts audio into (longer clips: windows averaged).
    """

    model_type = "ast"

    hf_dir: str = str_field(".", max_length=4096)
    pooling: str = choice_field("pooler", ("pooler", "mean"))
    embedding_dim: int = int_field(0, minimum=0, maximum=8192)
    sample_rate: int = int_field(16000, minimum=1, maximum=384000)
    clip_samples: int = int_field(32000, minimum=1, maximum=1 << 24)


@register_model("ast", config_class=ASTEncoderConfig)
class ASTEncoder(nn.Module):
    """Features ``(batch, frames, mel)`` of the AST feature extractor -> unit embeddings ``(batch, d)``."""

    def __init__(self, config: ASTEncoderConfig) -> None:
        super().__init__()
        if not isinstance(config, ASTEncoderConfig):
            raise TypeError(f"config must be an ASTEncoderConfig, got {type(config).__name__}")
        transformers = require("transformers", "the AST encoder", "hf")
        path = check_ast_dir(config.hf_dir)
        with _offline():
            if torch.empty(0).device.type == "meta":
                # checkpoints.load_model sizes a saved model on the meta device before it
                # allocates; from_pretrained refuses that context, and the weights come
                # from the saved safetensors anyway: the architecture from config.json.
                self.ast = transformers.ASTModel(transformers.ASTConfig.from_pretrained(str(path), local_files_only=True))
            else:
                self.ast = transformers.ASTModel.from_pretrained(str(path), local_files_only=True)
            self.extractor = transformers.ASTFeatureExtractor.from_pretrained(str(path), local_files_only=True)
        rate = int(self.extractor.sampling_rate)
        if rate != config.sample_rate:
            raise ValueError(f"sample_rate is {config.sample_rate} Hz but the AST feature extractor in {path} "
                             f"expects {rate} Hz")
        self.config = config
        hidden = int(self.ast.config.hidden_size)
        self.projection = nn.Linear(hidden, config.embedding_dim) if config.embedding_dim else None

    @property
    def embedding_dim(self) -> int:
        return self.config.embedding_dim or int(self.ast.config.hidden_size)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() != 3:
            raise ValueError(f"features must be (batch, frames, mel) from the AST feature extractor, "
                             f"got {tuple(features.shape)}")
        out = self.ast(input_values=features)
        if self.config.pooling == "pooler":
            h = out.pooler_output
        else:
            h = out.last_hidden_state[:, 2:].mean(dim=1)  # tokens 0, 1: the class and distillation tokens
        if self.projection is not None:
            h = self.projection(h)
        return nn.functional.normalize(h, dim=1)

    embed = forward

    def feature_function(self) -> Callable[[np.ndarray], np.ndarray]:
        """Waveforms ``(n, samples)`` float32 at :attr:`config.sample_rate` -> features ``(n, frames, mel)``."""
        extractor, rate = self.extractor, self.config.sample_rate

        def features(windows: Any) -> np.ndarray:
            w = np.asarray(windows, dtype=np.float32)
            if w.ndim != 2:
                raise ValueError(f"windows must be (n, samples), got {w.shape}")
            out = extractor(list(w), sampling_rate=rate, return_tensors="np")["input_values"]
            return np.ascontiguousarray(out, dtype=np.float32)

        return features
