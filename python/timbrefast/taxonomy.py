"""Instrument taxonomies: trees of terms, path distances and ontology triplets.

A :class:`Taxonomy` is a rooted tree. Its *top families* are the children of the
root (e.g. aerophones, chordophones, ...). The distance between two terms is the
number of edges on the path between them; for two terms in different top
families the ``cross_family`` policy decides:

* ``"farthest"`` (default): ``inf``, farther than any path inside a family;
* ``"path"``: the path through the root (a finite number);
* a number: that distance.

Triplets (anchor, positive, negative) keep the positive *strictly* closer to the
anchor than the negative (see :func:`timbrefast.metrics.ontology_triplets`).

Built from a nested dict (:meth:`Taxonomy.from_dict`), a JSON file
(:meth:`Taxonomy.from_json`), the AudioSet ontology JSON at a user's path
(:meth:`Taxonomy.from_audioset`), Hornbostel-Sachs codes
(:meth:`Taxonomy.from_hornbostel_sachs`), ``music21.instrument`` classes
(:meth:`Taxonomy.from_music21`), or the bundled instrument tree
(:meth:`Taxonomy.bundled`). Pure Python; no optional dependency at import.
"""
from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["Taxonomy", "HORNBOSTEL_SACHS_CLASSES"]

PathLike = Union[str, "os.PathLike[str]"]

#: Names of the top-level Hornbostel-Sachs classes (5 = electrophones, after Sachs 1940).
HORNBOSTEL_SACHS_CLASSES: Dict[str, str] = {
    "1": "idiophones",
    "2": "membranophones",
    "3": "chordophones",
    "4": "aerophones",
    "5": "electrophones",
}

_ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "taxonomy")
_FORMAT = "timbrefast-taxonomy"


def _norm(term: str) -> str:
    return " ".join(term.replace("_", " ").lower().split())


