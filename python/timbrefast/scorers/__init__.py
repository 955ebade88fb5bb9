"""Scorers built on trained models (they need torch).

- :mod:`.base` — :class:`~timbrefast.scorers.base.Scorer`: model, device, frontend,
  input parsing, windows, embeddings and ``from_pretrained``, shared by every scorer;
- :mod:`._inputs` — the one input layer (path | numpy | tensor | list → mono float32
  clips at the model rate → windows) and its channel rule;
- :mod:`.coherence` — :class:`~timbrefast.scorers.coherence.CoherenceScorer` (COCOLA).
"""
