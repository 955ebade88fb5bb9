"""Checkpoints: safetensors + JSON round trip, and the converter of released
COCOLA Lightning checkpoints (a tiny one written here in the released layout)."""
import collections
import enum
import json
import operator
import sys
import types

import pytest

torch = pytest.importorskip("torch")

from timbrefast.checkpoints import (  # noqa: E402
    CONFIG_NAME,
    WEIGHTS_NAME,
    convert_cocola_checkpoint,
    load_cocola_checkpoint,
    load_model,
    read_released_checkpoint,
    save_model,
)
from timbrefast.models import CocolaConfig, CocolaModel  # noqa: E402
from timbrefast.models.efficientnet import RELEASED_KEY_PREFIXES  # noqa: E402


def _feats(batch=2, frames=64):
    return -80.0 * torch.rand(batch, 2, 64, frames, generator=torch.Generator().manual_seed(1))


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32)).eval()
    out = save_model(model, tmp_path / "m")
    assert (out / WEIGHTS_NAME).exists() and (out / CONFIG_NAME).exists()
    assert json.loads((out / CONFIG_NAME).read_text())["widths"] == [8, 16]
    again = load_model(out)
    assert again.config == model.config and not again.training
    x = _feats()
    with torch.no_grad():
        torch.testing.assert_close(again.embed(x), model.embed(x))
    torch.testing.assert_close(again.head.weight, model.head.weight)
    # the config is also in the safetensors metadata: the weights file alone suffices
    (out / CONFIG_NAME).unlink()
    assert load_model(out / WEIGHTS_NAME).config == model.config


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing")
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32))
    out = save_model(model, tmp_path / "m")
    (out / CONFIG_NAME).write_text(CocolaConfig(widths=(8, 32), embedding_dim=32).to_json())
    with pytest.raises(ValueError, match="do not match"):
        load_model(out)
    (out / WEIGHTS_NAME).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="safetensors"):
        load_model(out)
    with pytest.raises(TypeError):
        save_model(torch.nn.Linear(2, 2), tmp_path / "x")


# --- a checkpoint in the released layout ---------------------------------------------

def _install_released_modules():
    """Fake the classes a released COCOLA checkpoint pickles, as its repository defines them."""
    pkg = types.ModuleType("contrastive_model")
    consts = types.ModuleType("contrastive_model.constants")

    class EmbeddingMode(enum.Enum):
        HARMONIC = "harmonic"
        PERCUSSIVE = "percussive"
        BOTH = "both"
        RANDOM = "random"

    class ModelInputType(enum.Enum):
        SINGLE_CHANNEL_MEL_SPECTROGRAM = "single_channel_mel_spectrogram"
        DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE = "double_channel_harmonic_percussive"

    for cls in (EmbeddingMode, ModelInputType):
        cls.__module__ = "contrastive_model.constants"
        cls.__qualname__ = cls.__name__
        setattr(consts, cls.__name__, cls)
    pkg.constants = consts
    sys.modules["contrastive_model"] = pkg
    sys.modules["contrastive_model.constants"] = consts
    return EmbeddingMode, ModelInputType


def _remove_released_modules():
    sys.modules.pop("contrastive_model", None)
    sys.modules.pop("contrastive_model.constants", None)


def _released_state(model):
    out = collections.OrderedDict()
    for key, value in model.state_dict().items():
        for old, new in RELEASED_KEY_PREFIXES:
            if key.startswith(new):
                out[old + key[len(new):]] = value.clone()
                break
    return out


def _write_released(path, model, *, extra=None, in_channels=2):
    EmbeddingMode, ModelInputType = _install_released_modules()
    try:
        input_type = (ModelInputType.DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE if in_channels == 2
                      else ModelInputType.SINGLE_CHANNEL_MEL_SPECTROGRAM)
        ckpt = {
            "epoch": 3,
            "global_step": 1234,
            "pytorch-lightning_version": "2.2.1",
            "state_dict": _released_state(model),
            "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 4}}}},
            "callbacks": {"ModelCheckpoint{'monitor': 'valid_loss'}": {
                "best_model_score": torch.tensor(0.25), "best_model_path": "/ckpt/best.ckpt"}},
            "optimizer_states": [{"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(2)}},
                                  "param_groups": [{"lr": 0.001, "params": [0]}]}],
            "lr_schedulers": [],
            "hparams_name": "kwargs",
            "hyper_parameters": {
                "learning_rate": 0.001,
                "embedding_dim": 512,
                "embedding_mode": EmbeddingMode.RANDOM,
                "input_type": input_type,
                "dropout_p": 0.1,
            },
        }
        if extra:
            ckpt.update(extra)
        torch.save(ckpt, path)
    finally:
        _remove_released_modules()


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(encoder="efficientnet-b0")).eval()
    path = tmp_path_factory.mktemp("released") / "cocola_hp_v1.ckpt"
    _write_released(path, model)
    return path, model


