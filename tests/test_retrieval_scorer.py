"""InstrumentRetriever and the retrieval CLI, on a tiny model saved by the test."""
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.checkpoints import save_model  # noqa: E402
from timbrefast.data.patches import random_patches, save_patches  # noqa: E402
from timbrefast.models.retrieval import RetrievalConfig, RetrievalModel  # noqa: E402
from timbrefast.scorers.gallery import Gallery  # noqa: E402
from timbrefast.scorers.retrieval import InstrumentRetriever  # noqa: E402

SF2 = "/usr/share/sounds/sf2/TimGM6mb.sf2"
SR = 16000


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = RetrievalModel(RetrievalConfig(embedding_dim=16, widths=(4, 8)))
    return save_model(model, tmp_path_factory.mktemp("m") / "retriever")


@pytest.fixture(scope="module")
def retriever(model_dir):
    return InstrumentRetriever.from_pretrained(model_dir)


def test_embed_shapes_and_unit_norm(retriever):
    rng = np.random.default_rng(0)
    one = retriever.embed(rng.standard_normal(SR).astype(np.float32), sr=SR)
    assert one.shape == (16,) and abs(np.linalg.norm(one) - 1) < 1e-5
    batch = retriever.embed(rng.standard_normal((3, 5 * SR)).astype(np.float32), sr=SR)  # 3 windows each
    assert batch.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-5)
    t = retriever.embed(torch.from_numpy(rng.standard_normal((3, SR)).astype(np.float32)), sr=SR)
    assert isinstance(t, torch.Tensor) and t.shape == (3, 16)
    # another rate is resampled: 1 s at 8 kHz embeds like its 16 kHz resampling
    y8 = rng.standard_normal(8000).astype(np.float32)
    assert retriever.embed(y8, sr=8000).shape == (16,)


def test_gallery_from_patches_and_self_search(retriever, tmp_path):
    patches = random_patches(6, seed=11)
    g = retriever.gallery_from_patches(patches)
    assert len(g) == 6 and g.ids[0] == "patch:bass-11" and g.families[0] == "Bass"
    path = save_patches(patches, str(tmp_path / "p.json"))
    g2 = retriever.gallery_from_patches(path, family_names="paper")
    np.testing.assert_allclose(g2.embeddings, g.embeddings, atol=1e-6)
    assert g2.families[0] == "bass"
    # the gallery's own reference notes retrieve themselves first
    from timbrefast.data.instruments import patch_instruments, render_note_bank

    bank = render_note_bank(patch_instruments(patches), notes_per_instrument=1, seconds=2.0)
    ids, scores = retriever.search(bank.audio[:, 0], g, sr=SR, k=1)
    assert ids[:, 0].tolist() == g.ids
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_gallery_from_soundfont(retriever):
    if not os.path.exists(SF2):
        pytest.skip(f"{SF2} not installed")
    pytest.importorskip("fluidsynth", reason="pyfluidsynth is needed (the [synth] extra)")
    g = retriever.gallery_from_soundfont(SF2)
    assert len(g) >= 100 and g.ids[0].startswith("TimGM6mb.sf2:0:0:")
    ids, _ = g.search(g.embeddings[:2], k=3, family=g.families[0])
    assert all(g.families[g.ids.index(i)] == g.families[0] for i in ids.ravel())


def test_bad_input(retriever, model_dir):
    g = Gallery(np.eye(4, dtype=np.float32), list("abcd"))
    with pytest.raises(ValueError, match="dimension"):
        retriever.search(np.zeros(SR, np.float32), g, sr=SR)
    with pytest.raises(TypeError, match="Gallery"):
        retriever.search(np.zeros(SR, np.float32), "gallery.safetensors", sr=SR)
    with pytest.raises(ValueError, match="no instruments"):
        retriever.gallery_from_instruments([])
    with pytest.raises(ValueError, match="family_names"):
        retriever.gallery_from_patches(random_patches(1), family_names="nsynth")
    with pytest.raises(ValueError, match="sr"):
        retriever.embed(np.zeros(SR, np.float32))


def test_cli_gallery_build_and_retrieve(model_dir, tmp_path, capsys):
    import soundfile as sf

    from timbrefast.cli import main
    from timbrefast.data.instruments import patch_instruments, render_note_bank

    insts = patch_instruments(random_patches(4, seed=2))
    bank = render_note_bank(insts, notes_per_instrument=2, seconds=1.0)
    folder = tmp_path / "refs"
    folder.mkdir()
    for inst, notes in zip(insts, bank.audio):
        sf.write(folder / f"{inst.id.split(':')[1]}.wav", notes[0], SR)
    sf.write(tmp_path / "query.wav", bank.audio[2, 1], SR)
    gal = tmp_path / "g.safetensors"
    assert main(["gallery", "build", str(folder), str(gal), "--model", str(model_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["entries"] == 4 and summary["dim"] == 16
    assert main(["retrieve", str(tmp_path / "query.wav"), "--gallery", str(gal), "--model", str(model_dir),
                 "--k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["results"]) == 1 and len(out["results"][0]["ids"]) == 2
    # one-line errors and exit codes, no traceback
    assert main(["retrieve", str(folder), "--gallery", str(gal)]) == 2
    assert main(["retrieve", str(tmp_path / "query.wav"), "--gallery", str(tmp_path / "none")]) == 2
    assert main(["gallery", "build", str(tmp_path / "nothing"), str(gal)]) == 2
    assert main(["retrieve", str(tmp_path / "query.wav"), "--gallery", str(gal), "--model", str(model_dir),
                 "--k", "9"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "exceeds" in err
