"""The local Hugging Face AST encoder (models/ast.py, InstrumentRetriever.from_ast): a tiny
randomly initialised AST saved to a temporary directory; never downloads."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers", reason="the AST encoder needs the [hf] extra")

from timbrefast import InstrumentRetriever  # noqa: E402
from timbrefast.scorers.gallery import Gallery  # noqa: E402


@pytest.fixture(scope="module")
def ast_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_ast")
    torch.manual_seed(0)
    cfg = transformers.ASTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                                 num_mel_bins=32, max_length=64)
    transformers.ASTModel(cfg).eval().save_pretrained(path)
    transformers.ASTFeatureExtractor(num_mel_bins=32, max_length=64).save_pretrained(path)
    return path


def _tones(n, seconds=0.64, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    return np.stack([0.3 * np.sin(2 * np.pi * (200 + 90 * i) * t) for i in range(n)]).astype(np.float32)


def test_from_ast_embeds_and_builds_a_gallery(ast_dir, monkeypatch):
    # Any attempt to reach the hub would fail loudly.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    r = InstrumentRetriever.from_ast(ast_dir)
    assert r.sample_rate == 16000 and r.clip_samples == 64 * 160  # max_length frames of 10 ms
    audio = _tones(4)
    emb = r.embed(audio, sr=16000)
    assert emb.shape == (4, 32) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, rtol=1e-5)
    # The same as the extractor + ASTModel by hand (pooler output, normalised).
    fe = transformers.ASTFeatureExtractor.from_pretrained(ast_dir, local_files_only=True)
    m = transformers.ASTModel.from_pretrained(ast_dir, local_files_only=True).eval()
    clips = np.zeros((4, r.clip_samples), np.float32)
    clips[:, : audio.shape[1]] = audio
    with torch.no_grad():
        ref = m(**fe(list(clips), sampling_rate=16000, return_tensors="pt")).pooler_output
    ref = torch.nn.functional.normalize(ref, dim=1).numpy()
    np.testing.assert_allclose(emb, ref, atol=1e-5)
    # Tensor in -> tensor out; a gallery of the clips finds each clip first.
    assert isinstance(r.embed(torch.from_numpy(audio), sr=16000), torch.Tensor)
    g = r.build_gallery(audio, ids=["a", "b", "c", "d"], sr=16000)
    ids, _ = r.search(audio, g, sr=16000, k=1)
    assert ids[:, 0].tolist() == ["a", "b", "c", "d"]
    assert isinstance(g, Gallery)


def test_projection_mean_pooling_and_window(ast_dir):
    r = InstrumentRetriever.from_ast(ast_dir, pooling="mean", embedding_dim=8, seconds=0.5)
    assert r.clip_samples == 8000
    emb = r.embed(_tones(3, seconds=1.2), sr=16000)  # longer than the window: windows averaged
    assert emb.shape == (3, 8)
    with pytest.raises(ValueError, match="pooling"):
        InstrumentRetriever.from_ast(ast_dir, pooling="max")
    with pytest.raises(ValueError, match="seconds"):
        InstrumentRetriever.from_ast(ast_dir, seconds=0)


def test_missing_files_are_named(ast_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a local directory.*never downloads"):
        InstrumentRetriever.from_ast("MIT/ast-finetuned-audioset-10-10-0.4593")
    with pytest.raises(FileNotFoundError, match="missing config.json"):
        InstrumentRetriever.from_ast(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="not an AST"):
        InstrumentRetriever.from_ast(tmp_path)
    (tmp_path / "config.json").write_text((ast_dir / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="missing the model weights"):
        InstrumentRetriever.from_ast(tmp_path)
    (tmp_path / "model.safetensors").write_bytes((ast_dir / "model.safetensors").read_bytes())
    with pytest.raises(FileNotFoundError, match="missing preprocessor_config.json"):
        InstrumentRetriever.from_ast(tmp_path)


def test_missing_transformers_names_the_extra(ast_dir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers -> ImportError
    with pytest.raises(ImportError, match=r"needs transformers: pip install 'timbrefast\[hf\]'"):
        InstrumentRetriever.from_ast(ast_dir)


def test_saved_ast_encoder_loads_by_type(ast_dir, tmp_path):
    # A trained AST encoder (projection included) saved with save_model comes back through
    # load_model by its model_type, with the same weights and the same embeddings.
    from timbrefast.checkpoints import load_model, save_model
    from timbrefast.models.ast import ASTEncoder, ASTEncoderConfig

    torch.manual_seed(1)
    enc = ASTEncoder(ASTEncoderConfig(hf_dir=str(ast_dir), embedding_dim=8)).eval()
    save_model(enc, tmp_path / "m")
    back = load_model(tmp_path / "m").eval()
    assert isinstance(back, ASTEncoder) and back.config == enc.config
    feats = torch.randn(2, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(back(feats), enc(feats))
