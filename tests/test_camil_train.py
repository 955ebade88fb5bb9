"""CAMIL recipes: negatives, the positive:negative ratio, splits, the report, the CLI end to end."""
import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from timbrefast.data.families import CAMIL_CLASSES  # noqa: E402
from timbrefast.losses import margin_contrastive  # noqa: E402
from timbrefast.models.camil import CamilConfig, MidiClassifier, MidiClassifierConfig  # noqa: E402
from timbrefast.train.camil import (  # noqa: E402
    PAPER_ORDER,
    CamilClassifierRecipe,
    CamilData,
    CamilPretrainRecipe,
    CamilRecipeConfig,
    classification_report,
    draw_batch_negatives,
    draw_negatives,
    keep_fraction,
    split_by_part,
    write_report,
)

TINY = CamilConfig(depth=10, width=0.0625, audio_depth=10, audio_width=0.0625, embedding_dim=4)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) // 2) % 8  # two segments per part, one class per part
    return CamilData(rng.random((n, 84, 192)).astype(np.float16), (-80 * rng.random((n, 128, 282))).astype(np.float16),
                     labels, np.arange(n) // 2)


def test_draw_negatives():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    rng = np.random.default_rng(0)
    anchors = np.arange(7)
    neg = draw_negatives(labels, anchors, 5, negatives="class", rng=rng)
    assert neg.shape == (7, 5) and np.all(labels[neg] != labels[anchors][:, None])
    neg = draw_negatives(labels, np.repeat(anchors, 20), 3, negatives="random", rng=rng)
    assert np.all(neg != np.repeat(anchors, 20)[:, None])
    assert set(np.unique(neg)) == set(range(7))  # same-class segments are allowed
    with pytest.raises(ValueError, match="two classes"):
        draw_negatives(np.zeros(3, int), np.arange(3), 1, negatives="class", rng=rng)


@pytest.mark.parametrize("k", [1, 3])
def test_pretrain_batch_ratio_and_loss(k):
    data = _data()
    cfg = CamilRecipeConfig(batch_size=6, negatives_per_positive=k, negatives="class", margin=2.0, seed=4)
    r = CamilPretrainRecipe(data, data, model_config=TINY, config=cfg)
    b = r.batch(0, 0, 1)
    assert b["rolls"].shape == (6, 84, 192) and b["mels"].shape == (6 * (1 + k), 128, 282)
    again = r.batch(0, 0, 1)
    assert torch.equal(again["mels"], b["mels"]) and not torch.equal(r.batch(1, 0, 1)["rolls"], b["rolls"])
    # positives first, aligned with the anchors; then k blocks of other-class negatives
    rows = {data.rolls[i].tobytes(): i for i in range(len(data))}
    idx = [rows[np.asarray(x, np.float16).tobytes()] for x in b["rolls"].numpy()]
    mel_rows = {data.mels[i].tobytes(): i for i in range(len(data))}
    aud = [mel_rows[np.asarray(x, np.float16).tobytes()] for x in b["mels"].numpy()]
    assert aud[:6] == idx
    for j in range(k):
        assert all(data.labels[aud[6 * (j + 1) + r_]] != data.labels[idx[r_]] for r_ in range(6))
    r.model.eval()
    loss, metrics = r.loss(r.model, b, 0)
    m, a = r.model.embed_midi(b["rolls"]), r.model.embed_audio(b["mels"])
    z = torch.tensor([1.0] * 6 + [0.0] * (6 * k))
    ref = margin_contrastive(m.repeat(k + 1, 1), a, z, margin=2.0)
    assert torch.allclose(loss, ref) and metrics["d_pos"] >= 0


def test_draw_batch_negatives():
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 1, 2, 2, 2])
    pos = draw_batch_negatives(labels, 4, negatives="class", rng=rng)
    assert pos.shape == (6, 4) and np.all(labels[pos] != labels[:, None])
    pos = draw_batch_negatives(np.repeat(labels, 10), 3, negatives="random", rng=rng)
    assert np.all(pos != np.arange(60)[:, None]) and pos.min() >= 0 and pos.max() < 60
    assert np.all(draw_batch_negatives(np.zeros(3, int), 2, negatives="class", rng=rng) == -1)
    assert np.all(draw_batch_negatives(np.zeros(1, int), 2, negatives="random", rng=rng) == -1)


