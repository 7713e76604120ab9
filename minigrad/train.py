"""A Keras-style training helper: ``fit`` a model on arrays or a DataLoader, ``evaluate`` it::

    import minigrad as mg
    from minigrad import nn
    from minigrad.train import fit, evaluate

    model = nn.Sequential(nn.Linear(1, 1))
    history = fit(model, x_train, y_train, loss="mean_squared_error", optimizer="sgd",
                  epochs=1000, verbose=0)
    print(history.history["loss"][-1], evaluate(model, x_train, y_train, "mse"))

``fit`` runs the loop every PyTorch script writes by hand, once per mini-batch::

    optimizer.zero_grad()
    loss = loss_fn(model(x_batch), y_batch)
    loss.backward()
    optimizer.step()

and records, per epoch, the mean of the batch losses weighted by batch size (Keras' number:
for a loss that averages over samples it equals the loss over the whole epoch's data as it was
when each batch was seen).

Data. ``x`` is a ``DataLoader`` (then ``y`` is None and ``batch_size``/``shuffle`` are the
loader's own), a ``Dataset`` of ``(x, y)`` samples, or an array-like / Tensor with ``y`` beside
it. Arrays become Tensors: floating arrays in the dtype of the model's parameters (float32 by
default, as Keras casts to floatx); integer inputs ``x`` are cast the same way (Keras casts a
model's inputs to floatx), integer targets ``y`` stay int64 (class labels). Like Keras, a 1-D
floating ``x`` or ``y`` of length N is read as N samples of one feature, shape ``(N, 1)``.

Losses by Keras name (or pass any callable ``loss(output, target) -> scalar Tensor``, such as
``nn.CrossEntropyLoss()`` or ``F.mse_loss``)::

    'mse', 'mean_squared_error'        F.mse_loss
    'mae', 'mean_absolute_error'       F.l1_loss
    'binary_crossentropy'              model outputs PROBABILITIES p (end the model in Sigmoid),
                                       targets in [0, 1]: mean of -(y log p + (1-y) log(1-p))
    'categorical_crossentropy'         model outputs PROBABILITIES p (N, C) (end in Softmax),
                                       targets one-hot / class probabilities (N, C):
                                       mean over samples of -sum_c y_c log p_c
    'sparse_categorical_crossentropy'  as above with integer class targets (N,): mean of
                                       -log p[i, y_i]

The three cross-entropies follow Keras' default (``from_logits=False``): they take
probabilities, clip them to [eps, 1 - eps] with Keras' eps = 1e-7 (so log never sees 0 and the
loss stays finite), and categorical_crossentropy first rescales each row of p to sum to 1, as
Keras does. For a model that outputs logits, which is numerically better, pass the minigrad
loss object instead: ``nn.CrossEntropyLoss()`` (integer or probability targets) or
``nn.BCEWithLogitsLoss()``. For the named losses the target is reshaped to the output's shape
when they hold the same number of elements (Keras does the same: y of shape (N,) against an
output of shape (N, 1)) and cast to the output's dtype.

Optimizers by Keras name (or pass a ``minigrad.optim`` optimizer built on the model's
parameters). Keras' default hyper-parameters, run with PyTorch's update formulas (which place
eps slightly differently from Keras; the difference is far below anything a plot shows)::

    'sgd'      SGD(lr=0.01)
    'adam'     Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-7)
    'rmsprop'  RMSprop(lr=0.001, alpha=0.9, eps=1e-7)          (Keras' rho=0.9)
    'adagrad'  Adagrad(lr=0.001, initial_accumulator_value=0.1, eps=1e-7)

Progress (``verbose``): 0 prints nothing; 1 shows one tqdm bar over the epochs when tqdm is
installed (otherwise falls back to 2); 2 prints one line per epoch. tqdm and matplotlib are
imported only when used, so importing this module costs nothing extra.
"""
import math

import numpy as np

from . import optim
from .autograd import no_grad
from .dtypes import float32
from .nn import functional as F
from .tensor import Tensor, tensor

