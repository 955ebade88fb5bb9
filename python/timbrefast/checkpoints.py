"""Model checkpoints: safetensors weights + a JSON config, never pickle, for any registered model.

A saved model is a directory holding ``model.safetensors`` (the tensors; the
config and its ``model_type`` are repeated in its metadata) and ``config.json``::

    save_model(model, "my_model")          # my_model/model.safetensors + config.json
    model = load_model("my_model")         # the registered class of its model_type, in eval mode

Other files in the directory are ignored, so a training run's ``model/``, ``best/``
and ``checkpoint/`` folders (the last one also holds the optimiser state) all load
the same way.

Loading checks before it allocates: the config (at most 1 MiB of JSON) is parsed
into its registered, bounded config class; the model is built on the ``meta``
device (no memory) to learn the tensor names, shapes and dtypes it needs; these
are compared with the safetensors header (read without loading any tensor); only
when everything matches is the model built and the weights read. Files of format
``timbrefast.cocola/1`` (timbrefast 0.x, the bundled model) are read as model type
``"cocola"``.

Released COCOLA checkpoints (Lightning ``.ckpt`` pickles) are converted by
:mod:`timbrefast.models.cocola_convert` (:func:`convert_cocola_checkpoint`,
:func:`load_cocola_checkpoint`, :func:`read_released_checkpoint`, also importable
from here).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from ._validate import require_torch

__all__ = [
    "CONFIG_NAME",
    "FORMAT",
    "WEIGHTS_NAME",
    "convert_cocola_checkpoint",
    "load_cocola_checkpoint",
    "load_model",
    "load_state_checked",
    "read_config",
    "read_released_checkpoint",
    "save_model",
]

PathLike = Union[str, "os.PathLike[str]"]

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
#: Format written in the safetensors metadata.
FORMAT = "timbrefast.model/1"
#: Formats of earlier versions and the model type they imply.
_LEGACY_FORMATS = {"timbrefast.cocola/1": "cocola"}
_MAX_CONFIG_BYTES = 1 << 20

_CONVERTERS = ("convert_cocola_checkpoint", "load_cocola_checkpoint", "read_released_checkpoint")


def __getattr__(name: str) -> Any:
    # The released-COCOLA converters live beside their model (models/cocola_convert.py, which
    # depends on this module); their old names here resolve by name at first use, so that
    # this module never depends on the converter.
    if name in _CONVERTERS:
        import importlib

        return getattr(importlib.import_module("timbrefast.models.cocola_convert"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> Any:
    return sorted(set(globals()) | set(_CONVERTERS))


def _unwrap(model: Any) -> Any:
    """The module inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    for _ in range(4):
        if getattr(model, "config", None) is not None:
            break
        inner = getattr(model, "_orig_mod", None)
        if inner is None:
            inner = getattr(model, "module", None)
        if inner is None:
            break
        model = inner
    return model


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_model(model: Any, path: PathLike) -> Path:
    """Save a registered model (:mod:`timbrefast.models.registry`) as safetensors + JSON.

    Parameters
    ----------
    model : torch.nn.Module
        A registered model (e.g. :class:`~timbrefast.models.CocolaModel`), or a
        DistributedDataParallel / ``torch.compile`` wrapper of one; its ``config``
        is written beside the weights.
    path : str or os.PathLike
        Output directory (created if needed). Each file is written to a temporary
        name and renamed over the old one, so a reader never sees half a file.

    Returns
    -------
    pathlib.Path
        The directory.

    Examples
    --------
    >>> from timbrefast.models import CocolaModel, CocolaConfig
    >>> import tempfile
    >>> d = save_model(CocolaModel(CocolaConfig(widths=(4,), embedding_dim=8)), tempfile.mkdtemp())
    >>> sorted(p.name for p in d.iterdir())
    ['config.json', 'model.safetensors']
    >>> load_model(d).config.model_type
    'cocola'
    """
    require_torch("timbrefast.checkpoints.save_model")
    from safetensors.torch import save_file

    from .models.registry import registered_model_type

    model = _unwrap(model)
    model_type = registered_model_type(model)  # TypeError for anything unregistered
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    config = model.config.to_json()
    meta = {"format": FORMAT, "model_type": model_type, "config": config}
    _write_atomic(out / WEIGHTS_NAME, lambda p: save_file(tensors, str(p), metadata=meta))
    _write_atomic(out / CONFIG_NAME, lambda p: p.write_text(config + "\n"))
    return out


def _resolve(path: PathLike) -> Tuple[Path, Path]:
    p = Path(path)
    if p.is_dir():
        weights, config = p / WEIGHTS_NAME, p / CONFIG_NAME
        if not weights.exists():
            runs = [d for d in ("model", "best", "checkpoint") if (p / d / WEIGHTS_NAME).is_file()]
            hint = f" (a training run: pass {', '.join(str(p / d) for d in runs)})" if runs else ""
            raise FileNotFoundError(f"{p}: no {WEIGHTS_NAME} in this directory{hint}")
    elif p.suffix == ".safetensors":
        weights, config = p, p.with_suffix(".json")
        if not config.exists():
            config = p.parent / CONFIG_NAME
    elif p.exists():
        raise ValueError(f"{p}: not a model directory or .safetensors file")
    else:
        raise FileNotFoundError(f"{p}: no such model directory or .safetensors file")
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: model weights not found")
    return weights, config


_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
           "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


