"""The study plan without Snakemake: which jobs each configuration asks for, with which
settings, and the errors that name a plan that cannot work (coarse2fine/plan)."""

from __future__ import annotations

import pytest
import yaml

from coarse2fine.plan import StudyPlan, load_study_config
from coarse2fine.plan.config import as_json, load_hierarchy_config
from coarse2fine.plan.evaluation import ANCHOR_CODECS
from coarse2fine.training.settings import TrainSettings
from conftest import REPO


def plan_of(*files, root=REPO) -> StudyPlan:
    return StudyPlan.from_files(*files, root=root)


def overlay(tmp_path, text: str) -> str:
    path = tmp_path / "overlay.yaml"
    path.write_text(text)
    return str(path)


def test_default_models_and_their_paths():
    plan = plan_of("config/config.yaml")
    models = plan.training.learned_models()
    ids = [m.id for m in models]
    assert ids[:3] == [f"c2f/paper_clip_kmeans/rp{i}" for i in range(3)]
    assert {"deephq", "rmpgc", "base/c2f"} <= set(ids)
    # DeepHQ and RMPGC are shipped: no phase of their chains is a model to train
    assert plan.training.shipped_baselines() == ["deephq", "rmpgc"]
    assert "hyperprior" not in ids and "deephq_steps" not in ids
    coded = {m.id for m in plan.training.coded_models()}
    assert "deephq" in coded and "hyperprior" not in coded and "deephq_steps" not in coded
    base = next(m for m in models if m.id == "base/c2f")
    assert base.codec == "base" and base.layers_are_rate_points and base.hierarchy is None
    # a codec whose loss reads no hierarchy is trained once per rate point
    assert [m.id for m in models if m.codec == "rd_only"] == [f"rd_only/rp{i}" for i in range(3)]
    assert all(m.hierarchy is None for m in models if m.codec == "rd_only")
    c2f = models[1]
    assert c2f.checkpoint == "results/checkpoints/c2f/paper_clip_kmeans/rp1/model.pt"
    assert c2f.bitstream_dir == "results/bitstreams/c2f/paper_clip_kmeans/rp1"
    assert c2f.views_dir == "results/metrics/views/learned/c2f/paper_clip_kmeans/rp1"


def test_a_models_flag_is_given_by_name():
    from coarse2fine.plan import Model

    with pytest.raises(TypeError, match="positional"):
        Model("deephq", "deephq", None, None, True)
    model = Model("deephq", "deephq", None, None, layers_are_rate_points=True)
    assert model.layers_are_rate_points and model.rate_point is None


def test_a_baseline_trained_here_brings_its_chain_and_a_missing_shipped_one_says_how_to_get_it(tmp_path, monkeypatch):
    trained = plan_of("config/config.yaml", overlay(tmp_path, "baselines:\n  deephq: {source: train}\n"))
    ids = [m.id for m in trained.training.learned_models()]
    assert {"hyperprior", "deephq_steps", "deephq"} <= set(ids)
    assert trained.training.trained_baselines() == ["hyperprior", "deephq_steps", "deephq"]
    elsewhere = tmp_path / "checkout"
    (elsewhere / "config").mkdir(parents=True)
    for name in ("config.yaml", "hierarchy.yaml"):
        (elsewhere / "config" / name).write_text((REPO / "config" / name).read_text())
    plan = plan_of("config/config.yaml", root=elsewhere)
    monkeypatch.chdir(elsewhere)  # a checkout without the shipped model or its DVC file
    with pytest.raises(ValueError, match=r"models/baselines/rmpgc/model.pt is missing and not tracked.*source: train"):
        plan.training.shipped_baseline_source("rmpgc")
    # tracked but not pulled: the plan names the file, the `shipped_model` rule pulls it
    tracked = elsewhere / "models" / "baselines" / "rmpgc"
    tracked.mkdir(parents=True)
    (tracked / "model.pt.dvc").write_text("outs: []\n")
    assert plan.training.shipped_baseline_source("rmpgc")["model"] == "models/baselines/rmpgc/model.pt"


