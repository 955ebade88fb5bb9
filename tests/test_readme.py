"""The README's quickstart runs as written, and its two set-up commands are what CI runs."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytestmark = pytest.mark.skipif(not README.is_file(), reason="needs a source checkout")


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_quickstart_runs(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="the quickstart uses the torch extra")
    pytest.importorskip("fluidsynth", reason="the quickstart renders with pyfluidsynth ([synth] extra)")
    if not Path("/usr/share/sounds/sf2/TimGM6mb.sf2").is_file():
        pytest.skip("TimGM6mb.sf2 is not installed (scripts/install_system_deps.sh)")
    code = re.search(r"```python\n(.*?)```", _section("Quickstart"), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README quickstart", "exec"), namespace)
    assert namespace["feats"].shape == (8, 2, 64, 501)
    assert namespace["scores"].shape == (7,)
    assert 0.0 <= namespace["acc"] <= 1.0
    assert len(namespace["pairs"]) > 0


def test_ci_runs_the_readme_test_command():
    setup = _section("Set-up: the two commands")
    commands = re.findall(r"```bash\n(.*?)\n```", setup, re.S)
    assert len(commands) == 2, "exactly two set-up commands"
    main_job, test_cmd = commands
    assert "timbrefast demo" in main_job
    assert test_cmd in (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
