"""timbrefast.plot: the two-tower figures as PNG (matplotlib, the [plot] extra)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import subprocess_pythonpath

pytest.importorskip("matplotlib", reason="matplotlib (the [plot] extra) is not installed")

from timbrefast import plot  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def scores(rng):
    y = np.r_[np.arange(5), rng.integers(0, 5, 45)]
    s = rng.normal(size=(50, 5)) * 0.1 + 0.3 * np.eye(5)[y]
    return s, y


def test_similarity_histogram_png(tmp_path, scores):
    s, y = scores
    for labels in (None, y, np.eye(5, dtype=int)[y]):
        p = tmp_path / "hist.png"
        fig = plot.similarity_histogram(s, labels, path=p, title="t")
        assert p.read_bytes()[:8] == PNG
        ax = fig.axes[0]
        assert len(ax.patches) == (50 if labels is None else 100)  # one bar per bin per series


def test_class_histograms_and_gap(tmp_path, scores):
    s, y = scores
    fig = plot.class_similarity_histograms(s, y, class_names=list("abcde"), columns=2, path=tmp_path / "c.png")
    assert len(fig.axes) == 5 and [a.get_title() for a in fig.axes] == list("abcde")
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG
    fig = plot.top2_gap_histogram(s, y, bins=20, path=tmp_path / "g.png")
    heights = sum(p.get_height() for p in fig.axes[0].patches)
    assert heights == 50  # every clip counted once, right or wrong
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG


def test_bad_input(tmp_path, scores):
    s, y = scores
    with pytest.raises(ValueError, match="labels are required"):
        plot.class_similarity_histograms(s, None)
    with pytest.raises(ValueError, match="class_names"):
        plot.class_similarity_histograms(s, y, class_names=["a"])
    with pytest.raises(ValueError, match="labels must lie"):
        plot.similarity_histogram(s, y + 5)
    with pytest.raises(ValueError, match="non-finite"):
        plot.top2_gap_histogram(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="does not exist"):
        plot.similarity_histogram(s, path=tmp_path / "nope" / "x.png")
    with pytest.raises(TypeError, match="bins"):
        plot.similarity_histogram(s, bins=2.5)


def test_import_timbrefast_does_not_load_matplotlib():
    code = "import sys, timbrefast, timbrefast.taxonomy, timbrefast.metrics; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": subprocess_pythonpath(), "PATH": ""}, check=True)
    assert out.stdout.strip() == "False"
