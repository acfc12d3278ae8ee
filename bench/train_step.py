"""One fine-tune step of the embedded default on one thread: where its time goes, before and after.

`python -m bench.train_step` builds each of the default's fine-tunes (c2f and rd_only) as the
pipeline runs it: the plan's settings at rate point 1 (plan/training.py `finetune_settings`, what
the rule passes as --settings), one torch thread (train.resources.finetune), the adapted base it
starts from, the training photos of the dataset's manifest and, for c2f, the training hierarchy.
The step is the training loop's own (`take_step` of training/loop.py). Then:

1. profile: per step, the forward and backward time of each part of the codec (analysis,
   hyper-analysis, hyper-latent prior, hyper-synthesis, level-block entropy model, the synthesis
   of the three prefixes), the loss and the classifier in it, clipping and the two Adam steps,
   timed by module hooks (which leave the numbers alone). c2f runs its task term on the steps
   whose drawn level has a task weight (task_levels random: 1 in 3 with the default's weights),
   so its steps are reported with and without it;
2. before/after (`--compare`): the step as it was and as it is now, each arm in its own process,
   the arms alternating (A B A B ...), the median over every timed step of an arm (for c2f the
   medians of its steps with and without the task term, weighted as it draws them), with the
   minor page faults per step, the start-up, the peak RSS and a digest of the weights after
   `--check-steps` steps, which must be equal across arms (bit for bit);
3. options (`--options`): changes that move the numbers, timed against the plain step in the
   same process (one step of each in turn), with how far the weights move from the plain
   step's after `--check-steps` steps.

Where the dataset or the hierarchy is not built (data/, results/hierarchy/), the sample photos
are built into a temporary folder (about 15 s) and the paper's released clusters stand in for
the hierarchy `paper_clip_kmeans` (they are its files). Speeds depend little on the photos.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings
from dataclasses import replace
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python bench/train_step.py` as well as `python -m bench.train_step`
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import DEFAULT_CONFIG, machine_info, peak_rss_mb  # noqa: E402

CODECS = ("c2f", "rd_only")
ARMS = ("before", "after")

# (label, attribute of the codec) in forward order
CODEC_PARTS = (
    ("analysis g_a", "g_a"),
    ("hyper-analysis h_a", "h_a"),
    ("hyper-latent prior", "entropy_bottleneck"),
    ("hyper-synthesis h_s", "h_s"),
    ("level-block entropy model", "entropy"),
    ("synthesis g_s, 3 prefixes (batch 24)", "g_s"),
)


# -- the job as the pipeline builds it ------------------------------------------------------------
def job_inputs(config_path: Path, codec: str, rate_point: int, threads: int, workdir: Path) -> dict:
    """Settings, manifest, hierarchy and init checkpoint of the fine-tune of `codec` at `rate_point`."""
    from coarse2fine.plan import StudyPlan

    plan = StudyPlan.from_files(config_path, root=REPO_ROOT)
    training = plan.training
    settings = replace(training.finetune_settings(codec, rate_point), threads=threads)
    notes = []
    manifest = REPO_ROOT / plan.manifest
    if not manifest.is_file():
        manifest = _built_dataset(plan.config["dataset"], workdir)
        notes.append(f"dataset built into a temporary folder ({plan.config['dataset']['name']})")
    hierarchy = None
    if training.reads_hierarchy(codec):
        name = training.train_hierarchies()[0]
        hierarchy = REPO_ROOT / "results" / "hierarchy" / name / "assignments.csv"
        if not hierarchy.is_file():
            hierarchy = _paper_hierarchy(name, len(settings.lambdas), workdir)
            notes.append(f"hierarchy {name}: the paper's released clusters")
    init = training.base_checkpoint(codec)
    if init is not None and not (REPO_ROOT / init).is_file():
        base = training.base_name(codec)
        shipped = training.adapt_source(base)["model"] if training.adapts else training.base_source(base)["model"]
        notes.append(f"init {init} not built: the shipped {shipped}")
        init = shipped
    if init is not None and not (REPO_ROOT / init).is_file():
        notes.append(f"init {init} missing (`make pull-models`): random weights")
        init = None
    return {
        "codec": codec,
        "settings": settings,
        "manifest": manifest,
        "hierarchy": hierarchy,
        "init": None if init is None else REPO_ROOT / init,
        "notes": notes,
    }


def _built_dataset(dataset: dict, workdir: Path) -> Path:
    if dataset["kind"] != "sample":
        raise SystemExit(f"data/{dataset['name']}/manifest.csv is missing: build it first (`make data`)")
    from coarse2fine.data.build import build_manifest

    manifest = workdir / "data" / "manifest.csv"
    if not manifest.is_file():
        build_manifest(dataset, manifest)
    return manifest


def _paper_hierarchy(name: str, levels: int, workdir: Path) -> Path:
    if name != "paper_clip_kmeans":
        raise SystemExit(f"results/hierarchy/{name}/assignments.csv is missing: build the hierarchy first")
    from coarse2fine.hierarchy.assignments import write_assignments
    from coarse2fine.hierarchy.paper import paper_level_maps

    path = workdir / "hierarchy" / "assignments.csv"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_assignments(path, list(paper_level_maps(levels - 1)), "paper")
    return path


def build_run(inputs: dict, state_dir: Path):
    """(run, batch iterator): the training loop's start() and loader for this job."""
    from coarse2fine.training import distributed
    from coarse2fine.training.job import Job
    from coarse2fine.training.loop import start, training_data

    settings = inputs["settings"]
    torch.set_num_threads(settings.threads)
    state_dir.mkdir(parents=True, exist_ok=True)
    job = Job(settings, inputs["hierarchy"], inputs["init"])
    run = start(settings, distributed.start("cpu"), job, state_dir / f"resume-{time.monotonic_ns()}.pt")
    _, loader = training_data(run, inputs["manifest"])
    return run, iter(loader)


