"""ZeroShotClassifier and the published prompt sets, with a deterministic stand-in model."""
from __future__ import annotations

import numpy as np
import pytest

from two_tower_helpers import band_energy, sine_in_band, text_vector

from timbrefast import metrics
from timbrefast.two_tower import (
    DEFINITIONS,
    FAMILY_TEMPLATES,
    PROMPT_SETS,
    RANDOM_SENTENCES,
    TINYSOL_CLASSES,
    TINYSOL_FAMILIES,
    CallableTwoTower,
    ZeroShotClassifier,
    family_prompt_texts,
    prompt_texts,
    remove_label_words,
)

SR = 16000
BANDS = [f"band{b}" for b in range(8)]


class _Recorder:
    """Stand-in model that records the texts it embeds."""

    def __init__(self):
        self.texts = []
        self.inner = CallableTwoTower(lambda x: band_energy(x, SR), text_vector, sample_rate=SR)

    def embed_audio(self, audio, *, sr=None):
        return self.inner.embed_audio(audio, sr=sr)

    def embed_text(self, texts):
        self.texts.append(list(texts))
        return self.inner.embed_text(texts)


@pytest.fixture
def clips():
    bands = [0, 3, 5, 7, 3, 1]
    return np.stack([sine_in_band(b, SR) for b in bands]), np.array(bands)


def test_similarity_predict_and_evaluate(clips):
    x, y = clips
    model = _Recorder()
    clf = ZeroShotClassifier(model, BANDS)
    s = clf.similarity(x, sr=SR)
    assert s.shape == (6, 8) and s.dtype == np.float32
    assert np.all(s <= 1 + 1e-6) and np.all(s >= -1 - 1e-6)
    assert clf.predict(x, sr=SR).tolist() == y.tolist()
    assert clf.predict_labels(x, sr=SR) == [BANDS[b] for b in y]
    assert model.texts == [[f"A {b} track" for b in BANDS]]  # embedded once, cached
    clf.similarity(x, sr=SR)
    assert len(model.texts) == 1
    # similarity = cosine of the model's own embeddings
    a = model.embed_audio(x, sr=SR)
    t = model.embed_text([f"A {b} track" for b in BANDS])
    assert np.allclose(s, a @ t.T, atol=1e-6)
    m = clf.evaluate(x, y, sr=SR)
    assert m["top1"] == 1.0 and m == metrics.zero_shot_metrics(s, y)
    assert clf.evaluate(x, [BANDS[b] for b in y], sr=SR) == m
    with pytest.raises(ValueError, match="unknown class"):
        clf.evaluate(x, ["band9"] * 6, sr=SR)


def test_tensor_in_tensor_out(clips):
    torch = pytest.importorskip("torch")
    x, y = clips
    clf = ZeroShotClassifier(_Recorder(), BANDS)
    s = clf.similarity(torch.from_numpy(x), sr=SR)
    assert isinstance(s, torch.Tensor) and tuple(s.shape) == (6, 8)
    assert np.allclose(s.numpy(), clf.similarity(x, sr=SR), atol=1e-6)
    p = clf.predict(torch.from_numpy(x), sr=SR)
    assert isinstance(p, torch.Tensor) and p.tolist() == y.tolist()


def test_prompt_forms(clips):
    x, y = clips
    # a list of templates: embeddings averaged per class, re-normalised
    model = _Recorder()
    clf = ZeroShotClassifier(model, BANDS, prompt=["A {x} track", "This is a recording of {x}"])
    assert clf.prompts[2] == ["A band2 track", "This is a recording of band2"]
    emb = model.inner.embed_text([t for p in clf.prompts for t in p]).astype(np.float64)
    mean = emb.reshape(8, 2, -1).mean(1)
    assert np.allclose(clf.text_embeddings, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-6)
    assert clf.predict(x, sr=SR).tolist() == y.tolist()
    # one fixed text per class
    texts = [f"the sound of {b}" for b in BANDS]
    assert ZeroShotClassifier(model, BANDS, prompt=texts).prompts == [[t] for t in texts]
    # a dict, texts or lists of texts
    d = {b: ([f"{b} one", f"{b} two"] if i % 2 else f"{b}") for i, b in enumerate(BANDS)}
    clf = ZeroShotClassifier(model, BANDS, prompt=d)
    assert clf.prompts[1] == ["band1 one", "band1 two"] and clf.prompts[0] == ["band0"]
    assert clf.predict(x, sr=SR).tolist() == y.tolist()
    # a published prompt set
    clf = ZeroShotClassifier.from_prompt_set(model, BANDS, "label_random_context", seed=3)
    assert all(p[0].startswith(f"{b} ") and p[0][len(b) + 1:] in RANDOM_SENTENCES for b, p in zip(BANDS, clf.prompts))


