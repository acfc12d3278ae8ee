"""Semantic hierarchies: WordNet similarity, config checks, methods, metrics, loader, embedders."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from coarse2fine.config_schema import HIERARCHY_SCHEMA
from coarse2fine.hierarchy import Hierarchy, load_hierarchy, metrics
from coarse2fine.hierarchy.assignments import canonical_ids
from coarse2fine.hierarchy.build import build_hierarchy
from coarse2fine.hierarchy.classes import class_table, wnids
from coarse2fine.hierarchy.config import HierarchyConfigError, by_name, check_config, resolve_path
from coarse2fine.hierarchy.methods import build_levels, canonical_hypernym_path
from coarse2fine.hierarchy.similarity import wup_matrix
from coarse2fine.hierarchy.wordnet import wup_similarity

PAPER = ["package:paper_hierarchy/paper_clip_kmeans_K10.csv", "package:paper_hierarchy/paper_clip_kmeans_K100.csv"]


@pytest.fixture(scope="module")
def wup() -> np.ndarray:
    return wup_matrix(wnids())


def load_checked(config: dict, repo) -> dict:
    """What hierarchy.config.load_config (used by workflow/rules/hierarchy.smk) does with a parsed file."""
    config = by_name(copy.deepcopy(config))
    validate(config, str(HIERARCHY_SCHEMA))
    return check_config(config)


def test_fast_wup_matrix_equals_nltk_on_random_pairs(wup):
    ids = wnids()
    rng = np.random.default_rng(7)
    pairs = [tuple(sorted(rng.choice(1000, 2, replace=False))) for _ in range(300)]
    for a, b in pairs:
        assert wup[a, b] == pytest.approx(wup_similarity(ids[a], ids[b]), abs=1e-6)
    assert np.allclose(wup, wup.T) and np.all(np.diag(wup) == 1.0)


def test_wordnet_resolves_all_classes_to_one_canonical_path():
    for wnid in wnids():
        path = canonical_hypernym_path(wnid)
        assert path[0].name() == "entity.n.01" and path[-1].offset() == int(wnid[1:])


def test_default_config_validates_and_names_the_expected_hierarchies(repo):
    config = load_checked(yaml.safe_load((repo / "config/hierarchy.yaml").read_text()), repo)
    by_name = {h["name"]: h for h in config["hierarchies"]}
    assert by_name["minilm_kmeans"]["method"] == "kmeans" and by_name["minilm_kmeans"]["embedder"] == "minilm"
    assert by_name["paper_clip_kmeans"]["method"] == "file"
    assert any(h["method"] == "wordnet_depth" and h["enabled"] for h in config["hierarchies"])
    assert all(h["prompt"] == "a photo of a {}." for h in config["hierarchies"])
    assert all(len(h["seeds"]) >= 5 for h in config["hierarchies"])


def _bad_file(tmp_path, change) -> str:
    frame = pd.read_csv(resolve_path(PAPER[0]))
    path = tmp_path / "bad.csv"
    change(frame).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"ks": [100, 10]}, "strictly increasing"),
        ({"ks": [10, 10]}, "strictly increasing"),
        ({"ks": [10, 1000]}, "1000"),
        ({"ks": [5, 10, 50, 100]}, "ks"),
        ({"method": "spectral"}, "spectral"),
        ({"embedder": "bert"}, "bert"),
        ({"colour": "red"}, "colour"),
        ({"seeds": [0, 1, 2]}, "seeds"),
    ],
)
def test_bad_configs_fail_naming_the_problem(repo, entry, problem):
    config = {"hierarchies": [{"name": "h", "method": "kmeans"} | entry]}
    with pytest.raises(Exception) as info:
        load_checked(config, repo)
    assert problem in str(info.value)


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda f: f.drop(index=[3, 7]), "2 class(es) missing"),
        (lambda f: f.assign(wnid=f["wnid"].where(f.index != 5, "n99999999")), "n99999999"),
    ],
)
def test_bad_file_hierarchy_fails_naming_the_problem(repo, tmp_path, change, problem):
    config = {"hierarchies": [{"name": "h", "method": "file", "ks": [10], "paths": [_bad_file(tmp_path, change)]}]}
    with pytest.raises(HierarchyConfigError, match="hierarchy 'h'") as info:
        load_checked(config, repo)
    assert problem in str(info.value)


def test_file_hierarchy_with_wrong_k_fails(repo):
    config = {"hierarchies": [{"name": "h", "method": "file", "ks": [10, 50], "paths": PAPER}]}
    with pytest.raises(HierarchyConfigError, match="holds 100 clusters, but ks asks for 50"):
        load_checked(config, repo)


def test_kmeans_and_nested_on_embeddings():
    embeddings = np.random.default_rng(0).normal(size=(1000, 16)).astype(np.float32)
    spec = {"method": "kmeans", "ks": [5, 40], "n_init": 1}
    flat = build_levels(spec, 0, embeddings)
    nested = build_levels(spec | {"method": "nested"}, 0, embeddings)
    for levels in (flat, nested):
        assert [int(level.max()) + 1 for level in levels] == [5, 40]
        assert all(level.dtype == np.int64 and level.shape == (1000,) for level in levels)
    assert metrics.nesting(nested[0], nested[1])["rate"] == 1.0
    assert metrics.nesting(flat[0], flat[1])["rate"] < 1.0  # independent levels on noise do not nest
    assert np.array_equal(build_levels(spec, 0, embeddings)[1], flat[1])  # seeded: reproducible


def test_wordnet_depth_gives_about_k_nested_groups():
    split = build_levels({"method": "wordnet_depth", "ks": [10, 100], "wordnet_cut": "split"}, 0)
    depth = build_levels({"method": "wordnet_depth", "ks": [10, 100], "wordnet_cut": "depth"}, 0)
    assert [int(level.max()) + 1 for level in split] == [10, 100]
    assert 5 <= depth[0].max() + 1 <= 20 and 50 <= depth[1].max() + 1 <= 200
    assert metrics.nesting(split[0], split[1])["rate"] == 1.0


def test_metrics_on_known_partitions(wup):
    level = np.repeat(np.arange(10), 100)
    assert metrics.size_stats(level) == {"k": 10, "min": 100, "median": 100.0, "max": 100}
    coarse, fine = np.array([0, 0, 1, 1]), np.array([0, 1, 2, 2])
    assert metrics.nesting(coarse, fine) == {"rate": 1.0, "purity": 1.0}
    assert metrics.nesting(coarse, np.array([0, 0, 0, 1]))["rate"] == 0.5
    # WordNet groups are more coherent than random partitions of the same sizes.
    groups = build_levels({"method": "wordnet_depth", "ks": [100]}, 0)[0]
    random = metrics.random_partition_intra_cluster(wup, groups, seed=0)
    assert metrics.mean_intra_cluster(wup, groups) > random["mean"] + 10 * random["std"]
    same = [groups.copy() for _ in range(3)]
    assert metrics.pairwise_ari(same)["min"] == 1.0


def test_build_and_load_the_papers_hierarchy(tmp_path, wup):
    spec = {"name": "paper", "method": "file", "ks": [10, 100], "paths": PAPER, "seeds": [0, 1, 2, 3, 4]}
    summary = build_hierarchy(spec, wup, None, tmp_path / "paper")
    frame = pd.read_csv(tmp_path / "paper" / "assignments.csv")
    assert list(frame.columns) == ["class_idx", "wnid", "label", "method", "level_1", "level_2"]
    assert summary["levels"][0]["ari_vs_paper"]["K10"] == pytest.approx(1.0)
    # The released hierarchy's documented facts.
    assert summary["levels"][0]["sizes"] | {} == {"k": 10, "min": 38, "median": 87.0, "max": 181}
    assert summary["levels"][1]["nesting_in_coarser"]["rate"] == pytest.approx(0.32)
    assert (tmp_path / "paper" / "clusters.md").read_text().count("\n| ") >= 110

    hierarchy = load_hierarchy(tmp_path / "paper" / "assignments.csv")
    assert isinstance(hierarchy, Hierarchy) and hierarchy.name == "paper"
    assert hierarchy.ks == [10, 100] and hierarchy.num_levels == 3
    assert all(m.dtype == np.int64 and m.shape == (1000,) for m in hierarchy.level_maps)
    paper_k10 = pd.read_csv(resolve_path(PAPER[0]))["cluster_id"].to_numpy()
    assert np.array_equal(hierarchy.level_maps[0], canonical_ids(paper_k10))
    names = hierarchy.cluster_names(0)
    assert len(names) == 10 and all(len(n.split(", ")) == 3 for n in names)
    top = summary["levels"][0]["clusters"][0]["typical"][0]
    assert names[0].startswith(top)
    assert hierarchy.cluster_names(2) == class_table()["label"].tolist()


def test_build_kmeans_reports_stability_across_seeds(tmp_path, wup):
    embeddings = np.random.default_rng(1).normal(size=(1000, 8)).astype(np.float32)
    spec = {"name": "noise", "method": "kmeans", "ks": [4], "seeds": [0, 1, 2, 3, 4], "n_init": 1}
    summary = build_hierarchy(spec, wup, embeddings, tmp_path / "noise")
    seeds = summary["levels"][0]["ari_across_seeds"]
    assert seeds["pairs"] == 10 and -0.1 < seeds["min"] <= seeds["mean"] <= 1.0
    table = json.loads((tmp_path / "noise" / "summary.json").read_text())
    assert table["levels"][0]["wup_random_partition"]["repeats"] == 20
    assert "ARI across seeds" in (tmp_path / "noise" / "summary.md").read_text()


def test_clip_plumbing_with_random_weights():
    import open_clip

    from coarse2fine.hierarchy.embedders import embed_clip

    vectors = embed_clip(["a photo of a tench.", "a photo of a goldfish."], "ViT-S-32", None)
    assert vectors.shape == (2, open_clip.get_model_config("ViT-S-32")["embed_dim"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])


def test_clip_without_weights_fails_at_once_naming_the_offline_embedder(monkeypatch):
    import huggingface_hub.constants

    from coarse2fine.hierarchy.embedders import EmbedderUnavailable, load_clip

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(EmbedderUnavailable, match="embedder: minilm"):
        load_clip("ViT-B-32", "openai")


def test_minilm_embeds_prompts_offline():
    from coarse2fine.hierarchy.embedders import class_prompts, embed_minilm

    prompts = class_prompts("a photo of a {}.", ["tabby cat", "tiger cat", "garbage truck"])
    vectors = embed_minilm(prompts)
    assert vectors.shape == (3, 384)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]  # two cats are closer than a cat and a truck


def test_broken_hierarchy_files_are_named(tmp_path):
    from coarse2fine.hierarchy.assignments import AssignmentsError, load_hierarchy, write_assignments

    classes = np.arange(1000)
    good = tmp_path / "h" / "assignments.csv"
    write_assignments(good, [classes % 10, classes % 100], "test")
    cases = {
        "empty file": lambda p: p.write_text(""),
        "not a readable CSV": lambda p: p.write_bytes(bytes(range(256)) * 40),
        "whole numbers": lambda p: p.write_text(good.read_text().replace("\n5,", "\n5.5,", 1)),
        "level_1 must hold whole numbers": lambda p: p.write_text(
            good.read_text().replace(",test,0,0\n", ",test,0.5,0\n", 1)
        ),
    }
    for problem, damage in cases.items():
        bad = tmp_path / problem.replace(" ", "_") / "assignments.csv"
        bad.parent.mkdir()
        damage(bad)
        with pytest.raises(AssignmentsError, match=problem):
            load_hierarchy(bad)
    with pytest.raises(AssignmentsError, match="is a directory"):
        load_hierarchy(tmp_path / "h")
    (good.parent / "summary.json").write_text("{not json")
    with pytest.raises(AssignmentsError, match="summary.json: not a hierarchy summary"):
        load_hierarchy(good)


def test_hierarchies_keyed_by_name_load_as_the_list_and_a_name_that_does_not_exist_is_named(tmp_path):
    from coarse2fine.hierarchy.config import load_config
    from conftest import REPO

    keyed = load_config(REPO / "config" / "hierarchy.yaml", HIERARCHY_SCHEMA)
    listed = tmp_path / "listed.yaml"
    listed.write_text(yaml.safe_dump({"hierarchies": keyed["hierarchies"]}, sort_keys=False))
    assert load_config(listed, HIERARCHY_SCHEMA) == keyed  # the list form still loads, the same
    assert [h["name"] for h in keyed["hierarchies"]][:2] == ["minilm_kmeans", "minilm_nested"]
    # what `dvc exp run -S 'config/hierarchy.yaml:hierarchies.wordnet_dept.wordnet_cut=depth'` writes
    raw = yaml.safe_load((REPO / "config" / "hierarchy.yaml").read_text())
    raw["hierarchies"]["wordnet_dept"] = {"wordnet_cut": "depth"}
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(HierarchyConfigError, match=r"hierarchies.wordnet_dept has no method: no hierarchy is named"):
        load_config(typo, HIERARCHY_SCHEMA)