def weights_digest(codec: torch.nn.Module) -> str:
    """sha256 over every tensor of the state dict (names, shapes, bytes)."""
    h = hashlib.sha256()
    for name, tensor in codec.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def task_share(settings) -> float:
    """The fraction of steps that run the task term (and so the classifier)."""
    if not settings.uses_task_loss:
        return 0.0
    if settings.task_levels == "all":
        return 1.0
    return sum(w != 0 for w in settings.task_weights) / len(settings.task_weights)


class TaskFlag:
    """Whether the classifier ran in the last step (a forward hook on it)."""

    def __init__(self, run):
        self.ran = False
        classifier = run.loss_fn.classifier
        self.handle = None if classifier is None else classifier.register_forward_pre_hook(self._ran)

    def _ran(self, *_):
        self.ran = True

    def take(self) -> bool:
        ran, self.ran = self.ran, False
        return ran


def expected_step(times: list[float], with_task: list[bool], share: float) -> dict:
    """Seconds per step: the median of steps with the task term and of those without, weighted
    by how often the job draws it (a plain median of a mix of both kinds follows the draws)."""
    ran = [t for t, w in zip(times, with_task) if w]
    plain = [t for t, w in zip(times, with_task) if not w]
    out = {
        "with_task_s": statistics.median(ran) if ran else None,
        "without_task_s": statistics.median(plain) if plain else None,
    }
    if share in (0.0, 1.0) or not ran or not plain:
        out["step_s"] = statistics.median(times)
    else:
        out["step_s"] = share * out["with_task_s"] + (1 - share) * out["without_task_s"]
    return out