def _read_header(weights: Path) -> Tuple[Dict[str, str], Dict[str, Tuple[Tuple[int, ...], str]]]:
    """The metadata and ``{name: (shape, dtype)}`` of a safetensors file, no tensor read."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {}
            for k in f.keys():
                s = f.get_slice(k)
                tensors[k] = (tuple(int(d) for d in s.get_shape()), _DTYPES.get(s.get_dtype(), s.get_dtype()))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{weights}: not a readable safetensors file ({exc})") from exc
    return meta, tensors


def read_config(path: PathLike) -> Any:
    """The validated config of a saved model, nothing else read or built.

    Parameters
    ----------
    path : str or os.PathLike
        A model directory or its ``model.safetensors``.

    Returns
    -------
    ModelConfig
        An instance of the config class registered under its ``model_type``.
    """
    require_torch("timbrefast.checkpoints.read_config")
    weights, config_path = _resolve(path)
    meta, _ = _read_header(weights)
    return _config(weights, config_path, meta)


def _config(weights: Path, config_path: Path, meta: Mapping[str, str]) -> Any:
    from . import models  # noqa: F401 - registers the built-in models
    from .models.registry import get_config_class

    if config_path.is_file():
        size = config_path.stat().st_size
        if size > _MAX_CONFIG_BYTES:
            raise ValueError(f"{config_path}: {size} bytes is too large for a model config "
                             f"(at most {_MAX_CONFIG_BYTES})")
        source, text = config_path, config_path.read_text(errors="replace")
    elif "config" in meta:
        source, text = weights, meta["config"]
    else:
        raise FileNotFoundError(f"{config_path}: model config not found (and none in the weights' metadata)")
    if len(text) > _MAX_CONFIG_BYTES:
        raise ValueError(f"{source}: the model config is too large ({len(text)} bytes)")
    try:
        d = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{source}: invalid JSON in the model config ({exc})") from exc
    if not isinstance(d, dict):
        raise ValueError(f"{source}: the model config must be a JSON object, got {type(d).__name__}")
    fmt = meta.get("format")
    implied: Optional[str] = meta.get("model_type") if fmt == FORMAT else _LEGACY_FORMATS.get(fmt or "")
    model_type = d.get("model_type", implied)
    if model_type is None:
        raise ValueError(f"{source}: the config names no model_type (and the weights' metadata none)")
    if implied is not None and model_type != implied:
        raise ValueError(f"{source}: model_type {model_type!r} disagrees with the weights ({implied!r})")
    try:
        config_cls = get_config_class(model_type)
        return config_cls.from_dict({k: v for k, v in d.items() if k != "model_type"})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: invalid model config: {exc}") from exc


def _expected(config: Any) -> Dict[str, Tuple[Tuple[int, ...], str]]:
    """``{name: (shape, dtype)}`` of the state dict ``config`` implies, built on ``meta``."""
    from .models.registry import build_model

    meta_model = build_model(config, device="meta")
    return {k: (tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in meta_model.state_dict().items()}


def _mismatch(expected: Mapping[str, Tuple[Tuple[int, ...], str]],
              found: Mapping[str, Tuple[Tuple[int, ...], str]]) -> Optional[str]:
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [f"{k} {found[k][0]} != {v[0]}" for k, v in expected.items() if k in found and found[k][0] != v[0]]

    def kind(dtype: str) -> str:
        return "float" if dtype.startswith(("float", "bfloat")) else dtype

    dtypes = [f"{k} {found[k][1]} != {v[1]}" for k, v in expected.items()
              if k in found and kind(found[k][1]) != kind(v[1])]
    if not (missing or unexpected or shapes or dtypes):
        return None
    parts = [f"{name} {len(items)} {items[:3]}" for name, items in
             (("missing", missing), ("unexpected", unexpected), ("shape mismatches", shapes),
              ("dtype mismatches", dtypes)) if items]
    return "; ".join(parts)


def load_state_checked(config: Any, state: Mapping[str, Any], what: str) -> Any:
    """Build the registered model of ``config`` and load ``state`` into it, after checking
    on the ``meta`` device that the names, shapes and dtypes match (ValueError ``what: ...``)."""
    found = {k: (tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in state.items()}
    problem = _mismatch(_expected(config), found)
    if problem:
        raise ValueError(f"{what}: {problem}")
    from .models.registry import build_model

    model = build_model(config)
    model.load_state_dict(dict(state), strict=True)
    return model


def load_model(path: PathLike, *, device: Any = "cpu") -> Any:
    """Load a model saved by :func:`save_model` (no pickle involved).

    Parameters
    ----------
    path : str or os.PathLike
        The directory (``model/``, ``best/`` or ``checkpoint/`` of a training run, or
        any folder holding ``model.safetensors`` + ``config.json``; other files are
        ignored), or its ``model.safetensors`` file.
    device : str or torch.device
        Where to put the weights.

    Returns
    -------
    torch.nn.Module
        The class registered under the config's ``model_type``, in eval mode.

    Raises
    ------
    FileNotFoundError
        No weights (or no config) at ``path``.
    ValueError
        An unreadable file, an invalid or out-of-bounds config, an unknown
        ``model_type``, or weights whose names, shapes or dtypes differ from what
        the config implies — all detected before the model is allocated.
    """
    torch = require_torch("timbrefast.checkpoints.load_model")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: not a torch device ({device!r}: {exc})") from None
    weights, config_path = _resolve(path)
    meta, found = _read_header(weights)
    config = _config(weights, config_path, meta)
    problem = _mismatch(_expected(config), found)
    if problem:
        raise ValueError(f"{weights}: weights do not match the config ({config.model_type}): {problem}")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .models.registry import build_model

    model = build_model(config)
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{weights}: not a readable safetensors file ({exc})") from exc
    model.load_state_dict(state, strict=True)
    return model.to(dev).eval()
