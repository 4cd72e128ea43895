"""Time `kepbot validate` over the whole Kubernetes corpus (656 KEPs).

Usage: python benchmarks/validate_corpus.py [CORPUS] [--runs N]

Prints the median and best wall time of the command as a user runs it (a new
process each time, interpreter start-up included) and of the engine alone, and
checks the target (docs/design.md C4) (under 2 s, 0 errors).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bot.engine.config import load_preset
from bot.engine.tree import LocalTree
from bot.engine.validate import validate_tree

TARGET_SECONDS = 2.0


def time_cli(repo: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "validate", str(repo)],
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"kepbot validate failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return times


def time_engine(repo: Path, runs: int) -> tuple[list[float], int, int]:
    times, errors, proposals = [], 0, 0
    for _ in range(runs):
        start = time.perf_counter()
        report = validate_tree(load_preset("kep"), LocalTree(repo))
        times.append(time.perf_counter() - start)
        errors, proposals = len(report.errors), len(report.proposals)
    return times, errors, proposals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    parser.add_argument("corpus", nargs="?", default=str(default))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    repo = Path(args.corpus) / "kubernetes-enhancements"
    if not repo.is_dir():
        sys.exit(f"no corpus at {repo}")
    cli = time_cli(repo, args.runs)
    engine, errors, proposals = time_engine(repo, args.runs)
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"proposals: {proposals}, errors: {errors}")
    for label, times in (("kepbot validate (new process)", cli), ("engine only", engine)):
        print(f"{label:30} median {statistics.median(times):.2f} s, best {min(times):.2f} s")
    ok = statistics.median(cli) < TARGET_SECONDS and errors == 0
    print(f"target: under {TARGET_SECONDS:.0f} s with 0 errors: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
