"""timbrefast.taxonomy and the ontology-triplet metrics (issue 14, part 4)."""
from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from timbrefast import metrics
from timbrefast.taxonomy import Taxonomy

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "vasilakis2024"
TINYSOL = [
    "bass tuba", "french horn", "trombone", "trumpet in c", "accordion", "contrabass", "violin",
    "viola", "violoncello", "bassoon", "clarinet in b-flat", "flute", "oboe", "alto saxophone",
]


def _brute_triplets(d, keep, order):
    n = d.shape[0]
    out = []
    for a, p, q in itertools.product(range(n), repeat=3):
        if len({a, p, q}) < 3:
            continue
        if order == "vasilakis2024" and not (a < p and a < q):
            continue
        if keep(d[a, p], d[a, q]):
            out.append((a, p, q))
    return np.array(out, dtype=np.int64).reshape(-1, 3)


# ------------------------------------------------------------------ construction


def test_from_dict_structure_and_distances():
    t = Taxonomy.from_dict(
        {"winds": {"brass": ["trumpet", "tuba"], "reeds": {"single": ["clarinet"], "double": ["oboe"]}},
         "strings": ["violin", "viola"]},
        aliases={"trumpet in c": "trumpet"},
    )
    assert t.root == "root" and t.top_families == ["winds", "strings"]
    assert t.path("trumpet", "oboe") == ["trumpet", "brass", "winds", "reeds", "double", "oboe"]
    assert t.distance("Trumpet in C", "tuba") == 2.0  # alias, case-insensitive
    assert t.distance("clarinet", "oboe") == 4.0
    assert t.distance("violin", "violin") == 0.0
    assert t.distance("trumpet", "violin") == math.inf
    assert t.distance("trumpet", "violin", cross_family="path") == 5.0
    assert t.distance("trumpet", "violin", cross_family=10) == 10.0
    assert t.top_family("oboe") == "winds" and t.top_family("root") is None
    assert t.depth("oboe") == 4 and t.ancestors("oboe") == ["double", "reeds", "winds", "root"]
    assert set(t.leaves) == {"trumpet", "tuba", "clarinet", "oboe", "violin", "viola"}
    assert "TUBA" in t and "banjo" not in t and 3 not in t
    # the matrix is the pairwise distance
    terms = ["tuba", "oboe", "viola"]
    d = t.distance_matrix(terms, cross_family="path")
    for i, j in itertools.product(range(3), repeat=2):
        assert d[i, j] == t.distance(terms[i], terms[j], cross_family="path")


def test_from_dict_rejects_bad_trees():
    with pytest.raises(ValueError, match="duplicate"):
        Taxonomy.from_dict({"a": ["x"], "b": ["x"]})
    with pytest.raises(ValueError, match="non-empty"):
        Taxonomy.from_dict({})
    with pytest.raises(TypeError, match="dict, a list or None"):
        Taxonomy.from_dict({"a": 3})
    with pytest.raises(TypeError, match="non-empty strings"):
        Taxonomy.from_dict({"a": ["", "b"]})
    with pytest.raises(ValueError, match="exactly one root"):
        Taxonomy({"a": None, "b": None})
    with pytest.raises(ValueError, match="cycle"):
        Taxonomy({"r": None, "a": "b", "b": "a"})
    with pytest.raises(ValueError, match="unknown"):
        Taxonomy({"r": None, "a": "zz"})
    with pytest.raises(ValueError, match="shadows"):
        Taxonomy.from_dict({"a": ["x", "y"]}, aliases={"x": "y"})
    t = Taxonomy.from_dict({"a": ["x", "y"]})
    with pytest.raises(KeyError, match="not in the taxonomy"):
        t.distance("x", "nope")
    with pytest.raises(ValueError, match="cross_family"):
        t.distance("x", "y", cross_family="exclude")
    with pytest.raises(ValueError, match="finite"):
        t.distance("x", "y", cross_family=-1)
    with pytest.raises(ValueError, match="duplicates"):
        t.distance_matrix(["x", "x"])
    with pytest.raises(ValueError, match="empty"):
        t.distance_matrix([])


