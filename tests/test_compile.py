"""mg.compile: a captured step equals the eager step bit for bit; guards re-record; what cannot
be captured runs eagerly with a warning; torch.compile's call forms and keyword arguments."""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import _kernels, nn, optim
from minigrad.optim import lr_scheduler as sched

STEPS = 100


@pytest.fixture(params=["cython", "numpy"])
def backend(request):
    _kernels.use(request.param)
    yield request.param
    _kernels.use("cython")


def _batches(shape, target, n=7, dtype=np.float32, seed=0):
    """n different batches, cycled through by the steps (new data on every call)."""
    rng = np.random.default_rng(seed)
    xs = [mg.tensor(rng.standard_normal(shape).astype(dtype)) for _ in range(n)]
    if target == "regression":
        ys = [mg.tensor(rng.standard_normal((shape[0], 1)).astype(dtype)) for _ in range(n)]
    else:
        ys = [mg.tensor(rng.integers(0, target, shape[0])) for _ in range(n)]
    return xs, ys


def _state(model, optimizer):
    """Every array the step changes: parameters, gradients, buffers, optimizer state, lrs."""
    arrays = [p.numpy().copy() for p in model.parameters()]
    arrays += [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    arrays += [b.numpy().copy() for b in model.buffers()]
    for state in optimizer.state.values():
        for key in sorted(state):
            value = state[key]
            arrays.append(np.array(value.numpy() if isinstance(value, mg.Tensor) else value))
    arrays += [np.array(float(g["lr"])) for g in optimizer.param_groups]
    return arrays


def _assert_same(eager, compiled):
    assert len(eager) == len(compiled)
    for a, b in zip(eager, compiled):
        if a is None or b is None:
            assert a is None and b is None
        else:
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b, equal_nan=True), np.max(np.abs(a - b))


def _run_both(build, steps=STEPS, data=None, check=None):
    """Build (model, optimizer, step function) twice from one seed; run the step eagerly on
    one copy and compiled on the other over the same batches; compare every loss and, at the
    end, every array of the state. The compiled copy must replay (no eager fallback)."""
    xs, ys = data
    results = []
    for compiled in (False, True):
        mg.manual_seed(0)
        model, optimizer, step = build()
        fn = mg.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a fallback warning fails the test
            losses = [fn(xs[i % len(xs)], ys[i % len(ys)]) for i in range(steps)]
        assert all(isinstance(loss, mg.Tensor) for loss in losses)
        assert len({id(loss._data) for loss in losses}) == steps  # a fresh tensor each call
        results.append(([loss.numpy().copy() for loss in losses], _state(model, optimizer),
                        mg.random.generator().bit_generator.state["state"]))
        if compiled:
            assert sum(len(t) for t in fn._tapes.values()) == 1
            if check is not None:
                check(model, optimizer)
    (eager_losses, eager_state, eager_rng), (losses, state, rng) = results
    _assert_same(eager_losses, losses)
    _assert_same(eager_state, state)
    assert eager_rng == rng  # the same random stream


def _training_step(model, optimizer, loss_fn, scheduler=None, clip=None, per_step=True):
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if scheduler is not None and per_step:
            if isinstance(scheduler, sched.ReduceLROnPlateau):
                scheduler.step(loss)
            else:
                scheduler.step()
        return loss
    return step


def _seed_net():
    model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, _training_step(model, optimizer, F.mse_loss)


def _mlp():
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    return model, optimizer, _training_step(model, optimizer, F.cross_entropy)


def _cnn():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, optimizer, _training_step(model, optimizer, F.cross_entropy)


def test_seed_network_bit_identical(backend):
    _run_both(_seed_net, data=_batches((100, 2), "regression"))


def test_mlp_bit_identical(backend):
    _run_both(_mlp, data=_batches((16, 64), 10))


def test_cnn_bit_identical():
    _run_both(_cnn, data=_batches((8, 1, 8, 8), 10))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes(dtype):
    def build():
        model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)).to(
            mg.float64 if dtype == np.float64 else mg.float32)
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        return model, optimizer, _training_step(model, optimizer, F.mse_loss)
    _run_both(build, steps=20, data=_batches((6, 3), "regression", dtype=dtype))


