"""Pipeline figures: the end-to-end run (from a `/usr/bin/time -v` log), a dry-run, a no-op rerun.

The end-to-end run takes ~30 minutes, so it is not started here: the caller times
`/usr/bin/time -v snakemake --cores 2` and passes the log. The no-op rerun is measured only
after a dry-run reports nothing to do, so this benchmark never starts real pipeline work.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from .common import REPO_ROOT, Target

END_TO_END_TARGET = Target(30 * 60, "<= 30 min")
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