__all__ = ["LOSSES", "OPTIMIZERS", "History", "evaluate", "fit"]

# Keras' backend epsilon (keras.config.epsilon()): the clip for probabilities in the losses.
KERAS_EPSILON = 1e-7


# ----------------------------------------------------------------------------------------
# Losses by Keras name
# ----------------------------------------------------------------------------------------

def _match_target(output, target):
    """The target as Keras compares it with the output: same dtype, and the output's shape
    when both hold the same number of elements ((N,) against (N, 1), say)."""
    if target.dtype != output.dtype:
        target = target.to(output.dtype)
    if target.shape != output.shape and target.numel() == output.numel():
        target = target.reshape(output.shape)
    return target


def _clip_probabilities(p):
    return p.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON)


def mean_squared_error(output, target):
    """Keras' 'mean_squared_error': mean of (output - target)^2 over every element."""
    return F.mse_loss(output, _match_target(output, target))


def mean_absolute_error(output, target):
    """Keras' 'mean_absolute_error': mean of |output - target| over every element."""
    return F.l1_loss(output, _match_target(output, target))


def binary_crossentropy(output, target):
    """Keras' 'binary_crossentropy' on probabilities p = output (any shape), targets y in
    [0, 1] of the same shape::

        L = mean( -(y log p + (1 - y) log(1 - p)) ),   p clipped to [1e-7, 1 - 1e-7]

    dL/dp = (p - y) / (p (1 - p)) / n inside the clip, 0 outside it (Keras' clip does the same).
    """
    return F.binary_cross_entropy(_clip_probabilities(output), _match_target(output, target))


def categorical_crossentropy(output, target):
    """Keras' 'categorical_crossentropy': probabilities p (N, C) (a Softmax output), one-hot
    or class-probability targets y (N, C)::

        p <- p / sum_c p_c  (row-wise, as Keras does),  p clipped to [1e-7, 1 - 1e-7]
        L = (1/N) sum_i ( -sum_c y_ic log p_ic )
    """
    if target.ndim != output.ndim or not target.dtype.is_floating_point:
        raise ValueError(
            f"categorical_crossentropy expects one-hot (or probability) targets with the "
            f"output's shape {tuple(output.shape)}, got targets of shape {tuple(target.shape)} "
            f"and dtype {target.dtype}; for integer class labels use "
            f"'sparse_categorical_crossentropy'")
    target = _match_target(output, target)
    p = _clip_probabilities(output / output.sum(dim=-1, keepdim=True))
    return -(target * p.log()).sum(dim=-1).mean()


def sparse_categorical_crossentropy(output, target):
    """Keras' 'sparse_categorical_crossentropy': probabilities p (N, C), integer class targets
    y (N,) (or (N, 1), as Keras allows)::

        L = (1/N) sum_i -log p[i, y_i],   p clipped to [1e-7, 1 - 1e-7]
    """
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = target.reshape(tuple(target.shape[:-1]))
    if target.dtype.is_floating_point:
        target = target.long()
    return F.nll_loss(_clip_probabilities(output).log(), target)


