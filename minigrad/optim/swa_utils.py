"""Stochastic weight averaging and exponential moving averages of a model's weights
(``torch.optim.swa_utils``).

``AveragedModel(model)`` keeps a copy of ``model`` whose parameters (and, with
``use_buffers=True``, buffers) are averaged over the calls of ``update_parameters(model)``;
``SWALR`` anneals each group's lr to a constant ``swa_lr``; ``update_bn`` recomputes the
BatchNorm running statistics of the averaged model with one pass over the data.

The averages are computed on the arrays, in place, with PyTorch's formulas and order::

    default (SWA, on CPU):  avg <- avg + (p - avg) / (n + 1)
    get_swa_multi_avg_fn(): avg <- lerp(avg, p, 1 / (n + 1))   (the weight rounded to float32,
                                                                as PyTorch computes it)
    get_ema_multi_avg_fn(decay): avg <- lerp(avg, p, 1 - decay)
    get_swa_avg_fn(), get_ema_avg_fn(decay): the same on Tensors, returning the new value

where n is the number of models averaged so far; the first call copies the model.
"""
import copy
import itertools
import math

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import Tensor
from .lr_scheduler import LRScheduler

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _lerp_(start, end, weight):
    """start <- torch.lerp(start, end, weight) in place, for a Python-float weight: ATen's
    two forms, start + w (end - start) for |w| < 0.5, else end - (end - start)(1 - w)."""
    w = start.dtype.type(weight)
    if abs(float(w)) < 0.5:
        start[...] = start + w * (end - start)
    else:
        start[...] = end - (end - start) * (start.dtype.type(1) - w)


def _arrays(tensors):
    return [t._data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]


def get_ema_multi_avg_fn(decay=0.999):
    """An in-place exponential moving average over lists of parameters:
    ``avg <- lerp(avg, p, 1 - decay)``, for ``AveragedModel(multi_avg_fn=...)``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        for ema, current in zip(_arrays(ema_param_list), _arrays(current_param_list)):
            if np.issubdtype(ema.dtype, np.floating):
                _lerp_(ema, current, 1 - decay)
            else:
                ema[...] = ema * decay + current * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn():
    """An in-place running mean over lists of parameters:
    ``avg <- lerp(avg, p, 1 / (n + 1))``, for ``AveragedModel(multi_avg_fn=...)``."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = int(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)
        # PyTorch computes 1 / (n + 1) as a float32 tensor (integer tensor true division).
        weight = float(np.float32(1.0) / np.float32(n + 1))
        for avg, current in zip(_arrays(averaged_param_list), _arrays(current_param_list)):
            if np.issubdtype(avg.dtype, np.floating):
                _lerp_(avg, current, weight)
            else:
                avg[...] = avg + (current - avg) * (1.0 / (n + 1))

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """``ema_update(ema, p, n) -> decay * ema + (1 - decay) * p``, for ``avg_fn=``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """``swa_update(avg, p, n) -> avg + (p - avg) / (n + 1)``, for ``avg_fn=``."""

    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(nn.Module):
    r"""A copy of ``model`` holding the average of its weights over training
    (``torch.optim.swa_utils.AveragedModel``).

    Parameters
    ----------
    model : Module
        The module to average (deep-copied; the copy is ``self.module``).
    device : optional
        Accepted for PyTorch compatibility (CPU only).
    avg_fn, multi_avg_fn : callable, optional
        ``avg_fn(averaged, current, n)`` returns the new averaged Tensor, applied per
        parameter; ``multi_avg_fn(averaged_list, current_list, n)`` updates the lists in
        place. Neither: the equal-weight running mean (SWA). Only one may be given
        (AssertionError otherwise).
    use_buffers : bool
        Average the buffers too (e.g. BatchNorm running statistics) instead of copying them
        from ``model``.

    Notes
    -----
    ``n_averaged`` is an int64 buffer counting the updates. ``forward`` calls the copy.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", Tensor(np.array(0, dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold ``model``'s current weights into the average (the first call copies them)."""
        if self.use_buffers:
            self_params = itertools.chain(self.module.parameters(), self.module.buffers())
            model_params = itertools.chain(model.parameters(), model.buffers())
        else:
            self_params, model_params = self.parameters(), model.parameters()
        averaged, current = [], []
        n = int(self.n_averaged._data)
        for p_averaged, p_model in zip(self_params, model_params):
            averaged.append(p_averaged)
            current.append(p_model)
            if n == 0:
                p_averaged._data[...] = p_model._data
        if n > 0:
            n_averaged = Tensor(np.array(n, dtype=np.int64))
            if self.multi_avg_fn is not None:
                self.multi_avg_fn([p.detach() for p in averaged],
                                  [p.detach() for p in current], n_averaged)
            elif self.avg_fn is not None:
                for p_averaged, p_model in zip(averaged, current):
                    new = self.avg_fn(p_averaged.detach(), p_model.detach(), n_averaged)
                    p_averaged._data[...] = new._data if isinstance(new, Tensor) else new
            else:
                # PyTorch's CPU path: avg + (p - avg) / (n + 1), per parameter.
                for p_averaged, p_model in zip(averaged, current):
                    a = p_averaged._data
                    a[...] = a + (p_model._data - a) / a.dtype.type(n + 1)
        if not self.use_buffers:
            # Buffers (e.g. BatchNorm statistics) follow the model; update_bn recomputes them.
            for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                b_swa._data[...] = b_model._data
        self.n_averaged._data[...] = n + 1


def _is_batchnorm(module):
    """PyTorch's test (``isinstance(module, _BatchNorm)``): InstanceNorm layers that track
    running statistics share the base class but are not reset."""
    from ..nn.layers import _BatchNorm
    from ..nn.normalization import _InstanceNorm
    return isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm)


def update_bn(loader, model, device=None):
    """Recompute the running statistics of every BatchNorm layer of ``model`` with one pass
    over ``loader`` (batches, or tuples/lists whose first element is the input): the
    statistics are reset and accumulated as a cumulative average (momentum None)."""
    momenta = {}
    for module in model.modules():
        if _is_batchnorm(module):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneal each group's lr to a constant ``swa_lr`` over ``anneal_epochs`` steps, then
    hold it (``torch.optim.swa_utils.SWALR``).

    With t = min(1, step / max(1, anneal_epochs)) and alpha(t) = (1 - cos(pi t)) / 2 ("cos")
    or t ("linear"), the lr at scheduler step ``step`` is
    ``swa_lr * alpha(t) + lr_0 * (1 - alpha(t))``, where lr_0 is recovered from the group's
    current lr and the previous alpha, so other changes to the lr are respected (PyTorch's
    recursive form). swa_lr: a float, or a list with one value per group.
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        if isinstance(swa_lr, (list, tuple)):
            if len(swa_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"swa_lr must have the same length as optimizer.param_groups. swa_lr has "
                    f"{len(swa_lr)} values, param_groups has {len(optimizer.param_groups)}.")
            swa_lrs = list(swa_lr)
        else:
            swa_lrs = [swa_lr] * len(optimizer.param_groups)
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = (self._cosine_anneal if anneal_strategy == "cos"
                            else self._linear_anneal)

    def state_dict(self):
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
