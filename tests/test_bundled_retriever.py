"""The bundled retrieval model: loads, and finds unheard patches far above chance."""
import numpy as np
import pytest

pytest.importorskip("torch")

from timbrefast.scorers.retrieval import BUNDLED_RETRIEVER, InstrumentRetriever  # noqa: E402

pytestmark = pytest.mark.skipif(not BUNDLED_RETRIEVER.is_dir(), reason="needs the bundled retrieval model")


def test_bundled_retriever_finds_unheard_patches():
    from timbrefast.data.instruments import patch_instruments, render_note_bank
    from timbrefast.data.patches import random_patches

    r = InstrumentRetriever.from_pretrained()
    assert r.model.config.embedding_dim == 128 and r.sample_rate == 16000
    insts = patch_instruments(random_patches(40, seed=200_000))  # outside training and validation seeds
    bank = render_note_bank(insts, notes_per_instrument=3, seconds=2.0, seed=5)
    gallery = r.build_gallery(list(bank.audio[:, 0]), ids=[i.id for i in insts], sr=16000,
                              families=[i.family for i in insts])
    ids, _ = r.search(list(bank.audio[:, 1:].reshape(-1, bank.audio.shape[-1])), gallery, sr=16000, k=5)
    truth = np.repeat([i.id for i in insts], 2)
    top1 = float(np.mean(ids[:, 0] == truth))
    top5 = float(np.mean([t in row for t, row in zip(truth, ids)]))
    assert top1 >= 0.25 and top5 >= 0.5, (top1, top5)  # chance: 0.025 / 0.125