# -- 1. profile -----------------------------------------------------------------------------------
class StepClock:
    """Timestamps of one take_step: module hooks (forward and full backward) on the codec's parts
    and the classifier, the loss module, the aux loss, clipping and the optimisers' step hooks."""

    def __init__(self, run):
        self.run, self.marks, self.handles = run, {}, []
        codec, loss_fn = run.codec, run.loss_fn
        modules = [(label, getattr(codec, attr)) for label, attr in CODEC_PARTS]
        if loss_fn.classifier is not None:
            modules.append(("classifier", loss_fn.classifier))
        for label, module in modules:
            self._hook_forward(label, module)
            self.handles.append(module.register_full_backward_pre_hook(self._marker(f"{label}/bwd0")))
            self.handles.append(module.register_full_backward_hook(self._marker(f"{label}/bwd1")))
        self._hook_forward("codec", codec)
        self._hook_forward("loss", loss_fn)
        for name, optimizer in (("adam", run.optimizer), ("aux adam", run.aux_optimizer)):
            self.handles.append(optimizer.register_step_pre_hook(self._marker(f"{name}/0")))
            self.handles.append(optimizer.register_step_post_hook(self._marker(f"{name}/1")))

    def _marker(self, key):
        def mark(*_):
            self.marks.setdefault(key, time.perf_counter())

        return mark

    def _hook_forward(self, label, module):
        self.handles.append(module.register_forward_pre_hook(self._marker(f"{label}/fwd0")))
        self.handles.append(module.register_forward_hook(self._marker(f"{label}/fwd1")))

    @contextlib.contextmanager
    def _wrapped(self):
        """aux_loss and clip_grad_norm_ timed for the step (restored after it)."""
        codec, clip = self.run.codec, torch.nn.utils.clip_grad_norm_
        aux_loss = codec.aux_loss

        def timed_aux():
            self._marker("aux/0")()
            value = aux_loss()
            self._marker("aux/1")()
            return value

        def timed_clip(*args, **kwargs):
            self._marker("clip/0")()
            value = clip(*args, **kwargs)
            self._marker("clip/1")()
            return value

        codec.aux_loss, torch.nn.utils.clip_grad_norm_ = timed_aux, timed_clip
        try:
            yield
        finally:
            del codec.aux_loss
            torch.nn.utils.clip_grad_norm_ = clip

    def step(self, x, labels) -> dict[str, float]:
        """One take_step; its parts in seconds."""
        from coarse2fine.training.loop import take_step

        self.marks = {}
        with self._wrapped(), warnings.catch_warnings():
            # the analysis' hook fires early (its input needs no gradient), which step() allows for
            warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
            start = time.perf_counter()
            take_step(self.run, x, labels)
            end = time.perf_counter()
        m = self.marks
        with_task = "classifier/fwd0" in m
        parts = {}
        for label, _ in CODEC_PARTS:
            parts[f"forward: {label}"] = m[f"{label}/fwd1"] - m[f"{label}/fwd0"]
        parts["forward: codec, rest (prefix masks)"] = (m["codec/fwd1"] - m["codec/fwd0"]) - sum(
            parts[f"forward: {label}"] for label, _ in CODEC_PARTS
        )
        classifier_fwd = m["classifier/fwd1"] - m["classifier/fwd0"] if with_task else 0.0
        parts["forward: classifier"] = classifier_fwd
        parts["forward: loss terms (rate, distortion, task head)"] = m["loss/fwd1"] - m["loss/fwd0"] - classifier_fwd
        parts["forward: aux loss"] = m["aux/1"] - m["aux/0"]
        backward_start, backward_end = m["aux/1"], m["clip/0"]
        backward_parts = [label for label, _ in CODEC_PARTS] + (["classifier"] if with_task else [])
        for label in backward_parts:
            # The analysis' input needs no gradient, so its hook fires as its backward starts: it
            # ends with the backward pass.
            done = backward_end if label == "analysis g_a" else m[f"{label}/bwd1"]
            parts[f"backward: {label}"] = done - m[f"{label}/bwd0"]
        if not with_task:
            parts["backward: classifier"] = 0.0
        parts["backward: rest (loss terms, likelihoods)"] = (backward_end - backward_start) - sum(
            parts[f"backward: {label}"] for label in backward_parts
        )
        parts["gradient clipping"] = m["clip/1"] - m["clip/0"]
        parts["Adam step (main)"] = m["adam/1"] - m["adam/0"]
        parts["Adam step (aux)"] = m["aux adam/1"] - m["aux adam/0"]
        parts["forward total"] = m["loss/fwd1"] - m["codec/fwd0"] + parts["forward: aux loss"]
        parts["backward total"] = backward_end - backward_start
        parts["step"] = end - start
        parts["with_task"] = float(with_task)
        return parts

    def close(self):
        for handle in self.handles:
            handle.remove()


