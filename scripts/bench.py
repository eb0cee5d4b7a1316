"""Every benchmark in one run (`make bench`); each prints JSON lines.

    python scripts/bench.py [--quick]

--quick runs small sizes only (useful while developing).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).parent
CVRPLIB = SCRIPTS.parent.parent / "shared" / "benchmarks" / "cvrplib"


def run(args: list[str]) -> None:
    print(f"# {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    queries = "200" if options.quick else "1000"
    run([str(SCRIPTS / "bench_routes.py"), "--queries", queries])
    run([str(SCRIPTS / "bench_reliability.py"), "--routes", "200" if options.quick else "1000"])
    sizes = ["100"] if options.quick else ["100", "1000", "10000"]
    run([str(SCRIPTS / "bench_plan.py"), "--sizes", *sizes])
    instances = sorted(str(p) for p in CVRPLIB.glob("*.vrp"))
    if instances:
        run([str(SCRIPTS / "bench_cvrplib.py"), *instances, "--time-limit", "10"])
    else:
        print(f"# no CVRPLIB instances at {CVRPLIB}; skipped", flush=True)
    solomon = ["R101", "C101", "RC101"] if options.quick else []
    run([str(SCRIPTS / "bench_solomon.py"), *solomon, "--time-limit", "30"])
    jobs = ["--jobs", "40", "--get-shipments", "0"] if options.quick else []
    run([str(SCRIPTS / "bench_jobs.py"), *jobs])
    service = SCRIPTS / "bench_service.py"
    if service.exists():
        run([str(service)])


if __name__ == "__main__":
    main()
