"""mg.optim beyond the update rules: unusual parameter arrays (byte order, alignment, float16,
gradient shapes), Tensor lr, PyTorch's implementation switches and their errors, hooks,
signatures, state_dict round trips of the newer optimizers."""
import copy
import functools
import inspect
import sys

import numpy as np
import pytest

import minigrad as mg

NAMES = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "NAdam", "RAdam", "Adamax", "Adadelta",
         "ASGD", "Rprop"]
SWAPPED = ">" if sys.byteorder == "little" else "<"


def _kwargs(name):
    return {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05}


def _train(param, name, steps=5, **extra):
    """steps updates of param with gradients sin(3 p) (deterministic, param-dependent)."""
    opt = getattr(mg.optim, name)([param], **_kwargs(name), **extra)
    for _ in range(steps):
        param.grad = mg.tensor(np.sin(3 * param.numpy().astype(np.float64)),
                               dtype=param.dtype)
        opt.step()
    return opt


@pytest.mark.parametrize("name", NAMES)
def test_byte_swapped_parameter_is_updated_correctly_in_place(backend, name):
    start = np.array([1.0, 2.0, 3.0, -0.5])
    native = mg.tensor(start.copy(), requires_grad=True)
    swapped_array = start.astype(SWAPPED + "f8")
    with pytest.raises(ValueError, match="byte order"):
        mg.from_numpy(swapped_array)  # the front door refuses it, as torch.from_numpy does
    # Defence in depth: storage swapped behind the Tensor's back still gets the right update.
    swapped = mg.zeros(4, dtype=mg.float64).requires_grad_()
    swapped._data = swapped_array
    assert swapped.numpy() is swapped_array
    _train(native, name)
    opt = _train(swapped, name)
    assert swapped.numpy() is swapped_array  # the same array, updated in place
    np.testing.assert_array_equal(swapped_array, native.numpy())  # no garbage
    for value in opt.state[swapped].values():
        if isinstance(value, np.ndarray):
            assert value.dtype.isnative


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_misaligned_parameter_is_updated_in_place(backend, name, dtype):
    start = np.array([1.0, 2.0, 3.0, -0.5, 0.25], dtype=dtype)
    native = mg.tensor(start.copy(), requires_grad=True)
    buffer = bytearray(start.nbytes + 1)
    misaligned = np.frombuffer(buffer, dtype=dtype, count=start.size, offset=1)
    misaligned[...] = start
    assert not misaligned.flags.aligned
    param = mg.from_numpy(misaligned).requires_grad_()
    _train(native, name)
    _train(param, name)
    assert param.numpy() is misaligned
    np.testing.assert_array_equal(misaligned, native.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_float16_parameters_follow_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    start = rng.uniform(-2, 2, 8).astype(np.float16)
    param = mg.tensor(start.copy(), requires_grad=True)
    tparam = torch.tensor(start.copy(), requires_grad=True)
    opt = getattr(mg.optim, name)([param], **_kwargs(name))
    topt = getattr(torch.optim, name)([tparam], **_kwargs(name), foreach=False)
    for _ in range(10):
        g = np.sin(3 * param.numpy().astype(np.float32)).astype(np.float16)
        param.grad = mg.tensor(g)
        tparam.grad = torch.tensor(g)
        opt.step()
        topt.step()
        assert param.dtype == mg.float16
        # PyTorch rounds every intermediate to float16, minigrad only the results: the two
        # agree to float16 round-off (a few units of its last place, 2**-10 relative).
        np.testing.assert_allclose(param.numpy().astype(np.float32),
                                   tparam.detach().numpy().astype(np.float32),
                                   rtol=8e-3, atol=8e-3)
    for key, value in opt.state[param].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float16, key
            assert str(topt.state[tparam][key].dtype) == "torch.float16"


@pytest.mark.parametrize("name", NAMES)
def test_gradient_of_another_shape_raises_like_torch(name):
    torch = pytest.importorskip("torch")
    for param_shape, grad_shape in [((2, 3), (3, 2)), ((6,), (1, 6)), ((2, 3), (4,))]:
        p = mg.zeros(*grad_shape, requires_grad=True)
        tp = torch.zeros(grad_shape, requires_grad=True)
        p.grad = mg.ones(*grad_shape)
        tp.grad = torch.ones(grad_shape)
        p.data = mg.zeros(*param_shape)  # as after an assignment to .data
        tp.data = torch.zeros(param_shape)
        opt = getattr(mg.optim, name)([p], **_kwargs(name))
        topt = getattr(torch.optim, name)([tp], **_kwargs(name), foreach=False)
        with pytest.raises(RuntimeError) as expected:
            topt.step()
        with pytest.raises(RuntimeError) as raised:
            opt.step()
        assert str(raised.value) == str(expected.value)
        np.testing.assert_array_equal(p.numpy(), 0.0)  # nothing was written


def test_gradient_that_broadcasts_to_the_parameter_is_accepted_like_torch():
    torch = pytest.importorskip("torch")
    p = mg.zeros(6, requires_grad=True)
    tp = torch.zeros(6, requires_grad=True)
    p.grad, tp.grad = mg.ones(6) * 2, torch.ones(6) * 2
    p.data, tp.data = mg.zeros(2, 6), torch.zeros(2, 6)
    mg.optim.SGD([p], lr=0.1).step()
    torch.optim.SGD([tp], lr=0.1, foreach=False).step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy())


