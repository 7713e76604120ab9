"""Time one training step of examples/char_transformer.py's model: minigrad vs PyTorch eager.

The model (token + position embeddings, 2 pre-norm TransformerEncoderLayers with causal
self-attention and a GELU MLP, LayerNorm, Linear head; d_model 32, 2 heads, vocabulary 45,
block 32, batch 32: the example's size) is built in both libraries from the same weights, and
one step is forward + cross-entropy + backward + clip_grad_norm_ + AdamW, on a fixed batch.

Columns: median milliseconds per step with the interquartile range (p25-p75), and the ratio
minigrad / torch (below 1: minigrad is faster). Both run with one thread (torch.set_num_threads
(1); numpy's BLAS through OPENBLAS_NUM_THREADS=1, set before numpy loads). The two run
interleaved, a block of steps each in turn, for several rounds, so that a slow patch of the
shared machine hits both alike. An LSTM case (examples/lstm_sequence.py's model: T=30,
batch 64, hidden 32) is timed the same way.

    python bench/transformer.py                   # the table
    python bench/transformer.py --profile         # plus a cProfile of the minigrad step
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # after the thread settings

import minigrad as mg
from minigrad import nn as mnn

VOCAB, BLOCK, BATCH, D, HEADS, LAYERS = 45, 32, 32, 32, 2, 2


def _stand_ins():
    """Embedding/LayerNorm/gelu stand-ins (tests/_nn_fallbacks.py) while those families are
    not merged into minigrad; returns their names (empty once minigrad has them all)."""
    from minigrad.nn import functional as F
    missing = [n for n, m in (("Embedding", mnn), ("LayerNorm", mnn), ("gelu", F))
               if not hasattr(m, n)]
    if missing:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
        import _nn_fallbacks
        mnn.Embedding = getattr(mnn, "Embedding", _nn_fallbacks.Embedding)
        mnn.LayerNorm = getattr(mnn, "LayerNorm", _nn_fallbacks.LayerNorm)
        F.gelu = getattr(F, "gelu", _nn_fallbacks.gelu)
    return missing


def char_model(lib):
    """The example's CharTransformer written against ``lib`` (minigrad or torch)."""
    nn = lib.nn

    class CharTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, D)
            self.pos = nn.Embedding(BLOCK, D)
            layer = nn.TransformerEncoderLayer(D, HEADS, 4 * D, 0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, LAYERS, norm=nn.LayerNorm(D),
                                                enable_nested_tensor=False)
            self.head = nn.Linear(D, VOCAB)
            self.causal = lib.tensor(np.triu(np.ones((BLOCK, BLOCK), bool), 1))

        def forward(self, idx):
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1]))
            return self.head(self.blocks(x, mask=self.causal, is_causal=True))

    return CharTransformer()


def lstm_model(lib):
    nn = lib.nn

    class Adder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(2, 32, batch_first=True)
            self.head = nn.Linear(32, 1)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    return Adder()


def make_step(lib, case, state):
    """A step() closure for ``lib`` with the weights ``state`` (numpy arrays)."""
    rng = np.random.default_rng(0)
    if case == "transformer":
        model = char_model(lib)
        x_np = rng.integers(0, VOCAB, (BATCH, BLOCK))
        y_np = rng.integers(0, VOCAB, (BATCH * BLOCK,))
    else:
        model = lstm_model(lib)
        x_np = rng.random((64, 30, 2), dtype=np.float32)
        y_np = rng.random((64, 1), dtype=np.float32)
    if state is None:
        state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-3)
    F = lib.nn.functional

    def step():
        out = model(x)
        if case == "transformer":
            loss = F.cross_entropy(out.reshape(-1, VOCAB), y)
        else:
            loss = F.mse_loss(out, y)
        opt.zero_grad()
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    return step, state


def measure(steps, rounds, block):
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(block):
                t0 = time.perf_counter_ns()
                step()
                times[name].append((time.perf_counter_ns() - t0) / 1e6)
    return times


def summary(values):
    q = statistics.quantiles(values, n=4)
    return statistics.median(values), q[0], q[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=10)
    parser.add_argument("--case", choices=["transformer", "lstm", "all"], default="all")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    missing = _stand_ins()
    if missing:
        print(f"(minigrad has no {', '.join(missing)} yet: composed stand-ins from "
              "tests/_nn_fallbacks.py are timed in their place)")
    cases = ["transformer", "lstm"] if args.case == "all" else [args.case]
    print(f"{'case':<12} {'minigrad ms (p25-p75)':>24} {'torch 1T ms (p25-p75)':>24} "
          f"{'minigrad/torch':>15}")
    for case in cases:
        torch_step, state = make_step(torch, case, None)
        mg_step, _ = make_step(mg, case, state)
        first = (mg_step(), torch_step())
        assert abs(first[0] - first[1]) < 1e-3 * max(1.0, abs(first[1])), first  # same model
        for _ in range(3):
            mg_step()
            torch_step()
        times = measure({"minigrad": mg_step, "torch": torch_step}, args.rounds, args.block)
        (m, m25, m75), (t, t25, t75) = summary(times["minigrad"]), summary(times["torch"])
        print(f"{case:<12} {m:>9.2f} ({m25:6.2f}-{m75:6.2f})    {t:>9.2f} ({t25:6.2f}-"
              f"{t75:6.2f})    {m / t:>12.2f}")
        if args.profile:
            profiler = cProfile.Profile()
            for _ in range(10):
                profiler.runcall(mg_step)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
