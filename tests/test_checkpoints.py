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
