"""Command-line flags generated from config dataclasses: one place for defaults and help.

Each field of a frozen config dataclass becomes a flag: ``--field-name`` (or the names
given in ``flags``), its default the field's default, its help the field's entry in the
class's numpydoc ``Parameters`` section, its type and choices from the annotation
(``int``, ``float``, ``str``, ``Optional[...]``, ``Literal[...]``; ``bool`` becomes a
``--name / --no-name`` pair).
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import typing
from typing import Any, Dict, Iterable, List, Optional, Sequence, Type

__all__ = ["field_help", "add_config_arguments", "config_from_args"]

_PARAM = re.compile(r"^(?P<names>[A-Za-z_][\w, ]*?)\s*:\s*(?P<type>.+)$")


def field_help(cls: type) -> Dict[str, str]:
    """``{field: description}`` from the numpydoc ``Parameters`` section of ``cls``'s docstring."""
    doc = typing.cast(str, cls.__doc__ or "")
    lines = doc.expandtabs().splitlines()
    out: Dict[str, str] = {}
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "Parameters")
    except StopIteration:
        return out
    i = start + 2  # skip the dashes
    names: List[str] = []
    text: List[str] = []
    base_indent: Optional[int] = None

    def flush() -> None:
        if names:
            for n in names:
                out[n] = " ".join(" ".join(text).split())

    while i < len(lines):
        ln = lines[i]
        stripped = ln.strip()
        indent = len(ln) - len(ln.lstrip())
        if stripped and base_indent is None:
            base_indent = indent
        if stripped and indent == base_indent:
            if i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
                break  # the next section
            m = _PARAM.match(stripped)
            if m is None:
                break
            flush()
            names = [n.strip() for n in m.group("names").split(",") if n.strip()]
            text = []
        elif stripped:
            text.append(stripped)
        i += 1
    flush()
    return out


def _unwrap(tp: Any) -> typing.Tuple[Any, bool]:
    """``(inner type, optional)`` of ``Optional[X]`` / ``X``."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _parser_type(base: Any, flag: str) -> Any:
    if base is int:
        def parse_int(text: str) -> int:
            try:
                return int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        return parse_int
    if base is float:
        def parse_float(text: str) -> float:
            try:
                value = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
            return value
        return parse_float
    return str


def add_config_arguments(
    parser: Any,
    cls: Type[Any],
    *,
    skip: Iterable[str] = (),
    flags: Optional[Dict[str, Sequence[str]]] = None,
    title: Optional[str] = None,
) -> List[str]:
    """Add one flag per field of the dataclass ``cls`` to ``parser``; returns the field names.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Where to add them (in an argument group titled ``title`` when given).
    cls : dataclass type
        The config; every field it adds must have a help entry in its docstring.
    skip : iterable of str
        Fields not to add (set elsewhere, or shared with a config added before).
    flags : dict, optional
        ``{field: ["--name", "--alias"]}`` instead of ``--field-name``.
    """
    flags = dict(flags or {})
    skip = set(skip)
    helps = field_help(cls)
    module = sys.modules[cls.__module__]
    hints = typing.get_type_hints(cls, globalns=vars(module))
    target = parser.add_argument_group(title) if title else parser
    added = []
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        if f.name not in helps:
            raise ValueError(f"{cls.__name__}.{f.name} has no entry in the docstring's Parameters section")
        names = list(flags.get(f.name, ["--" + f.name.replace("_", "-")]))
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
        default = None if required else (f.default if f.default is not dataclasses.MISSING else f.default_factory())  # type: ignore[misc]
        help_text = helps[f.name].replace("%", "%%")
        base, _ = _unwrap(hints[f.name])
        kwargs: Dict[str, Any] = {"dest": f.name, "help": help_text}
        if base is bool:
            kwargs.update(action=argparse.BooleanOptionalAction, default=default)
            kwargs["help"] += f" (default: {'on' if default else 'off'})"
        else:
            if typing.get_origin(base) is typing.Literal:
                choices = list(typing.get_args(base))
                kwargs.update(choices=choices, type=type(choices[0]))
            else:
                kwargs["type"] = _parser_type(base, names[0])
                kwargs["metavar"] = {int: "N", float: "X"}.get(base, f.name.upper())
            if required:
                kwargs["required"] = True
            else:
                kwargs["default"] = default
                if "Default:" not in kwargs["help"]:  # the docstring may say it in words
                    kwargs["help"] += " (default: %(default)s)" if default is not None else " (default: none)"
        target.add_argument(*names, **kwargs)
        added.append(f.name)
    return added


def config_from_args(cls: Type[Any], args: argparse.Namespace, **overrides: Any) -> Any:
    """An instance of ``cls`` from the parsed flags of its fields (and ``overrides``)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.init and hasattr(args, f.name)}
    values.update(overrides)
    return cls(**values)
