"""CAMIL models (Sawada): the audio–MIDI contrastive pair of encoders and the classifiers.

- :class:`CamilModel` (``model_type "camil"``): a MIDI :class:`~.resnet.ResNetEncoder` on
  ``(batch, 84, 192)`` piano rolls and an audio one on ``(batch, 128, 282)`` dB mels, and
  the Euclidean distance between their embeddings (trained with the Hadsell loss
  :func:`timbrefast.losses.margin_contrastive`).
- :class:`MidiClassifier` (``"camil_classifier"``): a MIDI encoder and a linear head over
  the 8 classes of :data:`timbrefast.data.families.CAMIL_CLASSES` — the from-scratch (SIC),
  linear-probe and fine-tuned conditions; :meth:`MidiClassifier.from_camil` copies the
  MIDI encoder of a pretrained :class:`CamilModel`.
- :class:`AudioClassifier` (``"camil_audio_classifier"``): the audio encoder and a linear
  head (the paper's AIC reference).

Logits and probabilities are in the order of ``CAMIL_CLASSES`` (``model.classes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
from torch import nn

from .._config import ModelConfig, choice_field, float_field, int_field, str_field
from ..data.families import CAMIL_CLASSES
from .registry import register_model
from .resnet import BLOCKS, ResNetEncoder

__all__ = [
    "AudioClassifier",
    "AudioClassifierConfig",
    "CamilConfig",
    "CamilModel",
    "MidiClassifier",
    "MidiClassifierConfig",
    "ROLL_SHAPE",
    "MEL_SHAPE",
]

#: Piano-roll segment: 84 pitches (C1-B7) × 192 steps (two 4/4 measures, 24 per quarter).
ROLL_SHAPE = (84, 192)
#: Mel segment: 128 bands × 282 frames (frontend preset ``"camil"``).
MEL_SHAPE = (128, 282)
_DEPTHS = tuple(sorted(BLOCKS))
# dB mels of the "camil" preset lie in [-80, 0]
_MEL_SHIFT, _MEL_SCALE = 40.0, 1.0 / 40.0


def _as_input(x: torch.Tensor, shape: Tuple[int, int], name: str) -> torch.Tensor:
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[2:]) != shape:
        raise ValueError(f"{name} must have shape (batch, {shape[0]}, {shape[1]}) or "
                         f"(batch, 1, {shape[0]}, {shape[1]}), got {tuple(x.shape)}")
    return x.float()


def _midi_encoder(depth: int, width: float, dim: int) -> ResNetEncoder:
    return ResNetEncoder(depth=depth, width=width, embedding_dim=dim)


def _audio_encoder(depth: int, width: float, dim: int) -> ResNetEncoder:
    return ResNetEncoder(depth=depth, width=width, embedding_dim=dim, input_shift=_MEL_SHIFT, input_scale=_MEL_SCALE)


def _known_frontend(value: str, name: str) -> None:
    from .. import FrontendConfig

    FrontendConfig.preset(value)


@dataclass(frozen=True)
class CamilConfig(ModelConfig):
    """Configuration of a :class:`CamilModel`.

    Parameters
    ----------
    depth, width : MIDI encoder depth (10, 18, 34) and channel multiplier (0.0625-2).
    audio_depth, audio_width : the same for the audio encoder.
    embedding_dim : shared embedding size (1-2048).
    frontend, sample_rate : the audio frontend preset (``"camil"``) and its rate (Hz).
    """

    model_type = "camil"
    _JSON_INDENT = 2

    depth: int = choice_field(18, _DEPTHS)
    width: float = float_field(1.0, minimum=0.0625, maximum=2.0)
    audio_depth: int = choice_field(18, _DEPTHS)
    audio_width: float = float_field(1.0, minimum=0.0625, maximum=2.0)
    embedding_dim: int = int_field(128, minimum=1, maximum=2048)
    frontend: str = str_field("camil", check=_known_frontend)
    sample_rate: int = int_field(22050, minimum=1, maximum=384000)


@register_model("camil")
class CamilModel(nn.Module):
    """CAMIL's two encoders and their Euclidean distance.

    Examples
    --------
    >>> import torch
    >>> m = CamilModel(CamilConfig(depth=10, width=0.125, audio_depth=10, audio_width=0.125, embedding_dim=8)).eval()
    >>> m(torch.zeros(2, 84, 192), torch.full((2, 128, 282), -80.0)).shape
    torch.Size([2])
    """

    config_class = CamilConfig

    def __init__(self, config: CamilConfig = CamilConfig()) -> None:
        super().__init__()
        if not isinstance(config, CamilConfig):
            raise TypeError(f"config must be a CamilConfig, got {type(config).__name__}")
        self.config = config
        self.midi_encoder = _midi_encoder(config.depth, config.width, config.embedding_dim)
        self.audio_encoder = _audio_encoder(config.audio_depth, config.audio_width, config.embedding_dim)

    def embed_midi(self, rolls: torch.Tensor) -> torch.Tensor:
        """``(batch, 84, 192)`` rolls (or with a channel axis) → ``(batch, embedding_dim)``."""
        return self.midi_encoder(_as_input(rolls, ROLL_SHAPE, "rolls"))

    def embed_audio(self, mels: torch.Tensor) -> torch.Tensor:
        """``(batch, 128, 282)`` dB mels (or with a channel axis) → ``(batch, embedding_dim)``."""
        return self.audio_encoder(_as_input(mels, MEL_SHAPE, "mels"))

    embed = embed_midi

    def forward(self, rolls: torch.Tensor, mels: torch.Tensor) -> torch.Tensor:
        """Euclidean distances ``(batch,)`` between the roll and mel embeddings, row by row."""
        if rolls.shape[0] != mels.shape[0]:
            raise ValueError(f"rolls ({rolls.shape[0]}) and mels ({mels.shape[0]}) must have the same batch size")
        return (self.embed_midi(rolls) - self.embed_audio(mels)).norm(dim=1)


@dataclass(frozen=True)
class MidiClassifierConfig(ModelConfig):
    """Configuration of a :class:`MidiClassifier`: MIDI encoder ``depth``, ``width``,
    ``embedding_dim`` (as in :class:`CamilConfig`) and ``dropout`` before the head."""

    model_type = "camil_classifier"
    _JSON_INDENT = 2

    depth: int = choice_field(18, _DEPTHS)
    width: float = float_field(1.0, minimum=0.0625, maximum=2.0)
    embedding_dim: int = int_field(128, minimum=1, maximum=2048)
    dropout: float = float_field(0.0, minimum=0.0, maximum=1.0, include_maximum=False)


class _Classifier(nn.Module):
    classes: Tuple[str, ...] = CAMIL_CLASSES
    _shape: Tuple[int, int] = ROLL_SHAPE
    _input: str = "rolls"

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder embeddings ``(batch, embedding_dim)``."""
        return self.encoder(_as_input(x, self._shape, self._input))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, 8)`` in the order of :attr:`classes`."""
        return self.head(self.dropout(self.embed(x)))

    def freeze_encoder(self, frozen: bool = True) -> None:
        """Stop (or restart) training the encoder: the linear-probe condition. A frozen
        encoder also stays in eval mode (batch-norm statistics fixed)."""
        self._frozen = bool(frozen)
        for p in self.encoder.parameters():
            p.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> "_Classifier":
        super().train(mode)
        if getattr(self, "_frozen", False):
            self.encoder.eval()
        return self


@register_model("camil_classifier")
class MidiClassifier(_Classifier):
    """MIDI instrument classifier: ResNet MIDI encoder + linear head over the 8 classes.

    Examples
    --------
    >>> import torch
    >>> m = MidiClassifier(MidiClassifierConfig(depth=10, width=0.125, embedding_dim=8)).eval()
    >>> m(torch.zeros(3, 84, 192)).shape
    torch.Size([3, 8])
    """

    config_class = MidiClassifierConfig

    def __init__(self, config: MidiClassifierConfig = MidiClassifierConfig()) -> None:
        super().__init__()
        if not isinstance(config, MidiClassifierConfig):
            raise TypeError(f"config must be a MidiClassifierConfig, got {type(config).__name__}")
        self.config = config
        self.encoder = _midi_encoder(config.depth, config.width, config.embedding_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.embedding_dim, len(CAMIL_CLASSES))

    @classmethod
    def from_camil(cls, camil: CamilModel, *, dropout: float = 0.0) -> "MidiClassifier":
        """A classifier whose encoder is a copy of ``camil``'s MIDI encoder (fresh head)."""
        if not isinstance(camil, CamilModel):
            raise TypeError(f"camil must be a CamilModel, got {type(camil).__name__}")
        c = camil.config
        model = cls(MidiClassifierConfig(depth=c.depth, width=c.width, embedding_dim=c.embedding_dim, dropout=dropout))
        model.encoder.load_state_dict(camil.midi_encoder.state_dict())
        return model


