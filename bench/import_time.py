"""Import cost: `import minigrad` vs `import numpy` (and torch), each in a fresh interpreter.

Medians of several runs of wall clock: the time from interpreter start to the end of the
import, minus the time of an interpreter that imports nothing. Bytecode caching is forced on
(an installed package has its .pyc files; PYTHONDONTWRITEBYTECODE=1 in the environment would
otherwise recompile every module on every run), and one warm-up run writes the caches.

    python bench/import_time.py [--runs 15]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(statement, runs):
    subprocess.run([sys.executable, "-c", statement], check=True, env=ENV)  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, env=ENV)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base = run("pass", args.runs)
    numpy_time = run("import numpy", args.runs) - base
    minigrad_time = run("import minigrad", args.runs) - base
    full_time = run("import minigrad, minigrad.nn, minigrad.optim, minigrad.utils.data",
                    args.runs) - base
    print(f"{'import':22} {'ms':>8} {'ms more than numpy':>20}")
    print(f"{'numpy':22} {numpy_time * 1e3:8.1f} {0:20.1f}")
    for name, value in (("minigrad", minigrad_time), ("minigrad + all submods", full_time)):
        print(f"{name:22} {value * 1e3:8.1f} {(value - numpy_time) * 1e3:20.1f}")
    try:
        torch_time = run("import torch", max(3, args.runs // 3)) - base
        print(f"{'torch':22} {torch_time * 1e3:8.1f} {(torch_time - numpy_time) * 1e3:20.1f}")
    except subprocess.CalledProcessError:
        print("torch not installed")


if __name__ == "__main__":
    main()
