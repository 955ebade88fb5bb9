"""Evaluation protocols of the seed papers, on top of :mod:`timbrefast.metrics`.

* :mod:`timbrefast.eval.retrieval` -- Le Vaillant & Molle: single-instrument and mixture
  retrieval against a :class:`~timbrefast.scorers.gallery.Gallery`, and the MFCC-40 baseline.
"""
