"""mg.optim: trajectories against torch.optim, both kernel backends, state_dict, API errors.

The reference trajectories train the same small MLP from the same start with minigrad (its own
autograd computes the gradients) and with torch.optim, and compare losses and parameters at
every step. In float64 they agree to round-off: both follow PyTorch's single-tensor update
order; the only differences left are PyTorch's vectorised fused multiply-adds.
"""
import copy
import types

import numpy as np
import pytest

import minigrad as mg
from minigrad import _kernels
from minigrad._kernels import reference

# (optimizer name, keyword arguments): every option of every optimizer, alone and combined.
CONFIGS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.05,
                 "initial_accumulator_value": 0.1}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True,
                 "weight_decay": 0.05, "eps": 1e-6}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1,
              "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.4)}),  # 1 - beta1 >= 0.5: lerp's other form
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True, "betas": (0.5, 0.9)}),
    ("AdamW", {"lr": 0.01, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "maximize": True}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "momentum_decay": 0.1, "betas": (0.3, 0.9), "eps": 1e-6}),
    ("NAdam", {"lr": 0.01, "maximize": True}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "betas": (0.3, 0.9), "eps": 1e-6, "maximize": True}),
    ("Adamax", {"lr": 0.01}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "betas": (0.3, 0.9), "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5}),
    ("Adadelta", {"lr": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("ASGD", {"lr": 0.05}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 20}),  # averaging starts at 21
    ("ASGD", {"lr": 0.05, "weight_decay": 0.1, "t0": 1, "maximize": True}),
    ("Rprop", {"lr": 0.01}),
    ("Rprop", {"lr": 0.01, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05)}),
    ("Rprop", {"lr": 0.01, "maximize": True}),
]
IDS = [name + "-" + "-".join(f"{k}={v}" for k, v in kw.items()) for name, kw in CONFIGS]

SHAPES = [(10, 2), (10,), (1, 10), (1,)]  # the seed network: 2 -> 10 -> 1


def make_problem(dtype=np.float64, n=16):
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((n, 2)).astype(dtype)
    y = (np.sin(x[:, :1] * 2) + x[:, 1:] ** 2).astype(dtype)
    init = [rng.uniform(-0.8, 0.8, shape).astype(dtype) for shape in SHAPES]
    return x, y, init


def mg_loss(params, x, y):
    w1, b1, w2, b2 = params
    y_pred = (x @ w1.T + b1).relu() @ w2.T + b2
    return ((y_pred - y) ** 2).mean()


def torch_loss(torch, params, x, y):
    w1, b1, w2, b2 = params
    y_pred = (x @ w1.T + b1).relu() @ w2.T + b2
    return ((y_pred - y) ** 2).mean()


def mg_params(init):
    return [mg.tensor(a.copy(), requires_grad=True) for a in init]


def torch_params(torch, init):
    return [torch.tensor(a.copy(), requires_grad=True) for a in init]


def run_side_by_side(torch, name, kwargs, steps, dtype, groups=None, check=None):
    """Train both; call check(step, mg loss, torch loss, mg params, torch params) each step."""
    x, y, init = make_problem(dtype)
    mparams, tparams = mg_params(init), torch_params(torch, init)
    mx, my = mg.tensor(x), mg.tensor(y)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    extra = {"foreach": False}  # the single-tensor path (the default on CPU anyway)
    if groups is None:
        mopt = getattr(mg.optim, name)(mparams, **kwargs)
        topt = getattr(torch.optim, name)(tparams, **kwargs, **extra)
    else:
        mopt = getattr(mg.optim, name)(
            [dict(g, params=[mparams[i] for i in g["params"]]) for g in groups], **kwargs)
        topt = getattr(torch.optim, name)(
            [dict(g, params=[tparams[i] for i in g["params"]]) for g in groups], **kwargs,
            **extra)
    sign = -1.0 if kwargs.get("maximize") else 1.0  # maximize the negated loss: stays finite
    for step in range(steps):
        mopt.zero_grad()
        topt.zero_grad()
        mloss = mg_loss(mparams, mx, my) * sign
        tloss = torch_loss(torch, tparams, tx, ty) * sign
        mloss.backward()
        tloss.backward()
        mopt.step()
        topt.step()
        check(step, mloss.item(), tloss.item(), [p.numpy() for p in mparams],
              [p.detach().numpy() for p in tparams])
    return mopt, topt


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=IDS)
def test_trajectory_matches_torch_float64(backend, name, kwargs):
    torch = pytest.importorskip("torch")

    def check(step, mloss, tloss, mp, tp):
        np.testing.assert_allclose(mloss, tloss, rtol=1e-10, atol=1e-13,
                                   err_msg=f"loss at step {step}")
        for i, (a, b) in enumerate(zip(mp, tp)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13,
                                       err_msg=f"param {i} at step {step}")

    mopt, topt = run_side_by_side(torch, name, kwargs, 60, np.float64, check=check)
    # The state buffers agree too, under PyTorch's names.
    msd, tsd = mopt.state_dict(), topt.state_dict()
    assert sorted(msd["state"]) == sorted(tsd["state"])
    for index, tstate in tsd["state"].items():
        mstate = msd["state"][index]
        assert set(mstate) == set(tstate), (mstate.keys(), tstate.keys())
        for key, value in tstate.items():
            np.testing.assert_allclose(np.asarray(mstate[key]), value.numpy(), rtol=1e-9,
                                       atol=1e-12, err_msg=key)


