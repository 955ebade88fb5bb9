"""Zero-shot classification with any :class:`~timbrefast.two_tower.TwoTower` model."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .._ops import is_tensor
from .protocol import TwoTower, normalize_rows
from .prompts import _check_classes, prompt_texts

__all__ = ["ZeroShotClassifier", "evaluate_prompt_sets", "evaluate_family_prompts"]

Prompt = Union[str, Sequence[str], Mapping[str, Union[str, Sequence[str]]]]


def _class_prompts(classes: List[str], prompt: Prompt) -> List[List[str]]:
    """Per class, the texts whose embeddings are averaged into its class embedding."""

    def template(t: str) -> bool:
        return "{x}" in t

    def fill(t: str, c: str) -> str:
        return t.replace("{x}", c)

    if isinstance(prompt, str):
        if not template(prompt):
            raise ValueError(
                f"prompt {prompt!r} has no '{{x}}' placeholder for the class name "
                "(pass a list of one text per class for fixed texts)"
            )
        return [[fill(prompt, c)] for c in classes]
    if isinstance(prompt, Mapping):
        missing = [c for c in classes if c not in prompt]
        if missing:
            raise ValueError(f"prompt has no text for class(es) {missing}")
        extra = [k for k in prompt if k not in classes]
        if extra:
            raise ValueError(f"prompt names unknown class(es) {extra}")
        out = []
        for c in classes:
            v = prompt[c]
            texts = [v] if isinstance(v, str) else list(v)
            if not texts or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"prompt[{c!r}] must be a text or a non-empty list of texts")
            out.append(texts)
        return out
    if isinstance(prompt, (list, tuple)):
        if not prompt:
            raise ValueError("prompt is an empty list")
        if not all(isinstance(t, str) for t in prompt):
            raise TypeError("prompt must hold strings")
        kinds = {template(t) for t in prompt}
        if kinds == {True}:  # templates to ensemble
            return [[fill(t, c) for t in prompt] for c in classes]
        if kinds == {False}:  # one text per class
            if len(prompt) != len(classes):
                raise ValueError(
                    f"prompt has {len(prompt)} texts for {len(classes)} classes "
                    "(a list without '{x}' gives one text per class)"
                )
            return [[t] for t in prompt]
        raise ValueError("prompt mixes templates with '{x}' and fixed texts; use one kind")
    raise TypeError(f"prompt must be a template, a list of templates or texts, or a dict; got {type(prompt).__name__}")


class ZeroShotClassifier:
    """Zero-shot classifier: cosine similarity of audio embeddings with class prompts.

    Parameters
    ----------
    model : TwoTower
        Anything with ``embed_audio(audio, *, sr)`` and ``embed_text(texts)``.
    classes : sequence of str
        Class names (distinct, non-empty).
    prompt : str, list of str or dict, default "A {x} track"
        A template with ``{x}`` (the class name); a list of templates, whose text
        embeddings are averaged per class (then re-normalised); a list of one text per
        class (no ``{x}``); or a dict class -> text (or list of texts to average).

    Examples
    --------
    >>> import numpy as np
    >>> from timbrefast.two_tower import CallableTwoTower, ZeroShotClassifier
    >>> model = CallableTwoTower(lambda x: np.c_[x.mean(1) > 0, x.mean(1) <= 0].astype(float),
    ...                          lambda t: np.array([[1.0, 0.0] if "up" in s else [0.0, 1.0] for s in t]))
    >>> clf = ZeroShotClassifier(model, ["up", "down"])
    >>> clf.predict(np.array([[0.5, 0.5], [-0.5, -0.5]], np.float32), sr=16000).tolist()
    [0, 1]
    """

    def __init__(self, model: Any, classes: Sequence[str], *, prompt: Prompt = "A {x} track") -> None:
        if not isinstance(model, TwoTower):
            raise TypeError(
                f"model must implement embed_audio(audio, *, sr) and embed_text(texts); got {type(model).__name__}"
            )
        self.model = model
        self.classes: List[str] = _check_classes(classes)
        self.prompts: List[List[str]] = _class_prompts(self.classes, prompt)
        for c, texts in zip(self.classes, self.prompts):
            for t in texts:
                if not t.strip():
                    raise ValueError(f"the prompt of class {c!r} is empty")
        self._text: Optional[np.ndarray] = None

    @classmethod
    def from_prompt_set(cls, model: Any, classes: Sequence[str], name: str, *, seed: int = 0,
                        definitions: Optional[Mapping[str, str]] = None,
                        compat: Optional[str] = None) -> "ZeroShotClassifier":
        """A classifier on a published prompt set (:data:`~timbrefast.two_tower.PROMPT_SETS`)."""
        classes = _check_classes(classes)
        texts = prompt_texts(name, classes, seed=seed, definitions=definitions, compat=compat)
        return cls(model, classes, prompt=dict(zip(classes, texts)))

    @property
    def text_embeddings(self) -> np.ndarray:
        """(n_classes, d) float32 L2-normalised class embeddings (computed once)."""
        if self._text is None:
            flat = [t for texts in self.prompts for t in texts]
            emb = self.model.embed_text(flat)
            if is_tensor(emb):
                emb = emb.detach().cpu().float().numpy()
            emb = np.asarray(emb, dtype=np.float64)
            if emb.ndim != 2 or emb.shape[0] != len(flat):
                raise ValueError(f"embed_text returned shape {emb.shape} for {len(flat)} texts")
            if not np.isfinite(emb).all():
                raise ValueError("embed_text returned non-finite values (NaN or Inf)")
            emb = normalize_rows(emb, "text embeddings").astype(np.float64)
            out, i = [], 0
            for texts in self.prompts:
                out.append(emb[i:i + len(texts)].mean(axis=0))
                i += len(texts)
            self._text = normalize_rows(np.stack(out), "class embeddings (prompt ensemble)")
        return self._text

    def similarity(self, audio: Any, *, sr: Optional[int] = None) -> Any:
        """(n, n_classes) cosine similarity of each clip with each class; numpy or a tensor like ``audio``."""
        return self.similarity_from_embeddings(self.model.embed_audio(audio, sr=sr))

    def similarity_from_embeddings(self, audio_embeddings: Any) -> Any:
        """:meth:`similarity` of audio embeddings ``(n, d)`` computed before (by ``model.embed_audio``)."""
        a = audio_embeddings
        text = self.text_embeddings
        if is_tensor(a):
            import torch

            if a.ndim != 2 or a.shape[1] != text.shape[1]:
                raise ValueError(f"embed_audio returned shape {tuple(a.shape)}; text embeddings are {text.shape}")
            t = torch.from_numpy(text).to(device=a.device, dtype=a.dtype if a.dtype.is_floating_point else torch.float32)
            a = torch.nn.functional.normalize(a.to(t.dtype), dim=1)
            if not torch.isfinite(a).all():
                raise ValueError("embed_audio returned non-finite values (NaN or Inf)")
            return a @ t.T
        a = np.asarray(a, dtype=np.float32)
        if a.ndim != 2 or a.shape[1] != text.shape[1]:
            raise ValueError(f"embed_audio returned shape {a.shape}; text embeddings are {text.shape}")
        if not np.isfinite(a).all():
            raise ValueError("embed_audio returned non-finite values (NaN or Inf)")
        return normalize_rows(a, "audio embeddings") @ text.T

    def predict(self, audio: Any, *, sr: Optional[int] = None) -> Any:
        """(n,) index of the most similar class (int64; a tensor for tensor audio)."""
        s = self.similarity(audio, sr=sr)
        return s.argmax(dim=1) if is_tensor(s) else s.argmax(axis=1).astype(np.int64)

    def predict_labels(self, audio: Any, *, sr: Optional[int] = None) -> List[str]:
        """The class names of :meth:`predict`."""
        idx = self.predict(audio, sr=sr)
        idx = idx.tolist() if hasattr(idx, "tolist") else list(idx)
        return [self.classes[i] for i in idx]

    def evaluate(self, audio: Any, labels: Any, *, sr: Optional[int] = None) -> Dict[str, float]:
        """:func:`timbrefast.metrics.zero_shot_metrics` of :meth:`similarity` against ``labels``
        (int indices into ``classes``, one-hot, or class names)."""
        from ..metrics import zero_shot_metrics

        if isinstance(labels, (list, tuple)) and labels and all(isinstance(v, str) for v in labels):
            index = {c: i for i, c in enumerate(self.classes)}
            unknown = sorted({v for v in labels if v not in index})
            if unknown:
                raise ValueError(f"labels name unknown class(es) {unknown}")
            labels = np.array([index[v] for v in labels])
        s = self.similarity(audio, sr=sr)
        return zero_shot_metrics(s, labels)

    def __repr__(self) -> str:
        n = sum(len(p) for p in self.prompts)
        return f"ZeroShotClassifier({type(self.model).__name__}, {len(self.classes)} classes, {n} prompt texts)"


def evaluate_prompt_sets(
    model: Any,
    audio: Any,
    labels: Any,
    classes: Sequence[str],
    *,
    sr: Optional[int] = None,
    prompt_sets: Optional[Sequence[str]] = None,
    seed: int = 0,
    compat: Optional[str] = None,
    audio_only: bool = True,
) -> Dict[str, Dict[str, float]]:
    """The paper's table: :func:`~timbrefast.metrics.zero_shot_metrics` per prompt set.

    The audio is embedded once. ``prompt_sets`` default to all of
    :data:`~timbrefast.two_tower.PROMPT_SETS`; ``labels`` are int indices into ``classes``
    (or one-hot). With ``audio_only`` the table also has the rows ``"audio_only"``
    (class prototypes including the query, as published) and ``"audio_only_loo"``
    (leave-one-out), see :func:`~timbrefast.metrics.prototype_similarity`.
    """
    from ..metrics import prototype_similarity, zero_shot_metrics
    from .prompts import PROMPT_SETS

    classes = _check_classes(classes)
    names = list(PROMPT_SETS) if prompt_sets is None else list(prompt_sets)
    emb = model.embed_audio(audio, sr=sr)
    if is_tensor(emb):
        emb = emb.detach().cpu().float().numpy()
    emb = np.asarray(emb)
    table: Dict[str, Dict[str, float]] = {}
    for name in names:
        clf = ZeroShotClassifier.from_prompt_set(model, classes, name, seed=seed, compat=compat)
        table[name] = zero_shot_metrics(clf.similarity_from_embeddings(emb), labels)
    if audio_only:
        n_classes = len(classes)
        table["audio_only"] = zero_shot_metrics(prototype_similarity(emb, labels, n_classes=n_classes), labels)
        table["audio_only_loo"] = zero_shot_metrics(
            prototype_similarity(emb, labels, n_classes=n_classes, leave_one_out=True), labels
        )
    return table


def evaluate_family_prompts(
    model: Any,
    audio: Any,
    labels: Any,
    classes: Sequence[str],
    *,
    sr: Optional[int] = None,
    family_of: Optional[Mapping[str, str]] = None,
    families: Optional[Sequence[str]] = None,
    templates: Optional[Sequence[str]] = None,
) -> Dict[str, Dict[str, float]]:
    """Family-level zero-shot: each clip against one prompt per family.

    ``labels`` index ``classes``; ``family_of`` maps each class to its family (default
    :data:`~timbrefast.two_tower.TINYSOL_FAMILIES`), ``families`` fixes their order
    (default :data:`~timbrefast.two_tower.FAMILIES`). Returns one
    :func:`~timbrefast.metrics.zero_shot_metrics` row per template of
    :data:`~timbrefast.two_tower.FAMILY_TEMPLATES` (or ``templates``).
    """
    from ..metrics import _array, zero_shot_metrics
    from .prompts import FAMILIES, FAMILY_TEMPLATES, TINYSOL_FAMILIES

    classes = _check_classes(classes)
    family_of = TINYSOL_FAMILIES if family_of is None else family_of
    fams = _check_classes(FAMILIES if families is None else families)
    missing = [c for c in classes if c not in family_of]
    if missing:
        raise ValueError(f"family_of has no family for class(es) {missing}")
    unknown = sorted({family_of[c] for c in classes} - set(fams))
    if unknown:
        raise ValueError(f"family_of names families {unknown} that are not in families {fams}")
    y = _array(labels, "labels")
    if y.ndim == 2:
        y = y.argmax(axis=1)
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= len(classes):
        raise ValueError(f"labels must be integer indices into the {len(classes)} classes")
    fam_index = {f: i for i, f in enumerate(fams)}
    fam_labels = np.array([fam_index[family_of[classes[int(i)]]] for i in y])
    emb = model.embed_audio(audio, sr=sr)
    table: Dict[str, Dict[str, float]] = {}
    for template in (FAMILY_TEMPLATES if templates is None else templates):
        clf = ZeroShotClassifier(model, fams, prompt=template)
        table[template] = zero_shot_metrics(clf.similarity_from_embeddings(emb), fam_labels)
    return table
