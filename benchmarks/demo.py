"""How long `parbot demo` takes: the whole round through the real bot on the emulator (target: under a minute).

Run:  .venv/bin/python benchmarks/demo.py [--runs 2] [--seed 1] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402

from benchmarks._report import write_section  # noqa: E402
from parbot.sandbox.demo import run_demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    seconds, result = [], None
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            result = run_demo(Path(folder) / "demo", args.seed, Console(file=io.StringIO()))
            seconds.append(time.perf_counter() - started)
        print(f"run {run + 1}: {seconds[-1]:.1f} s", flush=True)
    counts = result.counts
    body = (f"Command: `.venv/bin/python benchmarks/demo.py --runs {args.runs} --seed {args.seed} "
            f"--write docs/benchmarks.md` (CPython {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f} at the end).\n"
            f"One round: {counts.get('invitations')} invitations, {counts.get('answers')} answers typed or pressed "
            f"in the chat ({counts.get('files')} evidence files), {counts.get('reminders')} reminders, "
            f"{counts.get('charts')} charts delivered; outputs written.\n\n"
            f"| runs | median seconds | slowest seconds |\n|---|---|---|\n"
            f"| {args.runs} | {statistics.median(seconds):.1f} | {max(seconds):.1f} |")
    print(body)
    if args.write:
        write_section(args.write, "The demo round", body)


if __name__ == "__main__":
    main()
