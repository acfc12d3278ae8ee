"""Pipeline figures: the end-to-end run (from a `/usr/bin/time -v` log), a dry-run, a no-op rerun.

The end-to-end run takes ~30 minutes, so it is not started here: the caller times
`/usr/bin/time -v snakemake --cores 2` and passes the log. The no-op rerun is measured only
after a dry-run reports nothing to do, so this benchmark never starts real pipeline work.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import time
from pathlib import Path

from .common import REPO_ROOT, Target

END_TO_END_TARGET = Target(20 * 60, "<= 20 min")  # a fresh clone's `make run`, alone on 2 cores
NOOP_TARGET = Target(10, "<= 10 s")
DRY_RUN_TARGET = Target(5, "<= 5 s")
NOTHING_TO_DO = "Nothing to be done"


def parse_elapsed(text: str) -> float:
    """`h:mm:ss` or `m:ss.ss` of GNU time -> seconds."""
    parts = [float(p) for p in text.strip().split(":")]
    if not 2 <= len(parts) <= 3:
        raise ValueError(f"cannot read elapsed time {text!r} (expected [h:]m:ss)")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def parse_time_log(path: Path) -> dict:
    """Elapsed wall clock and maximum resident set size from GNU `/usr/bin/time -v` output.

    The maximum RSS GNU time reports is that of the largest single process it waited for
    (the largest job or Snakemake itself), not the sum over jobs.
    """
    text = Path(path).read_text(errors="replace")
    elapsed = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*(\S+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    status = re.search(r"Exit status:\s*(\d+)", text)
    if not elapsed or not rss:
        raise ValueError(
            f"{path}: no `/usr/bin/time -v` summary (Elapsed wall clock / Maximum resident set size) found"
        )
    seconds = parse_elapsed(elapsed.group(1))
    return {
        "log": str(path),
        "elapsed_s": seconds,
        "max_rss_mb": int(rss.group(1)) / 1024,
        "exit_status": int(status.group(1)) if status else None,
        **END_TO_END_TARGET.check(seconds),
    }


def timed(command: list[str], cwd: Path = REPO_ROOT, timeout: float = 600) -> dict:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return {
        "command": " ".join(command),
        "seconds": time.perf_counter() - start,
        "returncode": done.returncode,
        "output": done.stdout + done.stderr,
    }


def snakemake_overheads(snakemake: list[str], cwd: Path = REPO_ROOT, cores: int = 2) -> dict:
    """Dry-run time, and a no-op rerun's time when the dry-run says everything is up to date."""
    dry = timed([*snakemake, "-n", "--cores", str(cores)], cwd)
    result = {
        "dry_run": {
            "command": dry["command"],
            "seconds": dry["seconds"],
            "returncode": dry["returncode"],
            **DRY_RUN_TARGET.check(dry["seconds"] if dry["returncode"] == 0 else None),
        }
    }
    if dry["returncode"] != 0:
        result["dry_run"]["error"] = dry["output"][-2000:]
        result["noop_rerun"] = {"skipped": "the dry-run failed"}
    elif NOTHING_TO_DO not in dry["output"]:
        result["noop_rerun"] = {
            "skipped": "results are not up to date (the dry-run lists jobs); run the pipeline first"
        }
    else:
        noop = timed([*snakemake, "--cores", str(cores)], cwd)
        ok = noop["returncode"] == 0 and NOTHING_TO_DO in noop["output"]
        result["noop_rerun"] = {
            "command": noop["command"],
            "seconds": noop["seconds"],
            "returncode": noop["returncode"],
            **NOOP_TARGET.check(noop["seconds"] if ok else None),
        }
        if not ok:
            result["noop_rerun"]["error"] = noop["output"][-2000:]
    return result


# Snakemake's own log (.snakemake/log/*.snakemake.log): a "[date]" line, then "rule X:" or
# "localrule X:" and, lines later, "jobid: N"; a job ends at "[date]" + "Finished jobid: N (Rule: X)".
_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def job_times(snakemake_log: Path) -> list[dict]:
    """One row per finished job: its rule and its start and end, in seconds from the run's first stamp."""
    stamp = first = None
    started: dict[str, tuple[str, float]] = {}
    pending_rule = None
    jobs = []
    for line in Path(snakemake_log).read_text(errors="replace").splitlines():
        if m := _STAMP.match(line):
            stamp = datetime.datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y").timestamp()
            first = stamp if first is None else first
        elif (m := _RULE.match(line)) and stamp is not None:
            pending_rule = (m.group(1), stamp - first)
        elif (m := _JOBID.match(line)) and pending_rule:
            started[m.group(1)] = pending_rule
            pending_rule = None
        elif (m := _FINISHED.match(line)) and m.group(1) in started:
            rule, start = started.pop(m.group(1))
            jobs.append({"rule": rule, "start_s": start, "end_s": stamp - first})
    if not jobs:
        raise ValueError(f"{snakemake_log}: no finished Snakemake job found (is it a .snakemake/log file?)")
    return jobs


def rule_stages(rules_dir: Path = REPO_ROOT / "workflow" / "rules") -> dict[str, str]:
    """rule name -> the stage it belongs to: the rule file it is declared in (workflow/rules/<stage>.smk)."""
    stages = {}
    for path in sorted(Path(rules_dir).glob("*.smk")):
        text = path.read_text()
        # `rule x:`, `localrule x:`, `checkpoint x:`, and a variant `use rule y as x with:`
        for m in re.finditer(r"^(?:(?:local)?rule|checkpoint) (\w+):|^use rule \w+ as (\w+)", text, re.MULTILINE):
            stages[m.group(1) or m.group(2)] = path.stem
    return stages


def stage_shares(snakemake_log: Path, rules_dir: Path = REPO_ROOT / "workflow" / "rules") -> dict:
    """Per stage: its jobs, their summed seconds and share of all jobs' seconds (jobs run side by
    side on several cores, so this is where the work goes, not a split of the wall clock), and the
    wall-clock span from its first job's start to its last job's end."""
    jobs = [j for j in job_times(snakemake_log) if j["rule"] != "all"]  # the target rule: no work
    stages = rule_stages(rules_dir)
    total = sum(j["end_s"] - j["start_s"] for j in jobs) or 1.0
    out: dict[str, dict] = {}
    for job in jobs:
        entry = out.setdefault(
            stages.get(job["rule"], "other"), {"jobs": 0, "job_seconds": 0.0, "first_start_s": job["start_s"]}
        )
        entry["jobs"] += 1
        entry["job_seconds"] += job["end_s"] - job["start_s"]
        entry["first_start_s"] = min(entry["first_start_s"], job["start_s"])
        entry["last_end_s"] = max(entry.get("last_end_s", 0.0), job["end_s"])
    for entry in out.values():
        entry["share"] = entry["job_seconds"] / total
    return {
        "log": str(snakemake_log),
        "wall_s": max(j["end_s"] for j in jobs),
        "job_seconds": total,
        "stages": dict(sorted(out.items(), key=lambda kv: kv[1]["first_start_s"])),
    }
