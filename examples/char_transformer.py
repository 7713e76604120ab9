"""A character-level transformer language model on a text that ships with Python.
==============================================================================

Extends seed 004_a58549527fa08327.txt, whose applications list names text generation with
cross-entropy and a Transformer sequence model ("序列建模任务如机器翻译、文本生成等需要使用交叉熵
损失配合LSTM/Transformer等序列模型进行训练"), from its Linear classifier to that model.

The text is the Zen of Python (``import this`` keeps it ROT13-encoded in ``this.s``), or the
source of any standard-library module (``--module textwrap``): nothing is downloaded. The
model is written exactly as in PyTorch::

    token embedding + position embedding                    (B, T) -> (B, T, d)
    num_layers x pre-norm TransformerEncoderLayer             causal self-attention, GELU MLP
    LayerNorm -> Linear(d, vocab)                             logits of the next character

trained with AdamW on the next-character cross-entropy. The unigram baseline is the entropy
of the text's character frequencies: the loss of the best model that ignores context. A model
that uses its context goes well below it (the run prints both), then samples new text one
character at a time with ``mg.multinomial``.

Run::

    python examples/char_transformer.py                  (600 steps: 0.22 nats/char,
                                                           0.07 of the 3.11 baseline)
    python examples/char_transformer.py --steps 200 --batch-size 16    (a quick run: 0.55
                                                           of the baseline)
"""
import argparse
import contextlib
import importlib
import inspect
import io
import math
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim


def load_text(module=None):
    """The Zen of Python (decoded from ``this``), or a standard-library module's source."""
    if module:
        return f"the source of {module}", inspect.getsource(importlib.import_module(module))
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        import this
    return "the Zen of Python", "".join(this.d.get(c, c) for c in this.s)


class CharTransformer(nn.Module):
    """A small GPT-style model: pre-norm encoder layers under a causal mask."""

    def __init__(self, vocab_size, block_size, d_model=32, nhead=2, num_layers=2,
                 dropout=0.0):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(block_size, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model,
                                           dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model),
                                            enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab_size)
        # True above the diagonal: position i may not look at positions after it
        self.register_buffer("causal", mg.tensor(np.triu(np.ones((block_size,) * 2, bool), 1)))

    def forward(self, idx):
        """idx (B, T) int64 -> logits (B, T, vocab_size)."""
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(mg.arange(T))
        x = self.blocks(x, mask=self.causal[:T, :T], is_causal=True)
        return self.head(x)


def unigram_entropy(data, vocab_size):
    """The cross-entropy (nats/char) of the text's own character frequencies."""
    p = np.bincount(data, minlength=vocab_size) / len(data)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def get_batch(data, block_size, batch_size):
    """Random windows: inputs data[i:i+T], targets data[i+1:i+T+1]."""
    starts = mg.randint(0, len(data) - block_size - 1, (batch_size,)).numpy()
    rows = starts[:, None] + np.arange(block_size + 1)
    chunk = data[rows]
    return mg.tensor(chunk[:, :-1]), mg.tensor(chunk[:, 1:])


def evaluate(model, data, block_size, batches=8, batch_size=32):
    model.eval()
    with mg.no_grad():
        losses = []
        for _ in range(batches):
            x, y = get_batch(data, block_size, batch_size)
            logits = model(x)
            losses.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                          y.reshape(-1)).item())
    model.train()
    return float(np.mean(losses))


def sample(model, itos, stoi, prompt, length, temperature=0.8):
    model.eval()
    idx = [stoi[c] for c in prompt]
    with mg.no_grad():
        for _ in range(length):
            context = mg.tensor([idx[-model.block_size:]])
            logits = model(context)[0, -1] / temperature
            idx.append(int(mg.multinomial(F.softmax(logits, dim=-1), 1).item()))
    model.train()
    return "".join(itos[i] for i in idx)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--module", default=None, help="a stdlib module whose source to learn")
    parser.add_argument("--sample", type=int, default=200, help="characters to generate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    mg.manual_seed(args.seed)
    name, text = load_text(args.module)
    itos = sorted(set(text))
    stoi = {c: i for i, c in enumerate(itos)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    vocab = len(itos)
    baseline = unigram_entropy(data, vocab)
    print(f"text: {name}, {len(text)} characters, {vocab} distinct")
    print(f"unigram baseline: {baseline:.4f} nats/char (uniform: {math.log(vocab):.4f})")

    model = CharTransformer(vocab, args.block_size, args.d_model, args.heads, args.layers)
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    opt = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    start = time.perf_counter()
    for step in range(args.steps + 1):
        x, y = get_batch(data, args.block_size, args.batch_size)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % max(1, args.steps // 6) == 0:
            print(f"step {step:4d}  train loss {loss.item():.4f}")
    elapsed = time.perf_counter() - start
    final = evaluate(model, data, args.block_size)
    print(f"trained {args.steps} steps in {elapsed:.1f} s")
    print(f"final loss: {final:.4f} nats/char ({final / baseline:.2f} of the unigram "
          f"baseline {baseline:.4f})")
    if args.sample:
        print("sample:")
        print(sample(model, itos, stoi, text[:8], args.sample))


if __name__ == "__main__":
    main()