def profile(inputs: dict, steps: int, warmup: int, state_dir: Path) -> dict:
    run, batches = build_run(inputs, state_dir)
    clock = StepClock(run)
    rows, loads = [], []
    for i in range(warmup + steps):
        t = time.perf_counter()
        x, labels = next(batches)
        loads.append(time.perf_counter() - t)
        row = clock.step(x, labels)
        if i >= warmup:
            rows.append(row)
    clock.close()
    return {
        "codec": inputs["codec"],
        "rows": rows,
        "batch_load_s": statistics.median(loads[warmup:]),
        "task_share": task_share(inputs["settings"]),
    }


def summarise(result: dict) -> dict:
    """Median of each part over the steps, split by whether the task term ran."""
    groups = {}
    for with_task in (True, False):
        rows = [r for r in result["rows"] if bool(r["with_task"]) == with_task]
        if rows:
            keys = [k for k in rows[0] if k != "with_task"]
            groups["with task term" if with_task else "without task term"] = {
                "steps": len(rows),
                **{k: statistics.median(r[k] for r in rows) for k in keys},
            }
    return groups


def profile_table(results: list[dict]) -> str:
    columns = []
    for result in results:
        for name, values in summarise(result).items():
            label = result["codec"] if result["task_share"] == 0 else f"{result['codec']}, {name}"
            columns.append((f"{label} ({values['steps']} steps)", values))
    parts = [k for k in columns[0][1] if k not in ("steps",)]
    lines = ["| part | " + " | ".join(c for c, _ in columns) + " |", "|---|" + "---|" * len(columns)]
    for part in parts:
        cells = []
        for _, values in columns:
            seconds = values.get(part, 0.0)
            if part == "step":
                cells.append(f"**{seconds:.3f}**")
            else:
                cells.append(f"{seconds:.3f} ({100 * seconds / values['step']:.0f} %)")
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- 2. before / after ----------------------------------------------------------------------------
def arm(inputs: dict, which: str, steps: int, warmup: int, check_steps: int, state_dir: Path) -> dict:
    """One arm in this process. before: the code as it was on 2026-12-07 (glibc's allocation
    as it comes; rd_only loaded the classifier it never runs); after: the code now (train()
    keeps freed memory; only a job that runs its classifier loads it)."""
    from coarse2fine.classify import load_classifier
    from coarse2fine.training.memory import keep_freed_memory

    settings = inputs["settings"]
    started = time.perf_counter()
    if which == "after":
        keep_freed_memory()
    elif settings.classifier:
        load_classifier(settings.classifier)  # as build_loss did for every job that named one
    run, batches = build_run(inputs, state_dir)
    from coarse2fine.training.loop import take_step

    startup = time.perf_counter() - started
    flag = TaskFlag(run)
    times, with_task, faults, digest = [], [], [], None
    for i in range(max(warmup + steps, check_steps)):
        x, labels = next(batches)
        f0, t0 = minor_faults(), time.perf_counter()
        take_step(run, x, labels)
        t1, f1 = time.perf_counter(), minor_faults()
        ran = flag.take()
        if i >= warmup and len(times) < steps:
            times.append(t1 - t0)
            with_task.append(ran)
            faults.append(f1 - f0)
        if i + 1 == check_steps:
            digest = weights_digest(run.codec)
    return {
        "codec": inputs["codec"],
        "arm": which,
        "step_s": times,
        "with_task": with_task,
        "task_share": task_share(settings),
        "minor_faults_per_step": statistics.median(faults),
        "startup_s": startup,
        "peak_rss_mb": peak_rss_mb(),
        "digest": digest,
        "check_steps": check_steps,
    }


