"""``timbrefast train``: flags generated from the config dataclasses, errors as one line
with exit status 2 (usage) or 1 (runtime), never a traceback; a tiny run end to end."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import subprocess_pythonpath

torch = pytest.importorskip("torch")

from timbrefast.checkpoints import load_model  # noqa: E402
from timbrefast.cli import build_parser, main  # noqa: E402
from timbrefast.train import TrainerConfig  # noqa: E402
from timbrefast.train._args import field_help  # noqa: E402
from timbrefast.train.cocola import CocolaRecipeConfig  # noqa: E402


def _tiny_slakh(root, tracks=4, seconds=2.0, sr=16000):
    """A Slakh-layout dataset of noise stems (3 per track), written in a few milliseconds."""
    import soundfile as sf
    import yaml

    g = np.random.default_rng(0)
    for t in range(tracks):
        d = Path(root) / f"Track{t:05d}"
        (d / "stems").mkdir(parents=True)
        meta = {"UUID": d.name, "audio_dir": "stems", "midi_dir": "MIDI", "normalized": True, "stems": {}}
        for s in range(3):
            sid = f"S{s:02d}"
            meta["stems"][sid] = {"inst_class": "Piano", "program_num": 0, "is_drum": False,
                                  "midi_program_name": "p", "audio_rendered": True}
            sf.write(str(d / "stems" / f"{sid}.flac"),
                     (0.1 * g.standard_normal(int(seconds * sr))).astype(np.float32), sr)
        (d / "metadata.yaml").write_text(yaml.safe_dump(meta))
    return Path(root)


def _cli(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath(), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "timbrefast", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _one_line_error(proc, code, match):
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert len(errors) == 1 and match in errors[0], proc.stderr


def _status(argv):
    """``main``'s exit status, argparse's SystemExit included."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _train_parser():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    train = sub.choices["train"]
    recipes = next(a for a in train._actions if a.dest == "recipe")
    return parser, recipes.choices["cocola"]


def test_flag_defaults_and_help_come_from_the_configs(tmp_path):
    parser, cocola = _train_parser()
    args = parser.parse_args(["train", "cocola", "--data", "d", "--out", "o"])
    for cls, skip in ((TrainerConfig, {"out_dir"}), (CocolaRecipeConfig, set())):
        helps = field_help(cls)
        for f in dataclasses.fields(cls):
            assert f.name in helps and helps[f.name], f"{cls.__name__}.{f.name} has no help"
            if f.name not in skip:
                assert getattr(args, f.name) == f.default, f.name
    assert args.out_dir == "o"
    text = cocola.format_help()
    for flag in ("--steps N", "--val-every N", "--device", "--amp", "--grad-clip", "--num-workers",
                 "--tensorboard", "--batch-size", "--no-masking", "--masking-per", "--force", "--no-resume"):
        assert flag in text, flag
    # the defaults that used to drift (--steps 5000 / 1000, --val-every 250 / 200)
    assert args.steps == TrainerConfig.steps and args.val_every == TrainerConfig.val_every
    assert f"(default: {TrainerConfig.steps})" in " ".join(text.split())
    # booleans: --no-progress, --no-masking as before
    args = parser.parse_args(["train", "cocola", "--data", "d", "--out", "o", "--no-progress", "--no-masking",
                              "--lr-schedule", "cosine", "--grad-clip", "0.5"])
    assert args.progress is False and args.channel_masking is False and args.grad_clip == 0.5


def test_field_help_parses_numpydoc():
    class Config:
        """Title.

        Parameters
        ----------
        a, b : int
            Shared text
            on two lines.
        c : {"x", "y"}
            Choice.

        Notes
        -----
        d : not a field
        """

    assert field_help(Config) == {"a": "Shared text on two lines.", "b": "Shared text on two lines.", "c": "Choice."}


def test_threads_out_of_range_is_a_usage_error():
    _one_line_error(_cli("--threads", "100000", "demo"), 2, "--threads")
    _one_line_error(_cli("train", "cocola", "--data", ".", "--out", "x", "--threads", "100000"), 2, "--threads")