# float32: one or two configurations of each of the first optimizers, every one of the others.
FLOAT32_CASES = [1, 10, 16, 20, 26] + list(range(30, len(CONFIGS)))


@pytest.mark.parametrize("name, kwargs", [CONFIGS[i] for i in FLOAT32_CASES],
                         ids=[IDS[i] for i in FLOAT32_CASES])
def test_trajectory_matches_torch_float32(backend, name, kwargs):
    torch = pytest.importorskip("torch")

    def check(step, mloss, tloss, mp, tp):
        assert mp[0].dtype == np.float32
        np.testing.assert_allclose(mloss, tloss, rtol=1e-4, atol=1e-6)
        for a, b in zip(mp, tp):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

    mopt, _ = run_side_by_side(torch, name, kwargs, 50, np.float32, check=check)
    for state in mopt.state.values():
        for key, value in state.items():
            if isinstance(value, np.ndarray):  # buffers; step, mu_product... are floats
                assert value.dtype == np.float32, key


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_with_different_lrs(backend, name):
    torch = pytest.importorskip("torch")
    groups = [{"params": [0, 1], "lr": 0.03}, {"params": [2, 3]}]
    kwargs = {"lr": 0.005, "momentum": 0.9} if name != "Adam" else {"lr": 0.005}

    def check(step, mloss, tloss, mp, tp):
        np.testing.assert_allclose(mloss, tloss, rtol=1e-10)
        for a, b in zip(mp, tp):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)

    mopt, _ = run_side_by_side(torch, name, kwargs, 30, np.float64, groups=groups,
                               check=check)
    assert [g["lr"] for g in mopt.param_groups] == [0.03, 0.005]


def test_param_group_lr_actually_used(backend):
    # Independent of torch: a group with lr 0 does not move, the other moves by -lr * grad.
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0], requires_grad=True)
    opt = mg.optim.SGD([{"params": [a], "lr": 0.0}, {"params": b}], lr=0.5)
    (a * a).sum().backward()
    (b * b).sum().backward()
    opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    np.testing.assert_array_equal(b.data, [3.0 - 0.5 * 6.0])


def test_hand_computed_adam_first_step(backend):
    # At t = 1, m = (1 - b1) g, v = (1 - b2) g^2, so the step is lr * g / (|g| + eps').
    p = mg.tensor([1.0, -2.0, 0.5], dtype=mg.float64, requires_grad=True)
    opt = mg.optim.Adam([p], lr=0.1, eps=0.0)
    (p * mg.tensor([3.0, -4.0, 0.0], dtype=mg.float64)).sum().backward()  # grad = [3, -4, 0]
    with np.errstate(invalid="ignore"):
        opt.step()
    np.testing.assert_allclose(p.data[:2], [1.0 - 0.1, -2.0 + 0.1], rtol=1e-12)
    assert np.isnan(p.numpy()[2])  # 0 / 0 with eps = 0, as in PyTorch


# ------------------------------------------------------------------------------------------
# The compiled kernels against their numpy twins, directly
# ------------------------------------------------------------------------------------------