def test_finetune_settings_carry_the_view_the_rate_point_and_the_base():
    plan = plan_of("config/config.yaml")
    config = plan.config
    settings = plan.training.finetune_settings("c2f", 2)
    assert settings.view == config["view"]["size"] and settings.classifier_crop == config["view"]["classifier_crop"]
    assert settings.lambdas == [lam * config["train"]["rate_points"][2] for lam in config["train"]["lambdas"]]
    assert settings.classifier == config["train"]["classifier"] and settings.task_gradient == "all"
    # what the rule carries is these settings, every field
    assert TrainSettings.from_json(as_json(settings)) == settings
    # the fine-tunes start from the base adapted to the study's lambdas (train.adapt) ...
    assert plan.training.base_checkpoint("c2f") == "results/checkpoints/adapted/c2f/model.pt"
    adapt = plan.training.adapt_settings("c2f")
    assert adapt.lambdas == config["train"]["lambdas"] and adapt.steps == config["train"]["adapt"]["steps"]
    assert adapt.classifier is None and adapt.task_weights == [0.0] * len(config["train"]["lambdas"])
    # ... while the base keeps the lambdas it was trained (and shipped) with
    base = plan.training.base_settings("c2f")
    assert base.lambdas == config["train"]["base"]["lambdas"] != config["train"]["lambdas"]
    assert base.classifier is None and base.labelled_only is False
    assert base.task_weights == [0.0] * len(config["train"]["lambdas"])


def test_a_classifier_setting_reruns_the_fine_tunes_only(tmp_path):
    """The jobs with no classifier in their loss keep the classifier's settings at their
    defaults: editing one changes the fine-tunes' settings, not the base's or a baseline's."""
    before = plan_of("config/config.yaml")
    after = plan_of("config/config.yaml", overlay(tmp_path, "train:\n  label_smoothing: 0.3\n"))
    assert after.training.finetune_settings("c2f", 1).label_smoothing == 0.3
    assert after.training.base_settings("c2f") == before.training.base_settings("c2f")
    assert after.training.adapt_settings("c2f") == before.training.adapt_settings("c2f")
    assert after.training.baseline_settings("rmpgc") == before.training.baseline_settings("rmpgc")


def test_base_source_scratch_and_none(tmp_path):
    scratch = plan_of("config/config.yaml", overlay(tmp_path, "train:\n  base: {source: scratch}\n"))
    assert scratch.training.base_source("c2f") == {
        "model": "results/checkpoints/pretrain/c2f/model.pt",
        "log": "results/checkpoints/pretrain/c2f/log.csv",
    }
    none = plan_of("config/config.yaml", overlay(tmp_path, "train:\n  base: {source: none}\n"))
    assert none.training.base_checkpoint("c2f") is None
    assert not any(m.id.startswith("base/") for m in none.training.learned_models())


def test_shipped_base_missing_is_named(tmp_path, monkeypatch):
    plan = plan_of("config/config.yaml")
    monkeypatch.chdir(tmp_path)  # no models/ here
    with pytest.raises(ValueError, match="models/base/c2f/model.pt is missing and not tracked.*train.base.source"):
        plan.training.base_source("c2f")


def test_diagnostic_overlay_trains_each_variant_at_one_rate_point_with_its_settings():
    plan = plan_of("config/config.yaml", "config/diagnostics.yaml")
    variants = [m for m in plan.training.codec_models() if m.codec != "c2f" and m.codec != "rd_only"]
    assert variants and all(m.rate_point == "rp1" for m in variants)
    assert plan.training.finetune_settings("c2f_own_block", 1).task_gradient == "own_block"
    assert plan.training.finetune_settings("c2f_all_levels", 1).task_levels == "all"
    assert plan.evaluation.claim_methods()[0] == "c2f"
    assert "results/metrics/tables/paper_clip_kmeans/claim/c2f_own_block/claim.md" in plan.evaluation.claim_targets()


def test_evaluation_plan_views_tables_and_cpips():
    plan = plan_of("config/config.yaml")
    evaluation = plan.evaluation
    hierarchy = evaluation.table_hierarchies()[0]
    dirs = evaluation.table_views_dirs(hierarchy)
    assert dirs[:4] == [f"results/metrics/views/anchor/{a}" for a in ("uncompressed", "jpeg", "webp", "jpeg2000")]
    assert "results/metrics/views/learned/deephq" in dirs  # baselines serve every hierarchy
    spec = evaluation.learned_provider("c2f/paper_clip_kmeans/rp0")
    assert spec["decoded"] == "results/bitstreams/c2f/paper_clip_kmeans/rp0/decoded" and spec["rate_point"] == "rp0"
    assert evaluation.anchor_provider("uncompressed") == {"kind": "reference"}
    assert "results/metrics/views/learned/rd_only/rp1" in dirs  # so does a codec without a task term
    # CPIPS `auto`: the base codec's features (no hierarchy edit re-evaluates a view) ...
    assert evaluation.cpips_model_id() == "base/c2f"
    assert evaluation.learned_views_settings("rmpgc")["cpips"] == "results/checkpoints/base/c2f/model.pt"
    # ... without a base, the middle rate point of the first codec without a task term
    paper = plan_of("config/imagenet.yaml").evaluation
    assert paper.cpips_model_id() == "rd_only/rp1"