@pytest.mark.parametrize(
    "classes, prompt, err, match",
    [
        ([], "A {x} track", ValueError, "classes is empty"),
        (["a", "b", "a"], "A {x} track", ValueError, "duplicates"),
        (["a", ""], "A {x} track", ValueError, "non-empty string"),
        ("violin", "A {x} track", TypeError, "not one string"),
        (["a", "b"], "A track", ValueError, "no '{x}' placeholder"),
        (["a", "b"], ["one text"], ValueError, "1 texts for 2 classes"),
        (["a", "b"], ["A {x}", "fixed"], ValueError, "mixes templates"),
        (["a", "b"], [], ValueError, "empty list"),
        (["a", "b"], {"a": "x"}, ValueError, "no text for class"),
        (["a"], {"a": "x", "c": "y"}, ValueError, "unknown class"),
        (["a", "b"], ["", " "], ValueError, "is empty"),
        (["a"], 3, TypeError, "prompt must be"),
    ],
)
def test_bad_classes_and_prompts(classes, prompt, err, match):
    with pytest.raises(err, match=match):
        ZeroShotClassifier(_Recorder(), classes, prompt=prompt)


def test_bad_model_and_audio(clips):
    x, _ = clips
    with pytest.raises(TypeError, match="embed_audio"):
        ZeroShotClassifier(object(), BANDS)
    clf = ZeroShotClassifier(_Recorder(), BANDS)
    with pytest.raises(ValueError, match="non-finite"):
        clf.similarity(np.full(100, np.nan, np.float32), sr=SR)
    with pytest.raises(ValueError, match="expects 16000 Hz"):
        clf.similarity(x, sr=8000)

    class Broken:
        def embed_audio(self, audio, *, sr=None):
            return np.ones((1, 3))

        def embed_text(self, texts):
            return np.full((len(texts), 3), np.nan)

    with pytest.raises(ValueError, match="non-finite"):
        ZeroShotClassifier(Broken(), ["a"]).similarity(x, sr=SR)


# ------------------------------------------------------------------ prompt sets


def test_prompt_sets_as_published():
    assert PROMPT_SETS["muscall_prompt"] == "A {x} track"
    assert prompt_texts("muscall_prompt")[3] == "A trumpet in c track"
    assert prompt_texts("negative_muscall_prompts")[0] == "A no bass tuba track"
    assert prompt_texts("this_is_a_recording_of")[6] == "This is a recording of violin"
    assert prompt_texts("solo_musical_instrument_sound_of")[11] == "Solo musical instrument sound of flute"
    assert prompt_texts("sound_of_musical_instrument")[12] == "Sound of oboe musical instrument"
    assert len(TINYSOL_CLASSES) == 14 and set(DEFINITIONS) == set(TINYSOL_CLASSES)
    assert prompt_texts("definition") == [DEFINITIONS[c] for c in TINYSOL_CLASSES]
    for c, d in DEFINITIONS.items():  # each definition names its class, so removal is meaningful
        assert c in d.lower() and len(d.split()) > 40
    # random context: seeded, reproducible, differs between seeds
    a, b = prompt_texts("label_random_context", seed=1), prompt_texts("label_random_context", seed=1)
    assert a == b and a != prompt_texts("label_random_context", seed=2)
    assert all(t.startswith(c + " ") for t, c in zip(a, TINYSOL_CLASSES))
    with pytest.raises(ValueError, match="unknown prompt set"):
        prompt_texts("nope")
    with pytest.raises(ValueError, match="no definition"):
        prompt_texts("definition", ["kazoo"])
    assert prompt_texts("definition", ["kazoo"], definitions={"kazoo": "A buzzing kazoo."}) == ["A buzzing kazoo."]