def _kernel_cases():
    yield "sgd_", [None], [(0.1, 0.0, 0.0, 0.0, False, False, False)]
    for args in [(0.1, 0.01, 0.9, 0.1, False, False, False),
                 (0.1, 0.0, 0.9, 0.0, True, True, False),
                 (0.1, 0.01, 0.9, 0.0, True, False, True)]:
        yield "sgd_", ["buf"], [args]
    for args in [(0.1, 0.0, 1e-10, False), (0.05, 0.1, 1e-6, True)]:
        yield "adagrad_", ["sum"], [args]
    for centered in (False, True):
        for momentum in (0.0, 0.9):
            yield ("rmsprop_", ["sq", "ga" if centered else None,
                                "buf" if momentum else None],
                   [(0.01, 0.99, 1e-8, 0.1, momentum, centered, False)])
    for amsgrad in (False, True):
        for decoupled in (False, True):
            yield ("adam_", ["m", "v", "vmax" if amsgrad else None],
                   [(0.01, 0.9, 0.999, 1e-8, 0.1, decoupled, amsgrad, False, 0.05, 0.3),
                    (0.01, 0.2, 0.5, 1e-8, 0.0, decoupled, amsgrad, True, 0.05, 0.3)])
    for decoupled in (False, True):
        yield ("nadam_", ["m", "v"],
               [(0.01, 0.9, 0.999, 1e-8, 0.1, decoupled, False, 0.3, -0.02, -0.05),
                (0.01, 0.2, 0.5, 1e-8, 0.0, decoupled, True, 0.3, -0.02, -0.05)])
        yield ("radam_", ["m", "v"],
               [(0.01, 0.9, 0.999, 1e-8, 0.1, decoupled, False, 0.4, 0.5, 0.0),
                (0.01, 0.2, 0.5, 1e-8, 0.1, decoupled, True, 0.4, 0.5, 0.7)])
    yield "adamax_", ["m", "u"], [(0.9, 0.999, 1e-8, 0.1, False, 0.05),
                                  (0.2, 0.5, 1e-8, 0.0, True, 0.05)]
    yield "adadelta_", ["sq", "acc"], [(1.0, 0.9, 1e-6, 0.0, False), (0.5, 0.8, 1e-5, 0.1, True)]
    yield "asgd_", ["ax"], [(0.01, 1e-4, 1.0, 0.0, False), (0.01, 0.01, 0.3, 0.1, True)]
    yield "rprop_", ["prev", "size"], [(0.5, 1.2, 1e-6, 50, False), (0.3, 1.5, 0.5, 0.9, True)]


def _kernel_buffers(rng, buffers, shape, dtype):
    """State buffers as they are in use: nonnegative second moments, signed previous
    gradients, and a mean gradient small enough that RMSprop's centered variance v - m^2
    stays positive."""
    out = []
    for b in buffers:
        if b is None:
            out.append(None)
        elif b in ("prev", "ax"):
            out.append(rng.standard_normal(shape).astype(dtype))
        else:
            out.append((np.abs(rng.standard_normal(shape)) * (0.1 if b == "ga" else 1.0)
                        + (1.0 if b == "sq" else 0.0)).astype(dtype))
    return out


def _compiled_builds():
    """Every build of the compiled optimizer kernels this machine runs: the portable one and,
    on CPUs with AVX2, the AVX2 one that _optim dispatches to (see _optim.pyx)."""
    optim = _kernels.compiled_module("_optim")
    builds = [("portable", types.SimpleNamespace(**optim._portable))]
    if optim._simd == "avx2":
        builds.append(("avx2", _kernels.compiled_module("_optim_avx2")))
    return builds


def test_dispatch_uses_the_avx2_build_exactly_where_the_cpu_has_avx2():
    optim = _kernels.compiled_module("_optim")
    avx2 = optim._cpu_has_avx2() and _kernels.compiled_module("_optim_avx2")._built_for_avx2
    assert optim._simd == ("avx2" if avx2 else "baseline")
    assert (optim.adam_ is optim._portable["adam_"]) == (not avx2)