def compare(args, codecs, workdir: Path) -> dict:
    """Each (codec, arm) in its own process, the arms alternating, `--rounds` times (the
    processes reuse the dataset and hierarchy built in `workdir`)."""
    runs = {(codec, which): [] for codec in codecs for which in ARMS}
    for _ in range(args.rounds):
        for codec in codecs:
            for which in ARMS:
                command = [
                    sys.executable, "-m", "bench.train_step", "--arm", which, "--codecs", codec,
                    "--config", str(args.config), "--rate-point", str(args.rate_point),
                    "--threads", str(args.threads), "--steps", str(args.arm_steps),
                    "--warmup", str(args.warmup), "--check-steps", str(args.check_steps),
                    "--workdir", str(workdir),
                ]  # fmt: skip
                done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(f"{codec} {which} failed:\n{done.stderr[-3000:]}")
                runs[codec, which].append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = {}
    for codec in codecs:
        arms = {}
        for which in ARMS:
            rows = runs[codec, which]
            share = rows[0]["task_share"]
            pooled = expected_step(
                [t for r in rows for t in r["step_s"]], [w for r in rows for w in r["with_task"]], share
            )
            arms[which] = {
                **pooled,
                "round_medians": [expected_step(r["step_s"], r["with_task"], share)["step_s"] for r in rows],
                "minor_faults_per_step": statistics.median(r["minor_faults_per_step"] for r in rows),
                "startup_s": statistics.median(r["startup_s"] for r in rows),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in rows),
                "digests": sorted({r["digest"] for r in rows}),
            }
        same = len(set(arms["before"]["digests"]) | set(arms["after"]["digests"])) == 1
        out[codec] = {**arms, "speedup": arms["before"]["step_s"] / arms["after"]["step_s"], "identical": same}
    return out


def _kinds(steps: dict) -> str:
    """'with / without' medians of a job that runs its task term on some steps, else '-'."""
    if steps.get("with_task_s") is None or steps.get("without_task_s") is None:
        return "-"
    return f"{steps['with_task_s']:.2f} / {steps['without_task_s']:.2f}"