def test_released_checkpoint_loads_without_executing_code(released):
    path, model = released
    assert "contrastive_model" not in sys.modules
    ckpt = read_released_checkpoint(path)
    assert ckpt["hyper_parameters"]["embedding_mode"].value == "random"
    assert "contrastive_model" not in sys.modules  # nothing was imported
    converted = load_cocola_checkpoint(path)
    assert converted.config.encoder == "efficientnet-b0" and converted.config.in_channels == 2
    assert converted.config.frontend == "cocola"
    x = _feats()
    with torch.no_grad():
        torch.testing.assert_close(converted.embed(x), model.embed(x))
        torch.testing.assert_close(converted.head(model.embed(x), model.embed(x)),
                                   model.head(model.embed(x), model.embed(x)))


def test_convert_then_load_safetensors(released, tmp_path):
    path, model = released
    out = convert_cocola_checkpoint(path, tmp_path / "converted")
    again = load_model(out)
    x = _feats()
    with torch.no_grad():
        torch.testing.assert_close(again.embed(x), model.embed(x))


class _Payload:
    """A pickled object outside the safe set (it would run code when unpickled)."""

    def __reduce__(self):
        return (operator.add, (1, 2))  # harmless, but a call the safe loader refuses


def test_unsafe_pickle_needs_trust(tmp_path):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(encoder="efficientnet-b0", in_channels=1, frontend="cocola_mel")).eval()
    path = tmp_path / "odd.ckpt"
    _write_released(path, model, extra={"extra": _Payload()}, in_channels=1)
    with pytest.raises(ValueError, match="trust=True"):
        load_cocola_checkpoint(path)
    trusted = load_cocola_checkpoint(path, trust=True)  # classes of missing modules become stand-ins
    assert trusted.config.in_channels == 1 and trusted.config.frontend == "cocola_mel"
    x = _feats()[:, :1]
    with torch.no_grad():
        torch.testing.assert_close(trusted.embed(x), model.embed(x))
    assert "contrastive_model" not in sys.modules


def test_released_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_released_checkpoint(tmp_path / "missing.ckpt")
    bad = tmp_path / "corrupt.ckpt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="cannot read"):
        read_released_checkpoint(bad)
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}}, other)
    with pytest.raises(ValueError, match="not a COCOLA"):
        load_cocola_checkpoint(other)
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="state_dict"):
        read_released_checkpoint(other)


# --- generic loading: formats, training-run folders, checks before allocation --------------

TINY = dict(widths=(8, 16), embedding_dim=32)


def test_bundled_model_loads_unchanged():
    """The bundled model (v2) is in the current format, its config.json and the weights'
    metadata agree, and it is the small encoder with the patchify stem (the 0.x format of
    v1 is covered by test_legacy_format_without_config_json)."""
    from safetensors import safe_open
    from timbrefast.scorers.coherence import BUNDLED_MODEL

    on_disk = json.loads((BUNDLED_MODEL / CONFIG_NAME).read_text())
    assert on_disk["model_type"] == "cocola"
    with safe_open(str(BUNDLED_MODEL / WEIGHTS_NAME), framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "timbrefast.model/1" and json.loads(meta["config"]) == on_disk
    model = load_model(BUNDLED_MODEL)
    assert isinstance(model, CocolaModel)
    assert model.config == CocolaConfig(stem_width=24, stem_stride=(4, 4), widths=(32, 64, 128), freq_bins=2)


def test_legacy_format_without_config_json(tmp_path):
    from safetensors.torch import save_file

    model = CocolaModel(CocolaConfig(**TINY)).eval()
    legacy = json.loads(model.config.to_json())
    del legacy["model_type"]
    (tmp_path / "old").mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "old" / WEIGHTS_NAME),
              metadata={"format": "timbrefast.cocola/1", "config": json.dumps(legacy)})
    again = load_model(tmp_path / "old")
    assert again.config == model.config
    x = _feats()
    with torch.no_grad():
        torch.testing.assert_close(again.embed(x), model.embed(x))


