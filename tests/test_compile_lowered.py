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
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "separate"])
def test_linear_activations_mse_adam(backend, dtype, act, fused):
    """Sequential runs Linear + activation as one fused node; an Identity between them keeps
    the two nodes apart (the activation's own lowered entries)."""
    layer = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[act]

    def build():
        between = [] if fused else [nn.Identity()]
        model = nn.Sequential(nn.Linear(3, 8), *between, layer(), nn.Linear(8, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        return model, optimizer, _step(model, optimizer, F.mse_loss)
    activation = (["_linear_activation_forward", "_linear_activation_backward"] if fused
                  else ["_unary_forward", "_activation_backward"])
    _run_both(build, dtype, ["_linear_forward", "_mse_forward", "_mse_backward",
                             "_linear_backward", "_zero_grad_entry", "_adam_entry",
                             *activation])


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


# ---------------------------------------------------------------------------------------------
# _compiled.adam_group_: the compiled loop of Adam.step over one group
# ---------------------------------------------------------------------------------------------


def _adam_group_by_parameter(kernel, params, state, lr, beta1, beta2, eps, weight_decay,
                             decoupled, amsgrad, maximize):
    """Adam.step's loop with one kernel call per parameter: the twin of adam_group_."""
    last_step = None
    for p in params:
        if p._grad is None:
            continue
        param_state = state[p]
        step = param_state["step"] + 1.0
        param_state["step"] = step
        if step != last_step:
            last_step = step
            step_size = lr / (1 - beta1**step)
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        kernel(p._data, p._grad._data, param_state["exp_avg"], param_state["exp_avg_sq"],
               param_state.get("max_exp_avg_sq"), lr, beta1, beta2, eps, weight_decay,
               decoupled, amsgrad, maximize, step_size, bias_correction2_sqrt)


def _adam_problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    params, state = [], {}
    for k, shape in enumerate([(7, 3), (7,), (1, 7), (5,), (300,)]):
        p = mg.tensor(rng.standard_normal(shape).astype(dtype))
        if k != 3:  # one parameter without a gradient: skipped
            p.grad = mg.tensor(rng.standard_normal(shape).astype(dtype))
        state[p] = {"step": float(k % 2), "exp_avg": rng.standard_normal(shape).astype(dtype),
                    "exp_avg_sq": rng.random(shape).astype(dtype),
                    "max_exp_avg_sq": rng.random(shape).astype(dtype) + 0.5}
        params.append(p)
    return params, state


def _arrays(params, state):
    out = [p.numpy().copy() for p in params]
    for p in params:
        out += [np.array(v) for _, v in sorted(state[p].items())]
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [(0.0, False, False, False), (0.1, False, True, False),
                                     (0.1, True, False, True), (0.0, True, True, True)])
def test_adam_group_kernel_equals_adam_per_parameter(dtype, options):
    from minigrad._kernels import _compiled, _optim, reference
    weight_decay, decoupled, amsgrad, maximize = options
    hyper = (1e-2, 0.9, 0.999, 1e-8, weight_decay, decoupled, amsgrad, maximize)
    results = []
    for run in ("group", "group calling adam_ for large ones", "compiled", "reference"):
        params, state = _adam_problem(dtype)
        for _ in range(3):
            if run == "group":
                assert _compiled.adam_group_(params, state, *hyper) == -1
            elif run.startswith("group"):  # the (300,) parameter goes to adam_
                assert _compiled.adam_group_(params, state, *hyper, _optim.adam_, 100) == -1
            else:
                kernel = _optim.adam_ if run == "compiled" else reference.adam_
                _adam_group_by_parameter(kernel, params, state, *hyper)
        results.append(_arrays(params, state))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    assert results[0][0].tolist() != _arrays(*_adam_problem(dtype))[0].tolist()  # it moved


def test_adam_group_kernel_hands_back_what_it_cannot_take():
    from minigrad._kernels import _compiled
    hyper = (1e-2, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    params, state = _adam_problem(np.float32)
    before = _arrays(params, state)
    del state[params[2]]  # no state yet: Adam.step makes it (in Python)
    assert _compiled.adam_group_(params, state, *hyper) == 2
    assert not np.array_equal(params[0].numpy(), before[0])  # the ones before were updated
    assert np.array_equal(params[2].numpy(), before[2])      # that one was not
    params, state = _adam_problem(np.float32)
    params[1]._grad = mg.tensor(np.ones((1, 7), np.float32))  # another shape: left to Python
    assert _compiled.adam_group_(params, state, *hyper) == 1
    params, state = _adam_problem(np.float32)
    state[params[0]]["step"] = mg.tensor(1.0)  # not a float: left to Python
    assert _compiled.adam_group_(params, state, *hyper) == 0
    assert _compiled.adam_group_(params, "not a dict", *hyper) == 0
    params, state = _adam_problem(np.float32)
    state[params[0]]["exp_avg"] = np.zeros(3, np.float32)  # adam_'s own check and error
    with pytest.raises(ValueError, match="exp_avg has 3 elements"):
        _compiled.adam_group_(params, state, *hyper)