OPTIMIZERS = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True,
                                  "weight_decay": 1e-2}),
    ("Adam", {"lr": 1e-2, "amsgrad": True}), ("AdamW", {"lr": 1e-2}),
    ("Adamax", {"lr": 1e-2}), ("NAdam", {"lr": 1e-2}), ("RAdam", {"lr": 1e-2}),
    ("Adagrad", {"lr": 1e-2}), ("Adadelta", {}), ("RMSprop", {"lr": 1e-2, "momentum": 0.5}),
    ("Rprop", {}), ("ASGD", {"lr": 1e-2}), ("Adafactor", {"lr": 1e-2}),
    ("Muon", {"lr": 1e-2}),
]


def test_every_optimizer_is_listed():
    listed = {name for name, _ in OPTIMIZERS} | {"LBFGS", "Optimizer"}  # LBFGS: see below
    assert listed == {name for name in optim.__all__ if name[0].isupper()}


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(OPTIMIZERS)])
def test_every_optimizer(name, kwargs):
    bias = name != "Muon"  # Muon updates matrices only

    def build():
        model = nn.Sequential(nn.Linear(4, 8, bias=bias), nn.ReLU(), nn.Linear(8, 1, bias=bias))
        optimizer = getattr(optim, name)(model.parameters(), **kwargs)
        return model, optimizer, _training_step(model, optimizer, F.mse_loss)
    _run_both(build, data=_batches((12, 4), "regression"))


SCHEDULERS = [
    ("LambdaLR", lambda o: sched.LambdaLR(o, lambda e: 0.99 ** e)),
    ("MultiplicativeLR", lambda o: sched.MultiplicativeLR(o, lambda e: 0.99)),
    ("StepLR", lambda o: sched.StepLR(o, 10, 0.5)),
    ("MultiStepLR", lambda o: sched.MultiStepLR(o, [20, 50], 0.5)),
    ("ConstantLR", lambda o: sched.ConstantLR(o, 0.5, 30)),
    ("LinearLR", lambda o: sched.LinearLR(o, 0.2, 1.0, 40)),
    ("ExponentialLR", lambda o: sched.ExponentialLR(o, 0.98)),
    ("PolynomialLR", lambda o: sched.PolynomialLR(o, 80, 2.0)),
    ("CosineAnnealingLR", lambda o: sched.CosineAnnealingLR(o, 30)),
    ("CosineAnnealingWarmRestarts", lambda o: sched.CosineAnnealingWarmRestarts(o, 10, 2)),
    ("CyclicLR", lambda o: sched.CyclicLR(o, 0.01, 0.1, step_size_up=15)),
    ("OneCycleLR", lambda o: sched.OneCycleLR(o, 0.1, total_steps=STEPS + 1)),
    ("SequentialLR", lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, 0.5, 1.0, 10), sched.ExponentialLR(o, 0.97)], [10])),
    ("ChainedScheduler", lambda o: sched.ChainedScheduler(
        [sched.ExponentialLR(o, 0.99), sched.StepLR(o, 25, 0.5)])),
    ("ReduceLROnPlateau", lambda o: sched.ReduceLROnPlateau(o, patience=2, factor=0.5)),
]


def test_every_scheduler_is_listed():
    listed = {name for name, _ in SCHEDULERS}
    public = {name for name in sched.__all__ if name[0].isupper()
              and name not in ("LRScheduler", "_LRScheduler")}
    assert listed == public


@pytest.mark.parametrize("name, make", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_every_scheduler_inside_the_step(name, make):
    def build():
        model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 1))
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        scheduler = make(optimizer)
        return model, optimizer, _training_step(model, optimizer, F.mse_loss, scheduler)
    _run_both(build, data=_batches((10, 3), "regression"))