def test_default_pool_batches_are_unchanged():
    # the dataset pool is the recipe as it was: aligned mels, then k blocks of dataset draws
    data = _data()
    cfg = CamilRecipeConfig(batch_size=6, negatives_per_positive=2, negatives="class", seed=4)
    b = CamilPretrainRecipe(data, data, model_config=TINY, config=cfg).batch(3, 0, 1)
    rng = np.random.default_rng([4, 3, 0xCA])
    idx = rng.choice(len(data), size=6, replace=False)
    neg = draw_negatives(data.labels, idx, 2, negatives="class", rng=rng)
    assert set(b) == {"rolls", "mels"}
    assert np.array_equal(b["mels"].numpy(), data.mels[np.concatenate([idx, neg.T.reshape(-1)])].astype(np.float32))


@pytest.mark.parametrize("negatives", ["class", "random"])
@pytest.mark.parametrize("k", [1, 2])
def test_batch_pool_negatives_and_loss(negatives, k):
    data = _data()
    cfg = CamilRecipeConfig(batch_size=8, negatives_per_positive=k, negatives=negatives, negative_pool="batch",
                            margin=1.5, seed=2)
    r = CamilPretrainRecipe(data, data, model_config=TINY, config=cfg)
    b = r.batch(5, 0, 1)
    # the rolls are the dataset pool's anchors; only their aligned mels go through the encoder
    same = CamilPretrainRecipe(data, data, model_config=TINY,
                               config=CamilRecipeConfig(batch_size=8, negatives_per_positive=k,
                                                        negatives=negatives, seed=2)).batch(5, 0, 1)
    assert torch.equal(b["rolls"], same["rolls"]) and torch.equal(b["mels"], same["mels"][:8])
    pos = b["negatives"].numpy().reshape(k, 8)
    rows = {data.rolls[i].tobytes(): i for i in range(len(data))}
    idx = np.array([rows[np.asarray(x, np.float16).tobytes()] for x in b["rolls"].numpy()])
    for j in range(k):
        assert np.all(pos[j] != np.arange(8))
        if negatives == "class":
            assert np.all(data.labels[idx[pos[j]]] != data.labels[idx])
    r.model.eval()
    loss, _ = r.loss(r.model, b, 5)
    m, a = r.model.embed_midi(b["rolls"]), r.model.embed_audio(b["mels"])
    a_all = torch.cat([a] + [a[torch.from_numpy(pos[j])] for j in range(k)])
    z = torch.tensor([1.0] * 8 + [0.0] * (8 * k))
    assert torch.allclose(loss, margin_contrastive(m.repeat(k + 1, 1), a_all, z, margin=1.5))
    # DDP ranks: each rank's positions stay inside its own slice
    part = r.batch(5, 1, 2)
    assert part["rolls"].shape[0] == 4 and part["negatives"].max() < part["mels"].shape[0]


def test_batch_pool_falls_back_to_the_dataset():
    data = _data()
    data = CamilData(data.rolls, data.mels, np.where(np.arange(len(data)) < 30, 0, 1), data.parts)
    cfg = CamilRecipeConfig(batch_size=2, negatives_per_positive=3, negatives="class", negative_pool="batch", seed=0)
    r = CamilPretrainRecipe(data, data, model_config=TINY, config=cfg)
    for step in range(20):
        b = r.batch(step, 0, 1)
        n_mels = b["mels"].shape[0]
        assert b["negatives"].shape == (6,) and b["negatives"].max() < n_mels
        assert n_mels in (2, 2 + 3, 2 + 6)
        loss, _ = r.loss(r.model, b, step)
        assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="negative_pool"):
        CamilRecipeConfig(negative_pool="queue")