@pytest.mark.parametrize("build", [name for name, _ in _compiled_builds()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_kernels_equal_numpy_twins(dtype, build):
    compiled = dict(_compiled_builds())[build]
    rng = np.random.default_rng(0)
    for name, buffers, arg_sets in _kernel_cases():
        for args in arg_sets:
            shape = (7, 5)
            param = rng.standard_normal(shape).astype(dtype)
            grad = rng.standard_normal(shape).astype(dtype)
            bufs = _kernel_buffers(rng, buffers, shape, dtype)
            results = []
            for module in (compiled, reference):
                p, bs = param.copy(), [None if b is None else b.copy() for b in bufs]
                g = grad.copy()
                for _ in range(3):
                    getattr(module, name)(p, g, *bs, *args)
                np.testing.assert_array_equal(g, grad)  # the gradient is read only
                results.append([p] + [b for b in bs if b is not None])
            for a, b in zip(*results):
                assert a.dtype == dtype
                # Same operations in the same order: equal to the last bit.
                np.testing.assert_array_equal(a, b, err_msg=f"{name}{args}")


def _in_layout(values, layout):
    """A new array holding ``values`` in the given memory layout."""
    if layout == "contiguous":
        return values.copy()
    if layout == "fortran":
        return np.asfortranarray(values)
    if layout == "strided":  # every other element of a wider array
        wide = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), values.dtype)
        view = wide[..., ::2]
        view[...] = values
        return view
    if layout == "misaligned":  # one byte past an aligned address
        buffer = bytearray(values.nbytes + 1)
        array = np.frombuffer(buffer, values.dtype, values.size, offset=1).reshape(values.shape)
        array[...] = values
        assert not array.flags.aligned
        return array
    if layout == "byteswapped":
        return values.astype(values.dtype.newbyteorder("S"))
    raise ValueError(layout)


LAYOUTS = ["fortran", "strided", "misaligned", "byteswapped"]


@pytest.mark.parametrize("build", [name for name, _ in _compiled_builds()])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_update_any_layout_in_place(dtype, layout, build):
    # Parameter, gradient and every state buffer in an unusual layout: both backends give the
    # contiguous result to the last bit, written into the caller's arrays.
    compiled = dict(_compiled_builds())[build]
    rng = np.random.default_rng(1)
    for name, buffers, arg_sets in _kernel_cases():
        for args in arg_sets:
            shape = (6, 5)
            param = rng.standard_normal(shape).astype(dtype)
            grad = rng.standard_normal(shape).astype(dtype)
            bufs = _kernel_buffers(rng, buffers, shape, dtype)
            expected_p = param.copy()
            expected_bufs = [None if b is None else b.copy() for b in bufs]
            getattr(compiled, name)(expected_p, grad.copy(), *expected_bufs, *args)
            for module in (compiled, reference):
                p = _in_layout(param, layout)
                bs = [None if b is None else _in_layout(b, layout) for b in bufs]
                getattr(module, name)(p, _in_layout(grad, layout), *bs, *args)
                np.testing.assert_array_equal(p, expected_p, err_msg=f"{module} {name}{args}")
                for b, e in zip(bs, expected_bufs):
                    if b is not None:
                        np.testing.assert_array_equal(b, e, err_msg=f"{name}{args}")


@pytest.mark.parametrize("build", [name for name, _ in _compiled_builds()])
@pytest.mark.parametrize("layout", ["contiguous", "byteswapped", "strided"])
def test_kernels_update_float16_through_float32(build, layout):
    # float16 parameters and buffers: computed in float32, rounded once; both backends agree
    # to the last bit and equal the float32 update rounded to float16.
    compiled = dict(_compiled_builds())[build]
    rng = np.random.default_rng(2)
    for name, buffers, arg_sets in _kernel_cases():
        for args in arg_sets:
            shape = (4, 3)
            param = rng.standard_normal(shape).astype(np.float16)
            grad = rng.standard_normal(shape).astype(np.float16)
            bufs = _kernel_buffers(rng, buffers, shape, np.float16)
            p32 = param.astype(np.float32)
            b32 = [None if b is None else b.astype(np.float32) for b in bufs]
            getattr(compiled, name)(p32, grad.astype(np.float32), *b32, *args)
            for module in (compiled, reference):
                p = _in_layout(param, layout)
                bs = [None if b is None else _in_layout(b, layout) for b in bufs]
                getattr(module, name)(p, grad, *bs, *args)
                assert p.dtype.type is np.float16
                np.testing.assert_array_equal(p, p32.astype(np.float16), err_msg=name)
                for b, e in zip(bs, b32):
                    if b is not None:
                        np.testing.assert_array_equal(b, e.astype(np.float16))


