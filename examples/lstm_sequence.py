"""An LSTM learns the adding problem (Hochreiter & Schmidhuber, 1997).
===================================================================

Extends seed 000_772b7dbcbab2887b.txt's training recipe (mean squared error, Adam with
lr=0.01) from its MLP to the LSTM sequence model that seed 004_a58549527fa08327.txt names
among its applications.

Each sequence has T steps of two features: a value drawn from U(0, 1) and a marker that is 1
at exactly two random steps and 0 elsewhere. The target is the sum of the two marked values,
read out of the LSTM's last hidden state by a linear layer. Predicting the mean (1.0) whatever
the input gives a mean squared error of 1/6 ~= 0.167: a model must remember the marked values
across the sequence to do better. Written exactly as in PyTorch::

    LSTM(2, hidden, batch_first=True) -> last step's output -> Linear(hidden, 1)

trained with Adam on fresh random batches (no data set to download or overfit).

Run::

    python examples/lstm_sequence.py                 (T = 30, 600 steps: test MSE 0.0024,
                                                       target < 0.01)
    python examples/lstm_sequence.py --steps 400 --length 10      (a quick run:
                                                       about 0.001)
"""
import argparse
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim

BASELINE = 1.0 / 6.0  # MSE of always predicting 1.0: Var(u1 + u2) = 2 / 12


def adding_batch(rng, batch_size, length):
    """x (B, T, 2) float32 (values, markers) and y (B, 1) = the sum of the marked values."""
    values = rng.random((batch_size, length))
    marks = np.zeros((batch_size, length))
    first = rng.integers(0, length, batch_size)
    second = (first + rng.integers(1, length, batch_size)) % length  # a different step
    marks[np.arange(batch_size), first] = 1.0
    marks[np.arange(batch_size), second] = 1.0
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    y = (values * marks).sum(axis=1, keepdims=True).astype(np.float32)
    return mg.tensor(x), mg.tensor(y)


class Adder(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(2, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)            # out (B, T, hidden), (h_n, c_n)
        return self.head(out[:, -1])     # (B, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--length", type=int, default=30, help="sequence length T")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    mg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = Adder(args.hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    print(f"adding problem, T = {args.length}; baseline MSE (predict 1.0): {BASELINE:.4f}")
    start = time.perf_counter()
    for step in range(args.steps + 1):
        x, y = adding_batch(rng, args.batch_size, args.length)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % max(1, args.steps // 6) == 0:
            print(f"step {step:4d}  train MSE {loss.item():.5f}")
    elapsed = time.perf_counter() - start
    test_rng = np.random.default_rng(12345)
    with mg.no_grad():
        x, y = adding_batch(test_rng, 1000, args.length)
        test = F.mse_loss(model(x), y).item()
    print(f"trained {args.steps} steps in {elapsed:.1f} s")
    print(f"test MSE: {test:.5f} ({test / BASELINE:.3f} of the baseline {BASELINE:.4f})")


if __name__ == "__main__":
    main()