def test_learning_rate_changed_between_steps_is_read_live():
    xs, ys = _batches((10, 3), "regression")
    results = []
    for compiled in (False, True):
        mg.manual_seed(0)
        model, optimizer, step = _seed_net_like(3)
        scheduler = sched.StepLR(optimizer, 3, 0.5)
        fn = mg.compile(step) if compiled else step
        for i in range(20):
            fn(xs[i % 7], ys[i % 7])
            scheduler.step()
            if i == 10:
                optimizer.param_groups[0]["lr"] = 0.3  # by hand, too
        results.append(_state(model, optimizer))
    _assert_same(*results)


def _seed_net_like(n_in):
    model = nn.Sequential(nn.Linear(n_in, 6), nn.ReLU(), nn.Linear(6, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    return model, optimizer, _training_step(model, optimizer, F.mse_loss)


def test_dropout_draws_fresh_randomness_from_the_same_stream():
    def build():
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        return model, optimizer, _training_step(model, optimizer, F.mse_loss)
    _run_both(build, data=_batches((10, 8), "regression"))

    # and the masks differ from step to step (a frozen mask would give the same output)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Dropout(0.5))
    fn = mg.compile(lambda x: model(x))
    x = mg.ones(64)
    with mg.no_grad():
        outs = [fn(x).numpy().copy() for _ in range(3)]
    assert not np.array_equal(outs[1], outs[2])


def test_batchnorm_running_statistics():
    def build():
        model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
        optimizer = optim.SGD(model.parameters(), lr=0.05)
        return model, optimizer, _training_step(model, optimizer, F.mse_loss)

    def running_stats_moved(model, optimizer):
        bn = model[1]
        assert not np.array_equal(bn.running_mean.numpy(), np.zeros(8, np.float32))
        assert int(bn.num_batches_tracked.item()) == STEPS
    _run_both(build, data=_batches((12, 5), "regression"), check=running_stats_moved)


def test_cnn_with_batchnorm2d():
    def build():
        model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 3 * 3, 4))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        return model, optimizer, _training_step(model, optimizer, F.cross_entropy)
    _run_both(build, steps=30, data=_batches((6, 1, 8, 8), 4))


def test_gradient_clipping():
    def build():
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        return model, optimizer, _training_step(model, optimizer, F.mse_loss, clip=0.05)
    _run_both(build, data=_batches((12, 4), "regression"))


def test_zero_grad_without_set_to_none_and_module_zero_grad():
    def build():
        model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 1))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y):
            model.zero_grad(set_to_none=False)
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        return model, optimizer, step
    _run_both(build, data=_batches((12, 4), "regression"))


def test_value_used_twice_and_broadcast_gradients():
    def build():
        lin = nn.Linear(3, 3)
        scale = nn.Parameter(mg.ones(1, 3))
        model = nn.ModuleList([lin])
        model.register_parameter("scale", scale)
        optimizer = optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y):
            optimizer.zero_grad()
            h = lin(x)
            out = (h * h + h * scale).sum(1, keepdim=True) + scale.mean()
            loss = F.mse_loss(out, y)
            loss.backward()
            optimizer.step()
            return loss
        return model, optimizer, step
    _run_both(build, data=_batches((5, 3), "regression"))


def test_std_mean_var_mean_and_aminmax_replay():
    # eagerly std_mean's two come from one kernel call handed to their nodes and aminmax is
    # one node with two outputs; a capture records one-output nodes that compute their own
    # values, so that a replay sees the new batch
    def build():
        lin = nn.Linear(4, 4)
        optimizer = optim.SGD(lin.parameters(), lr=1e-2)

        def step(x, y):
            optimizer.zero_grad()
            h = lin(x)
            std, mean = mg.std_mean(h, 1, keepdim=True)
            var, mean_all = mg.var_mean(h)
            low, high = mg.aminmax(h)
            out = ((h - mean) / (std + 1.0)).sum(1, keepdim=True) + var + mean_all + \
                0.1 * (high - low)
            loss = F.mse_loss(out, y)
            loss.backward()
            optimizer.step()
            return loss
        return lin, optimizer, step
    _run_both(build, data=_batches((5, 4), "regression"))