def test_compiled_kernel_rejects_bad_arrays():
    compiled = _kernels.compiled_module("_optim")
    p = np.zeros((3, 4))
    with pytest.raises(ValueError, match="dtype"):
        compiled.adagrad_(p, np.zeros((3, 4)), np.zeros((3, 4), np.float32), 0.1, 0, 0, False)
    with pytest.raises(ValueError, match="elements"):
        compiled.adagrad_(p, np.zeros((3, 4)), np.zeros(5), 0.1, 0.0, 1e-10, False)
    with pytest.raises(ValueError, match="shape"):
        compiled.adagrad_(p, np.zeros(5), np.zeros((3, 4)), 0.1, 0.0, 1e-10, False)
    with pytest.raises(ValueError, match="float16, float32 or float64"):
        compiled.adagrad_(np.zeros(3, np.int64), np.zeros(3, np.int64),
                          np.zeros(3, np.int64), 0.1, 0.0, 1e-10, False)
    with pytest.raises(TypeError):
        compiled.sgd_([1.0], np.zeros(1), None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    read_only = np.zeros((3, 4))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        compiled.adagrad_(read_only, np.zeros((3, 4)), np.zeros((3, 4)), 0.1, 0, 0, False)
    with pytest.raises(ValueError, match="state_sum is read-only"):
        compiled.adagrad_(p, np.zeros((3, 4)), read_only, 0.1, 0, 0, False)
    with pytest.raises(TypeError, match="exp_inf must be a numpy array"):
        compiled.adamax_(p, np.zeros((3, 4)), np.zeros((3, 4)), None, 0.9, 0.9, 0, 0, False, 1)
    # Nothing was written by the refused calls.
    np.testing.assert_array_equal(p, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_accept_any_layout_of_param_and_grad(backend, dtype):
    # A strided parameter is updated in place (through a copy written back), a strided or
    # other-dtype gradient is read in the parameter's dtype: same result as contiguous.
    rng = np.random.default_rng(5)
    start = rng.standard_normal((6, 4)).astype(dtype)
    grad = rng.standard_normal((4, 6))  # float64, transposed below: another dtype and layout
    contiguous_p, strided_p = start.copy(), np.asfortranarray(start)
    states = [np.zeros((6, 4), dtype) for _ in range(4)]
    kernel = _kernels.kernels.adam_
    kernel(contiguous_p, np.ascontiguousarray(grad.T, dtype), states[0], states[1], None,
           0.1, 0.9, 0.999, 1e-8, 0.0, False, False, False, 1.0, 0.5)
    kernel(strided_p, grad.T, states[2], states[3], None,
           0.1, 0.9, 0.999, 1e-8, 0.0, False, False, False, 1.0, 0.5)
    assert strided_p.flags.f_contiguous
    np.testing.assert_array_equal(strided_p, contiguous_p)
    np.testing.assert_array_equal(states[2], states[0])
    assert not np.array_equal(contiguous_p, start)


def test_non_contiguous_param_and_grad_are_updated_in_place(backend):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    start = rng.standard_normal((4, 6))
    p = mg.tensor(start.copy(), requires_grad=True)
    p.data = mg.from_numpy(np.asfortranarray(start))  # another layout (external assignment)
    array = p.numpy()
    tp = torch.tensor(start.copy(), requires_grad=True)
    opt, topt = mg.optim.Adam([p], lr=0.1), torch.optim.Adam([tp], lr=0.1, foreach=False)
    for _ in range(5):
        g = rng.standard_normal((6, 4))
        p.grad = mg.tensor(g).T  # a transposed (non-contiguous) gradient
        tp.grad = torch.from_numpy(g.T.copy())
        opt.step()
        topt.step()
    assert p.numpy() is array  # updated in place: whoever holds the array sees the update
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)


# ------------------------------------------------------------------------------------------
# state_dict
# ------------------------------------------------------------------------------------------


def _train(params, opt, x, y, steps):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = mg_loss(params, x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name, kwargs", [CONFIGS[2], CONFIGS[11], CONFIGS[16],
                                          CONFIGS[20], CONFIGS[26]],
                         ids=[IDS[2], IDS[11], IDS[16], IDS[20], IDS[26]])