def _training_run(root, model):
    """A run folder as the trainer writes it: model/, best/ and checkpoint/ (with optimiser state)."""
    from safetensors.torch import save_file

    for name in ("model", "best", "checkpoint"):
        save_model(model, root / name)
    save_file({"state.0.exp_avg": torch.zeros(3)}, str(root / "checkpoint" / "optimizer.safetensors"))
    (root / "checkpoint" / "state.json").write_text(json.dumps({"step": 12}))
    (root / "checkpoint" / "trainer.json").write_text(json.dumps({"step": 12}))
    (root / "best" / "best.json").write_text(json.dumps({"step": 10}))
    (root / "log.jsonl").write_text("{}\n")
    return root


def test_training_run_folders_load_alike(tmp_path):
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(**TINY)).eval()
    run = _training_run(tmp_path / "run", model)
    x = _feats()
    for name in ("model", "best", "checkpoint"):
        again = load_model(run / name)
        with torch.no_grad():
            torch.testing.assert_close(again.embed(x), model.embed(x))
    with pytest.raises(FileNotFoundError, match="checkpoint"):  # the run itself: says which folders to pass
        load_model(run)


def _write_config(path, **changes):
    d = json.loads((path / CONFIG_NAME).read_text())
    d.update(changes)
    (path / CONFIG_NAME).write_text(json.dumps(d))


def test_config_and_header_are_checked_before_allocation(tmp_path):
    """Issue 12, defect 6: a 200-byte config.json cost 1.4 GiB before the weights were checked."""
    out = save_model(CocolaModel(CocolaConfig(**TINY)), tmp_path / "m")
    _write_config(out, embedding_dim=200_000)  # out of bounds: refused by the config
    with pytest.raises(ValueError, match="embedding_dim"):
        load_model(out)
    _write_config(out, embedding_dim=32, widths=[8, 16], model_type="cocola", encoder="efficientnet")
    with pytest.raises(ValueError, match="encoder"):
        load_model(out)
    _write_config(out, encoder="small", model_type="resnet")
    with pytest.raises(ValueError, match="model_type"):
        load_model(out)
    _write_config(out, model_type="cocola", embedding_dim=64)  # in bounds, but not these weights
    with pytest.raises(ValueError, match="do not match.*shape mismatches"):
        load_model(out)
    (out / CONFIG_NAME).write_text("[" * 100_000)
    with pytest.raises(ValueError, match="JSON"):
        load_model(out)
    (out / CONFIG_NAME).write_text(" " * (2 << 20))
    with pytest.raises(ValueError, match="too large"):
        load_model(out)
    (out / CONFIG_NAME).write_text('["not", "an", "object"]')
    with pytest.raises(ValueError, match="object"):
        load_model(out)
    with pytest.raises(ValueError, match="device"):
        load_model(out, device="warp-drive")


def test_wrong_dtypes_and_extra_tensors_are_refused(tmp_path):
    from safetensors.torch import save_file

    model = CocolaModel(CocolaConfig(**TINY))
    out = save_model(model, tmp_path / "m")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    bad = dict(state)
    bad["head.weight"] = bad["head.weight"].to(torch.int32)
    save_file(bad, str(out / WEIGHTS_NAME))
    with pytest.raises(ValueError, match="dtype"):
        load_model(out)
    extra = dict(state, **{"encoder.extra": torch.zeros(2)})
    save_file(extra, str(out / WEIGHTS_NAME))
    with pytest.raises(ValueError, match="unexpected"):
        load_model(out)


_PEAK_SCRIPT = r"""
import json, resource, sys
import torch
from timbrefast.checkpoints import load_model
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_model(sys.argv[1])
except ValueError as exc:
    print("refused:", str(exc)[:200])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("peak_growth_mib", (after - before) / 1024)
"""


def test_largest_in_bounds_config_costs_no_memory_before_the_weights_are_checked(tmp_path):
    """The largest config the bounds allow (4.5 G parameters) next to small weights: refused
    from the safetensors header, with no allocation (measured in a fresh process)."""
    import subprocess
    import sys

    from conftest import subprocess_pythonpath

    out = save_model(CocolaModel(CocolaConfig(**TINY)), tmp_path / "m")
    _write_config(out, widths=[1024] * 8, embedding_dim=4096, time_steps=1024, freq_bins=256)
    env = dict(__import__("os").environ, PYTHONPATH=subprocess_pythonpath())
    res = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(out)], capture_output=True, text=True,
                         timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "refused:" in res.stdout and "do not match" in res.stdout
    growth = float(res.stdout.split("peak_growth_mib")[1])
    assert growth < 200, res.stdout  # building that model would take > 18 GB
