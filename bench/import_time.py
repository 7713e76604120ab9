"""Import cost: `import minigrad` vs `import numpy` (and torch), each in a fresh interpreter.

Medians of several runs of ``python -X importtime``-free wall clock: the time from interpreter
start to the end of the import, minus the time of an interpreter that imports nothing.

    python bench/import_time.py [--runs 15]
"""
import argparse
import statistics
import subprocess
import sys
import time


def run(statement, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base = run("pass", args.runs)
    numpy_time = run("import numpy", args.runs) - base
    minigrad_time = run("import minigrad", args.runs) - base
    print(f"{'import':10} {'ms':>8} {'ms more than numpy':>20}")
    print(f"{'numpy':10} {numpy_time * 1e3:8.1f} {0:20.1f}")
    print(f"{'minigrad':10} {minigrad_time * 1e3:8.1f} {(minigrad_time - numpy_time) * 1e3:20.1f}")
    try:
        torch_time = run("import torch", max(3, args.runs // 3)) - base
        print(f"{'torch':10} {torch_time * 1e3:8.1f} {(torch_time - numpy_time) * 1e3:20.1f}")
    except subprocess.CalledProcessError:
        print("torch      not installed")


if __name__ == "__main__":
    main()
