"""The model registry and bounded model configs: a tiny model that is not COCOLA's is
registered, saved and loaded back through the generic checkpoints."""
import dataclasses
import doctest
import importlib
import json
from typing import Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from timbrefast._config import ModelConfig, choice_field, float_field, int_field, ints_field  # noqa: E402
from timbrefast.checkpoints import CONFIG_NAME, FORMAT, WEIGHTS_NAME, load_model, read_config, save_model  # noqa: E402
from timbrefast.models import (  # noqa: E402
    CocolaConfig,
    CocolaModel,
    build_model,
    get_config_class,
    get_model_class,
    model_types,
    register_model,
    unregister_model,
)


@dataclasses.dataclass(frozen=True)
class TinyConfig(ModelConfig):
    model_type = "test_tiny_mlp"
    _TUPLE_FIELDS = ("hidden",)

    dim: int = int_field(6, minimum=1, maximum=64)
    hidden: Tuple[int, ...] = ints_field((5, 4), minimum=1, maximum=64, max_len=4)
    scale: float = float_field(1.0, minimum=0.0, maximum=10.0)
    activation: str = choice_field("relu", ("relu", "tanh"))


class TinyMLP(nn.Module):
    config_class = TinyConfig

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        dims = (config.dim,) + config.hidden
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.norm = nn.BatchNorm1d(dims[-1])  # a buffer with an integer dtype (num_batches_tracked)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x)) if self.config.activation == "relu" else torch.tanh(layer(x))
        return self.norm(x) * self.config.scale


@pytest.fixture
def tiny_registered():
    register_model("test_tiny_mlp", TinyMLP)
    yield TinyMLP
    unregister_model("test_tiny_mlp")


def test_cocola_is_registered():
    assert "cocola" in model_types()
    assert get_model_class("cocola") is CocolaModel and get_config_class("cocola") is CocolaConfig
    assert CocolaConfig.model_type == "cocola"
    assert json.loads(CocolaConfig().to_json())["model_type"] == "cocola"
    assert CocolaConfig.from_json(CocolaConfig().to_json()) == CocolaConfig()
    with pytest.raises(ValueError, match="unknown model_type"):
        get_model_class("resnet-9000")


def test_a_model_that_is_not_cocola_round_trips(tiny_registered, tmp_path):
    torch.manual_seed(0)
    config = TinyConfig(dim=6, hidden=[7, 3], scale=2, activation="tanh")
    assert config.hidden == (7, 3) and isinstance(config.scale, float)  # normalised on construction
    model = build_model(config).eval()
    model.norm.running_mean.normal_()  # non-trivial buffers travel too
    out = save_model(model, tmp_path / "tiny")
    saved = json.loads((out / CONFIG_NAME).read_text())
    assert saved["model_type"] == "test_tiny_mlp" and saved["hidden"] == [7, 3]
    from safetensors import safe_open

    with safe_open(str(out / WEIGHTS_NAME), framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == FORMAT and meta["model_type"] == "test_tiny_mlp"
    again = load_model(out)
    assert type(again) is TinyMLP and again.config == config and not again.training
    x = torch.randn(4, 6)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))
    for k, v in model.state_dict().items():
        torch.testing.assert_close(again.state_dict()[k], v)
    assert read_config(out) == config
    # a DataParallel wrapper (what a trainer may hold) is saved as the model inside
    wrapped = save_model(nn.DataParallel(model), tmp_path / "wrapped")
    assert load_model(wrapped).config == config


def test_registry_refuses_what_it_cannot_load(tiny_registered):
    @dataclasses.dataclass(frozen=True)
    class Loose(ModelConfig):
        model_type = "test_loose"
        dim: int = 4  # no bound

    class LooseModel(nn.Module):
        config_class = Loose

    with pytest.raises(TypeError, match="bound"):
        register_model("test_loose", LooseModel)
    with pytest.raises(ValueError, match="model_type"):
        register_model("test_other_name", TinyMLP)  # the config says test_tiny_mlp

    class Impostor(nn.Module):
        config_class = TinyConfig

    with pytest.raises(ValueError, match="already registered"):
        register_model("test_tiny_mlp", Impostor)
    register_model("test_tiny_mlp", TinyMLP)  # re-registering the same class is fine
    with pytest.raises(TypeError, match="nn.Module"):
        register_model("test_tiny_mlp", object)
    with pytest.raises(TypeError, match="registered"):
        save_model(nn.Linear(2, 2), "/nonexistent")
    with pytest.raises(ValueError, match="not registered"):
        unregister_model("test_never")


def test_model_config_bounds_are_checked_on_construction():
    with pytest.raises(ValueError, match="embedding_dim"):
        CocolaConfig(embedding_dim=20000)
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        CocolaConfig(widths=(8, 5000))
    with pytest.raises(ValueError, match="widths"):
        CocolaConfig(widths=(8,) * 9)
    with pytest.raises(ValueError, match="widths"):
        CocolaConfig(widths=())
    with pytest.raises(TypeError, match="time_steps"):
        CocolaConfig(time_steps=16.0)
    with pytest.raises(TypeError, match="embedding_dim"):
        CocolaConfig(embedding_dim=True)
    with pytest.raises(ValueError, match="dropout"):
        CocolaConfig(dropout=1.0)
    with pytest.raises(ValueError, match="dropout"):
        CocolaConfig(dropout=float("nan"))
    with pytest.raises(ValueError, match="in_channels"):
        CocolaConfig(in_channels=3)
    with pytest.raises(ValueError, match="preset"):
        CocolaConfig(frontend="nope")
    with pytest.raises(ValueError, match="sample_rate"):
        CocolaConfig(sample_rate=44100)  # the cocola preset runs at 16 kHz
    with pytest.raises(ValueError, match="clip_samples"):
        CocolaConfig(clip_samples=1 << 30)
    with pytest.raises(ValueError, match="model_type"):
        CocolaConfig.from_dict({"model_type": "other"})
    with pytest.raises(ValueError, match="nested"):
        CocolaConfig.from_json("[" * 100000)
    assert CocolaConfig(widths=[np.int64(8)]).widths == (8,)


def test_every_registered_config_field_is_bounded():
    from timbrefast._config import unbounded_fields

    for t in model_types():
        assert unbounded_fields(get_config_class(t)) == ()


@pytest.mark.parametrize("name", ["timbrefast.models.registry", "timbrefast.checkpoints", "timbrefast._pairs",
                                  "timbrefast.scorers.coherence"])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"np": np}, verbose=False)
    assert result.attempted > 0 and result.failed == 0