def test_inputs_that_require_grad_get_their_gradient():
    w = mg.tensor([[1.0, -2.0]], requires_grad=True)

    def step(x):
        loss = (x * w).square().sum()
        loss.backward()
        return loss
    fn = mg.compile(step)
    for k in range(3):
        x = mg.tensor([[float(k), 2.0]], requires_grad=True)
        loss = fn(x)
        expected = 2 * x.detach() * w.detach() ** 2
        assert np.array_equal(x.grad.numpy(), expected.numpy())
        assert loss.item() == ((x.detach() * w.detach()) ** 2).sum().item()


# ---------------------------------------------------------------------------------------------
# Guards
# ---------------------------------------------------------------------------------------------


def _counting_step():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    step = _training_step(model, optimizer, F.mse_loss)
    return model, optimizer, mg.compile(step)


def _tapes(fn):
    return sum(len(t) for t in fn._tapes.values() if isinstance(t, list))


def _eager_equals_compiled(change):
    """Apply ``change`` to both copies after some steps; they must stay bit-identical."""
    xs, ys = _batches((6, 3), "regression")
    results = []
    for compiled in (False, True):
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        step = _training_step(model, optimizer, F.mse_loss)
        fn = mg.compile(step) if compiled else step
        losses = []
        for i in range(12):
            if i == 5:
                change(model, optimizer)
            losses.append(fn(xs[i % 7], ys[i % 7]).numpy().copy())
        results.append((losses, _state(model, optimizer)))
        if compiled:
            assert _tapes(fn) == 2
    _assert_same(results[0][0], results[1][0])
    _assert_same(results[0][1], results[1][1])


def test_guard_train_eval_switch():
    _eager_equals_compiled(lambda model, optimizer: model[1].eval())


def test_guard_parameter_replaced():
    def replace(model, optimizer):
        model[0].weight = nn.Parameter(mg.full((4, 3), 0.1))
        optimizer.param_groups[0]["params"][0] = model[0].weight
    _eager_equals_compiled(replace)


def test_guard_parameter_added():
    def add(model, optimizer):
        model[2].register_parameter("extra", nn.Parameter(mg.ones(1)))
    _eager_equals_compiled(add)


def test_guard_requires_grad_flipped():
    _eager_equals_compiled(lambda model, optimizer: model[0].weight.requires_grad_(False))


def test_guard_new_shapes_dtypes_grad_mode_default_dtype():
    model, _optimizer, fn = _counting_step()
    fn(mg.randn(6, 3), mg.randn(6, 1))
    fn(mg.randn(6, 3), mg.randn(6, 1))
    assert _tapes(fn) == 1
    fn(mg.randn(5, 3), mg.randn(5, 1))                       # new shape
    assert _tapes(fn) == 2
    fn(mg.randn(5, 3), mg.randn(5, 1))
    assert _tapes(fn) == 2
    model.double()                                           # new dtypes
    fn(mg.randn(5, 3, dtype=mg.float64), mg.randn(5, 1, dtype=mg.float64))
    assert _tapes(fn) == 3
    model.float()

    infer = mg.compile(lambda x: model(x))
    model.eval()
    with mg.no_grad():
        a = infer(mg.ones(2, 3))
        b = infer(mg.ones(2, 3))
    assert np.array_equal(a.numpy(), b.numpy())
    with pytest.warns(UserWarning, match="carries a graph"):
        infer(mg.ones(2, 3))                                  # grad mode on: another key
    previous = mg.get_default_dtype()
    try:
        mg.set_default_dtype(mg.float64)
        with mg.no_grad():
            infer(mg.ones(2, 3))
        assert len(infer._tapes) == 3
    finally:
        mg.set_default_dtype(previous)


def test_inside_no_grad_forward_only():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    compiled = mg.compile(model)
    x1, x2 = mg.randn(3, 4), mg.randn(3, 4)
    with mg.no_grad():
        eager = [model(x).numpy().copy() for x in (x1, x2, x1)]
        got = [compiled(x).numpy().copy() for x in (x1, x2, x1)]
    _assert_same(eager, got)
    assert sum(len(t) for t in compiled._compiled_call._tapes.values()) == 1


# ---------------------------------------------------------------------------------------------
# What runs eagerly, with a warning
# ---------------------------------------------------------------------------------------------