def test_json_round_trip(tmp_path):
    t = Taxonomy.bundled()
    p = tmp_path / "t.json"
    t.to_json(p)
    u = Taxonomy.from_json(p)
    assert u.nodes == t.nodes and u.root == t.root
    assert np.array_equal(u.distance_matrix(TINYSOL), t.distance_matrix(TINYSOL))
    # a plain nested dict in a file
    q = tmp_path / "plain.json"
    q.write_text(json.dumps({"brass": ["horn", "tuba"], "strings": ["violin"]}))
    assert Taxonomy.from_json(q).distance("horn", "tuba") == 2.0


def test_bundled_tree_places_families_correctly():
    t = Taxonomy.bundled()
    assert t.top_families == ["aerophones", "chordophones", "idiophones", "membranophones", "electrophones"]
    fam = {
        "accordion": "aerophones", "flute": "aerophones", "trumpet in c": "aerophones",
        "pipe organ": "aerophones", "violoncello": "chordophones", "piano": "chordophones",
        "harpsichord": "chordophones", "xylophone": "idiophones", "cymbal": "idiophones",
        "triangle": "idiophones", "snare drum": "membranophones", "timpani": "membranophones",
        "synthesizer": "electrophones", "electric guitar": "electrophones", "theremin": "electrophones",
    }
    for term, family in fam.items():
        assert t.top_family(term) == family, term
    # indeterminate-pitch percussion sits with its own kind, not beside the pitched one
    assert t.parent("cymbal") == "indefinite-pitch idiophones"
    assert t.parent("snare drum") == "indefinite-pitch drums"
    assert t.distance("xylophone", "marimba") < t.distance("xylophone", "cymbal")
    # every TinySOL label resolves; the published within-family pattern holds
    d = t.distance_matrix(TINYSOL)
    i = {x: k for k, x in enumerate(TINYSOL)}
    assert d[i["bass tuba"], i["french horn"]] == 2 and d[i["bass tuba"], i["trombone"]] == 4
    assert d[i["bassoon"], i["oboe"]] == 2
    assert d[i["clarinet in b-flat"], i["alto saxophone"]] < d[i["clarinet in b-flat"], i["oboe"]]
    assert d[i["violin"], i["viola"]] == 2 and np.isinf(d[i["violin"], i["flute"]])
    assert (d[i["accordion"], [i[x] for x in ("flute", "oboe", "trumpet in c")]] > 2).all()
    with pytest.raises(ValueError, match="no bundled taxonomy"):
        Taxonomy.bundled("nope")


def test_from_audioset_with_a_built_ontology(tmp_path):
    nodes = [
        {"id": "/m/mi", "name": "Musical instrument", "description": "", "child_ids": ["/m/s", "/m/b", "/m/p"]},
        {"id": "/m/s", "name": "Bowed string instrument", "child_ids": ["/m/vn", "/m/vc"]},
        {"id": "/m/b", "name": "Brass instrument", "child_ids": ["/m/tp", "/m/hn"]},
        {"id": "/m/p", "name": "Percussion", "child_ids": ["/m/hn"]},  # a second parent: BFS keeps the first
        {"id": "/m/vn", "name": "Violin, fiddle", "child_ids": []},
        {"id": "/m/vc", "name": "Cello", "child_ids": []},
        {"id": "/m/tp", "name": "Trumpet", "child_ids": []},
        {"id": "/m/hn", "name": "French horn", "child_ids": []},
        {"id": "/m/x", "name": "Speech", "child_ids": []},
    ]
    p = tmp_path / "ontology.json"
    p.write_text(json.dumps(nodes))
    t = Taxonomy.from_audioset(p)
    assert t.root == "/m/mi" and len(t) == 8 and "Speech" not in t
    assert t.parent("french horn") == "/m/b"
    assert t.distance("Cello", "Violin, fiddle") == 2.0
    assert t.distance("cello", "trumpet") == math.inf
    assert t.name_of("/m/vc") == "Cello"
    assert len(Taxonomy.from_audioset(p, root="/m/b")) == 3
    with pytest.raises(ValueError, match="no node"):
        Taxonomy.from_audioset(p, root="Guitar")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"a": 1}))
    with pytest.raises(ValueError, match="AudioSet"):
        Taxonomy.from_audioset(bad)