def compare_table(result: dict, check_steps: int) -> str:
    lines = [
        "| job | before s / step | after s / step | speed-up | with / without the task term, before -> after"
        " | each round before / after | page faults / step before / after | start-up before / after"
        f" | peak RSS MB before / after | weights after {check_steps} steps |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for codec, r in result.items():
        b, a = r["before"], r["after"]
        kinds = f"{_kinds(b)} -> {_kinds(a)}"
        rounds = (
            ", ".join(f"{x:.2f}" for x in b["round_medians"])
            + " / "
            + ", ".join(f"{x:.2f}" for x in a["round_medians"])
        )
        lines.append(
            f"| {codec} | {b['step_s']:.3f} | {a['step_s']:.3f} | {r['speedup']:.2f}x | {kinds} | {rounds} | "
            f"{b['minor_faults_per_step']:.0f} / {a['minor_faults_per_step']:.0f} | "
            f"{b['startup_s']:.1f} / {a['startup_s']:.1f} s | {b['peak_rss_mb']:.0f} / {a['peak_rss_mb']:.0f} | "
            f"{'identical' if r['identical'] else 'DIFFERENT'} |"
        )
    return "\n".join(lines)


# -- 3. options that move the numbers -------------------------------------------------------------
def _split_synthesis(run):
    """The synthesis once per prefix (batch 8, three passes) instead of one pass of batch 24."""
    codec = run.codec

    def forward(self, x):
        y_hat, likelihoods = self._latents_and_likelihoods(x)
        x_hats = [self.g_s(self.prefix_latents(y_hat, k)) for k in range(1, self.num_levels + 1)]
        return {
            "x_hat": x_hats,
            "likelihoods": likelihoods,
            "own_block_x_hat": lambda level: self.own_block_reconstruction(y_hat, level),
        }

    codec.forward = types.MethodType(forward, codec)


def _channels_last(run):
    """Codec weights and activations in channels-last memory layout."""
    codec = run.codec
    codec.to(memory_format=torch.channels_last)
    plain = codec.forward

    def forward(x):
        return plain(x.contiguous(memory_format=torch.channels_last))

    codec.forward = forward


def _gdn_matmul(run):
    """GDN's 1x1 normalisation convolution as a matrix product."""
    from compressai.layers import GDN

    def forward(self, x):
        channels = x.shape[1]
        beta = self.beta_reparam(self.beta)
        gamma = self.gamma_reparam(self.gamma).reshape(channels, channels)
        norm = torch.matmul(gamma, (x * x).flatten(2)).view_as(x) + beta[:, None, None]
        return x * (torch.sqrt(norm) if self.inverse else torch.rsqrt(norm))

    for module in run.codec.modules():
        if isinstance(module, GDN):
            module.forward = types.MethodType(forward, module)


def _bfloat16(run):
    """The analysis, the synthesis and the classifier under CPU autocast to bfloat16 (their
    convolutions in bfloat16, outputs back in float32); the entropy model stays float32."""
    modules = [run.codec.g_a, run.codec.g_s]
    if run.loss_fn.classifier is not None:
        modules.append(run.loss_fn.classifier)
    for module in modules:
        plain = module.forward

        def forward(*args, plain=plain, **kwargs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return plain(*args, **kwargs).float()

        module.forward = forward


# name -> (change to the built run, or None; settings changed)
OPTIONS = {
    "synthesis per prefix (3 x batch 8)": (_split_synthesis, {}),
    "channels-last layout": (_channels_last, {}),
    "GDN normalisation as matmul": (_gdn_matmul, {}),
    "bfloat16 autocast (g_a, g_s, classifier)": (_bfloat16, {}),
    "classifier_size 112 (the crop as it is, not upsampled to 224)": (None, {"classifier_size": 112}),
}


def options(inputs: dict, steps: int, warmup: int, check_steps: int, rounds: int, state_dir: Path) -> dict:
    from coarse2fine.training.loop import take_step
    from coarse2fine.training.memory import keep_freed_memory

    keep_freed_memory()  # every arm as train() runs a job now

    def built(option):
        change, overrides = OPTIONS[option] if option else (None, {})
        run, batches = build_run({**inputs, "settings": replace(inputs["settings"], **overrides)}, state_dir)
        if change:
            change(run)
            run.model = run.codec
        return run, batches

    def state_after(option):
        run, batches = built(option)
        for _ in range(check_steps):
            take_step(run, *next(batches))
        return {k: v.detach().clone() for k, v in run.codec.state_dict().items()}

    chosen = [
        name
        for name, (_, overrides) in OPTIONS.items()
        if inputs["settings"].uses_task_loss or "classifier_size" not in overrides
    ]
    plain_state = state_after(None)
    moved = {}
    for option in chosen:
        state = state_after(option)
        moved[option] = max(
            float((plain_state[k].float() - state[k].float()).abs().max()) for k in plain_state if state[k].numel()
        )
    arms = {name: built(name) for name in (None, *chosen)}
    flags = {name: TaskFlag(run) for name, (run, _) in arms.items()}
    times = {name: [] for name in arms}
    ran = {name: [] for name in arms}
    # one step of each arm in turn: every arm sees the machine's load of the same moments
    for i in range(warmup + steps * rounds):
        for name, (run, batches) in arms.items():
            x, labels = next(batches)
            t = time.perf_counter()
            take_step(run, x, labels)
            if i >= warmup:
                times[name].append(time.perf_counter() - t)
                ran[name].append(flags[name].take())
    share = task_share(inputs["settings"])
    steps_of = {name: expected_step(times[name], ran[name], share) for name in arms}
    plain = steps_of[None]["step_s"]
    return {
        "codec": inputs["codec"],
        "plain_step_s": plain,
        "plain": steps_of[None],
        "options": {
            name: {
                **steps_of[name],
                "speedup": plain / steps_of[name]["step_s"],
                "max_weight_change": moved[name],
            }
            for name in chosen
        },
    }


def options_table(results: list[dict], check_steps: int) -> str:
    lines = [
        "| job | option | s / step (plain) | s / step (option) | speed-up | with / without the task term,"
        f" plain -> option | largest weight change after {check_steps} steps |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for name, r in result["options"].items():
            lines.append(
                f"| {result['codec']} | {name} | {result['plain_step_s']:.3f} | {r['step_s']:.3f} | "
                f"{r['speedup']:.2f}x | {_kinds(result['plain'])} -> {_kinds(r)} | {r['max_weight_change']:.1e} |"
            )
    return "\n".join(lines)


# -- command line ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--codecs", nargs="+", choices=CODECS, default=list(CODECS))
    parser.add_argument("--rate-point", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the pipeline gives a fine-tune 1)")
    parser.add_argument("--steps", type=int, default=12, help="profiled steps per job (after --warmup)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="also time before against after (processes)")
    parser.add_argument("--options", action="store_true", help="also time the options that move the numbers")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--profile-memory",
        choices=("kept", "as-is"),
        default="kept",
        help="profile with freed memory kept (as train() runs a job now) or glibc's allocation as it comes",
    )
    parser.add_argument("--rounds", type=int, default=3, help="before/after rounds (A B per round)")
    parser.add_argument("--arm-steps", type=int, default=8, help="timed steps per arm process")
    parser.add_argument("--check-steps", type=int, default=5, help="steps after which the weights are compared")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)  # one arm of --compare, in its process
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)  # where --compare built the inputs
    parser.add_argument("--output", type=Path, help="results as JSON")
    return parser


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    command = " ".join(["python -m bench.train_step", *(sys.argv[1:] if argv is None else argv)])
    if args.workdir:
        return measure(args, args.workdir, command)
    with tempfile.TemporaryDirectory(prefix="train-step-") as workdir:
        return measure(args, Path(workdir), command)


def measure(args, workdir: Path, command: str) -> dict:
    inputs = {codec: job_inputs(args.config, codec, args.rate_point, args.threads, workdir) for codec in args.codecs}
    if args.arm:
        (codec,) = args.codecs
        result = arm(inputs[codec], args.arm, args.arm_steps, args.warmup, args.check_steps, workdir / "state")
        print(json.dumps(result))
        return result
    results = {"machine": machine_info(), "command": command}
    results["inputs"] = {
        codec: {"settings": i["settings"].to_dict(), "notes": i["notes"], "init": str(i["init"])}
        for codec, i in inputs.items()
    }
    if not args.no_profile:
        from coarse2fine.training.memory import keep_freed_memory

        if args.profile_memory == "kept":
            keep_freed_memory()  # as train() does; "as-is": glibc's allocation as it comes
        profiles = [profile(inputs[c], args.steps, args.warmup, workdir / "state") for c in args.codecs]
        results["profile"] = [{**p, "summary": summarise(p)} for p in profiles]
        print(profile_table(profiles), flush=True)
        print(
            "batch loading (not in the step): "
            + ", ".join(f"{p['codec']} {p['batch_load_s']:.3f} s" for p in profiles)
            + "; c2f's task term runs on "
            + ", ".join(f"{p['task_share']:.2f}" for p in profiles if p["codec"] == "c2f")
            + " of its steps",
            flush=True,
        )
    if args.compare:
        results["compare"] = compare(args, args.codecs, workdir)
        print(compare_table(results["compare"], args.check_steps), flush=True)
    if args.options:
        found = [
            options(inputs[c], args.arm_steps, args.warmup, args.check_steps, args.rounds, workdir / "state")
            for c in args.codecs
        ]
        results["options"] = found
        print(options_table(found, args.check_steps), flush=True)
    for codec, i in inputs.items():
        for note in i["notes"]:
            print(f"{codec}: {note}")
    if args.output:
        args.output.write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