def _fallback(fn, *args, match):
    compiled = mg.compile(fn)
    with pytest.warns(UserWarning, match=match):
        first = compiled(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning only
        second = compiled(*args)
    return first, second


@pytest.mark.parametrize("case", ["scatter_reduce", "masked_scatter", "index_copy", "take",
                                  "x[:, cols]", "x[rows, cols]"])
def test_index_arguments_that_change_between_calls_are_never_replayed_stale(case):
    """Indices and masks reach some ops as arrays (options or plain arguments), not Tensors:
    given as inputs of the function, they differ from call to call, so the step must not be
    replayed with the first call's (nor with unchecked bounds); it runs eagerly instead."""
    def fn(x, index, src):
        if case == "scatter_reduce":
            return x.scatter_reduce(1, index, src, "amax") * 1.0
        if case == "masked_scatter":
            return x.masked_scatter(index, src) * 1.0
        if case == "index_copy":
            return x.index_copy(0, index, src) * 1.0
        if case == "x[:, cols]":
            return x[:, index] * 1.0
        if case == "x[rows, cols]":
            return x[index, src] * 1.0
        return x.take(index) * 1.0

    compiled = mg.compile(fn)
    for k in range(3):
        r = np.random.default_rng(k)
        x = mg.tensor(r.standard_normal((4, 3)).astype(np.float32))
        src = mg.tensor(r.standard_normal((4, 3)).astype(np.float32))
        index = {"scatter_reduce": mg.tensor(r.integers(0, 3, (4, 3))), "masked_scatter": x > 0,
                 "index_copy": mg.tensor(r.permutation(4)),
                 "take": mg.tensor(r.integers(-12, 12, (5,))),
                 "x[:, cols]": mg.tensor(r.integers(0, 3, (5,))),
                 "x[rows, cols]": mg.tensor(r.integers(0, 4, (5,)))}[case]
        if case == "x[rows, cols]":
            src = mg.tensor(r.integers(0, 3, (5,)))  # the column indices
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback's warning, on the first call
            got = compiled(x, index, src)
        np.testing.assert_array_equal(got.numpy(), fn(x, index, src).numpy())


def test_fallback_item_inside():
    w = mg.ones(3, requires_grad=True)
    first, second = _fallback(lambda x: (x * w).sum().item(), mg.ones(3), match="item")
    assert first == second == 3.0


def test_fallback_data_dependent_shape_and_tensors_made_without_ops():
    x = mg.tensor([1.0, -1.0, 2.0])
    first, second = _fallback(lambda x: mg.nonzero(x > 0) * 1, x, match="without a recorded op")
    assert np.array_equal(first.numpy(), second.numpy())
    _fallback(lambda x: x * (x > 0), x, match="without a recorded op")
    _fallback(lambda x: mg.nonzero(x), x, match="no recorded op")


def test_fallback_inplace_and_random_outside_recorded_calls():
    _fallback(lambda x: x.add_(1), mg.zeros(2), match="in-place")
    _fallback(lambda x: x + mg.randn(2), mg.zeros(2), match="random")


def test_fallback_lbfgs_closure():
    model = nn.Linear(2, 1)
    optimizer = optim.LBFGS(model.parameters())
    x, y = mg.randn(4, 2), mg.randn(4, 1)

    def step(x, y):
        def closure():
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            return loss
        return optimizer.step(closure)
    _fallback(step, x, y, match="closure")


def test_fallback_split_with_grad_and_autograd_grad():
    w = mg.ones(4, requires_grad=True)
    _fallback(lambda x: sum(t.sum() for t in (x * w).chunk(2)), mg.ones(4),
              match="not recorded|several outputs")

    def grads(x):
        return mg.autograd.grad((x * w).sum(), w)[0]
    _fallback(grads, mg.ones(4), match="autograd.grad")


def test_fullgraph_raises_instead_of_warning():
    fn = mg.compile(lambda x: x.sum().item(), fullgraph=True)
    with pytest.raises(RuntimeError, match="fullgraph"):
        fn(mg.ones(2))


def test_exception_in_the_function_propagates_and_nothing_is_recorded():
    def bad(x):
        raise ValueError("boom")
    fn = mg.compile(bad)
    with pytest.raises(ValueError, match="boom"):
        fn(mg.ones(1))
    assert fn._tapes == {}
    assert mg.autograd.graph.capture is None
    assert mg.Tensor.item.__name__ == "item"


# ---------------------------------------------------------------------------------------------
# torch.compile's call forms and arguments
# ---------------------------------------------------------------------------------------------


def test_call_forms():
    def f(x):
        return x * 2

    assert mg.compile(f)(mg.ones(2)).tolist() == [2.0, 2.0]
    assert mg.compile()(f)(mg.ones(2)).tolist() == [2.0, 2.0]
    assert mg.compile(mode="reduce-overhead")(f)(mg.ones(2)).tolist() == [2.0, 2.0]

    @mg.compile
    def g(x):
        return x + 1
    assert g(mg.zeros(1)).tolist() == [1.0]
    assert g.__name__ == "g"
    assert mg.compile(f, disable=True) is f


def test_keyword_arguments_checked_as_torch():
    f = (lambda x: x)
    for kwargs in ({"fullgraph": True}, {"dynamic": True}, {"dynamic": None},
                   {"backend": "eager"}, {"backend": "aot_eager"}, {"backend": lambda *a: None},
                   {"mode": "max-autotune"}, {"options": {"epilogue_fusion": True}},
                   {"name": "region"}, {"recompile_limit": 4}):
        assert callable(mg.compile(f, **kwargs))
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        mg.compile(f, mode="fastest")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        mg.compile(f, mode="default", options={})
    with pytest.raises(RuntimeError, match="Invalid backend"):
        mg.compile(f, backend="nope")
    with pytest.raises(AssertionError, match="Expected enable to be a bool"):
        mg.compile(f, dynamic="yes")
    with pytest.raises(AssertionError, match="A callable function is expected"):
        mg.compile(3)
    with pytest.raises(RuntimeError, match="Model can't be None"):
        mg.compile()(None)
    with pytest.raises(TypeError, match="unexpected keyword"):
        mg.compile(f, speed=11)


def test_same_errors_as_torch():
    torch = pytest.importorskip("torch")
    f = (lambda x: x)
    for kwargs in ({"mode": "fastest"}, {"mode": "default", "options": {}},
                   {"backend": "nope"}, {"dynamic": "yes"}):
        with pytest.raises(Exception) as theirs:
            torch.compile(f, **kwargs)
        with pytest.raises(Exception) as ours:
            mg.compile(f, **kwargs)
        assert isinstance(theirs.value, type(ours.value))
        assert str(ours.value) == str(theirs.value) or kwargs.get("mode") == "fastest"


def test_compiled_module_behaves_as_the_module():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    compiled = mg.compile(model)
    assert isinstance(compiled, nn.Module)
    assert compiled._orig_mod is model
    assert [p is q for p, q in zip(compiled.parameters(), model.parameters())] == [True] * 2
    assert list(compiled.state_dict()) == ["_orig_mod.0.weight", "_orig_mod.0.bias"]
    assert compiled.__len__() == 2            # attribute access passes through
    assert mg.compile(model[0]).in_features == 2
    compiled.eval()
    assert not model.training and not model[0].training
    compiled.train()
    assert model.training


def test_compiled_module_state_dict_keys_match_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.compile(torch.nn.Sequential(torch.nn.Linear(2, 3)))
    ours = mg.compile(nn.Sequential(nn.Linear(2, 3)))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_returns_fresh_tensors_and_structures():
    w = mg.ones(2, requires_grad=True)

    @mg.compile
    def step(x, scale=2.0):
        loss = (x * w).sum() * scale
        loss.backward()
        return {"loss": loss, "parts": (x, None, 3)}
    first = step(mg.ones(2))
    second = step(mg.ones(2))
    assert first["loss"] is not second["loss"]
    assert first["loss"].item() == second["loss"].item() == 4.0
    assert first["parts"][1:] == (None, 3)
    assert not math.isnan(float(w.grad.sum()))
