"""Tutorial 1: backprop by hand, then with autograd, on the seed network.
======================================================================

The network of examples/two_layer_regression.py: two inputs x1, x2 ~ U(0, 1), the target
y = 2 x1 + 3 x2 + noise, and ::

    h    = x @ W1^T + b1          (n, 10)   layer1 = nn.Linear(2, 10)
    a    = relu(h)                (n, 10)
    yhat = a @ W2^T + b2          (n, 1)    layer2 = nn.Linear(10, 1)
    L    = mean((yhat - y)^2)     ()        F.mse_loss

We derive every gradient with the chain rule, going backwards through the same lines, compute
them with numpy, and compare each with what ``loss.backward()`` put into ``.grad``
(``mg.autograd.compare``, the ``cmp`` of Karpathy's "backprop ninja"). Then we watch the
engine do it (``mg.autograd.trace``) and draw the graph it walked (``mg.viz.draw_graph``).

Run::

    python docs/tutorials/01_backprop_by_hand.py [--out DIR]   (writes DIR/backprop_graph.png)
"""
import argparse
import os

import numpy as np

import minigrad as mg
from minigrad import nn

parser = argparse.ArgumentParser()
parser.add_argument("--out", default=".", help="folder for the picture")
args = parser.parse_args()
n = 16 if os.environ.get("MINIGRAD_TUTORIAL_SIZE") == "small" else 100

# ---- the data and the model (float64, so hand and autograd can agree to ~1e-15) ------------
mg.manual_seed(0)
x1, x2, noise = mg.rand(n, 1), mg.rand(n, 1), mg.rand(n, 1)
y = (2 * x1 + 3 * x2 + noise).double()
x = mg.cat((x1, x2), dim=1).double()
layer1, layer2 = nn.Linear(2, 10).double(), nn.Linear(10, 1).double()
W1, b1, W2, b2 = layer1.weight, layer1.bias, layer2.weight, layer2.bias

# ---- forward, one named intermediate per line --------------------------------------------
h = x @ W1.T + b1
a = h.relu()
yhat = a @ W2.T + b2
diff = yhat - y
loss = (diff ** 2).mean()
for t in (h, a, yhat, diff):
    t.retain_grad()  # keep the gradients of the intermediates, to compare them too
loss.backward(retain_graph=True)
print(f"n = {n}, loss = {loss.item():.6f}\n")

# ---- backward by hand: the chain rule, line by line, in reverse ---------------------------
# Each line answers "how does L change when this value changes?", given the answer for the
# value computed from it.
X, Y = x.numpy(), y.numpy()
H, A, YHAT = h.numpy(), a.numpy(), yhat.numpy()
dloss = 1.0                                  # dL/dL
ddiff = dloss * 2 * (YHAT - Y) / n           # L = (1/n) sum diff^2   ->  2 diff / n
dyhat = ddiff                                # diff = yhat - y        ->  1
dW2 = dyhat.T @ A                            # yhat = a W2^T + b2     ->  dyhat^T a
db2 = dyhat.sum(axis=0)                      #   (b2 is broadcast over the n rows: sum them)
da = dyhat @ W2.numpy()                      #                        ->  dyhat W2
dh = da * (H > 0)                            # a = relu(h)            ->  1[h > 0]
dW1 = dh.T @ X                               # h = x W1^T + b1        ->  dh^T x
db1 = dh.sum(axis=0)

print("gradient        | hand == autograd?")
checks = [mg.autograd.compare(name, hand, t) for name, hand, t in [
    ("diff", ddiff, diff), ("yhat", dyhat, yhat), ("layer2.weight", dW2, W2),
    ("layer2.bias", db2, b2), ("a", da, a), ("h", dh, h), ("layer1.weight", dW1, W1),
    ("layer1.bias", db1, b1)]]
assert all(c.approximate for c in checks), "a hand gradient disagrees with autograd"
assert max(c.max_difference for c in checks) < 1e-12

# ---- a classic mistake, caught: forgetting that relu blocks the gradient where h <= 0 ------
wrong = mg.autograd.compare("h (no relu mask)", da, h)
assert not wrong.approximate

# ---- watch the engine: one row per node, newest first --------------------------------------
for p in (W1, b1, W2, b2):
    p.grad = None
with mg.autograd.trace() as t:
    loss.backward(retain_graph=True)
print("\nthe backward pass, node by node:")
print(t)
# "grad in" is dL/d(the node's output), "grads out" dL/d(each input) as the formula returned
# them: the AddBackward0 rows hand b1 and b2 gradients of the broadcast shape (n, 10) and
# (n, 1); the engine sums them back to (10,) and (1,) (that is our .sum(axis=0) above).
# The rows carry the norms of the gradients we derived by hand:
rows = {r.op: r for r in t}
assert np.isclose(rows["MeanBackward0"].grad_out_norms[0], np.linalg.norm(np.full(n, 1 / n)))
assert np.isclose(rows["PowBackward0"].grad_out_norms[0], np.linalg.norm(ddiff))
assert np.isclose(rows["SubBackward0"].grad_in_norms[0], np.linalg.norm(ddiff))
assert np.isclose(rows["ReLUBackward0"].grad_in_norms[0], np.linalg.norm(da))
assert np.isclose(rows["ReLUBackward0"].grad_out_norms[0], np.linalg.norm(dh))

# ---- the picture of the graph, with the gradients the trace saw ----------------------------
names = {"x": x, "y": y, "layer1.weight": W1, "layer1.bias": b1, "layer2.weight": W2,
         "layer2.bias": b2, "loss": loss}
picture = mg.viz.draw_graph(loss, show=("shape", "norm"), params=names, trace=t,
                            title="the seed network, with |dL/d(output)| of every op")
print("\nthe graph in Graphviz's DOT language:\n" + picture.source)
try:
    import matplotlib  # noqa: F401 - the PNG needs Graphviz's dot or matplotlib
    path = mg.viz.save_png(picture, os.path.join(args.out, "backprop_graph.png"))
    print(f"picture: {path}")
except ImportError:
    print("(install matplotlib or Graphviz for the picture)")
arrows = [line for line in picture.source.splitlines() if " -> " in line and "[" not in line]
assert len(arrows) == 15  # 10 ops, 4 parameters, x and y: 16 boxes joined by 15 arrows

print("\nall checks passed")
