"""`timbrefast coherence --matrix --json|--csv`, `--gate`, and the score-matrix heat map."""
import argparse
import csv
import io
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sf = pytest.importorskip("soundfile")

from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.models import CocolaConfig, CocolaModel  # noqa: E402
from timbrefast.scorers.cli import register  # noqa: E402
from timbrefast.scorers.coherence import CoherenceScorer  # noqa: E402

SR = 16000


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    torch.manual_seed(0)
    return save_model(CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32)),
                      tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    g = np.random.default_rng(0)
    out = []
    for i in range(4):
        t = np.arange(5 * SR) / SR
        y = 0.2 * np.sin(2 * np.pi * (110 * 2 ** (i / 3)) * t) * (1 + np.sin(2 * np.pi * (i + 1) * t))
        p = d / f"clip{i}.wav"
        sf.write(p, (y + 0.01 * g.standard_normal(t.size)).astype(np.float32), SR)
        out.append(str(p))
    silent = d / "silent.wav"
    sf.write(silent, np.zeros(5 * SR, np.float32), SR)
    out.append(str(silent))
    return out


def _cli(argv):
    parser = argparse.ArgumentParser(prog="timbrefast")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_matrix_json_and_csv(tiny_dir, files, capsys):
    scorer = CoherenceScorer.from_pretrained(tiny_dir)
    ctxs, cands = files[:2], files[2:]
    expected = np.stack([scorer.score(c, cands) for c in ctxs])
    assert _cli(["coherence", *files, "--model", str(tiny_dir), "--matrix", "--contexts", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["contexts"] == ctxs and res["candidates"] == cands
    np.testing.assert_allclose(res["scores"], expected, rtol=1e-4, atol=1e-4)
    assert _cli(["coherence", *files, "--model", str(tiny_dir), "--matrix", "--contexts", "2", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["context", *cands] and [r[0] for r in rows[1:]] == ctxs
    np.testing.assert_allclose(np.array([r[1:] for r in rows[1:]], dtype=float), expected, rtol=1e-4, atol=1e-3)
    assert _cli(["coherence", *files[:3], "--model", str(tiny_dir), "--matrix"]) == 0  # all x all
    out = capsys.readouterr().out
    assert "3 x 3" in out and "clip2.wav" in out


def test_gate_flags_in_cli(tiny_dir, files, capsys, tmp_path):
    assert _cli(["coherence", files[0], files[1], files[4], "--model", str(tiny_dir), "--gate", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["candidates"][files[4]]["flags"] == "silent" and res["candidates"][files[1]]["flags"] == "ok"
    assert res["scores"][files[4]] == res["score_floor"] < res["scores"][files[1]]
    assert _cli(["coherence", files[0], files[1], files[4], "--model", str(tiny_dir), "--gate"]) == 0
    assert "gated" in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    png = tmp_path / "m.png"
    assert _cli(["coherence", *files, "--model", str(tiny_dir), "--matrix", "--gate", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("extra, what", [
    (["--contexts", "2"], "needs --matrix"),
    (["--matrix", "--contexts", "5"], "--contexts"),
    (["--matrix", "--plot", "/no/such/folder/m.png"], "folder"),
    (["--threads", "0"], "--threads"),
])
def test_bad_options_exit_2(tiny_dir, files, capsys, extra, what):
    assert _cli(["coherence", *files, "--model", str(tiny_dir), *extra]) == 2
    err = capsys.readouterr().err
    assert what in err and len(err.strip().splitlines()) == 1


def test_json_and_csv_exclusive(files):
    with pytest.raises(SystemExit):
        _cli(["coherence", *files[:2], "--json", "--csv"])


def test_heatmap_png(tmp_path):
    pytest.importorskip("matplotlib")
    from timbrefast import plot

    m = np.arange(12, dtype=float).reshape(3, 4)
    p = tmp_path / "h.png"
    fig = plot.score_matrix_heatmap(m, row_labels=list("abc"), col_labels=list("wxyz"), floor=2.0, path=p)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and fig is not None
    plot.score_matrix_heatmap(torch.from_numpy(m), annotate=False)
    with pytest.raises(ValueError, match="row_labels"):
        plot.score_matrix_heatmap(m, row_labels=["a"])
    with pytest.raises(ValueError, match="NaN"):
        plot.score_matrix_heatmap(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="shape"):
        plot.score_matrix_heatmap(np.zeros(3))