def test_pretraining_lowers_the_loss():
    data = _data(16)
    r = CamilPretrainRecipe(data, data, model_config=TINY, config=CamilRecipeConfig(batch_size=8, seed=1))
    opt = torch.optim.Adam(r.model.parameters(), lr=3e-3)
    b = r.batch(0, 0, 1)
    losses = []
    for _ in range(12):
        loss, _ = r.loss(r.model, b, 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses
    val = r.validate(r.model.eval())
    assert 0 <= val["pair_acc"] <= 1


def test_classifier_batches_are_balanced_and_linear_probe_freezes():
    data = _data(40)
    model = MidiClassifier(MidiClassifierConfig(depth=10, width=0.0625, embedding_dim=4))
    r = CamilClassifierRecipe(data, data, model=model, config=CamilRecipeConfig(batch_size=400), freeze_encoder=True)
    counts = np.bincount(r.batch(0, 0, 1)["y"].numpy(), minlength=8)
    assert counts.min() > 25
    assert all(not p.requires_grad for p in model.encoder.parameters())
    assert set(r.validate(model.eval())) == {"accuracy", "macro_f1", "weighted_f1"}


def test_linear_probe_on_cached_embeddings_matches_the_full_forward():
    data = _data(40)
    torch.manual_seed(3)
    base = MidiClassifier(MidiClassifierConfig(depth=10, width=0.0625, embedding_dim=4, dropout=0.0))
    models, recipes = [], []
    for _ in range(2):
        m = MidiClassifier(base.config)
        m.load_state_dict(base.state_dict())
        models.append(m)
        recipes.append(CamilClassifierRecipe(data, data, model=m, config=CamilRecipeConfig(batch_size=8, seed=1),
                                             freeze_encoder=True))
    cached, full = recipes
    opts = [torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2) for m in models]
    for step in range(5):
        b = cached.batch(step, 0, 1)
        assert set(b) == {"index", "y"}
        b_full = {"x": full._inputs(data, b["index"].numpy()), "y": b["y"]}
        losses = []
        for m, r, o, bb in zip(models, recipes, opts, (b, b_full)):
            m.train()
            loss, _ = r.loss(m, bb, step)
            o.zero_grad()
            loss.backward()
            o.step()
            losses.append(loss)
        assert torch.allclose(losses[0], losses[1], atol=1e-6)
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    assert all(not p.requires_grad for p in models[0].encoder.parameters())
    assert "x" in full.batch(0, 0, 2)


def test_splits():
    data = _data(40)
    tr, va = split_by_part(data, val_fraction=0.25, seed=0)
    assert len(tr) + len(va) == 40 and not set(tr.parts) & set(va.parts)
    half = keep_fraction(tr, 0.5, seed=0)
    for c in range(8):
        full_parts = set(tr.parts[tr.labels == c])
        if full_parts:
            assert 1 <= len(set(half.parts[half.labels == c])) <= max(1, round(0.5 * len(full_parts)))
    assert keep_fraction(tr, 1.0, seed=0) is tr
    with pytest.raises(ValueError, match="train_fraction"):
        keep_fraction(tr, 0.0, seed=0)


