"""``timbrefast eval retrieval`` end to end on a tiny model: tables, JSON, PNG, errors."""
import csv
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.models.retrieval import RetrievalConfig, RetrievalModel  # noqa: E402

SF2 = "/usr/share/sounds/sf2/TimGM6mb.sf2"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    return save_model(RetrievalModel(RetrievalConfig(embedding_dim=16, widths=(4, 8))),
                      tmp_path_factory.mktemp("m") / "model")


def test_eval_retrieval_patches_and_soundfont(model_dir, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from timbrefast.cli import main

    argv = ["eval", "retrieval", "--model", str(model_dir), "--patches", "12", "--notes", "3",
            "--out", str(tmp_path / "out"), "--json"]
    if os.path.exists(SF2):
        pytest.importorskip("fluidsynth")
        argv += ["--soundfont", SF2, "--mixtures", "2"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    methods = {(r["task"], r["method"]) for r in rows}
    assert ("single", "model") in methods and ("single", "mfcc40") in methods
    for r in rows:
        assert 0.0 <= r["top1"] <= r["top5"] <= 1.0 and r["mean_rank"] >= 1
    patch_rows = [r for r in rows if r["set"].startswith("patches") and r["metric"] == "cosine"]
    assert all(r["n"] == 12 * 2 for r in patch_rows)  # note 0 is the gallery, not a query
    assert (tmp_path / "out" / "report.png").stat().st_size > 1000
    table = list(csv.DictReader(open(tmp_path / "out" / "results.csv")))
    assert len(table) == len(rows)
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "sets" in res
    if os.path.exists(SF2):
        assert any(r["task"] == "mixture" for r in rows)


def test_eval_retrieval_errors(model_dir, tmp_path, capsys):
    from timbrefast.cli import main

    assert main(["eval", "retrieval", "--model", str(model_dir), "--out", str(tmp_path)]) == 2
    assert main(["eval", "retrieval", "--soundfont", str(tmp_path / "no.sf2"), "--out", str(tmp_path)]) == 2
    assert main(["eval", "retrieval", "--patches", "3", "--notes", "1", "--out", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err