def test_from_hornbostel_sachs():
    t = Taxonomy.from_hornbostel_sachs(
        {"violin": "321.322-71", "cello": "321.322-71", "guitar": "321.322-5", "flute": "421.121.12",
         "trumpet": "423.233", "xylophone": "111.212"}
    )
    assert t.top_family("violin") == "3" and t.name_of("3") == "chordophones"
    assert t.name_of("4") == "aerophones"
    assert t.distance("violin", "cello") == 2.0  # same code: siblings
    assert t.distance("violin", "guitar") == 2.0  # suffixes after '-' are dropped
    assert t.ancestors("flute")[:2] == ["421.121.12", "421.121.1"]
    assert t.distance("flute", "trumpet") == 2 + 2 * 5  # 421.12112 vs 423.233 meet at 42
    assert math.isinf(t.distance("violin", "flute"))
    with pytest.raises(ValueError, match="Hornbostel-Sachs code"):
        Taxonomy.from_hornbostel_sachs({"x": "abc"})
    with pytest.raises(ValueError, match="Hornbostel-Sachs code"):
        Taxonomy.from_hornbostel_sachs({"x": "6.1"})


def test_from_music21():
    pytest.importorskip("music21", reason="music21 (the [music21] extra) is not installed")
    t = Taxonomy.from_music21()
    assert t.root == "Instrument" and "StringInstrument" in t.top_families
    assert t.distance("Violin", "Viola") == 2.0
    assert t.parent("AltoSaxophone") == "Saxophone"
    assert t.top_family("Trumpet") == "BrassInstrument"
    assert "Conductor" not in t
    assert t.resolve("bass clarinet") == "BassClarinet"  # by instrumentName
    assert t.resolve("percussion") == "Percussion"  # a key wins over the names of two other classes


def test_ambiguous_names_need_a_key():
    t = Taxonomy({"r": None, "a": "r", "b": "r"}, names={"a": "Bass", "b": "Bass"})
    with pytest.raises(KeyError, match="several nodes"):
        t.resolve("bass")
    assert t.resolve("a") == "a"


# ------------------------------------------------------------------ triplets


def test_ontology_triplets_match_brute_force(rng):
    for _ in range(5):
        n = 7
        d = rng.integers(1, 6, size=(n, n)).astype(float)
        d = np.triu(d, 1) + np.triu(d, 1).T
        no = rng.random((n, n)) < 0.3
        no = np.triu(no, 1) | np.triu(no, 1).T
        d[no] = -1
        fin = np.where(d < 0, np.inf, d)
        got = metrics.ontology_triplets(d)
        assert np.array_equal(got, _brute_triplets(fin, lambda x, y: x < y, "ordered"))
        got = metrics.ontology_triplets(d, enumeration="vasilakis2024")
        assert np.array_equal(got, _brute_triplets(fin, lambda x, y: x < y, "vasilakis2024"))
        got = metrics.ontology_triplets(d, cross_family="exclude")
        assert np.array_equal(got, _brute_triplets(fin, lambda x, y: x < y and np.isfinite(y), "ordered"))
        got = metrics.ontology_triplets(d, cross_family=3)
        assert np.array_equal(got, _brute_triplets(np.where(d < 0, 3, d), lambda x, y: x < y, "ordered"))
        got = metrics.ontology_triplets(d, mode="vasilakis2024")
        assert np.array_equal(got, _brute_triplets(d, lambda x, y: x > -1 and x > y, "vasilakis2024"))
        # inf and -1 both mean "no path"
        assert np.array_equal(metrics.ontology_triplets(fin, mode="vasilakis2024"), got)
        # strict: every kept positive is strictly closer
        t = metrics.ontology_triplets(d)
        assert (fin[t[:, 0], t[:, 1]] < fin[t[:, 0], t[:, 2]]).all()


def test_taxonomy_triplets_policies():
    t = Taxonomy.from_dict({"brass": ["trumpet", "tuba"], "strings": ["violin"]})
    terms = ["trumpet", "tuba", "violin"]
    assert t.triplets(terms).tolist() == [[0, 1, 2], [1, 0, 2]]
    assert t.triplets(terms, cross_family="exclude").tolist() == []
    assert t.triplets(terms, cross_family="path").tolist() == [[0, 1, 2], [1, 0, 2]]
    assert t.triplets(terms, cross_family=1).tolist() == [[0, 2, 1], [1, 2, 0]]
    assert t.triplets(terms, enumeration="vasilakis2024").tolist() == [[0, 1, 2]]


