"""Every ```python block of README.md and docs/*.md runs as written (issue 12, defect 14).

How a page is run: its blocks are pasted, in order, into one plain script
(``python page.py``) that runs in a fresh interpreter, in an empty temporary working
directory, importing the same timbrefast as the test run (the installed package in CI, the
checkout's ``python/`` in development) -- as a user copying the page
top to bottom into a file would run it. Blocks are therefore **cumulative**: block N runs
after blocks 1..N-1 of the same page and sees their names (a page may define ``sf2`` once
and use it below). The script is a real ``__main__`` module, so what ``spawn`` worker
processes do with it (import it again) happens exactly as for a user: an example with
``workers > 1`` must carry its ``if __name__ == "__main__":`` guard.

Each block is one test (id ``page:line``). A block passes when the script gets past its
end; when an earlier block fails, the later ones of the page fail as "not reached".
Interactive-session blocks (lines starting ``>>> ``) contribute their ``>>>`` / ``...``
lines, without the prompts (what a user types); their output lines are not compared.

A block preceded by ``<!-- no-test: reason -->`` (blank lines allowed in between) is left
out of the script and reported as skipped with that reason: use it sparingly, for
blocks that need a GPU or the user's own data. Pages whose examples need an extra that is
not installed (torch, pyfluidsynth and the TimGM6mb soundfont, music21) are skipped with
that reason. Pages listed in :data:`KNOWN_FAILING` are marked xfail(strict=False) with the
reason (examples that fail as written on pages other sessions are rewriting).
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import subprocess_pythonpath

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if p.is_file()]
TIMEOUT_S = 600  # per page; a hang fails the page instead of stalling CI
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_NO_TEST = re.compile(r"<!--\s*no-test:\s*(.*?)\s*-->\s*$", re.S)

#: Pages whose examples fail as written, with why; each block of such a page is
#: xfail(strict=False). Remove a page from here once its examples run.
KNOWN_FAILING: dict = {}


def _blocks(page: Path):
    """``(line, code, skip_reason)`` of every ```python block of a page."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[: m.start()].rstrip()
        marker = _NO_TEST.search(before[-500:])
        reason = marker.group(1) if marker and before.endswith("-->") else None
        code = m.group(1)
        if code.lstrip().startswith(">>> "):  # an interactive session: what the user types
            code = "\n".join(ln[4:] for ln in code.splitlines() if ln.startswith((">>> ", "... "))) + "\n"
        out.append((line, code, reason))
    return out


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _script(page: Path, blocks) -> str:
    """The page as one plain script, with a progress marker after each block."""
    parts = []
    for k, (line, code, reason) in enumerate(blocks):
        if reason is not None:
            continue
        parts.append(f"# ---- {_name(page)}, block at line {line} ----\n{code}")
        parts.append(f'if __name__ == "__main__":\n    print("<<<block {k} done>>>", flush=True)\n')
    return "\n".join(parts)


def _missing_extra(code: str):
    """Why this code cannot run here (an extra it needs is absent), or None."""
    if re.search(r"\btorch\b", code) and importlib.util.find_spec("torch") is None:
        return "needs torch (the [torch] extra)"
    if re.search(r"Synthesizer|synthesize_|sf2|soundfont", code):
        if importlib.util.find_spec("fluidsynth") is None:
            return "needs pyfluidsynth (the [synth] extra)"
        if not os.path.isfile("/usr/share/sounds/sf2/TimGM6mb.sf2"):
            return "needs /usr/share/sounds/sf2/TimGM6mb.sf2 (scripts/install_system_deps.sh)"
    if re.search(r"chorales|music21", code) and importlib.util.find_spec("music21") is None:
        return "needs music21 (the [music21] extra)"
    return None


_RESULTS: dict = {}


def _run_page(page: Path, tmp_root: Path):
    """Run a page once (cached): (set of block indices that completed, output)."""
    key = _name(page)
    if key not in _RESULTS:
        blocks = _blocks(page)
        wd = tmp_root / re.sub(r"\W", "_", key)
        wd.mkdir(parents=True, exist_ok=True)
        script = wd / "page_example.py"
        script.write_text(_script(page, blocks), encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = subprocess_pythonpath()  # the timbrefast this run tests (installed in CI)
        env.setdefault("MPLBACKEND", "Agg")
        try:
            res = subprocess.run([sys.executable, script.name], cwd=wd, env=env, capture_output=True, text=True,
                                 timeout=TIMEOUT_S)
            output, rc = res.stdout + res.stderr, res.returncode
        except subprocess.TimeoutExpired as exc:
            output = f"timed out after {TIMEOUT_S} s\n{exc.stdout or ''}{exc.stderr or ''}"
            rc = None
        done = {int(k) for k in re.findall(r"<<<block (\d+) done>>>", output)}
        _RESULTS[key] = (done, output, rc)
    return _RESULTS[key]


def _cases():
    for page in PAGES:
        blocks = _blocks(page)
        page_code = "\n".join(code for _, code, reason in blocks if reason is None)
        for k, (line, code, reason) in enumerate(blocks):
            marks = []
            if _name(page) in KNOWN_FAILING:
                marks.append(pytest.mark.xfail(reason=KNOWN_FAILING[_name(page)], strict=False))
            yield pytest.param(page, k, reason, _missing_extra(page_code), id=f"{_name(page)}:{line}", marks=marks)


@pytest.mark.parametrize("page, index, no_test, missing", list(_cases()))
def test_docs_example_runs(page, index, no_test, missing, tmp_path_factory):
    if no_test is not None:
        pytest.skip(f"marked no-test: {no_test}")
    if missing is not None:
        pytest.skip(missing)
    done, output, rc = _run_page(page, tmp_path_factory.getbasetemp() / "docs_examples")
    if index not in done:
        tail = output[-4000:]
        reached = max(done, default=-1)
        raise AssertionError(
            f"{_name(page)}: block {index} did not complete (last completed block: {reached}; exit code {rc}):\n{tail}")


def test_block_parser(tmp_path):
    """The parser finds fenced python blocks, REPL prompts and no-test markers."""
    page = tmp_path / "page.md"
    page.write_text("# T\n\n```python\nx = 1\n```\n\n<!-- no-test: needs a GPU -->\n\n```python\ny = 2\n```\n"
                    "```bash\nls\n```\n```python\n>>> z = x + 1\n>>> z\n2\n```\n", encoding="utf-8")
    blocks = _blocks(page)
    assert [(b[0], b[2]) for b in blocks] == [(3, None), (9, "needs a GPU"), (15, None)]
    assert blocks[0][1] == "x = 1\n" and blocks[2][1] == "z = x + 1\nz\n"
