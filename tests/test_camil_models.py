"""CAMIL models: registry round trips, encoder transfer, freezing, the Hadsell loss."""
import pytest

torch = pytest.importorskip("torch")

from timbrefast.checkpoints import load_model, save_model  # noqa: E402
from timbrefast.data.families import CAMIL_CLASSES  # noqa: E402
from timbrefast.losses import margin_contrastive  # noqa: E402
from timbrefast.models.camil import (  # noqa: E402
    AudioClassifier,
    AudioClassifierConfig,
    CamilConfig,
    CamilModel,
    MidiClassifier,
    MidiClassifierConfig,
)
from timbrefast.models.registry import get_model_class  # noqa: E402

TINY = dict(depth=10, width=0.0625, embedding_dim=6)


def _camil():
    return CamilModel(CamilConfig(depth=10, width=0.0625, audio_depth=10, audio_width=0.0625, embedding_dim=6))


def test_registered():
    assert get_model_class("camil") is CamilModel
    assert get_model_class("camil_classifier") is MidiClassifier
    assert get_model_class("camil_audio_classifier") is AudioClassifier


@pytest.mark.parametrize("make", [_camil, lambda: MidiClassifier(MidiClassifierConfig(**TINY)),
                                  lambda: AudioClassifier(AudioClassifierConfig(**TINY))])
def test_save_load_round_trip(tmp_path, make):
    torch.manual_seed(0)
    m = make().eval()
    save_model(m, tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert type(back) is type(m) and back.config == m.config
    for k, v in m.state_dict().items():
        assert torch.equal(v, back.state_dict()[k])


def test_config_bounds():
    with pytest.raises(ValueError, match="depth"):
        CamilConfig(depth=50)
    with pytest.raises(ValueError, match="width"):
        MidiClassifierConfig(width=8.0)
    with pytest.raises(ValueError, match="frontend"):
        CamilConfig(frontend="nope")


def test_distance_is_euclidean_between_embeddings():
    m = _camil().eval()
    rolls = torch.rand(3, 84, 192)
    mels = torch.rand(3, 128, 282) * -80
    d = m(rolls, mels)
    ref = torch.sqrt(((m.embed_midi(rolls) - m.embed_audio(mels)) ** 2).sum(1))
    assert torch.allclose(d, ref, atol=1e-5)
    with pytest.raises(ValueError, match="rolls"):
        m.embed_midi(torch.zeros(2, 128, 282))
    with pytest.raises(ValueError, match="batch size"):
        m(rolls, mels[:2])
    with pytest.raises(TypeError, match="Tensor"):
        m.embed_midi([[0.0]])


def test_classifier_from_camil_copies_the_midi_encoder():
    camil = _camil().eval()
    clf = MidiClassifier.from_camil(camil).eval()
    x = torch.rand(2, 84, 192)
    assert torch.allclose(clf.embed(x), camil.embed_midi(x))
    assert clf(x).shape == (2, len(CAMIL_CLASSES)) and clf.classes == CAMIL_CLASSES


def test_freeze_encoder_keeps_it_fixed():
    clf = MidiClassifier(MidiClassifierConfig(**TINY))
    clf.freeze_encoder()
    clf.train()
    assert not clf.encoder.training and clf.head.training
    assert all(not p.requires_grad for p in clf.encoder.parameters())
    before = {k: v.clone() for k, v in clf.encoder.state_dict().items()}
    opt = torch.optim.Adam([p for p in clf.parameters() if p.requires_grad], lr=0.1)
    loss = torch.nn.functional.cross_entropy(clf(torch.rand(4, 84, 192)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    opt.step()
    for k, v in clf.encoder.state_dict().items():  # batch-norm statistics too
        assert torch.equal(v, before[k]), k
    clf.freeze_encoder(False)
    assert all(p.requires_grad for p in clf.encoder.parameters())


def _hadsell_reference(x, y, z, margin):
    d = torch.sqrt(((x - y) ** 2).sum(dim=1))
    return z * d ** 2 + (1 - z) * torch.clamp(margin - d, min=0) ** 2


@pytest.mark.parametrize("margin", [0.5, 1.0, 3.0])
def test_hadsell_loss_against_a_plain_torch_reference(margin):
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(16, 6, generator=g), torch.randn(16, 6, generator=g)
    z = (torch.arange(16) % 3 == 0).float()
    ref = _hadsell_reference(x.double(), y.double(), z.double(), margin)
    got = margin_contrastive(x, y, z, margin=margin, reduction="none")
    assert torch.allclose(got.double(), ref, atol=1e-5)
    assert torch.allclose(margin_contrastive(x, y, z, margin=margin), ref.mean().float(), atol=1e-5)
    # gradients agree too
    xa = x.clone().requires_grad_(True)
    margin_contrastive(xa, y, z, margin=margin, reduction="sum").backward()
    xb = x.double().clone().requires_grad_(True)
    _hadsell_reference(xb, y.double(), z.double(), margin).sum().backward()
    assert torch.allclose(xa.grad.double(), xb.grad, atol=1e-4)
    # a negative beyond the margin costs nothing, a positive at distance 0 costs nothing
    far = torch.zeros(1, 6)
    far[0, 0] = margin + 1
    assert float(margin_contrastive(torch.zeros(1, 6), far, torch.tensor([0]), margin=margin)) == 0.0
    assert float(margin_contrastive(far, far, torch.tensor([1]), margin=margin)) == 0.0


@pytest.mark.parametrize("name", ["timbrefast.models.resnet", "timbrefast.models.camil", "timbrefast.data.camil_synth"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    import numpy as np

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"np": np}, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_synth_module_imports_without_torch():
    import subprocess
    import sys

    code = ("import sys, timbrefast.data.camil_synth; "
            "print(sorted(m for m in ('torch', 'fluidsynth', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