def test_state_dict_round_trip_continues_bit_identically(backend, name, kwargs, tmp_path):
    x, y, init = make_problem()
    mx, my = mg.tensor(x), mg.tensor(y)
    params = mg_params(init)
    opt = getattr(mg.optim, name)(params, **kwargs)
    _train(params, opt, mx, my, 20)

    # Resume in a fresh model and optimizer, once from the dict, once from a file.
    resumed = []
    for via_file in (False, True):
        sd = opt.state_dict()
        if via_file:
            mg.save(sd, tmp_path / "opt.mg")
            sd = mg.load(tmp_path / "opt.mg")
        new_params = mg_params([p.numpy() for p in params])
        new_opt = getattr(mg.optim, name)(new_params, lr=123.0)  # lr comes from the dict
        new_opt.load_state_dict(sd)
        assert new_opt.param_groups[0]["lr"] == kwargs["lr"]
        resumed.append((new_params, new_opt))

    expected = _train(params, opt, mx, my, 20)
    for new_params, new_opt in resumed:
        assert _train(new_params, new_opt, mx, my, 20) == expected
        for a, b in zip(params, new_params):
            np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_format_is_pytorchs():
    params = mg_params(make_problem()[2])
    opt = mg.optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}],
                        amsgrad=True)
    for p in params[1:]:
        p.grad = mg.zeros(*p.shape, dtype=mg.float64)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert sd["param_groups"][1]["lr"] == 0.1
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [1, 2, 3]  # param 0 had no grad: no state
    assert set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][1]["step"] == 1.0
    assert sd["state"][3]["exp_avg"].shape == SHAPES[3]


def test_load_state_dict_copies_never_aliases(backend):
    params = mg_params(make_problem()[2])
    opt = mg.optim.Adam(params, lr=0.01)
    for p in params:
        p.grad = mg.ones(*p.shape, dtype=mg.float64)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    saved = copy.deepcopy(sd)

    other = mg.optim.Adam(params, lr=0.01)
    other.load_state_dict(sd)
    for i, p in enumerate(params):
        for key in ("exp_avg", "exp_avg_sq"):
            assert not np.shares_memory(other.state[p][key], sd["state"][i][key])
            assert other.state[p][key].flags.c_contiguous
    other.step()  # training the loaded optimizer leaves the dict alone
    for i in sd["state"]:
        np.testing.assert_array_equal(sd["state"][i]["exp_avg"], saved["state"][i]["exp_avg"])
        assert sd["state"][i]["step"] == saved["state"][i]["step"]
    sd["state"][0]["exp_avg"][...] = 99.0  # and changing the dict leaves the optimizer alone
    assert not np.any(other.state[params[0]]["exp_avg"] == 99.0)
    sd["param_groups"][0]["lr"] = 5.0
    assert other.param_groups[0]["lr"] == 0.01


def test_load_state_dict_from_torch_continues_torchs_trajectory(backend):
    torch = pytest.importorskip("torch")
    x, y, init = make_problem()
    tparams = torch_params(torch, init)
    topt = torch.optim.Adam(tparams, lr=0.02, amsgrad=True, foreach=False)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(10):
        topt.zero_grad()
        torch_loss(torch, tparams, tx, ty).backward()
        topt.step()
    tsd = topt.state_dict()
    sd = {"param_groups": tsd["param_groups"],
          "state": {k: {n: v.numpy() for n, v in s.items()} for k, s in tsd["state"].items()}}
    params = mg_params([p.detach().numpy() for p in tparams])
    opt = mg.optim.Adam(params, lr=0.02, amsgrad=True)
    opt.load_state_dict(sd)
    assert isinstance(opt.state[params[0]]["step"], float)
    mx, my = mg.tensor(x), mg.tensor(y)
    for _ in range(10):
        topt.zero_grad()
        torch_loss(torch, tparams, tx, ty).backward()
        topt.step()
    _train(params, opt, mx, my, 10)
    for a, b in zip(params, tparams):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10)


def test_load_state_dict_validates():
    params = mg_params(make_problem()[2])
    opt = mg.optim.SGD(params, lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    two_groups = mg.optim.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        two_groups.load_state_dict(sd)
    smaller = mg.optim.SGD(params[:3], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        smaller.load_state_dict(sd)
    bad = {"param_groups": sd["param_groups"],
           "state": {0: {"momentum_buffer": np.zeros(7)}}}
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)


# ------------------------------------------------------------------------------------------
# zero_grad, step details, closure, argument checks
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = mg.optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    grad_array = p.grad.numpy()
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert p.grad is None
    else:
        assert p.grad.numpy() is grad_array
        np.testing.assert_array_equal(p.grad.data, [0.0, 0.0])
    # Either way the next backward gives the fresh gradient, not an accumulation.
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.data, [2.0, 4.0])


