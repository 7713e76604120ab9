"""MSE, MAE and binary cross-entropy by hand, and the seed's Keras program with minigrad's fit.
============================================================================================

Reproduces seed 001_d36e9898ab39264f.txt:

- sections 3.1-3.3: the pure-Python definitions of the mean squared error, the mean absolute
  error and the binary cross-entropy (copied as the seed writes them), checked on sample data
  against minigrad's ``F.mse_loss``, ``F.l1_loss`` and ``F.binary_cross_entropy`` and against
  the Keras-named losses of ``minigrad.train``;
- section 4: the Keras program ``Sequential([Dense(units=1, input_shape=(1,))])``,
  ``compile(optimizer='sgd', loss='mean_squared_error')``, ``fit(x, y, epochs=1000)``,
  ``evaluate(x, y)`` on y = 2x + 3 + N(0, 1), x = -10..10, written with ``minigrad.train.fit``
  and ``minigrad.train.evaluate`` (Keras' names, Keras' default learning rate 0.01 for 'sgd',
  Keras' default batch size 32: here one batch of all 21 samples per epoch).

Seed bugs fixed here:

- The seed calls ``np.array`` and ``np.random.normal`` in section 4 without importing numpy
  (its ``import numpy as np`` is in section 3.3's snippet) and without a seed; here numpy is
  imported and the noise comes from minigrad's seeded generator, so the output is repeatable.
- The seed names MAE "均方根误差" (root mean square error); its formula and code are the mean
  *absolute* error, which is what is computed here.

Run::

    python examples/losses_and_keras_fit.py   (saves keras_fit_loss.png if matplotlib is
    installed)
"""
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.train import LOSSES, evaluate, fit

mg.manual_seed(0)


# ---- 3.1-3.3: the seed's definitions, verbatim -------------------------------------------
def mean_squared_error(y_true, y_pred):
    mse = 0
    for i in range(len(y_true)):
        mse += (y_true[i] - y_pred[i]) ** 2
    return mse / len(y_true)


def mean_absolute_error(y_true, y_pred):
    mae = 0
    for i in range(len(y_true)):
        mae += abs(y_true[i] - y_pred[i])
    return mae / len(y_true)


def cross_entropy_loss(y_true, y_pred):
    n = len(y_true)
    loss = -np.sum(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)) / n
    return loss


# Sample data: a regression (targets and predictions) and a binary classification (labels and
# predicted probabilities of class 1).
reg_true = [3.0, -0.5, 2.0, 7.0, 4.2]
reg_pred = [2.5, 0.0, 2.0, 8.0, 3.9]
labels = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
probs = np.array([0.9, 0.2, 0.7, 0.6, 0.1, 0.4])

t_true, t_pred = mg.tensor(reg_true), mg.tensor(reg_pred)
t_labels, t_probs = mg.tensor(labels), mg.tensor(probs)
rows = [
    ("MSE", mean_squared_error(reg_true, reg_pred),
     F.mse_loss(t_pred, t_true).item(), LOSSES["mean_squared_error"](t_pred, t_true).item()),
    ("MAE", mean_absolute_error(reg_true, reg_pred),
     F.l1_loss(t_pred, t_true).item(), LOSSES["mean_absolute_error"](t_pred, t_true).item()),
    ("binary cross-entropy", cross_entropy_loss(labels, probs),
     F.binary_cross_entropy(t_probs, t_labels).item(),
     LOSSES["binary_crossentropy"](t_probs, t_labels).item()),
]
print("loss                   seed (pure Python)  minigrad F.*   minigrad.train (Keras name)")
for name, by_hand, functional, keras_named in rows:
    print(f"{name:22s} {by_hand:18.6f}  {functional:12.6f}   {keras_named:12.6f}")
    # float32 tensors against float64 Python arithmetic: agree to float32 precision.
    assert np.isclose(by_hand, functional, rtol=1e-5), name
    assert np.isclose(by_hand, keras_named, rtol=1e-5), name
print("all three definitions agree with minigrad's losses")
print()

# ---- section 4: the Keras program -----------------------------------------------------------
# Keras:  model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=(1,))])
#         model.compile(optimizer='sgd', loss='mean_squared_error')
model = nn.Sequential(nn.Linear(1, 1))

x_train = np.array([-10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
y_train = 2 * x_train + 3 + mg.random.generator().normal(0, 1, size=len(x_train))

# Keras:  model.fit(x_train, y_train, epochs=1000, verbose=0)
# x_train is 1-D (integers); like Keras, fit reads it as 21 samples of one feature, (21, 1),
# in the model's float32.
history = fit(model, x_train, y_train, loss="mean_squared_error", optimizer="sgd",
              epochs=1000, verbose=0)

# Keras:  loss = model.evaluate(x_train, y_train, verbose=0)
loss = evaluate(model, x_train, y_train, "mean_squared_error")
print("Mean Squared Error:", loss)

# What it should be: the least-squares line through the same 21 points has the smallest MSE any
# Dense(1) can reach; full-batch SGD at lr 0.01 for 1000 epochs gets there.
slope, intercept = np.polyfit(x_train, y_train, 1)
best_mse = np.mean((slope * x_train + intercept - y_train) ** 2)
weight, bias = model[0].weight.item(), model[0].bias.item()
print(f"learned      y = {weight:.4f} x + {bias:.4f}")
print(f"least squares y = {slope:.4f} x + {intercept:.4f}  (MSE {best_mse:.6f})")
print("truth        y = 2 x + 3, noise N(0, 1): expected MSE about 1")
print(f"loss history: epoch 1 {history.history['loss'][0]:.4f}, "
      f"epoch 10 {history.history['loss'][9]:.4f}, epoch 1000 {history.history['loss'][-1]:.6f}")

try:
    path = history.plot("keras_fit_loss.png", title="Keras-style fit: Dense(1), SGD, MSE")
except ImportError:
    print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
else:
    print(f"saved {path}")
