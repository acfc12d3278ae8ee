"""What each job asks a cluster for: the rules' `threads:` and `resources:` (docs/cluster.md).
Training jobs are sized by the config (train.resources), views jobs take evaluate.threads, and
the rest by the memory below."""

from __future__ import annotations

# Memory of the jobs whose size does not come from config (MB, what Slurm is asked for).
MEM_MB = {"coding": 4000, "anchor_views": 3000, "learned_views": 4000, "tables": 3000}
# the jobs sized by train.resources
TRAINING_JOBS = ("base", "finetune")
# the jobs that measure views on evaluate.threads
VIEWS_JOBS = ("anchor_views", "learned_views")


def cluster_resources(threads: int, mem_mb: int, runtime: int | None = None, gpus: int | None = None) -> dict:
    """A job's `resources:` as the Slurm executor reads them (--cpus-per-task, --mem, -t, --gpus).
    The CPUs are `cpus_per_task`, not the rule's `threads:`: Snakemake caps a job's threads at the
    submit host's --cores (snakemake issues 2997, 3191; a 2-core login node would have every job
    ask for 2 CPUs), never its resources. The command still takes `{threads}`: Snakemake fills it
    in where the job runs, capped at the cores there (the job's Slurm allocation, or the machine
    of a local run). A GPU job is one task on one node holding all its GPUs (torchrun starts one
    process per GPU itself): tasks_per_gpu=0 drops the executor's default --ntasks-per-gpu=1,
    which would make it a task per GPU with cpus_per_task CPUs each (without it Slurm gives one
    task), and nodes=1 keeps the GPUs on the node that torchrun --standalone runs on."""
    resources = {"cpus_per_task": threads, "mem_mb": mem_mb}
    if runtime is not None:
        resources["runtime"] = runtime
    if gpus is not None:
        resources["gpu"] = gpus
        if gpus > 0:
            resources.update(tasks_per_gpu=0, nodes=1)
    return resources