def test_a_hierarchy_switch_plans_again_only_what_reads_the_hierarchy(tmp_path):
    """Training on another hierarchy changes the jobs of codecs whose loss reads it and nothing
    of rd_only, the baselines, the base, the anchors or CPIPS: same ids, same settings."""
    hierarchies = load_hierarchy_config(REPO / "config/hierarchy.yaml")["hierarchies"]
    other = next(h["name"] for h in hierarchies if h["name"] != "paper_clip_kmeans" and h.get("enabled", True))
    before = plan_of("config/config.yaml")
    after = plan_of("config/config.yaml", overlay(tmp_path, f"train:\n  hierarchies: [{other}]\n"))

    def jobs(plan: StudyPlan) -> dict:
        evaluation = plan.evaluation
        found = {
            m.id: evaluation.learned_views_settings(m.id) for m in plan.training.coded_models() if m.hierarchy is None
        }
        found |= {f"anchor/{a}": evaluation.anchor_views_settings(a) for a in ANCHOR_CODECS}
        found["cpips"] = evaluation.cpips_checkpoint()
        found |= {f"train/{c}/{rp}": plan.training.finetune_settings(c, rp) for c in ("rd_only",) for rp in range(3)}
        return found

    assert jobs(before) == jobs(after)
    assert {m.id for m in after.training.codec_models() if m.codec == "c2f"} == {f"c2f/{other}/rp{i}" for i in range(3)}


def test_every_stage_has_targets_and_all_is_their_union():
    plan = plan_of("config/config.yaml")
    stages = {
        stage: plan.stage_targets(stage) for stage in ("data", "hierarchy", "training", "coding", "evaluate", "figures")
    }
    assert all(stages.values())
    assert plan.all_targets() == [t for targets in stages.values() for t in targets]
    assert "metrics/headline.json" in stages["evaluate"]
    with pytest.raises(ValueError, match="unknown stage 'train'"):
        plan.stage_targets("train")


def test_test_and_paper_configs_plan():
    for files in (("config/test.yaml",), ("config/imagenet.yaml",), ("config/config.yaml", "config/clip.yaml")):
        plan = plan_of(*files)
        assert plan.training.learned_models() and plan.evaluation.table_hierarchies()


