"""The CAMIL ResNet encoder: the paper's layout, depth and width options, shapes, bad input."""
import pytest

torch = pytest.importorskip("torch")

from timbrefast.models.resnet import BLOCKS, ResNetEncoder, stage_widths  # noqa: E402


def test_stem_is_the_papers():
    enc = ResNetEncoder(depth=18, width=1.0, embedding_dim=32)
    conv, bn, relu, pool = enc.stem
    assert conv.kernel_size == (7, 7) and conv.stride == (2, 2) and conv.out_channels == 64
    assert isinstance(bn, torch.nn.BatchNorm2d) and isinstance(relu, torch.nn.ReLU)
    assert pool.kernel_size == 3 and pool.stride == 2


@pytest.mark.parametrize("depth", sorted(BLOCKS))
def test_stages_and_strides(depth):
    enc = ResNetEncoder(depth=depth, width=0.25, embedding_dim=8)
    widths = stage_widths(0.25)
    assert widths == (16, 32, 64, 128)
    for s, stage in enumerate(enc.stages):
        assert len(stage) == BLOCKS[depth][s]
        first = stage[0]
        assert first.conv1.stride == ((2, 2) if s > 0 else (1, 1))
        assert first.conv2.out_channels == widths[s]
        assert all(b.conv1.stride == (1, 1) for b in list(stage)[1:])
    assert enc.fc.in_features == widths[-1] and enc.fc.out_features == 8


def test_resnet18_parameter_count():
    # the ResNet-18 body (1 input channel) + a 512 -> 128 layer: 11.17 M + 65.7 k
    enc = ResNetEncoder(depth=18, width=1.0, embedding_dim=128)
    n = sum(p.numel() for p in enc.parameters())
    assert n == 11_235_904


@pytest.mark.parametrize("shape", [(84, 192), (128, 282)])
def test_output_shape_and_global_pool(shape):
    enc = ResNetEncoder(depth=10, width=0.125, embedding_dim=5).eval()
    x = torch.randn(3, 1, *shape)
    y = enc(x)
    assert y.shape == (3, 5)
    # rows are independent in eval mode
    assert torch.allclose(enc(x[1:2]), y[1:2], atol=1e-5)


def test_input_affine_map():
    a = ResNetEncoder(depth=10, width=0.125, embedding_dim=4, input_shift=40.0, input_scale=0.025).eval()
    b = ResNetEncoder(depth=10, width=0.125, embedding_dim=4).eval()
    b.load_state_dict(a.state_dict())
    x = torch.full((1, 1, 64, 64), -80.0)
    assert torch.allclose(a(x), b((x + 40.0) * 0.025))


def test_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        ResNetEncoder(depth=50)
    with pytest.raises(ValueError, match="width"):
        ResNetEncoder(width=0)
    with pytest.raises(ValueError, match="embedding_dim"):
        ResNetEncoder(embedding_dim=0)
    enc = ResNetEncoder(depth=10, width=0.125)
    with pytest.raises(ValueError, match="shape"):
        enc(torch.zeros(2, 84, 192))
    with pytest.raises(ValueError, match="at least 32"):
        enc(torch.zeros(2, 1, 8, 192))