@pytest.mark.parametrize("name", NAMES)
def test_tensor_lr_matches_torch(backend, name):
    torch = pytest.importorskip("torch")
    start = np.array([1.0, -2.0, 0.5])
    kwargs = _kwargs(name)
    p = mg.tensor(start.copy(), requires_grad=True)
    tp = torch.tensor(start.copy(), requires_grad=True)
    opt = getattr(mg.optim, name)([p], **dict(kwargs, lr=mg.tensor(0.05, dtype=mg.float64)))
    topt = getattr(torch.optim, name)(
        [tp], **dict(kwargs, lr=torch.tensor(0.05, dtype=torch.float64)), foreach=False)
    assert isinstance(opt.param_groups[0]["lr"], mg.Tensor)
    for _ in range(20):
        g = np.sin(3 * p.numpy())
        p.grad, tp.grad = mg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", NAMES + ["LBFGS"])
def test_tensor_lr_must_have_one_element(name):
    p = [mg.tensor([1.0], requires_grad=True)]
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(mg.optim, name)(p, lr=mg.tensor([0.1, 0.2]))


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type and message are compared
        return type(exc).__name__, str(exc)
    return None


# (name, constructor keyword arguments): PyTorch raises for each, in __init__ or at the first
# update on CPU; minigrad must raise the same exception with the same message.
REFUSED = [
    ("SGD", {"fused": True, "foreach": True}),
    ("SGD", {"fused": True, "differentiable": True}),
    ("Adam", {"fused": True, "foreach": True}),
    ("Adam", {"fused": True, "differentiable": True}),
    ("AdamW", {"fused": True, "foreach": True}),
    ("Adagrad", {"fused": True, "differentiable": True}),
    ("Adam", {"capturable": True}),
    ("AdamW", {"capturable": True}),
    ("NAdam", {"capturable": True}),
    ("RAdam", {"capturable": True}),
    ("Adamax", {"capturable": True}),
    ("Adadelta", {"capturable": True}),
    ("ASGD", {"capturable": True}),
    ("Rprop", {"capturable": True}),
    ("RMSprop", {"capturable": True}),
    ("Adam", {"lr": "tensor", "foreach": True}),
    ("AdamW", {"lr": "tensor", "foreach": True}),
    ("Adam", {"betas": (0, 0.9)}),
    ("Adam", {"betas": ("tensor", 0.9)}),
    ("NAdam", {"momentum_decay": -1.0}),
    ("NAdam", {"betas": (1.0, 0.9)}),
    ("RAdam", {"betas": (0.9, 1.0)}),
    ("RAdam", {"eps": -1.0}),
    ("Adamax", {"weight_decay": -1.0}),
    ("Adamax", {"lr": -1.0}),
    ("Adadelta", {"rho": 1.5}),
    ("Adadelta", {"eps": -1.0}),
    ("ASGD", {"weight_decay": -1.0}),
    ("ASGD", {"lr": -0.5}),
    ("Rprop", {"etas": (1.2, 0.5)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
    ("Rprop", {"lr": -1.0}),
]


@pytest.mark.parametrize("name, kwargs", REFUSED, ids=[f"{n}-{k}" for n, k in REFUSED])
def test_refused_like_torch(name, kwargs):
    torch = pytest.importorskip("torch")

    def attempt(lib):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        lr_value = kwargs.get("lr", 0.01)
        args = dict(kwargs)
        if lr_value == "tensor":
            args["lr"] = lib.tensor(0.01)
        if "betas" in args:
            args["betas"] = tuple(lib.tensor(0.9) if b == "tensor" else b
                                  for b in args["betas"])
        opt = getattr(lib.optim, name)([p], **args)
        p.grad = lib.tensor([0.5, 0.5])
        opt.step()

    expected = _error(lambda: attempt(torch))
    assert expected is not None
    assert _error(lambda: attempt(mg)) == expected


@pytest.mark.parametrize("name", NAMES + ["LBFGS"])
def test_signature_is_torchs(name):
    torch = pytest.importorskip("torch")
    ours = inspect.signature(getattr(mg.optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert list(ours) == list(theirs)
    for key in theirs:
        assert ours[key].kind == theirs[key].kind, key
        assert ours[key].default == theirs[key].default, key


@pytest.mark.parametrize("name", NAMES)
def test_accepted_switches_change_nothing(backend, name):
    extra = {"foreach": True, "differentiable": True}
    if name in ("SGD", "Adam", "AdamW", "Adagrad"):
        extra = {"fused": True}
    a = mg.tensor([1.0, -2.0, 0.5], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([1.0, -2.0, 0.5], dtype=mg.float64, requires_grad=True)
    _train(a, name)
    _train(b, name, **extra)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# ------------------------------------------------------------------------------------------
# Hooks
# ------------------------------------------------------------------------------------------


def _hook_log(lib):
    """Register every kind of hook on a fresh SGD; return the calls each step and dict make."""
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.5)
    log = []
    handles = [
        opt.register_step_pre_hook(lambda o, args, kwargs: log.append(("pre", len(args),
                                                                       sorted(kwargs)))),
        opt.register_step_post_hook(lambda o, args, kwargs: log.append(("post", len(args)))),
        opt.register_state_dict_pre_hook(lambda o: log.append(("sd_pre",))),
        opt.register_state_dict_post_hook(
            lambda o, sd: log.append(("sd_post", sorted(sd)))),
        opt.register_load_state_dict_pre_hook(
            lambda o, sd: log.append(("load_pre", sorted(sd)))),
        opt.register_load_state_dict_post_hook(lambda o: log.append(("load_post",))),
        opt.register_state_dict_pre_hook(lambda o: log.append(("sd_pre_first",)),
                                          prepend=True),
    ]
    p.grad = lib.tensor([1.0, 1.0])
    opt.step()
    opt.step(closure=None)
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    for handle in handles:
        handle.remove()
    opt.step()
    opt.load_state_dict(opt.state_dict())
    return log, p


def test_hooks_are_called_as_torchs():
    torch = pytest.importorskip("torch")
    ours, p = _hook_log(mg)
    theirs, tp = _hook_log(torch)
    assert ours == theirs
    assert ours[0] == ("pre", 1, []) and ("sd_pre_first",) in ours
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy())


def test_step_pre_hook_can_replace_arguments_and_post_hook_sees_the_result():
    p = mg.tensor([1.0], requires_grad=True)
    opt = mg.optim.SGD([p], lr=1.0)
    calls = []

    def closure():
        calls.append("closure")
        opt.zero_grad()
        loss = (p * 3).sum()
        loss.backward()
        return loss

    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": closure}))
    seen = []
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(p.numpy().copy()))
    loss = opt.step()  # no closure given: the hook supplies one
    assert calls == ["closure"] and loss.item() == 3.0
    np.testing.assert_array_equal(seen[0], [-2.0])
    bad = mg.optim.SGD([p], lr=1.0)
    bad.register_step_pre_hook(lambda o, args, kwargs: "not a tuple")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        bad.step()


def test_state_dict_hooks_can_replace_the_dict():
    p = mg.tensor([1.0], requires_grad=True)
    opt = mg.optim.Adam([p], lr=0.1)
    opt.register_state_dict_post_hook(lambda o, sd: dict(sd, extra=1))
    assert opt.state_dict()["extra"] == 1
    other = mg.optim.Adam([p], lr=0.5)

    def set_lr(o, sd):
        sd = copy.deepcopy(sd)
        sd["param_groups"][0]["lr"] = 0.25
        return sd

    other.register_load_state_dict_pre_hook(set_lr)
    other.load_state_dict(opt.state_dict())
    assert other.param_groups[0]["lr"] == 0.25


def test_global_step_hooks():
    from minigrad.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )
    p = mg.tensor([1.0], requires_grad=True)
    p.grad = mg.tensor([1.0])
    log = []
    pre = register_optimizer_step_pre_hook(lambda o, a, k: log.append(type(o).__name__))
    post = register_optimizer_step_post_hook(lambda o, a, k: log.append("post"))
    try:
        mg.optim.Adam([p]).step()
        mg.optim.Rprop([p]).step()
    finally:
        pre.remove()
        post.remove()
    mg.optim.SGD([p]).step()
    assert log == ["Adam", "post", "Rprop", "post"]


def test_named_parameters_keep_their_names_like_torch():
    torch = pytest.importorskip("torch")
    model = mg.nn.Linear(2, 3)
    opt = mg.optim.Adam(model.named_parameters(), lr=0.1)
    tmodel = torch.nn.Linear(2, 3)
    topt = torch.optim.Adam(tmodel.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == topt.param_groups[0]["param_names"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        mg.optim.SGD([("w", model.weight), model.bias])


# ------------------------------------------------------------------------------------------
# state_dict of the newer optimizers
# ------------------------------------------------------------------------------------------


NEW_CONFIGS = [
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01}),
    ("Adadelta", {"lr": 0.5}),
    ("ASGD", {"lr": 0.05, "t0": 5}),
    ("Rprop", {"lr": 0.01}),
]


def _run(params, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        for p in params:
            p.grad = mg.tensor(np.sin(3 * p.numpy()) + 0.1 * p.numpy())
        opt.step()


@pytest.mark.parametrize("name, kwargs", NEW_CONFIGS, ids=[n for n, _ in NEW_CONFIGS])
def test_state_dict_round_trip_continues_bit_identically(backend, name, kwargs, tmp_path):
    rng = np.random.default_rng(4)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    params = [mg.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(mg.optim, name)(params, **kwargs)
    _run(params, opt, 10)
    mg.save(opt.state_dict(), tmp_path / "opt.mg")
    new_params = [mg.tensor(p.numpy().copy(), requires_grad=True) for p in params]
    new_opt = getattr(mg.optim, name)(new_params, lr=123.0)
    new_opt.load_state_dict(mg.load(tmp_path / "opt.mg"))
    _run(params, opt, 10)
    _run(new_params, new_opt, 10)
    for a, b in zip(params, new_params):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name, kwargs", NEW_CONFIGS, ids=[n for n, _ in NEW_CONFIGS])
def test_load_torch_state_dict_continues_torchs_trajectory(backend, name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tparams, **kwargs, foreach=False)

    def torch_run(steps):
        for _ in range(steps):
            for p in tparams:
                x = p.detach().numpy()
                p.grad = torch.tensor(np.sin(3 * x) + 0.1 * x)
            topt.step()

    torch_run(10)
    params = [mg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tparams]
    opt = getattr(mg.optim, name)(params, **kwargs)
    opt.load_state_dict(topt.state_dict())  # torch tensors and all
    assert isinstance(opt.state[params[0]]["step"], float)
    torch_run(10)
    _run(params, opt, 10)
    for a, b in zip(params, tparams):
        # NAdam: torch casts the loaded float32 mu_product to float64; minigrad keeps
        # PyTorch's float32 rounding of a fresh run, a 1e-8 relative difference at most.
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-7, atol=1e-9)


def _swap_in_run(lib):
    """Adam on two parameters; then one step on swapped-in copies of params and state."""
    rng = np.random.default_rng(8)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    opt = lib.optim.Adam(params, lr=0.1)
    for p in params:
        p.grad = lib.tensor(np.ones(p.shape))
    opt.step()
    sd = opt.state_dict()
    swap_state = {"state": {k: {n: (v.clone() if hasattr(v, "clone") else np.array(v))
                                for n, v in s.items()} for k, s in sd["state"].items()},
                  "param_groups": [dict(g, lr=0.5) for g in sd["param_groups"]]}
    swap_params = {f"p{i}": lib.tensor(a.copy() * 2, requires_grad=True)
                   for i, a in enumerate(init)}
    for p in swap_params.values():
        p.grad = lib.tensor(np.full(p.shape, 0.5))
    live_before = [np.array(p.detach().numpy()) for p in params]
    with lib.optim.swap_in_optimizer_params_and_state(opt, swap_params, swap_state):
        assert opt.param_groups[0]["lr"] == 0.5
        opt.step()
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["params"] is not None
    for p, before in zip(params, live_before):
        np.testing.assert_array_equal(p.detach().numpy(), before)  # the live ones untouched
    return ([np.array(p.detach().numpy()) for p in swap_params.values()],
            [np.asarray(swap_state["state"][i]["exp_avg"]) for i in range(2)],
            opt.state[params[0]]["step"])


def test_swap_in_optimizer_params_and_state_like_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _swap_in_run(mg), _swap_in_run(torch)
    for a, b in zip(ours[0], theirs[0]):  # the swapped-in parameters took the step
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(ours[1], theirs[1]):  # in place into the caller's state dict
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert float(ours[2]) == float(theirs[2]) == 1.0  # the live state is restored


def test_swap_in_optimizer_params_and_state_errors_like_torch():
    torch = pytest.importorskip("torch")

    def attempt(lib, make_state):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        p.grad = lib.tensor([1.0, 1.0])
        opt.step()
        with lib.optim.swap_in_optimizer_params_and_state(opt, {"p": p},
                                                          make_state(opt.state_dict())):
            pass

    for make_state in [lambda sd: [], lambda sd: {"state": [], "param_groups": []},
                       lambda sd: dict(sd, param_groups=[]),
                       lambda sd: dict(sd, param_groups=[dict(sd["param_groups"][0], x=1)]),
                       lambda sd: dict(sd, state={5: {}}),
                       lambda sd: dict(sd, param_groups=[dict(sd["param_groups"][0],
                                                              params=[0, 1])])]:
        expected = _error(functools.partial(attempt, torch, make_state))
        assert expected is not None
        assert _error(functools.partial(attempt, mg, make_state)) == expected