def test_label_words_removed_as_whole_words():
    no_label = prompt_texts("definition_no_label_word")
    for c, t in zip(TINYSOL_CLASSES, no_label):
        words = {w.strip(".,;:'").lower() for w in t.split()}
        assert not (set(c.split()) & words), (c, t)
    i = TINYSOL_CLASSES.index("trumpet in c")
    assert "pitched" in no_label[i] and "orchestral" in no_label[i]  # the letter c survives inside words
    assert remove_label_words("The Flute, a flute-like flute.", "flute") == "The, a flute-like."
    # the published substring removal, kept as a compatibility mode
    compat = prompt_texts("definition_no_label_word", compat="vasilakis2024")
    assert "pithed" in compat[i] and "orhestral" in compat[i]
    assert remove_label_words("a clarinet in b-flat", "clarinet in b-flat", compat="vasilakis2024") == "a "
    with pytest.raises(ValueError, match="compat"):
        remove_label_words("x", "y", compat="v2")


def test_family_prompts():
    assert FAMILY_TEMPLATES == ("A {x} track", "A {x} instruments track", "A track of {x} musical instruments")
    assert family_prompt_texts() == ["A key track", "A brass track", "A woodwind track", "A string track"]
    assert family_prompt_texts(FAMILY_TEMPLATES[2])[1] == "A track of brass musical instruments"
    assert set(TINYSOL_FAMILIES) == set(TINYSOL_CLASSES)
    assert TINYSOL_FAMILIES["accordion"] == "key" and TINYSOL_FAMILIES["alto saxophone"] == "woodwind"
    with pytest.raises(ValueError, match="placeholder"):
        family_prompt_texts("A track")


@pytest.mark.parametrize("name", ["zero_shot", "adapters", "prompts"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    mod = importlib.import_module(f"timbrefast.two_tower.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_evaluate_prompt_sets_table():
    from timbrefast.two_tower import evaluate_prompt_sets

    bands = [0, 1, 2, 3, 4, 5, 6, 7] * 2
    x = np.stack([sine_in_band(b, SR, amplitude=0.3 + 0.05 * i) for i, b in enumerate(bands)])
    y = np.array(bands)
    model = _Recorder()
    table = evaluate_prompt_sets(model, x, y, BANDS, sr=SR,
                                 prompt_sets=["muscall_prompt", "negative_muscall_prompts"])
    assert list(table) == ["muscall_prompt", "negative_muscall_prompts", "audio_only", "audio_only_loo"]
    clf = ZeroShotClassifier(model, BANDS, prompt="A no {x} track")
    assert table["negative_muscall_prompts"] == clf.evaluate(x, y, sr=SR)
    assert table["muscall_prompt"]["top1"] == 1.0 and table["audio_only_loo"]["top1"] == 1.0
    with pytest.raises(ValueError, match="unknown prompt set"):
        evaluate_prompt_sets(model, x, y, BANDS, sr=SR, prompt_sets=["nope"])


def test_family_prompts_evaluation():
    from timbrefast.two_tower import evaluate_family_prompts

    # four "families" = bands 0..3; classes band0..band7 map class k to family k // 2
    classes = BANDS
    family_of = {b: f"band{int(b[-1]) // 2}" for b in classes}
    families = ["band0", "band1", "band2", "band3"]
    y = np.arange(8)
    x = np.stack([sine_in_band(int(family_of[c][-1]), SR) for c in classes])  # each clip in its family's band
    table = evaluate_family_prompts(_Recorder(), x, y, classes, sr=SR, family_of=family_of, families=families)
    assert list(table) == list(FAMILY_TEMPLATES)
    assert all(row["top1"] == 1.0 for row in table.values())
    with pytest.raises(ValueError, match="no family"):
        evaluate_family_prompts(_Recorder(), x, y, classes, sr=SR, family_of={}, families=families)
    with pytest.raises(ValueError, match="not in families"):
        evaluate_family_prompts(_Recorder(), x, y, classes, sr=SR, family_of=family_of, families=["band0"])
    # the TinySOL defaults cover every class
    assert set(TINYSOL_FAMILIES.values()) == {"key", "brass", "woodwind", "string"}