LOSSES = {
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


# ----------------------------------------------------------------------------------------
# Optimizers by Keras name
# ----------------------------------------------------------------------------------------

OPTIMIZERS = {
    # name: (class, Keras' defaults expressed as PyTorch-style keyword arguments)
    "sgd": (optim.SGD, {"lr": 0.01}),
    "adam": (optim.Adam, {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7}),
    "rmsprop": (optim.RMSprop, {"lr": 0.001, "alpha": 0.9, "eps": 1e-7}),
    "adagrad": (optim.Adagrad, {"lr": 0.001, "initial_accumulator_value": 0.1, "eps": 1e-7}),
}


def _get_loss(loss):
    if isinstance(loss, str):
        try:
            return LOSSES[loss.lower()]
        except KeyError:
            raise ValueError(f"unknown loss {loss!r}; known names: "
                             f"{', '.join(sorted(LOSSES))} (or pass a callable such as "
                             f"nn.MSELoss())") from None
    if not callable(loss):
        raise TypeError(f"loss must be a Keras loss name or a callable "
                        f"loss(output, target), got {type(loss).__name__}")
    return loss


def _get_optimizer(optimizer, model):
    if isinstance(optimizer, str):
        try:
            cls, kwargs = OPTIMIZERS[optimizer.lower()]
        except KeyError:
            raise ValueError(f"unknown optimizer {optimizer!r}; known names: "
                             f"{', '.join(sorted(OPTIMIZERS))} (or pass a minigrad.optim "
                             f"optimizer)") from None
        return cls(model.parameters(), **kwargs)
    if not isinstance(optimizer, optim.Optimizer):
        raise TypeError(f"optimizer must be a Keras optimizer name or a minigrad.optim "
                        f"Optimizer, got {type(optimizer).__name__}")
    return optimizer


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------

def _float_dtype(model):
    """The dtype arrays are cast to: the model's first floating parameter's (float32 default)."""
    for p in model.parameters():
        if p.dtype.is_floating_point:
            return p.dtype
    return float32


def _as_tensor(data, float_dtype, name, integers_are_labels):
    """An array-like (or Tensor) as a Tensor in Keras' conventions.

    Floating data (and, for inputs x, integer data too: Keras casts a model's inputs to floatx)
    become ``float_dtype``; integer targets stay integers (int64 class labels). A 1-D floating
    array of length N is read as N samples of one feature, shape (N, 1).
    """
    if isinstance(data, Tensor):
        t = data.detach()
        if not t.dtype.is_floating_point and not integers_are_labels:
            t = t.to(float_dtype)
    else:
        array = np.asarray(data)
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise TypeError(f"fit: {name} must be numeric, got an array of dtype {array.dtype}")
        if array.dtype.kind == "f" or not integers_are_labels:
            t = tensor(array.astype(float_dtype.np_dtype, copy=False))
        else:
            t = tensor(array.astype(np.int64, copy=False))
    if t.ndim == 0:
        raise ValueError(f"fit: {name} must hold one row per sample, got a scalar")
    if t.ndim == 1 and t.dtype.is_floating_point:
        t = t.reshape(-1, 1)
    return t


def _make_loader(x, y, batch_size, shuffle, float_dtype, what):
    """A DataLoader over (x, y): x itself if it is one, else one built from the data."""
    # (imported here: utils.data brings multiprocessing, which `import minigrad` should not)
    from .utils.data import DataLoader, Dataset, TensorDataset
    if isinstance(x, DataLoader):
        if y is not None:
            raise ValueError(f"{what}: x is a DataLoader, so y must be None (the loader yields "
                             f"the targets)")
        return x
    if isinstance(x, Dataset):
        if y is not None:
            raise ValueError(f"{what}: x is a Dataset, so y must be None")
        return DataLoader(x, batch_size=batch_size or max(len(x), 1), shuffle=shuffle)
    if y is None:
        raise ValueError(f"{what}: y is required when x is an array or Tensor")
    xt = _as_tensor(x, float_dtype, "x", integers_are_labels=False)
    yt = _as_tensor(y, float_dtype, "y", integers_are_labels=True)
    if xt.shape[0] != yt.shape[0]:
        raise ValueError(f"{what}: x and y hold different numbers of samples "
                         f"({xt.shape[0]} and {yt.shape[0]}); shapes {tuple(xt.shape)} and "
                         f"{tuple(yt.shape)}")
    return DataLoader(TensorDataset(xt, yt), batch_size=batch_size or max(len(xt), 1),
                      shuffle=shuffle)


def _split_batch(batch):
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch
    raise ValueError("fit: each batch must be a pair (inputs, targets); got "
                     f"{type(batch).__name__}"
                     + (f" of length {len(batch)}" if isinstance(batch, (list, tuple)) else ""))


def _batch_size_of(x_batch):
    return x_batch.shape[0] if isinstance(x_batch, Tensor) and x_batch.ndim > 0 else 1


# ----------------------------------------------------------------------------------------
# History
# ----------------------------------------------------------------------------------------

class History:
    """What ``fit`` returns (as Keras' ``History``).

    history: dict of per-epoch lists: ``'loss'`` and, with validation data, ``'val_loss'``.
    epoch: the epoch indices ``[0, 1, ...]``.
    params: ``{'epochs', 'steps', 'verbose'}`` (steps = batches per epoch).
    model, optimizer, loss: what was trained, with what.
    """

    def __init__(self, model=None, optimizer=None, loss=None, params=None):
        self.history = {"loss": []}
        self.epoch = []
        self.params = dict(params or {})
        self.model = model
        self.optimizer = optimizer
        self.loss = loss

    def __repr__(self):
        last = {k: (v[-1] if v else None) for k, v in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"

    def plot(self, path="history.png", *, logy=None, title="Training history"):
        """Save the loss curves (and validation curves) as a PNG at ``path``; returns ``path``.

        logy: log-scaled loss axis; by default on when the loss spans more than two decades.
        Needs matplotlib (``pip install matplotlib``); raises ImportError saying so otherwise.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError("History.plot needs matplotlib: pip install matplotlib") from exc
        # A bare Figure (no pyplot) renders with the Agg canvas: no GUI, no global state.
        fig = Figure(figsize=(6, 4), tight_layout=True)
        ax = fig.add_subplot()
        epochs = [e + 1 for e in self.epoch]
        for key, values in self.history.items():
            ax.plot(epochs, values, label=key)
        values = [v for vs in self.history.values() for v in vs if v > 0]
        if logy is None:
            logy = bool(values) and max(values) > 100 * min(values)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(title)
        ax.legend()
        ax.grid(True, alpha=0.3)
        fig.savefig(path, dpi=100)
        return path


# ----------------------------------------------------------------------------------------
# Progress reporting
# ----------------------------------------------------------------------------------------

class _Progress:
    """verbose 0: silent; 1: a tqdm bar over the epochs (or lines without tqdm); 2: lines."""

    def __init__(self, verbose, epochs):
        self.bar = None
        self.lines = False
        self.epochs = epochs
        if verbose == 1:
            try:
                from tqdm import tqdm
            except ImportError:
                self.lines = True
            else:
                self.bar = tqdm(total=epochs, unit="epoch", desc="fit")
        elif verbose:
            self.lines = True

    def epoch_end(self, epoch, logs):
        if self.bar is not None:
            # refresh=False: the bar redraws at most every tqdm.mininterval, not every epoch.
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            self.bar.update(1)
        elif self.lines:
            metrics = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            width = len(str(self.epochs))
            print(f"Epoch {epoch + 1:{width}d}/{self.epochs} - {metrics}", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ----------------------------------------------------------------------------------------
# fit / evaluate
# ----------------------------------------------------------------------------------------

def _check_model(model, what):
    if not callable(model) or not hasattr(model, "parameters"):
        raise TypeError(f"{what}: model must be an nn.Module (callable with parameters()), "
                        f"got {type(model).__name__}")


def _mean_loss(model, loader, loss_fn):
    """sum over batches of (batch loss * batch size) / number of samples, without gradients."""
    total, count = 0.0, 0
    with no_grad():
        for batch in loader:
            x_batch, y_batch = _split_batch(batch)
            n = _batch_size_of(x_batch)
            total += float(loss_fn(model(x_batch), y_batch).item()) * n
            count += n
    if count == 0:
        raise ValueError("evaluate: the data holds no samples")
    return total / count


def fit(model, x, y=None, *, loss, optimizer, epochs=1, batch_size=32, shuffle=True,
        validation_data=None, verbose=1):
    """Train ``model`` for ``epochs`` passes over the data; return a ``History``.

    Parameters
    ----------
    model : Module
        The model to train.
    x, y
        Arrays / Tensors of N samples (``x[i]`` goes in, ``y[i]`` is its target), or x a
        DataLoader / Dataset yielding ``(inputs, targets)`` with y None.
    loss : str or callable
        A Keras name (see the module docstring) or a callable ``loss(output, target)``.
    optimizer : str or Optimizer
        A Keras name (built on ``model.parameters()`` with Keras' defaults) or a
        ``minigrad.optim`` optimizer.
    epochs : int
        Passes over the data.
    batch_size : int, optional
        Samples per step (None: all of them). Ignored when x is a DataLoader.
    shuffle : bool
        Reshuffle the samples every epoch (minigrad's generator: ``mg.manual_seed`` makes it
        reproducible). Ignored when x is a DataLoader.
    validation_data : optional
        ``(x_val, y_val)`` or a DataLoader/Dataset, evaluated (no gradients,
        ``model.eval()``) after every epoch into ``history.history['val_loss']``.
    verbose : int
        0 silent, 1 progress bar (tqdm) or one line per epoch, 2 one line per epoch.

    Notes
    -----
    The model is in training mode while it trains and left in the mode it was in before.
    """
    _check_model(model, "fit")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    loss_fn = _get_loss(loss)
    optimizer = _get_optimizer(optimizer, model)
    float_dtype = _float_dtype(model)
    loader = _make_loader(x, y, batch_size, shuffle, float_dtype, "fit")
    val_loader = None
    if validation_data is not None:
        from .utils.data import DataLoader, Dataset
        if isinstance(validation_data, (DataLoader, Dataset)):
            val_loader = _make_loader(validation_data, None, batch_size, False, float_dtype,
                                      "fit(validation_data)")
        elif isinstance(validation_data, (list, tuple)) and len(validation_data) == 2:
            val_loader = _make_loader(validation_data[0], validation_data[1], batch_size, False,
                                      float_dtype, "fit(validation_data)")
        else:
            raise ValueError("fit: validation_data must be a pair (x_val, y_val), a DataLoader "
                             "or a Dataset")

    history = History(model, optimizer, loss_fn,
                      {"epochs": int(epochs), "steps": len(loader), "verbose": verbose})
    was_training = model.training
    progress = _Progress(verbose, int(epochs))
    try:
        for epoch in range(int(epochs)):
            model.train()
            total, count = 0.0, 0
            for batch in loader:
                x_batch, y_batch = _split_batch(batch)
                optimizer.zero_grad()
                batch_loss = loss_fn(model(x_batch), y_batch)
                batch_loss.backward()
                optimizer.step()
                n = _batch_size_of(x_batch)
                total += float(batch_loss.item()) * n
                count += n
            if count == 0:
                raise ValueError("fit: the training data holds no samples")
            logs = {"loss": total / count}
            if val_loader is not None:
                model.eval()
                logs["val_loss"] = _mean_loss(model, val_loader, loss_fn)
            for key, value in logs.items():
                history.history.setdefault(key, []).append(value)
            history.epoch.append(epoch)
            if not math.isfinite(logs["loss"]) and verbose:
                print(f"fit: the loss is {logs['loss']} at epoch {epoch + 1}; "
                      f"try a smaller learning rate")
            progress.epoch_end(epoch, logs)
    finally:
        progress.close()
        model.train(was_training)
    return history


def evaluate(model, x, y=None, loss=None, *, batch_size=None):
    """The loss of ``model`` on (x, y) as a float, without gradients, in ``model.eval()`` mode.

    Parameters
    ----------
    model : Module
        The model.
    x, y
        As in ``fit`` (arrays / Tensors, or x a DataLoader / Dataset and y None).
    loss : str or callable
        A Keras name or a callable ``loss(output, target)`` (required).
    batch_size : int, optional
        Evaluate in batches of this size (None: all samples at once). The result is the
        batch losses' mean weighted by batch size, so for a loss that averages over samples
        it does not depend on batch_size.
    """
    _check_model(model, "evaluate")
    if loss is None:
        raise TypeError("evaluate() missing the loss: evaluate(model, x, y, loss)")
    loss_fn = _get_loss(loss)
    loader = _make_loader(x, y, batch_size, False, _float_dtype(model), "evaluate")
    was_training = model.training
    model.eval()
    try:
        return _mean_loss(model, loader, loss_fn)
    finally:
        model.train(was_training)