class Taxonomy:
    """A rooted tree of terms with path distances.

    Parameters
    ----------
    parents : mapping of str to str or None
        Each node's key and its parent's key; exactly one node (the root) has ``None``.
    names : mapping of str to str, optional
        Display names (default: the keys). Lookups accept keys, names and aliases,
        case-insensitively, with ``_`` read as a space.
    aliases : mapping of str to str, optional
        Extra terms that resolve to a node key (e.g. ``"violoncello" -> "cello"``).
    name : str, optional
        The taxonomy's name.

    Examples
    --------
    >>> from timbrefast import taxonomy
    >>> t = taxonomy.Taxonomy.from_dict({"brass": ["trumpet", "tuba"], "strings": ["violin"]})
    >>> t.distance("trumpet", "tuba"), t.distance("trumpet", "violin")
    (2.0, inf)
    >>> t.distance("trumpet", "violin", cross_family="path")
    4.0
    """

    def __init__(
        self,
        parents: Mapping[str, Optional[str]],
        *,
        names: Optional[Mapping[str, str]] = None,
        aliases: Optional[Mapping[str, str]] = None,
        name: Optional[str] = None,
    ) -> None:
        if not isinstance(parents, Mapping) or not parents:
            raise ValueError("parents must be a non-empty mapping of node -> parent (None for the root)")
        self._parent: Dict[str, Optional[str]] = {}
        for k, p in parents.items():
            if not isinstance(k, str) or not k.strip():
                raise TypeError(f"node keys must be non-empty strings, got {k!r}")
            if p is not None and not isinstance(p, str):
                raise TypeError(f"the parent of {k!r} must be a string or None, got {type(p).__name__}")
            self._parent[k] = p
        roots = [k for k, p in self._parent.items() if p is None]
        if len(roots) != 1:
            raise ValueError(f"a taxonomy needs exactly one root (parent None), got {len(roots)}: {roots[:5]}")
        self.root: str = roots[0]
        missing = sorted({p for p in self._parent.values() if p is not None and p not in self._parent})
        if missing:
            raise ValueError(f"parents name unknown node(s): {missing[:5]}")
        self._children: Dict[str, List[str]] = {k: [] for k in self._parent}
        for k, p in self._parent.items():
            if p is not None:
                self._children[p].append(k)
        # Depths by walking down from the root; a node never reached sits on a cycle.
        self._depth: Dict[str, int] = {self.root: 0}
        stack = [self.root]
        while stack:
            node = stack.pop()
            for c in self._children[node]:
                self._depth[c] = self._depth[node] + 1
                stack.append(c)
        if len(self._depth) != len(self._parent):
            cyc = sorted(set(self._parent) - set(self._depth))
            raise ValueError(f"the parents contain a cycle through {cyc[:5]}")
        self.name = name
        self._names: Dict[str, str] = {k: k for k in self._parent}
        if names:
            for k, v in names.items():
                if k not in self._parent:
                    raise ValueError(f"names: unknown node {k!r}")
                self._names[k] = str(v)
        # Lookup order: keys, then aliases, then display names (which may repeat).
        self._keys: Dict[str, str] = {_norm(k): k for k in self._parent}
        self._by_name: Dict[str, List[str]] = {}
        for k, v in self._names.items():
            self._by_name.setdefault(_norm(v), []).append(k)
        self._aliases: Dict[str, str] = {}
        self._alias_lookup: Dict[str, str] = {}
        for a, target in (aliases or {}).items():
            if not isinstance(a, str) or not isinstance(target, str):
                raise TypeError(f"aliases must map strings to strings, got {a!r}: {target!r}")
            key = self.resolve(target)
            if _norm(a) in self._keys and self._keys[_norm(a)] != key:
                raise ValueError(f"alias {a!r} -> {target!r} shadows the node {self._keys[_norm(a)]!r}")
            self._aliases[a] = key
            self._alias_lookup[_norm(a)] = key

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_dict(
        cls,
        tree: Mapping[str, Any],
        *,
        root: str = "root",
        aliases: Optional[Mapping[str, str]] = None,
        name: Optional[str] = None,
    ) -> "Taxonomy":
        """Build from a nested dict: its keys are the top families under ``root``.

        A value is a dict of children, a list of leaf names (or of nested dicts), or
        ``None`` / ``{}`` / ``[]`` for a leaf. Every name must be unique.

        Examples
        --------
        >>> from timbrefast.taxonomy import Taxonomy
        >>> t = Taxonomy.from_dict({"winds": {"brass": ["horn"], "reeds": ["oboe"]}})
        >>> t.path("horn", "oboe")
        ['horn', 'brass', 'winds', 'reeds', 'oboe']
        """
        if not isinstance(tree, Mapping) or not tree:
            raise ValueError("tree must be a non-empty dict of top families")
        parents: Dict[str, Optional[str]] = {root: None}

        def add(node: Any, parent: str) -> None:
            if not isinstance(node, str) or not node.strip():
                raise TypeError(f"taxonomy names must be non-empty strings, got {node!r} under {parent!r}")
            if node in parents:
                raise ValueError(f"duplicate taxonomy node {node!r} (under {parents[node]!r} and {parent!r})")
            parents[node] = parent

        def walk(value: Any, parent: str) -> None:
            if value is None:
                return
            if isinstance(value, Mapping):
                for k, v in value.items():
                    add(k, parent)
                    walk(v, k)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Mapping):
                        walk(item, parent)
                    else:
                        add(item, parent)
            else:
                raise TypeError(
                    f"the children of {parent!r} must be a dict, a list or None, got {type(value).__name__}"
                )

        walk(tree, root)
        return cls(parents, aliases=aliases, name=name)

    @classmethod
    def from_json(cls, path: PathLike) -> "Taxonomy":
        """Read a taxonomy written by :meth:`to_json` (``{"tree": ..., "root": ..., "aliases": ...}``)
        or a plain nested dict (its keys are the top families)."""
        with open(os.fspath(path), encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a taxonomy JSON must hold an object, got {type(data).__name__}")
        if data.get("format") == _FORMAT:
            if "tree" not in data:
                raise ValueError(f"{path}: a {_FORMAT} file needs a 'tree'")
            return cls.from_dict(
                data["tree"], root=data.get("root", "root"), aliases=data.get("aliases"), name=data.get("name")
            )
        return cls.from_dict(data, name=os.path.splitext(os.path.basename(os.fspath(path)))[0])

    @classmethod
    def bundled(cls, name: str = "instruments") -> "Taxonomy":
        """The bundled instrument tree (Doktorski style: idiophones, membranophones,
        chordophones, aerophones and electrophones as top families), with aliases for
        the TinySOL labels (``"trumpet in c"``, ``"violoncello"``, ...)."""
        path = os.path.join(_ASSETS, f"{name}.json")
        if not os.path.isfile(path):
            have = sorted(f[:-5] for f in os.listdir(_ASSETS) if f.endswith(".json"))
            raise ValueError(f"no bundled taxonomy {name!r}; available: {have}")
        return cls.from_json(path)

    @classmethod
    def from_audioset(cls, path: PathLike, *, root: str = "Musical instrument") -> "Taxonomy":
        """The subtree of the AudioSet ontology (``ontology.json``, a list of nodes with
        ``id``, ``name`` and ``child_ids``) below ``root`` (a name or an id).

        The ontology is a graph where a few nodes have two parents: each node is kept
        under the parent through which a breadth-first walk from ``root`` first reaches
        it. Keys are the AudioSet ids; names are looked up too.
        """
        with open(os.fspath(path), encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, list) or not all(isinstance(d, dict) and "id" in d for d in data):
            raise ValueError(f"{path}: expected the AudioSet ontology, a JSON list of nodes with 'id'")
        by_id = {d["id"]: d for d in data}
        start = by_id.get(root)
        if start is None:
            matches = [d for d in data if _norm(str(d.get("name", ""))) == _norm(root)]
            if not matches:
                raise ValueError(f"{path}: no node with id or name {root!r}")
            start = matches[0]
        parents: Dict[str, Optional[str]] = {start["id"]: None}
        queue = [start["id"]]
        while queue:
            nid = queue.pop(0)
            for c in by_id[nid].get("child_ids", []) or []:
                if c in by_id and c not in parents:
                    parents[c] = nid
                    queue.append(c)
        names = {k: str(by_id[k].get("name", k)) for k in parents}
        return cls(parents, names=names, name=f"audioset:{names[start['id']]}")

    @classmethod
    def from_hornbostel_sachs(
        cls, codes: Mapping[str, str], *, names: Optional[Mapping[str, str]] = None
    ) -> "Taxonomy":
        """Build from Hornbostel-Sachs codes, e.g. ``{"violin": "321.322-71", "flute": "421.121.12"}``.

        Every digit of a code (dots ignored; suffixes after ``-`` dropped) is one level:
        ``"421.121.12"`` sits under ``4 -> 42 -> 421 -> 421.1 -> ...``. Each instrument is a
        leaf under its code's node. Code nodes are named by ``names`` (code -> name) or
        :data:`HORNBOSTEL_SACHS_CLASSES` for the top classes, else by the code itself.
        """
        if not isinstance(codes, Mapping) or not codes:
            raise ValueError("codes must be a non-empty mapping of instrument -> Hornbostel-Sachs code")
        parents: Dict[str, Optional[str]] = {"hornbostel-sachs": None}
        node_names: Dict[str, str] = {}
        given = dict(HORNBOSTEL_SACHS_CLASSES)
        given.update(names or {})

        def code_key(digits: str) -> str:  # "42112" -> "421.12" (H-S groups digits by three)
            groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
            return ".".join(groups)

        for inst, code in codes.items():
            if not isinstance(code, str):
                raise TypeError(f"the code of {inst!r} must be a string, got {type(code).__name__}")
            main = code.split("-")[0].strip()
            if not re.fullmatch(r"[1-5][0-9.]*", main) or main.endswith("."):
                raise ValueError(f"{inst!r}: {code!r} is not a Hornbostel-Sachs code (digits 1-5 first, dots)")
            digits = main.replace(".", "")
            parent = "hornbostel-sachs"
            for i in range(1, len(digits) + 1):
                key = code_key(digits[:i])
                if key not in parents:
                    parents[key] = parent
                    node_names[key] = given.get(key, key)
                parent = key
            if inst in parents:
                raise ValueError(f"duplicate instrument {inst!r} (or it equals a code)")
            parents[inst] = parent
        return cls(parents, names=node_names, name="hornbostel-sachs")

    @classmethod
    def from_music21(cls) -> "Taxonomy":
        """The class hierarchy of ``music21.instrument`` (needs ``music21``, the ``[music21]`` extra).

        Keys are class names (``"Violoncello"``), names their ``instrumentName``;
        top families are the direct subclasses of ``Instrument`` (``StringInstrument``,
        ``WoodwindInstrument``, ...). ``Conductor`` is left out (not an instrument).
        """
        from ._validate import require

        m21 = require("music21.instrument", "Taxonomy.from_music21", "music21")
        base = m21.Instrument
        classes = [c for c in vars(m21).values() if isinstance(c, type) and issubclass(c, base)]
        parents: Dict[str, Optional[str]] = {base.__name__: None}
        names: Dict[str, str] = {base.__name__: "Instrument"}
        for c in classes:
            if c is base or c.__name__ == "Conductor":
                continue
            up = next(b for b in c.__mro__[1:] if isinstance(b, type) and issubclass(b, base))
            parents[c.__name__] = up.__name__
            try:
                label = c().instrumentName
            except Exception:  # a class that cannot be built bare keeps its class name
                label = None
            names[c.__name__] = label or c.__name__
        return cls(parents, names=names, name="music21")

    # ------------------------------------------------------------------ structure

    def resolve(self, term: str) -> str:
        """The node key of a key, name or alias (case-insensitive); KeyError if unknown."""
        if not isinstance(term, str):
            raise TypeError(f"taxonomy terms must be strings, got {type(term).__name__}")
        n = _norm(term)
        if n in self._keys:
            return self._keys[n]
        if n in getattr(self, "_alias_lookup", {}):
            return self._alias_lookup[n]
        hits = self._by_name.get(n, [])
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise KeyError(f"{term!r} names several nodes {hits}; use a key")
        raise KeyError(f"{term!r} is not in the taxonomy{' ' + self.name if self.name else ''}")

    def __contains__(self, term: object) -> bool:
        if not isinstance(term, str):
            return False
        try:
            self.resolve(term)
        except KeyError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._parent)

    def __repr__(self) -> str:
        return f"Taxonomy({self.name!r}, {len(self)} nodes, {len(self.top_families)} top families)"

    @property
    def nodes(self) -> List[str]:
        """All node keys, root first, in breadth-first order."""
        out, queue = [], [self.root]
        while queue:
            n = queue.pop(0)
            out.append(n)
            queue.extend(self._children[n])
        return out

    @property
    def leaves(self) -> List[str]:
        return [n for n in self.nodes if not self._children[n]]

    @property
    def top_families(self) -> List[str]:
        return list(self._children[self.root])

    def name_of(self, term: str) -> str:
        return self._names[self.resolve(term)]

    def parent(self, term: str) -> Optional[str]:
        return self._parent[self.resolve(term)]

    def children(self, term: str) -> List[str]:
        return list(self._children[self.resolve(term)])

    def depth(self, term: str) -> int:
        """Edges from the root (the root is 0, top families 1)."""
        return self._depth[self.resolve(term)]

    def ancestors(self, term: str) -> List[str]:
        """From the term's parent up to the root."""
        out, p = [], self._parent[self.resolve(term)]
        while p is not None:
            out.append(p)
            p = self._parent[p]
        return out

    def top_family(self, term: str) -> Optional[str]:
        """The top family (child of the root) that holds ``term``; None for the root."""
        key = self.resolve(term)
        if key == self.root:
            return None
        chain = [key] + self.ancestors(key)
        return chain[-2]

    def path(self, a: str, b: str) -> List[str]:
        """Node keys on the path from ``a`` to ``b`` (both included)."""
        ka, kb = self.resolve(a), self.resolve(b)
        up_a = [ka] + self.ancestors(ka)
        up_b = [kb] + self.ancestors(kb)
        on_b = set(up_b)
        lca = next(n for n in up_a if n in on_b)
        left = up_a[: up_a.index(lca) + 1]
        right = up_b[: up_b.index(lca)]
        return left + right[::-1]

    # ------------------------------------------------------------------ distances

    def distance(self, a: str, b: str, *, cross_family: Union[str, float] = "farthest") -> float:
        """Edges on the path between ``a`` and ``b``.

        For terms in different top families: ``cross_family="farthest"`` gives ``inf``,
        ``"path"`` the path through the root, a number that number.
        """
        policy = _check_policy(cross_family, allow=("farthest", "path"))
        ka, kb = self.resolve(a), self.resolve(b)
        fa, fb = self.top_family(ka), self.top_family(kb)
        if fa is not None and fb is not None and fa != fb and policy != "path":
            return math.inf if policy == "farthest" else float(policy)
        return float(len(self.path(ka, kb)) - 1)

    def distance_matrix(self, terms: Sequence[str], *, cross_family: Union[str, float] = "farthest") -> np.ndarray:
        """(n, n) float64 matrix of :meth:`distance` between ``terms``."""
        terms = _check_terms(terms)
        n = len(terms)
        d = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                d[i, j] = d[j, i] = self.distance(terms[i], terms[j], cross_family=cross_family)
        return d

    def triplets(
        self,
        terms: Sequence[str],
        *,
        cross_family: Union[str, float] = "farthest",
        enumeration: str = "ordered",
    ) -> np.ndarray:
        """(m, 3) int64 (anchor, positive, negative) indices into ``terms``, positive strictly closer.

        ``cross_family``: ``"farthest"`` (a pair in different top families is farther
        than any path), ``"exclude"`` (no triplet uses such a pair), ``"path"`` (through
        the root) or a number. ``enumeration``: ``"ordered"`` (all ordered triplets of
        distinct terms) or ``"vasilakis2024"`` (anchor before positive and negative).
        See :func:`timbrefast.metrics.ontology_triplets`.
        """
        from .metrics import ontology_triplets

        policy = _check_policy(cross_family, allow=("farthest", "exclude", "path"))
        if policy == "path":
            d = self.distance_matrix(terms, cross_family="path")
            return ontology_triplets(d, mode="strict", enumeration=enumeration)
        d = self.distance_matrix(terms)
        return ontology_triplets(d, mode="strict", enumeration=enumeration, cross_family=policy)

    # ------------------------------------------------------------------ export

    def to_dict(self) -> Dict[str, Any]:
        """The nested dict below the root (leaves as lists), inverse of :meth:`from_dict`."""

        def build(node: str) -> Any:
            kids = self._children[node]
            if all(not self._children[k] for k in kids):
                return list(kids) if kids else None
            return {k: build(k) for k in kids}

        out = build(self.root)
        if isinstance(out, list):
            return {k: None for k in out}
        return out or {}

    def to_json(self, path: PathLike) -> None:
        """Write ``{"format", "version", "name", "root", "tree", "aliases"}`` (read by :meth:`from_json`)."""
        data = {
            "format": _FORMAT,
            "version": 1,
            "name": self.name,
            "root": self.root,
            "tree": self.to_dict(),
            "aliases": dict(self._aliases),
        }
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)


def _check_policy(policy: Any, *, allow: Tuple[str, ...]) -> Union[str, float]:
    if isinstance(policy, str):
        if policy not in allow:
            raise ValueError(f"cross_family must be one of {allow} or a number, got {policy!r}")
        return policy
    if isinstance(policy, bool) or not isinstance(policy, (int, float, np.integer, np.floating)):
        raise TypeError(f"cross_family must be one of {allow} or a number, got {type(policy).__name__}")
    if not np.isfinite(policy) or policy < 0:
        raise ValueError(f"a numeric cross_family distance must be finite and >= 0, got {policy}")
    return float(policy)


def _check_terms(terms: Iterable[str]) -> List[str]:
    if isinstance(terms, str):
        raise TypeError("terms must be a sequence of strings, not one string")
    out = list(terms)
    if not out:
        raise ValueError("terms is empty")
    if len(set(out)) != len(out):
        dup = sorted({t for t in out if out.count(t) > 1})
        raise ValueError(f"terms has duplicates: {dup}")
    return out