def test_usage_errors_before_any_work(tmp_path):
    data = _tiny_slakh(tmp_path / "data")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    base = ["train", "cocola", "--data", str(data), "--no-progress"]
    cases = [
        (["--out", str(a_file)], "not a folder"),
        (["--out", str(tmp_path / "o"), "--cache-dir", str(a_file)], "--cache-dir"),
        (["--out", str(tmp_path / "o"), "--steps", "1.5"], "--steps"),
        (["--out", str(tmp_path / "o"), "--lr", "-1"], "lr"),
        (["--out", str(tmp_path / "o"), "--lr", "nan"], "--lr"),
        (["--out", str(tmp_path / "o"), "--batch-size", "1"], "batch_size"),
        (["--out", str(tmp_path / "o"), "--init-from", str(tmp_path / "none")], "--init-from"),
        (["--out", str(tmp_path / "o"), "--amp", "--device", "cpu"], "--amp"),
        (["--out", str(tmp_path / "o"), "--keep-best", "k2", "--val-every", "0"], "keep_best"),
    ]
    if not torch.cuda.is_available():
        cases.append((["--out", str(tmp_path / "o"), "--device", "cuda"], "CUDA is not usable"))
    for extra, match in cases:
        assert _status(base + extra) == 2, extra
    for extra, match in cases[:3] + cases[-3:]:
        _one_line_error(_cli(*base, *extra), 2, match)
    _one_line_error(_cli("train", "cocola", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")),
                    2, "no such folder")
    assert not (tmp_path / "o").exists()


def test_a_folder_given_as_audio_is_a_one_line_error(tmp_path):
    _one_line_error(_cli("coherence", str(tmp_path), str(tmp_path)), 2, "directory")  # a bad argument: usage


def test_train_tiny_run_keep_best_checked_before_step_0_and_resume_checks(tmp_path):
    data = _tiny_slakh(tmp_path / "data")
    out = tmp_path / "run"
    base = ["--threads", "1", "train", "cocola", "--data", str(data), "--out", str(out), "--seconds", "1",
            "--batch-size", "4", "--val-fraction", "0.25", "--val-pairs", "4", "--val-every", "1",
            "--ckpt-every", "1", "--log-every", "1", "--no-progress", "--head-init-std", "0.005"]
    # an unknown metric fails before the first step, not at the first validation
    assert main(base + ["--steps", "1", "--keep-best", "k3"]) == 2
    assert not (out / "checkpoint").exists()
    assert main(base + ["--steps", "1", "--keep-best", "k2_mean", "--grad-clip", "1.0"]) == 0
    for folder in ("checkpoint", "model", "best"):
        assert load_model(out / folder).config.encoder == "small"
    assert json.loads((out / "checkpoint" / "trainer.json").read_text())["step"] == 1
    # resuming with another batch size or learning rate is refused (exit 2) unless --force
    assert main(base + ["--steps", "2", "--keep-best", "k2_mean", "--batch-size", "6"]) == 2
    assert main(base + ["--steps", "2", "--keep-best", "k2_mean", "--lr", "1e-4"]) == 2
    assert json.loads((out / "checkpoint" / "trainer.json").read_text())["step"] == 1
    with pytest.warns(UserWarning, match="batch_size"):
        assert main(base + ["--steps", "2", "--keep-best", "k2_mean", "--batch-size", "6", "--force"]) == 0
    assert json.loads((out / "checkpoint" / "trainer.json").read_text())["step"] == 2
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    losses = [r for r in log if "loss" in r]
    assert [r["step"] for r in losses] == [1, 2]
    assert "grad_norm" in losses[0] and "grad_norm" not in losses[1]  # --grad-clip in the first call only


def test_without_torch_the_train_command_says_what_to_install():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from timbrefast.cli import main\n"
            "sys.exit(main(['train', 'cocola', '--data', 'x']))\n")
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath()}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    _one_line_error(proc, 1, "timbrefast[torch]")


def test_train_small_encoder_fields(tmp_path):
    data = _tiny_slakh(tmp_path / "data")
    out = tmp_path / "run"
    base = ["--threads", "1", "train", "cocola", "--data", str(data), "--out", str(out), "--seconds", "1",
            "--batch-size", "4", "--val-fraction", "0.25", "--val-pairs", "4", "--val-every", "0",
            "--ckpt-every", "1", "--no-progress", "--steps", "1"]
    fields = '{"stem_width": 6, "stem_stride": [4, 4], "widths": [8, 12], "freq_bins": 2, "embedding_dim": 16}'
    assert main(base + ["--small-encoder", fields]) == 0
    cfg = load_model(out / "model").config
    assert (cfg.stem_width, cfg.stem_stride, cfg.widths, cfg.freq_bins) == (6, (4, 4), (8, 12), 2)
    for bad in ('{"stem_width": -1}', '{"colour": 1}', "[1]", "{"):
        assert _status(base[:7] + [str(tmp_path / "o2")] + base[8:] + ["--small-encoder", bad]) == 2, bad
    assert _status(base[:7] + [str(tmp_path / "o3")] + base[8:]
                   + ["--init-from", str(out / "model"), "--small-encoder", "{}"]) == 2
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()
