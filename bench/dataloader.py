"""Do worker processes speed up a DataLoader whose samples are slow to load? minigrad vs
torch.utils.data, side by side, same dataset object, same run.

The dataset has 1024 samples; ``__getitem__`` costs 1 ms and returns a float32 array (64,)
and an int label; batches of 32, so an epoch is 32 batches and about 1 s of loading work.
The 1 ms is spent in one of two ways, and the table shows both because they answer different
questions:
  sleep  time.sleep(0.001): loading that waits (disk, network, a decoder in another thread).
         Workers overlap the waits, so 4 workers can approach 4x even on 2 cores.
  busy   a Python loop spinning for 1 ms: loading that computes (decoding, augmentation in
         Python). Workers only help up to the number of free cores (2 on the CI machine).
Each entry is the wall time of one whole epoch (``for batch in loader``), workers started and
stopped inside it (the default, persistent_workers=False), fork start method, prefetch_factor
2. Configurations run round-robin, ``--repeats`` epochs each; the table gives the median and
the min-max spread in ms, the speed-up over the same library with num_workers=0, and torch
time / minigrad time (> 1: minigrad is faster). torch runs at 1 thread.

    python bench/dataloader.py [--repeats 7] [--workers 0 2 4]
"""
import argparse
import statistics
import time
import warnings

import numpy as np

from minigrad.utils import data as mdata

SAMPLES = 1024
BATCH = 32
COST_S = 0.001


class SlowSamples:
    """A map-style dataset (plain class: both libraries accept it) with a 1 ms ``__getitem__``."""

    def __init__(self, kind):
        self.kind = kind
        self.features = np.random.default_rng(0).standard_normal((SAMPLES, 64)).astype(
            np.float32)

    def __len__(self):
        return SAMPLES

    def __getitem__(self, i):
        if self.kind == "sleep":
            time.sleep(COST_S)
        else:
            end = time.perf_counter() + COST_S
            while time.perf_counter() < end:
                pass
        return self.features[i], i % 10


def epoch_ms(data, kind, workers):
    loader = data.DataLoader(SlowSamples(kind), batch_size=BATCH, num_workers=workers,
                             multiprocessing_context="fork" if workers else None)
    start = time.perf_counter()
    count = 0
    for x, _ in loader:
        count += len(x)
    elapsed = (time.perf_counter() - start) * 1e3
    assert count == SAMPLES
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4])
    args = parser.parse_args()
    libraries = [("minigrad", mdata)]
    try:
        import torch
        torch.set_num_threads(1)
        libraries.append(("torch", torch.utils.data))
    except ImportError:
        print("torch is not installed: minigrad only")
    warnings.simplefilter("ignore")  # "more workers than CPUs" is the point of the 4 row

    configs = [(lib, kind, w) for kind in ("sleep", "busy") for w in args.workers
               for lib, _ in libraries]
    modules = dict(libraries)
    times = {config: [] for config in configs}
    for config in configs:  # warm up: imports, first fork
        epoch_ms(modules[config[0]], config[1], config[2])
    for _ in range(args.repeats):
        for config in configs:
            times[config].append(epoch_ms(modules[config[0]], config[1], config[2]))

    print(f"DataLoader epoch: {SAMPLES} samples x 1 ms, batch {BATCH}, "
          f"{args.repeats} epochs each (ms)")
    header = (f"{'cost':6} {'workers':>7} | {'minigrad median':>15} {'min-max':>13} "
              f"{'speed-up':>8} | {'torch median':>12} {'min-max':>13} {'speed-up':>8} | "
              f"{'torch/minigrad':>14}")
    print(header)
    print("-" * len(header))
    for kind in ("sleep", "busy"):
        for w in args.workers:
            row = f"{kind:6} {w:>7} |"
            medians = {}
            for lib, _ in libraries:
                samples = times[(lib, kind, w)]
                med = statistics.median(samples)
                medians[lib] = med
                base = statistics.median(times[(lib, kind, args.workers[0])])
                width = 15 if lib == "minigrad" else 12
                spread = f"{min(samples):.0f}-{max(samples):.0f}"
                row += f" {med:>{width}.1f} {spread:>13} {base / med:>7.2f}x |"
            if "torch" in medians:
                row += f" {medians['torch'] / medians['minigrad']:>14.2f}"
            print(row)


if __name__ == "__main__":
    main()