def test_report_against_sklearn(tmp_path):
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    rng = np.random.default_rng(2)
    t = rng.integers(0, 8, 300)
    p = np.where(rng.random(300) < 0.6, t, rng.integers(0, 8, 300))
    rep = classification_report(t, p)
    assert rep["macro_f1"] == pytest.approx(f1_score(t, p, average="macro"))
    assert rep["weighted_f1"] == pytest.approx(f1_score(t, p, average="weighted"))
    assert rep["accuracy"] == pytest.approx(np.mean(t == p))
    pr, rc, f1, sup = precision_recall_fscore_support(t, p, labels=range(8), zero_division=0)
    for c in range(8):
        got = rep["per_class"][CAMIL_CLASSES[c]]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx((pr[c], rc[c], f1[c], sup[c]))
    cm = np.array(rep["confusion"])
    assert rep["classes"] == list(PAPER_ORDER) and cm.sum() == 300
    g = PAPER_ORDER.index("Guitar")
    assert cm[g].sum() == np.sum(t == CAMIL_CLASSES.index("Guitar"))
    paths = write_report(rep, tmp_path)
    rows = list(csv.reader(open(paths["csv"])))
    assert [r[0] for r in rows[1:9]] == list(PAPER_ORDER) and rows[-1][0] == "accuracy"
    assert json.loads(paths["json"].read_text())["n"] == 300
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory):
    from timbrefast.data.camil_synth import synthesize_camil_set

    p = tmp_path_factory.mktemp("camil") / "set.npz"
    synthesize_camil_set(16, seed=3, soundfonts=["/usr/share/sounds/sf2/TimGM6mb.sf2"]).save(p)
    return p


def test_cli_all_five_conditions(tmp_path, synth_file):
    from timbrefast.checkpoints import load_model
    from timbrefast.train.camil_cli import main

    common = ["--data", str(synth_file), "--steps", "2", "--pretrain-steps", "2", "--width", "0.0625",
              "--embedding-dim", "4", "--batch-size", "8", "--val-every", "2", "--no-progress", "--val-fraction", "0.25"]
    for cond in ("aic", "sic", "camil", "unsupervised"):
        assert main(["train", "--condition", cond, "--out", str(tmp_path / cond), *common]) == 0
        assert json.loads((tmp_path / cond / "condition.json").read_text())["condition"] == cond
    assert main(["train", "camil", "--condition", "camil-finetune", "--out", str(tmp_path / "ft"),
                 "--pretrained", str(tmp_path / "camil" / "pretrain" / "model"), "--train-fraction", "0.5", *common]) == 0
    ft = load_model(tmp_path / "ft" / "classifier" / "model")
    base = load_model(tmp_path / "camil" / "pretrain" / "model")
    # fine-tuning moved the encoder; the linear probe kept it
    probe = load_model(tmp_path / "camil" / "classifier" / "model")
    w = "encoder.stem.0.weight"
    assert torch.equal(probe.state_dict()[w], base.state_dict()["midi_encoder.stem.0.weight"])
    assert not torch.equal(ft.state_dict()[w], base.state_dict()["midi_encoder.stem.0.weight"])
    for cond in ("aic", "sic"):
        out = tmp_path / f"eval_{cond}"
        assert main(["eval", "--model", str(tmp_path / cond / "classifier" / "model"), "--data", str(synth_file),
                     "--out", str(out)]) == 0
        rep = json.loads((out / "camil_eval.json").read_text())
        assert rep["n"] > 0 and (out / "camil_eval_confusion.png").exists() and (out / "camil_eval.csv").exists()


def test_cli_errors(tmp_path, synth_file):
    from timbrefast.train.camil_cli import main

    with pytest.raises(SystemExit, match="no such file"):
        main(["train", "--condition", "sic", "--data", str(tmp_path / "none.npz"), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="not a CamilModel"):
        main(["train", "--condition", "camil", "--data", str(synth_file), "--out", str(tmp_path / "o"),
              "--steps", "1", "--width", "0.0625", "--no-progress",
              "--pretrained", str(_save_classifier(tmp_path / "clf"))])
    with pytest.raises(SystemExit, match="not a CAMIL classifier|--model"):
        main(["eval", "--model", str(tmp_path / "nothing"), "--data", str(synth_file), "--out", str(tmp_path / "e")])
    with pytest.raises(SystemExit):
        main(["train", "--condition", "bogus", "--data", str(synth_file), "--out", str(tmp_path / "o")])


def _save_classifier(path):
    from timbrefast.checkpoints import save_model

    save_model(MidiClassifier(MidiClassifierConfig(depth=10, width=0.0625, embedding_dim=4)), path)
    return path
