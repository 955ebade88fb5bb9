"""Encoders, bilinear head and the COCOLA model (tiny inputs, CPU)."""
import json

import pytest

torch = pytest.importorskip("torch")

from timbrefast.models import (  # noqa: E402
    SILENCE_DB,
    BilinearHead,
    CocolaConfig,
    CocolaModel,
    EfficientNetEncoder,
    SmallEncoder,
    apply_mode,
    mask_channels,
)
from timbrefast.models.efficientnet import RELEASED_KEY_PREFIXES, released_to_timbrefast  # noqa: E402


def _feats(batch=3, frames=101, seed=0):
    g = torch.Generator().manual_seed(seed)
    return -80.0 * torch.rand(batch, 2, 64, frames, generator=g)


@pytest.mark.parametrize("in_channels", [1, 2])
def test_small_encoder_shape_and_range(in_channels):
    enc = SmallEncoder(in_channels=in_channels, embedding_dim=32).eval()
    out = enc(_feats()[:, :in_channels])
    assert out.shape == (3, 32)
    assert torch.all(out.abs() < 1)


def test_small_encoder_accepts_other_lengths_and_batch_independence():
    enc = SmallEncoder(embedding_dim=16).eval()
    x = _feats(batch=4, frames=57)
    with torch.no_grad():
        full = enc(x)
        single = torch.cat([enc(x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(full, single, rtol=1e-4, atol=1e-5)


def test_efficientnet_encoder_matches_released_layout():
    enc = EfficientNetEncoder(in_channels=2, embedding_dim=512).eval()
    names = set(enc.state_dict())
    assert "backbone._conv_stem.weight" in names
    assert enc.state_dict()["backbone._conv_stem.weight"].shape[1] == 2
    assert enc.projection.weight.shape == (512, 1280)
    assert not any(n.startswith("backbone._fc") for n in names)  # include_top=False, as released
    with torch.no_grad():
        out = enc(_feats(batch=2, frames=64))
    assert out.shape == (2, 512) and torch.all(out.abs() < 1)


def test_efficientnet_single_channel():
    enc = EfficientNetEncoder(in_channels=1, embedding_dim=8).eval()
    with torch.no_grad():
        assert enc(_feats(batch=1, frames=48)[:, :1]).shape == (1, 8)


@pytest.mark.parametrize("bad", [0, 3])
def test_encoders_refuse_channel_counts(bad):
    with pytest.raises(ValueError, match="in_channels"):
        SmallEncoder(in_channels=bad)
    with pytest.raises(ValueError, match="in_channels"):
        EfficientNetEncoder(in_channels=bad)


def test_bilinear_head_formula_and_init():
    torch.manual_seed(0)
    head = BilinearHead(512)
    assert abs(head.weight.std().item() - 0.05) < 0.002
    assert abs(head.weight.mean().item()) < 0.002
    x, y = torch.randn(3, 512), torch.randn(5, 512)
    torch.testing.assert_close(head(x, y), x @ head.weight @ y.T)
    torch.testing.assert_close(head.pairwise(x, y[:3]), torch.diagonal(head(x, y[:3])))
    with pytest.raises(ValueError, match="shape"):
        head(torch.randn(3, 4), y)
    with pytest.raises(ValueError, match="same number of rows"):
        head.pairwise(x, y)
    with pytest.raises(ValueError, match="dim"):
        BilinearHead(0)


def test_mask_channels_uses_silence_value():
    x = _feats(batch=3)
    keep = torch.tensor([[False, True], [True, False], [True, True]])
    out = mask_channels(x, keep)
    assert torch.all(out[0, 0] == SILENCE_DB) and torch.equal(out[0, 1], x[0, 1])
    assert torch.all(out[1, 1] == SILENCE_DB) and torch.equal(out[1, 0], x[1, 0])
    assert torch.equal(out[2], x[2])
    assert SILENCE_DB == -80.0  # the floor of power_to_db(top_db=80), not 0 dB (the loudest value)
    with pytest.raises(ValueError, match="keep"):
        mask_channels(x, keep[:2])


def test_apply_mode():
    x = _feats(batch=2)
    assert apply_mode(x, "both") is x
    h = apply_mode(x, "harmonic")
    assert torch.equal(h[:, 0], x[:, 0]) and torch.all(h[:, 1] == -80)
    p = apply_mode(x, "percussive")
    assert torch.equal(p[:, 1], x[:, 1]) and torch.all(p[:, 0] == -80)
    with pytest.raises(ValueError, match="mode"):
        apply_mode(x, "drums")
    with pytest.raises(ValueError, match="2-channel"):
        apply_mode(x[:, :1], "harmonic")


def test_config_json_round_trip_and_validation():
    cfg = CocolaConfig(encoder="small", widths=[8, 16], embedding_dim=64)
    again = CocolaConfig.from_json(cfg.to_json())
    assert again == cfg and again.widths == (8, 16)
    assert json.loads(cfg.to_json())["encoder"] == "small"
    with pytest.raises(ValueError, match="encoder"):
        CocolaConfig(encoder="resnet")
    with pytest.raises(ValueError, match="unknown"):
        CocolaConfig.from_dict({"encoder": "small", "colour": "red"})
    with pytest.raises(ValueError, match="embedding_dim"):
        CocolaConfig(embedding_dim=0)


def test_cocola_model_embed_forward_and_modes():
    torch.manual_seed(0)
    model = CocolaModel(CocolaConfig(widths=(8, 16), embedding_dim=32)).eval()
    x = _feats(batch=2)
    with torch.no_grad():
        a, p = model(x, x.flip(0))
        torch.testing.assert_close(a, model.embed(x))
        torch.testing.assert_close(model.embed(x, mode="harmonic"), model.embed(apply_mode(x, "harmonic")))
    with pytest.raises(ValueError, match="features must have shape"):
        model.embed(x[:, :1])


def test_released_key_mapping_is_one_to_one():
    model = CocolaModel(CocolaConfig(encoder="efficientnet-b0"))
    ours = model.state_dict()
    inverse = {}
    for k in ours:
        for old, new in RELEASED_KEY_PREFIXES:
            if k.startswith(new):
                inverse[old + k[len(new):]] = ours[k]
                break
    assert len(inverse) == len(ours)
    assert set(released_to_timbrefast(inverse)) == set(ours)
    with pytest.raises(ValueError, match="unexpected key"):
        released_to_timbrefast({"model.fc.weight": torch.zeros(1)})


def test_small_encoder_profile_sizes():
    enc = SmallEncoder(embedding_dim=8, widths=(4, 8), time_steps=5, freq_bins=2)
    assert enc.projection.in_features == 8 * (5 + 2)
    with pytest.raises(ValueError, match="time_steps"):
        SmallEncoder(time_steps=0)
    with pytest.raises(ValueError, match="widths"):
        SmallEncoder(widths=())


def test_small_encoder_patchify_stem():
    torch.manual_seed(0)
    enc = SmallEncoder(embedding_dim=16, stem_width=6, stem_stride=(4, 4), widths=(8, 12, 16)).eval()
    conv = enc.stem[0]
    assert conv.kernel_size == (4, 4) and conv.stride == (4, 4) and conv.padding == (0, 0)
    assert enc.stages[0].down[0].in_channels == 6
    # 64 x 501 -> 16 x 125 -> three stride-2 stages -> 2 x 16: a 16-step time profile
    with torch.no_grad():
        h = enc.stages(enc.stem((_feats(batch=1, frames=501) + 40) / 40))
        assert tuple(h.shape[2:]) == (2, 16)
        out = enc(_feats(batch=2))
    assert out.shape == (2, 16) and torch.all(out.abs() < 1)
    # no stem (the default) keeps the original modules and state-dict keys
    plain = SmallEncoder(embedding_dim=16)
    assert plain.stem is None and not any(k.startswith("stem") for k in plain.state_dict())
    assert any(k.startswith("stem.") for k in enc.state_dict())
    with pytest.raises(ValueError, match="stem_width"):
        SmallEncoder(stem_width=-1)
    with pytest.raises(ValueError, match="stem_stride"):
        SmallEncoder(stem_width=4, stem_stride=(4,))
    with pytest.raises(ValueError, match="stem_stride"):
        SmallEncoder(stem_width=4, stem_stride=(0, 4))


def test_config_stem_fields_round_trip_and_old_configs_load():
    cfg = CocolaConfig(widths=(8, 16), embedding_dim=16, stem_width=8, stem_stride=[2, 4])
    again = CocolaConfig.from_json(cfg.to_json())
    assert again == cfg and again.stem_stride == (2, 4)
    model = CocolaModel(again)
    assert model.encoder.stem[0].stride == (2, 4) and model.encoder.stem_width == 8
    # a config.json written before the stem existed: no stem
    old = CocolaConfig.from_dict({"encoder": "small", "widths": [8, 16], "embedding_dim": 16})
    assert old.stem_width == 0 and CocolaModel(old).encoder.stem is None
    with pytest.raises(ValueError, match="stem_width"):
        CocolaConfig(stem_width=-1)
    with pytest.raises(ValueError, match="stem_stride"):
        CocolaConfig(stem_stride=(4, 4, 4))
    with pytest.raises(ValueError, match="stem_stride"):
        CocolaConfig(stem_stride=(4, 17))
