"""Scorers built on trained models (they need torch): ``coherence`` (COCOLA)."""