@pytest.mark.parametrize(
    "text, message",
    [
        ("evaluate:\n  judge: efficientnet_lite0\n", "the judge must be independent"),
        (
            "baselines:\n  c2f: {architecture: {name: hyperprior}, lambdas: [0.01], steps: 1}\n",
            "clash with codec names",
        ),
        ("baselines:\n  rmpgc: {init: nowhere}\n", "neither base/<codec> nor a baseline"),
        ("train:\n  hierarchies: [no_such_hierarchy]\n", "train.hierarchies names \\['no_such_hierarchy'\\]"),
        ("hierarchy:\n  enable: [nothing_by_that_name]\n", "hierarchy.enable names \\['nothing_by_that_name'\\]"),
        ("codecs:\n  c2f: {rate_points: [7]}\n", "codecs.c2f.rate_points \\[7\\]"),
        ("codecs:\n  rd_only: {base: nowhere}\n", "codecs.rd_only.base: 'nowhere' is not an enabled codec"),
        ("codecs:\n  c2f: {ablation: rd_onyl}\n", "codecs.c2f.ablation: 'rd_onyl' is not a codec"),
    ],
)
def test_plans_that_cannot_work_are_named(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        plan_of("config/config.yaml", overlay(tmp_path, text))


def test_config_loader_merges_overlays_and_fills_defaults(tmp_path):
    config = load_study_config(REPO / "config/config.yaml", overlay(tmp_path, "seed: 7\n"))
    assert (
        config["seed"] == 7
        and config["view"]["size"] == yaml.safe_load((REPO / "config/config.yaml").read_text())["view"]["size"]
    )
    hierarchy = load_hierarchy_config(REPO / config["hierarchy"]["config"])
    assert hierarchy["hierarchies"]


def test_training_quantization_reaches_only_the_variant_that_asks_for_it():
    plan = plan_of("config/config.yaml", "config/diagnostics.yaml")
    assert plan.training.finetune_settings("c2f_noise", 1).training_quantization == "noise"
    assert plan.training.finetune_settings("c2f", 1).training_quantization == "ste"


def test_a_variant_of_another_architecture_starts_from_the_named_base_and_meets_its_own_twin(tmp_path):
    plan = plan_of("config/config.yaml", "config/diagnostics.yaml")
    training, evaluation = plan.training, plan.evaluation
    assert training.base_name("c2f_attention") == training.base_name("rd_only_attention") == "c2f"
    assert training.base_checkpoint("c2f_attention") == "results/checkpoints/adapted/c2f/model.pt"
    assert [m.id for m in training.base_models()] == ["base/c2f"]  # no second base to pretrain or ship
    settings = training.finetune_settings("c2f_attention", 1)
    assert settings.codec["context"] == "causal_attention" and settings.init_transfer is True
    assert training.finetune_settings("c2f", 1).init_transfer is False  # the same architecture loads whole
    assert evaluation.claim_settings("c2f_attention")["ablation"] == "rd_only_attention"
    assert evaluation.claim_settings("c2f_noise")["ablation"] == "rd_only"
    assert "results/metrics/tables/paper_clip_kmeans/claim/c2f_attention/claim.md" in evaluation.claim_targets()
    # without its twin there is nothing to test it against: no claim table
    alone = plan_of("config/config.yaml", overlay(tmp_path, "codecs:\n  c2f_attention: {enabled: true}\n"))
    assert not any("/claim/c2f_attention/" in t for t in alone.evaluation.claim_targets())


def test_seed_repeats_train_with_their_own_seed_and_meet_the_rd_only_of_that_seed():
    plan = plan_of("config/config.yaml", "config/seeds.yaml")
    seeds = {m.codec for m in plan.training.codec_models() if "seed" in m.codec}
    assert seeds == {"c2f_seed1", "rd_only_seed1", "c2f_seed2", "rd_only_seed2"}
    assert plan.training.finetune_settings("c2f_seed2", 1).seed == 2
    assert plan.training.finetune_settings("c2f", 1).seed == plan.config["seed"]
    assert plan.training.base_name("rd_only_seed1") == "c2f"  # the same base for every seed
    assert plan.evaluation.claim_settings("c2f_seed1")["ablation"] == "rd_only_seed1"


def test_a_claim_lists_the_seed_repeats_of_its_method(tmp_path):
    plan = plan_of("config/config.yaml", "config/seeds.yaml", "config/diagnostics.yaml")
    repeats = plan.evaluation.claim_settings("c2f")["repeats"]
    assert repeats == [
        ["c2f_seed1", "rd_only_seed1"],
        ["c2f_seed2", "rd_only_seed2"],
    ]  # not c2f_noise, not c2f_attention
    assert ["c2f", "rd_only"] in plan.evaluation.claim_settings("c2f_seed2")["repeats"]
    assert "repeats" not in plan_of("config/config.yaml").evaluation.claim_settings(
        "c2f"
    )  # the default's claim as before
    explicit = overlay(tmp_path, "codecs:\n  c2f_seed1: {seed: 42}\n  c2f_seed2: {enabled: false}\n")
    same_seed = plan_of("config/config.yaml", "config/seeds.yaml", explicit)
    assert "repeats" not in same_seed.evaluation.claim_settings("c2f")  # the study's own seed is no repeat


def test_each_job_asks_a_cluster_for_what_the_config_gives_it(tmp_path):
    resources = (
        "train:\n  resources:\n    finetune: {threads: 3, mem_mb: 5000, runtime: 50, gpus: 2}\n"
        "evaluate:\n  threads: 4\n"
    )
    plan = plan_of("config/config.yaml", overlay(tmp_path, resources))
    # a GPU job: one task on one node holding its GPUs, with the configured CPUs beside them
    assert plan.threads("finetune") == 3
    assert plan.resources("finetune") == {
        "cpus_per_task": 3,
        "mem_mb": 5000,
        "runtime": 50,
        "gpu": 2,
        "tasks_per_gpu": 0,
        "nodes": 1,
    }
    assert plan.resources("base") == {"cpus_per_task": 2, "mem_mb": 4000, "runtime": 600, "gpu": 0}
    assert plan.threads("learned_views") == 4
    assert plan.resources("learned_views") == {"cpus_per_task": 4, "mem_mb": 4000}
    assert plan.resources("tables") == {"mem_mb": 3000}