def test_ontology_triplet_accuracy_bad_input():
    e = np.eye(3)
    d = np.array([[0, 2, -1], [2, 0, -1], [-1, -1, 0]], dtype=float)
    with pytest.raises(ValueError, match="mode"):
        metrics.ontology_triplet_accuracy(e, d, mode="loose")
    with pytest.raises(ValueError, match="enumeration"):
        metrics.ontology_triplet_accuracy(e, d, enumeration="pairs")
    with pytest.raises(ValueError, match="square"):
        metrics.ontology_triplet_accuracy(e, d[:2])
    with pytest.raises(ValueError, match="3 embeddings"):
        metrics.ontology_triplet_accuracy(e, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.ontology_triplet_accuracy(e, np.where(d < 0, np.nan, d))
    with pytest.raises(ValueError, match="non-finite"):
        metrics.ontology_triplet_accuracy(np.full((3, 2), np.nan), d)
    with pytest.raises(ValueError, match="strict"):
        metrics.ontology_triplet_accuracy(e, d, mode="vasilakis2024", cross_family="exclude")
    with pytest.raises(ValueError, match="undefined"):
        metrics.ontology_triplet_accuracy(e, np.zeros((3, 3)))
    with pytest.raises(TypeError, match="cross_family"):
        metrics.ontology_triplets(d, cross_family=None)
    acc, n = metrics.ontology_triplet_accuracy(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), d, return_count=True)
    assert (acc, n) == (1.0, 2)


# ------------------------------------------------------------------ published data

_MODELS = {
    "music_laion_clap": {"joint_space": (0.570, 0.768, 0.722), "pre_joint": (0.578, 0.751, 0.697)},
    "music_speech_laion_clap": {"joint_space": (0.494, 0.658, 0.719), "pre_joint": (0.532, 0.705, 0.710)},
}


def _published():
    if not (DATA / "tinysol_instrument_similarity.npy").is_file():
        pytest.skip(f"the published Vasilakis et al. data is not at {DATA}")
    return np.load(DATA / "tinysol_instrument_similarity.npy")


@pytest.mark.parametrize("model", sorted(_MODELS))
@pytest.mark.parametrize("space", ["joint_space", "pre_joint"])
def test_published_triplet_figures(model, space):
    d = _published()
    path = DATA / "model_embeddings" / model / "text" / space / "muscall_prompt.npy"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    e = np.load(path)
    published, strict_same, strict_all = _MODELS[model][space]
    acc, n = metrics.ontology_triplet_accuracy(e, d, mode="vasilakis2024", return_count=True)
    assert n == 237 and acc == pytest.approx(published, abs=0.002)
    acc, n = metrics.ontology_triplet_accuracy(e, d, mode="strict", enumeration="vasilakis2024", return_count=True)
    assert n == 237 and acc == pytest.approx(strict_same, abs=0.002)
    acc, n = metrics.ontology_triplet_accuracy(e, d, return_count=True)
    assert n == 686 and acc == pytest.approx(strict_all, abs=0.002)


def test_published_distance_matrix_structure():
    d = _published()
    assert d.shape == (14, 14) and np.array_equal(d, d.T)
    # the published strict triplets == those of a tree whose cross-family pairs are "farthest"
    t = metrics.ontology_triplets(d)
    assert t.shape == (686, 3)
    fin = np.where(d < 0, np.inf, d)
    assert (fin[t[:, 0], t[:, 1]] < fin[t[:, 0], t[:, 2]]).all()


def test_bundled_tree_orders_tinysol_like_the_published_matrix():
    d = _published()
    mine = Taxonomy.bundled().distance_matrix(TINYSOL)
    # same strict triplets: the bundled tree ranks every pair as the published tree does
    assert np.array_equal(metrics.ontology_triplets(mine), metrics.ontology_triplets(d))
    assert np.array_equal(np.isinf(mine), d < 0)


def test_docstring_examples_run():
    import doctest

    import timbrefast.taxonomy as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
