"""mg.compile's lowered tape entries (minigrad/_compile_lower.py): the common ops, zero_grad
and the Adam/AdamW steps replayed as direct kernel calls on the slots. Each case checks that
the tape really holds lowered entries, and that the replay equals the eager step bit for bit,
on both kernel backends, in float32 and float64."""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import _kernels, nn, optim

STEPS = 12


@pytest.fixture(params=["cython", "numpy"])
def backend(request):
    _kernels.use(request.param)
    yield request.param
    _kernels.use("cython")


def _data(dtype, n=5, batch=6, features=3, seed=0):
    rng = np.random.default_rng(seed)
    xs = [mg.tensor(rng.standard_normal((batch, features)).astype(dtype)) for _ in range(n)]
    ys = [mg.tensor(rng.standard_normal((batch, 1)).astype(dtype)) for _ in range(n)]
    return xs, ys


def _lowered_names(fn):
    """The names of the tape's lowered entries (closures defined in _compile_lower)."""
    (tapes,) = fn._tapes.values()
    (tape,) = tapes
    return [e.__qualname__.split(".")[0] for e in tape.entries
            if getattr(e, "__module__", None) == "minigrad._compile_lower"]


def _state(model, optimizer):
    arrays = [p.numpy().copy() for p in model.parameters()]
    arrays += [p.grad.numpy().copy() for p in model.parameters() if p.grad is not None]
    for state in optimizer.state.values():
        for key in sorted(state):
            arrays.append(np.array(state[key]))
    return arrays


def _run_both(build, dtype, expect, steps=STEPS, between=None):
    """Run the step eagerly on one copy and compiled on another; compare the losses and the
    final state bit for bit; ``expect``: lowered entry makers the tape must contain."""
    xs, ys = _data(dtype)
    results = []
    for compiled in (False, True):
        mg.manual_seed(0)
        model, optimizer, step = build()
        model.to(mg.float64 if dtype == np.float64 else mg.float32)
        fn = mg.compile(step) if compiled else step
        losses = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an eager fallback fails the test
            for i in range(steps):
                if between is not None:
                    between(i, model, optimizer)
                losses.append(fn(xs[i % len(xs)], ys[i % len(ys)]).numpy().copy())
        results.append((losses, _state(model, optimizer)))
        if compiled:
            names = _lowered_names(fn)
            for name in expect:
                assert name in names, (name, names)
    (eager_losses, eager_state), (losses, state) = results
    for a, b in zip(eager_losses + eager_state, losses + state):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True), np.max(np.abs(a - b))
    assert len(eager_state) == len(state)


def _step(model, optimizer, loss):
    def step(x, y):
        optimizer.zero_grad()
        value = loss(model(x), y)
        value.backward()
        optimizer.step()
        return value
    return step


DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
def test_linear_activations_mse_adam(backend, dtype, act):
    layer = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[act]

    def build():
        model = nn.Sequential(nn.Linear(3, 8), layer(), nn.Linear(8, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        return model, optimizer, _step(model, optimizer, F.mse_loss)
    _run_both(build, dtype, ["_linear_forward", "_unary_forward", "_mse_forward",
                             "_mse_backward", "_linear_backward", "_activation_backward",
                             "_zero_grad_entry", "_adam_entry"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_and_reductions(backend, dtype):
    """add, sub, mul (with a broadcast operand: the sum back to its shape follows), sum and
    mean over all elements and over an axis with keepdim, the MSE sum reduction."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 4)
            self.scale = nn.Parameter(mg.ones(1, 4))
            self.shift = nn.Parameter(mg.zeros(4))

        def forward(self, x):
            h = self.lin(x)
            a = h * self.scale + self.shift        # mul, add with broadcasts
            b = (a - h * h).sum(1, keepdim=True)   # sub, mul, sum over an axis
            return b + a.mean() + (h * 0.5).sum() - a.mean(1, keepdim=True)

    def build():
        model = Net()
        optimizer = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
        return model, optimizer, _step(model, optimizer,
                                       lambda out, y: F.mse_loss(out, y, reduction="sum"))
    _run_both(build, dtype, ["_binary_forward", "_reduction_forward", "_add_backward",
                             "_sub_backward", "_mul_backward", "_reduction_backward",
                             "_adam_entry"])


@pytest.mark.parametrize("kwargs", [{"amsgrad": True}, {"maximize": True, "weight_decay": 0.1},
                                    {"betas": (0.8, 0.9), "eps": 1e-6}])
def test_adam_variants_and_live_learning_rate(backend, kwargs):
    def build():
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2, **kwargs)
        return model, optimizer, _step(model, optimizer, F.mse_loss)

    def between(i, model, optimizer):
        if i % 3 == 2:  # changed by hand between replays: the lowered step reads it live
            optimizer.param_groups[0]["lr"] *= 0.5
            optimizer.param_groups[0]["betas"] = (0.85, optimizer.param_groups[0]["betas"][1])
    _run_both(build, np.float64, ["_adam_entry"], between=between)


def test_step_hook_added_after_recording_runs(backend):
    calls = []

    def build():
        model = nn.Sequential(nn.Linear(3, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        return model, optimizer, _step(model, optimizer, F.mse_loss)

    def between(i, model, optimizer):
        if i == 4:
            optimizer.register_step_post_hook(lambda opt, args, kwargs: calls.append(1))
    _run_both(build, np.float32, ["_adam_entry"], between=between)
    assert len(calls) == 2 * (STEPS - 4)  # eager and compiled copies both ran it


def test_parameter_frozen_between_replays_gets_no_update():
    """A parameter whose gradient is missing at replay (zero_grad then no backward into it)
    is skipped by the lowered step as by Adam.step: compared with a model that never had it
    trained (requires_grad flipped: the guard records another tape)."""
    def build():
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        return model, optimizer, _step(model, optimizer, F.mse_loss)
    xs, ys = _data(np.float32)
    model, _, step = build()
    fn = mg.compile(step)
    for i in range(3):
        fn(xs[i], ys[i])
    model[0].weight.requires_grad_(False)
    frozen = model[0].weight.numpy().copy()
    for i in range(3):
        fn(xs[i], ys[i])
    assert np.array_equal(model[0].weight.numpy(), frozen)
    assert sum(len(t) for t in fn._tapes.values()) == 2


def test_backend_switched_after_recording_is_used_by_the_replay():
    """Lowered entries look their kernels up at each call: recorded on the compiled kernels,
    replayed on the numpy twins, the step equals the eager step on the numpy twins."""
    xs, ys = _data(np.float32)
    models = []
    for compiled in (False, True):
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        step = _step(model, optimizer, F.mse_loss)
        fn = mg.compile(step) if compiled else step
        try:
            fn(xs[0], ys[0])  # the recording call, on the compiled kernels
            _kernels.use("numpy")
            losses = [fn(xs[i % 5], ys[i % 5]).numpy().copy() for i in range(1, 8)]
        finally:
            _kernels.use("cython")
        models.append((losses, [p.numpy().copy() for p in model.parameters()]))
    (eager_losses, eager_params), (losses, params) = models
    for a, b in zip(eager_losses + eager_params, losses + params):
        assert np.array_equal(a, b)


def test_set_to_none_false_keeps_the_recorded_call():
    def build():
        model = nn.Sequential(nn.Linear(3, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y):
            optimizer.zero_grad(set_to_none=False)
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        return model, optimizer, step
    _run_both(build, np.float32, ["_adam_entry"])
    _, _, step = build()
    fn = mg.compile(step)
    xs, ys = _data(np.float32)
    fn(xs[0], ys[0])
    assert "_zero_grad_entry" not in _lowered_names(fn)
