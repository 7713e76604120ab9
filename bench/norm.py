"""Normalisation and embedding layers: minigrad vs PyTorch eager, one thread.

For each case (transformer-sized LayerNorm/RMSNorm/GroupNorm/BatchNorm2d inputs, Embedding
and EmbeddingBag lookups), times one forward and one forward + backward
(``y.backward(ones)``) on both libraries in the same run, alternating, and prints medians,
the spread (interquartile range / median) and the ratio minigrad / torch. Rows above a
ratio of 1.5 are marked ``!``.

    python bench/norm.py            # full table
    python bench/norm.py --quick    # shorter loops
    python bench/norm.py --only layer_norm
"""
import argparse
import statistics
import time

import numpy as np

import minigrad as mg

try:
    import torch
except ImportError:  # pragma: no cover
    raise SystemExit("bench/norm.py compares with PyTorch; install torch") from None


def _layer_norm(L, shape):
    ln = L.nn.LayerNorm(shape[-1])
    return lambda x: ln(x)


def _rms_norm(L, shape):
    rms = L.nn.RMSNorm(shape[-1])
    return lambda x: rms(x)


def _group_norm(L, shape):
    gn = L.nn.GroupNorm(8, shape[1])
    return lambda x: gn(x)


def _batch_norm(L, shape):
    bn = L.nn.BatchNorm2d(shape[1])
    return lambda x: bn(x)


def _embedding(L, shape):
    emb = L.nn.Embedding(30000, shape[-1])
    idx = L.tensor(np.random.default_rng(0).integers(0, 30000, shape[:-1]))
    return lambda x: emb(idx) * x


def _embedding_bag(L, shape):
    bag = L.nn.EmbeddingBag(30000, shape[-1], mode="mean")
    idx = L.tensor(np.random.default_rng(0).integers(0, 30000, (shape[0], 20)))
    return lambda x: bag(idx) * x


# name: (input shape, builder(L, shape) -> fn(x))
CASES = {
    "layer_norm (64, 768)": ((64, 768), _layer_norm),
    "layer_norm (4096, 256)": ((4096, 256), _layer_norm),
    "layer_norm (32, 128, 512)": ((32, 128, 512), _layer_norm),
    "rms_norm (4096, 256)": ((4096, 256), _rms_norm),
    "group_norm (16, 64, 32, 32)": ((16, 64, 32, 32), _group_norm),
    "batch_norm2d (16, 64, 32, 32)": ((16, 64, 32, 32), _batch_norm),
    "embedding (32, 128, 256)": ((32, 128, 256), _embedding),
    "embedding_bag mean (512, 256)": ((512, 256), _embedding_bag),
}


def time_once(fn, x, backward):
    start = time.perf_counter()
    y = fn(x)
    if backward:
        y.backward(y.detach() * 0 + 1)
    return time.perf_counter() - start


def measure(L, shape, build, backward, repeats):
    x_values = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    x = L.tensor(x_values, requires_grad=backward)
    fn = build(L, shape)
    for _ in range(2):
        time_once(fn, x, backward)
    return [time_once(fn, x, backward) for _ in range(repeats)]


def summary(times):
    q = statistics.quantiles(times, n=4)
    median = statistics.median(times)
    return median, (q[2] - q[0]) / median


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)
    repeats = 7 if args.quick else 25
    print(f"{'case':32} {'pass':8} {'minigrad ms':>12} {'spread':>7} {'torch ms':>10} "
          f"{'spread':>7} {'ratio':>7}")
    for name, (shape, build) in CASES.items():
        if args.only and args.only not in name:
            continue
        for backward in (False, True):
            mg_times, torch_times = [], []
            for _ in range(3):  # alternate the libraries so drifts hit both
                mg_times += measure(mg, shape, build, backward, repeats // 3 + 1)
                torch_times += measure(torch, shape, build, backward, repeats // 3 + 1)
            (m, ms), (t, ts) = summary(mg_times), summary(torch_times)
            ratio = m / t
            flag = " !" if ratio > 1.5 else ""
            print(f"{name:32} {'fwd+bwd' if backward else 'fwd':8} {m * 1e3:12.3f} "
                  f"{ms:7.2f} {t * 1e3:10.3f} {ts:7.2f} {ratio:7.2f}{flag}")


if __name__ == "__main__":
    main()