def test_zero_grad_default_is_set_to_none():
    p = mg.tensor([1.0], requires_grad=True)
    opt = mg.optim.Adam([p])
    (p * 3).sum().backward()
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_params_without_grad_are_skipped(backend, name):
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    opt = getattr(mg.optim, name)([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    np.testing.assert_array_equal(b.data, [3.0, 4.0])
    assert not np.array_equal(a.data, [1.0, 2.0])
    assert "step" not in opt.state.get(b, {}) or opt.state[b]["step"] == 0.0


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_step_with_closure_returns_loss(backend, name):
    torch = pytest.importorskip("torch")
    x, y, init = make_problem()
    params, tparams = mg_params(init), torch_params(torch, init)
    mx, my = mg.tensor(x), mg.tensor(y)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    opt = getattr(mg.optim, name)(params, lr=0.01)
    topt = getattr(torch.optim, name)(tparams, lr=0.01, foreach=False)
    calls = []

    def closure():
        calls.append(mg.is_grad_enabled())
        opt.zero_grad()
        loss = mg_loss(params, mx, my)
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = torch_loss(torch, tparams, tx, ty)
        loss.backward()
        return loss

    for _ in range(5):
        with mg.no_grad():  # the closure still runs with gradients enabled
            loss = opt.step(closure)
        tloss = topt.step(tclosure)
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
    assert calls == [True] * 5
    for a, b in zip(params, tparams):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10)
    assert opt.step() is None


@pytest.mark.parametrize("make, message", [
    (lambda p: mg.optim.SGD(p, lr=-0.1), "Invalid learning rate"),
    (lambda p: mg.optim.SGD(p, momentum=-0.5), "Invalid momentum value"),
    (lambda p: mg.optim.SGD(p, weight_decay=-1), "Invalid weight_decay value"),
    (lambda p: mg.optim.SGD(p, nesterov=True), "Nesterov momentum requires"),
    (lambda p: mg.optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: mg.optim.Adagrad(p, lr=-1), "Invalid learning rate"),
    (lambda p: mg.optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value"),
    (lambda p: mg.optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator"),
    (lambda p: mg.optim.Adagrad(p, eps=-1), "Invalid epsilon value"),
    (lambda p: mg.optim.RMSprop(p, lr=-1), "Invalid learning rate"),
    (lambda p: mg.optim.RMSprop(p, alpha=-0.1), "Invalid alpha value"),
    (lambda p: mg.optim.RMSprop(p, eps=-1), "Invalid epsilon value"),
    (lambda p: mg.optim.RMSprop(p, momentum=-1), "Invalid momentum value"),
    (lambda p: mg.optim.Adam(p, lr=-1e-3), "Invalid learning rate"),
    (lambda p: mg.optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0"),
    (lambda p: mg.optim.Adam(p, betas=(-0.1, 0.999)), "beta parameter at index 0"),
    (lambda p: mg.optim.Adam(p, betas=(0.9, 1.0)), "beta parameter at index 1"),
    (lambda p: mg.optim.Adam(p, eps=-1e-8), "Invalid epsilon value"),
    (lambda p: mg.optim.Adam(p, weight_decay=-1e-2), "Invalid weight_decay value"),
    (lambda p: mg.optim.AdamW(p, betas=(0.9, 1.5)), "beta parameter at index 1"),
    (lambda p: mg.optim.AdamW(p, lr=-1), "Invalid learning rate"),
])
def test_bad_hyperparameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([mg.tensor([1.0], requires_grad=True)])


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_empty_parameter_list(name):
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        getattr(mg.optim, name)([])
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(mg.optim, name)(iter([]))


def test_parameter_checks():
    leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        mg.optim.SGD([leaf * 2], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        mg.optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError):
        mg.optim.SGD(leaf, lr=0.1)  # a bare Tensor, as in PyTorch
    with pytest.raises(TypeError, match="ordered collections"):
        mg.optim.SGD([{"params": {leaf}}], lr=0.1)
    opt = mg.optim.SGD([leaf], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [leaf]})


def test_add_param_group_fills_defaults_and_trains(backend):
    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor([1.0], requires_grad=True)
    opt = mg.optim.Adagrad([a], lr=0.5, lr_decay=0.1)
    opt.add_param_group({"params": b, "lr": 0.25})
    assert opt.param_groups[1]["lr_decay"] == 0.1 and opt.param_groups[1]["lr"] == 0.25
    (a * 2 + b * 2).sum().backward()
    opt.step()
    # First Adagrad step: sum = g^2, p -= lr * g / (|g| + eps) = lr (to round-off).
    np.testing.assert_allclose(a.data, [0.5], rtol=1e-9)
    np.testing.assert_allclose(b.data, [0.75], rtol=1e-9)


def test_default_hyperparameters_are_pytorchs():
    p = [mg.tensor([1.0], requires_grad=True)]
    assert mg.optim.SGD(p).defaults["lr"] == 1e-3
    assert mg.optim.Adagrad(p).defaults["lr"] == 1e-2
    assert mg.optim.Adagrad(p).defaults["eps"] == 1e-10
    assert mg.optim.RMSprop(p).defaults["alpha"] == 0.99
    assert mg.optim.Adam(p).defaults["betas"] == (0.9, 0.999)
    assert mg.optim.Adam(p).defaults["weight_decay"] == 0
    assert mg.optim.AdamW(p).defaults["weight_decay"] == 1e-2


@pytest.mark.parametrize("build", [name for name, _ in _compiled_builds()] + ["numpy"])
def test_bfloat16_round_matches_torch(build):
    # Muon's bfloat16 emulation: every float32 (ties, subnormals, inf, NaN, the largest
    # finite values that round to inf) rounds as torch's float32 -> bfloat16 conversion.
    torch = pytest.importorskip("torch")
    kernel = reference.bfloat16_round_ if build == "numpy" else \
        dict(_compiled_builds())[build].bfloat16_round_
    rng = np.random.default_rng(9)
    bits = np.concatenate([rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32),
                           np.array([0x3F808000, 0x3F818000, 0x7F7FFFFF, 0x7F800000,
                                     0xFF800000, 0x7FC00001, 0xFFFFFFFF, 0x00008000,
                                     0x80000001, 0x3F800000], dtype=np.uint32)])
    values = bits.view(np.float32)
    expected = torch.from_numpy(values.copy()).bfloat16().float().numpy()
    x = values.copy()
    kernel(x)
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(x), nan)
    np.testing.assert_array_equal(x[~nan].view(np.uint32), expected[~nan].view(np.uint32))
    strided = np.zeros(2 * values.size, np.float32)[::2]  # any layout: rounded in place
    strided[...] = values
    kernel(strided)
    np.testing.assert_array_equal(strided[~nan], x[~nan])


@pytest.mark.parametrize("build", [name for name, _ in _compiled_builds()])
@pytest.mark.parametrize("layout", ["contiguous"] + LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_adafactor_update_kernel_equals_twin(build, layout, dtype):
    compiled = dict(_compiled_builds())[build]
    rng = np.random.default_rng(11)
    batches, rows, cols = 3, 5, 4
    grad = rng.standard_normal((batches, rows, cols)).astype(dtype)
    row_var = np.abs(rng.standard_normal((batches, rows, 1))).astype(dtype)
    col_var = np.abs(rng.standard_normal((batches, 1, cols))).astype(dtype)
    row_var[0, 0, 0] = 0.0  # clamped to eps1**2
    mean = np.maximum(row_var.mean(axis=-2, keepdims=True), dtype(1e-3))
    results = []
    for module in (compiled, reference):
        update = _in_layout(np.zeros_like(grad), layout)
        module.adafactor_update_(update, _in_layout(grad, layout), row_var, col_var, mean,
                                 batches, rows, cols, 1e-6)
        assert update.dtype.type is dtype
        results.append(np.array(update))
    np.testing.assert_array_equal(results[0], results[1])
    # And the formula, in float64: g / sqrt(max(R C / mean, eps1^2)).
    expected = grad / np.sqrt(np.maximum(row_var.astype(np.float64) * col_var / mean, 1e-6))
    np.testing.assert_allclose(results[0], expected, rtol={np.float16: 3e-3,
                                                           np.float32: 1e-6}.get(dtype, 1e-14))
