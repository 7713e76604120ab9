"""Time of mg.save / mg.load for a ~10 MB checkpoint, against torch.save / torch.load.

Two checkpoints, both about 10 MB of float32:
  (a) "few large": a model state dict of 6 tensors (two 1024x1024 layers and their biases,
      a 512x1024 layer) plus a small optimizer-like dict;
  (b) "many small": 2,500 tensors of 1,000 numbers each (a model with many small layers:
      per-member costs dominate).
Each entry is the median over --runs runs in milliseconds, with the range (min-max) beside it;
the file is in the page cache (written once, read many times), so this measures the reader's
own work, not the disk. torch runs at 1 thread with weights_only=True. With --baseline REV,
the serialization module of that git revision (e.g. main) is timed in the same run, on the
same files, so the before/after ratio is side by side.

    python bench/checkpoint.py [--runs 21] [--baseline main]
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import minigrad as mg


def few_large(rng):
    shapes = {"fc1.weight": (1024, 1024), "fc1.bias": (1024,), "fc2.weight": (1024, 1024),
              "fc2.bias": (1024,), "fc3.weight": (512, 1024), "fc3.bias": (512,)}
    model = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    return model, {"epoch": 3, "lr": 1e-3, "betas": (0.9, 0.999), "step": 1200}


def many_small(rng):
    model = {f"block{i}.weight": rng.standard_normal(1000).astype(np.float32)
             for i in range(2500)}
    return model, {"epoch": 3, "lr": 1e-3}


def timed(function, runs):
    function()  # warm-up: page cache, lazy imports
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3, min(samples) * 1e3, max(samples) * 1e3


def load_baseline(revision, directory):
    """The serialization module as it was at ``revision``, importable beside the current one."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = subprocess.run(["git", "-C", root, "show", f"{revision}:minigrad/serialization.py"],
                            check=True, capture_output=True, text=True).stdout
    path = os.path.join(directory, "serialization_baseline.py")
    with open(path, "w") as f:
        f.write(source)
    name = "minigrad._serialization_baseline"  # inside the package: its relative imports work
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def contenders(path, obj, baseline, label, torch, tpath, tobj):
    """(name, function) pairs to time: minigrad, the baseline revision, torch."""
    rows = [("mg.load", lambda: mg.load(path)), ("mg.save", lambda: mg.save(obj, path))]
    if baseline is not None:
        rows += [(f"{label} load", lambda: baseline.load(path)),
                 (f"{label} save", lambda: baseline.save(obj, path))]
    if torch is not None:
        rows += [("torch.load weights_only", lambda: torch.load(tpath, weights_only=True)),
                 ("torch.save", lambda: torch.save(tobj, tpath))]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--baseline", default=None, help="git revision to time beside this one")
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print(f"{'checkpoint':11} {'what':24} {'median ms':>10} {'range ms':>16} {'vs mg':>7}")
    with tempfile.TemporaryDirectory() as directory:
        baseline = load_baseline(args.baseline, directory) if args.baseline else None
        for label, make in (("few large", few_large), ("many small", many_small)):
            model, extra = make(rng)
            obj = {"model": {k: mg.from_numpy(v) for k, v in model.items()}, "extra": extra}
            path = os.path.join(directory, "checkpoint.mg")
            mg.save(obj, path)
            megabytes = os.path.getsize(path) / 2**20
            tpath = os.path.join(directory, "checkpoint.pt")
            tobj = None
            if torch is not None:
                tobj = {"model": {k: torch.from_numpy(v) for k, v in model.items()},
                        "extra": extra}
                torch.save(tobj, tpath)
            rows = contenders(path, obj, baseline, args.baseline, torch, tpath, tobj)
            results = {what: timed(function, args.runs) for what, function in rows}
            reference = {"load": results["mg.load"][0], "save": results["mg.save"][0]}
            for what, (median, low, high) in results.items():
                ratio = median / reference["load" if "load" in what else "save"]
                print(f"{label:11} {what:24} {median:10.2f} {low:7.2f}-{high:<8.2f} "
                      f"{ratio:7.2f}")
            print(f"{label:11} ({megabytes:.1f} MB file)")


if __name__ == "__main__":
    main()