@dataclass(frozen=True)
class AudioClassifierConfig(ModelConfig):
    """Configuration of an :class:`AudioClassifier` (fields as :class:`MidiClassifierConfig`,
    plus the audio ``frontend`` preset and its ``sample_rate``)."""

    model_type = "camil_audio_classifier"
    _JSON_INDENT = 2

    depth: int = choice_field(18, _DEPTHS)
    width: float = float_field(1.0, minimum=0.0625, maximum=2.0)
    embedding_dim: int = int_field(128, minimum=1, maximum=2048)
    dropout: float = float_field(0.0, minimum=0.0, maximum=1.0, include_maximum=False)
    frontend: str = str_field("camil", check=_known_frontend)
    sample_rate: int = int_field(22050, minimum=1, maximum=384000)


@register_model("camil_audio_classifier")
class AudioClassifier(_Classifier):
    """Audio instrument classifier (AIC): ResNet on ``(batch, 128, 282)`` dB mels + linear head.

    Examples
    --------
    >>> import torch
    >>> m = AudioClassifier(AudioClassifierConfig(depth=10, width=0.125, embedding_dim=8)).eval()
    >>> m(torch.full((2, 128, 282), -80.0)).shape
    torch.Size([2, 8])
    """

    config_class = AudioClassifierConfig
    _shape = MEL_SHAPE
    _input = "mels"

    def __init__(self, config: AudioClassifierConfig = AudioClassifierConfig()) -> None:
        super().__init__()
        if not isinstance(config, AudioClassifierConfig):
            raise TypeError(f"config must be an AudioClassifierConfig, got {type(config).__name__}")
        self.config = config
        self.encoder = _audio_encoder(config.depth, config.width, config.embedding_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.embedding_dim, len(CAMIL_CLASSES))
