"""Containers (ModuleDict, ParameterList, ParameterDict, Unflatten), nn.Buffer and the Module
API (named_modules, named_buffers, named_children, apply, requires_grad_, zero_grad,
extra_repr, get_submodule/get_parameter/get_buffer) and nn.utils' vector helpers: the same
code run on PyTorch and minigrad, compared name by name, repr by repr."""
import collections

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


def same_repr(mg_object, torch_object):
    """reprs equal up to the library's name (``torch.float32`` vs ``minigrad.float32``)."""
    assert repr(mg_object) == repr(torch_object).replace("torch.", "minigrad.")


def both(fn):
    """fn(lib) run on both libraries; the results must be equal."""
    a, b = fn(mg), fn(torch)
    assert a == b
    return a


def shapes(state):
    return [(k, tuple(v.shape)) for k, v in state.items()]


# ---------------------------------------------------------------------------------------------
# ModuleDict
# ---------------------------------------------------------------------------------------------


def _module_dict(lib):
    nn = lib.nn
    return nn.ModuleDict({"lin": nn.Linear(2, 3), "act": nn.ReLU(), "out": nn.Linear(3, 1)})


def test_module_dict_order_names_and_repr():
    def run(lib):
        d = _module_dict(lib)
        return (list(d), list(d.keys()), [type(m).__name__ for m in d.values()],
                [k for k, _ in d.items()], shapes(d.state_dict()),
                [n for n, _ in d.named_parameters()], len(d), "act" in d, "x" in d)
    both(run)
    same_repr(_module_dict(mg), _module_dict(torch))


def test_module_dict_mutation():
    def run(lib):
        nn = lib.nn
        d = _module_dict(lib)
        d["act"] = nn.Tanh()  # replacing keeps the position
        del d["lin"]
        popped = d.pop("out")
        d.update([("b", nn.Linear(1, 1)), ("a", nn.Sigmoid())])
        d.update(collections.OrderedDict([("z", nn.Identity())]))
        names = [(k, type(m).__name__) for k, m in d.items()]
        params = [n for n, _ in d.named_parameters()]
        d.clear()
        return names, params, type(popped).__name__, len(d), list(d.state_dict())
    both(run)


@pytest.mark.parametrize("bad", [5, [("a",)], [3]], ids=["not_iterable", "length", "element"])
def test_module_dict_update_errors(bad):
    with pytest.raises(Exception) as expected:
        torch.nn.ModuleDict(bad)
    with pytest.raises(expected.type) as got:
        mg.nn.ModuleDict(bad)
    assert str(got.value) == str(expected.value)


def test_module_dict_in_a_model_trains_and_loads_torch_state():
    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.heads = lib.nn.ModuleDict({"a": lib.nn.Linear(3, 2),
                                                "b": lib.nn.Linear(3, 1)})

            def forward(self, x, head):
                return self.heads[head](x)
        return Net().double()
    m, t = build(mg), build(torch)
    m.load_state_dict(t.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 3))
    for head in "ab":
        np.testing.assert_allclose(m(mg.tensor(x), head).numpy(),
                                   t(torch.tensor(x), head).detach().numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# ParameterList and ParameterDict
# ---------------------------------------------------------------------------------------------


def _parameter_list(lib):
    return lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)),
                                 lib.zeros(3, 2, dtype=lib.float64), "note"])


def test_parameter_list():
    def run(lib):
        p = _parameter_list(lib)
        p.append(lib.ones(1))
        p.extend([lib.zeros(2, 2)])
        p += [lib.ones(3)]
        kinds = [type(v).__name__ if not isinstance(v, lib.Tensor) else
                 (isinstance(v, lib.nn.Parameter), v.requires_grad, tuple(v.shape)) for v in p]
        sliced = p[1:4:2]
        return (kinds, len(p), [n for n, _ in p.named_parameters()], shapes(p.state_dict()),
                tuple(p[-1].shape), len(sliced), type(sliced).__name__, tuple(sliced[0].shape))
    both(run)
    same_repr(_parameter_list(mg), _parameter_list(torch))


@pytest.mark.parametrize("call", [
    lambda lib, p: p[5],
    lambda lib, p: p.extend(lib.ones(2)),
    lambda lib, p: p.extend(3),
    lambda lib, p: p(),
], ids=["index", "extend_tensor", "extend_int", "call"])
def test_parameter_list_errors(call):
    with pytest.raises(Exception) as expected:
        call(torch, _parameter_list(torch))
    with pytest.raises(expected.type) as got:
        call(mg, _parameter_list(mg))
    assert str(got.value) == str(expected.value).replace("torch.", "minigrad.")


def _parameter_dict(lib):
    return lib.nn.ParameterDict({"w": lib.nn.Parameter(lib.ones(2)), "b": lib.zeros(3),
                                 "tag": "x"})


def test_parameter_dict():
    def run(lib):
        d = _parameter_dict(lib)
        plain_order = list(d)  # a plain dict's keys go in sorted, as torch does
        d.update(collections.OrderedDict([("z", lib.ones(1)), ("a", lib.ones(1))]))
        d["w"] = lib.zeros(4)
        d.setdefault("c", lib.ones(5))
        got = d.get("missing", "default")
        popped_key, _ = d.popitem()
        copied = d.copy()
        merged = d | lib.nn.ParameterDict({"m": lib.ones(1)})
        return (plain_order, list(d.keys()), popped_key, got,
                [n for n, _ in d.named_parameters()], shapes(d.state_dict()),
                list(reversed(d)), list(copied) == list(d), copied["w"] is d["w"], list(merged),
                isinstance(d["b"], lib.nn.Parameter), "tag" in d, len(d))
    both(run)
    same_repr(_parameter_dict(mg), _parameter_dict(torch))


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.ParameterDict({1: lib.ones(1)}),
    lambda lib: lib.nn.ParameterDict(3),
    lambda lib: lib.nn.ParameterDict([("a", lib.ones(1), 1)]),
    lambda lib: lib.nn.ParameterDict()(lib.ones(1)),
    lambda lib: lib.nn.ParameterDict()["missing"],
], ids=["key_type", "not_iterable", "length", "call", "missing"])
def test_parameter_dict_errors(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(expected.type) as got:
        call(mg)
    if expected.type is not AttributeError:  # the message names the module type
        assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------------------------
# Unflatten
# ---------------------------------------------------------------------------------------------


def test_unflatten():
    x = np.random.default_rng(0).standard_normal((2, 12))
    for args in [(1, (3, 4)), (-1, (2, -1, 3)), (1, [12])]:
        m, t = mg.nn.Unflatten(*args), torch.nn.Unflatten(*args)
        same_repr(m, t)
        mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        my, ty = m(mx), t(tx)
        np.testing.assert_array_equal(my.numpy(), ty.detach().numpy())
        g = np.random.default_rng(1).standard_normal(ty.shape)
        my.backward(mg.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_array_equal(mx.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("size", [5, (2, 2.0)], ids=["int", "float_element"])
def test_unflatten_errors(size):
    with pytest.raises(TypeError) as expected:
        torch.nn.Unflatten(1, size)
    with pytest.raises(TypeError) as got:
        mg.nn.Unflatten(1, size)
    assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------------------------
# Buffers
# ---------------------------------------------------------------------------------------------


def _with_buffers(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.kept = lib.nn.Buffer(lib.ones(2))
            self.scratch = lib.nn.Buffer(lib.zeros(3), persistent=False)
            self.register_buffer("cache", lib.zeros(1), persistent=False)
            self.register_buffer("count", lib.zeros(1))
            self.bn = lib.nn.BatchNorm1d(2)
    return Net()


def test_buffers_and_persistence():
    def run(lib):
        m = _with_buffers(lib)
        names = [n for n, _ in m.named_buffers()]
        prefixed = [n for n, _ in m.named_buffers(prefix="net")]
        local = [n for n, _ in m.named_buffers(recurse=False)]
        state = list(m.state_dict())
        m.double()
        dtypes = [str(b.dtype).split(".")[-1] for b in m.buffers()]
        return names, prefixed, local, state, dtypes, isinstance(m.kept, lib.Tensor)
    both(run)


def test_non_persistent_buffers_do_not_block_loading():
    t, m = _with_buffers(torch), _with_buffers(mg)
    result = m.load_state_dict(t.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    np.testing.assert_array_equal(m.lin.weight.numpy(), t.lin.weight.detach().numpy())


def test_buffer_replaced_by_assignment_stays_a_buffer():
    def run(lib):
        m = _with_buffers(lib)
        m.kept = lib.full((2,), 5.0)  # a plain tensor assigned to a buffer name
        m.scratch = lib.nn.Buffer(lib.ones(3))  # now persistent
        return [n for n, _ in m.named_buffers()], list(m.state_dict()), m.kept.tolist()
    both(run)


# ---------------------------------------------------------------------------------------------
# Module API
# ---------------------------------------------------------------------------------------------


def _shared(lib):
    nn = lib.nn
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), nn.Sequential(shared, nn.Tanh()))
    return net


def test_named_modules_memo_prefix_and_duplicates():
    def run(lib):
        net = _shared(lib)
        unique = [n for n, _ in net.named_modules()]
        prefixed = [n for n, _ in net.named_modules(prefix="root")]
        duplicates = [n for n, _ in net.named_modules(remove_duplicate=False)]
        memo = {net[0]}
        without_shared = [n for n, _ in net.named_modules(memo=memo)]
        children = [n for n, _ in net.named_children()]
        params = [n for n, _ in net.named_parameters()]
        all_params = [n for n, _ in net.named_parameters(remove_duplicate=False)]
        return unique, prefixed, duplicates, without_shared, children, params, all_params, \
            list(net.state_dict())
    both(run)


def test_apply_requires_grad_and_zero_grad():
    def run(lib):
        net = _shared(lib)
        visited = []
        assert net.apply(lambda m: visited.append(type(m).__name__)) is net
        net.requires_grad_(False)
        frozen = [p.requires_grad for p in net.parameters()]
        net.requires_grad_()
        net(lib.ones(3, 2)).sum().backward()
        net.zero_grad(set_to_none=False)
        zeros = [float(p.grad.abs().sum()) for p in net.parameters()]
        net.zero_grad()
        cleared = [p.grad is None for p in net.parameters()]
        return visited, frozen, zeros, cleared
    both(run)


def _custom(lib):
    class Scale(lib.nn.Module):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor
            self.inner = lib.nn.Linear(1, 1)

        def extra_repr(self):
            return f"factor={self.factor}"
    return Scale(2.5)


def test_extra_repr():
    same_repr(_custom(mg), _custom(torch))


def test_get_submodule_parameter_buffer():
    def run(lib):
        m = _with_buffers(lib)
        return (tuple(m.get_parameter("lin.weight").shape),
                tuple(m.get_buffer("bn.running_mean").shape),
                type(m.get_submodule("bn")).__name__, m.get_submodule("") is m,
                tuple(m.get_buffer("scratch").shape))
    both(run)


@pytest.mark.parametrize("call", [
    lambda m: m.get_submodule("lin.weight"),
    lambda m: m.get_submodule("nothing"),
    lambda m: m.get_parameter("bn.running_mean"),
    lambda m: m.get_parameter("lin.nothing"),
    lambda m: m.get_buffer("lin.weight"),
    lambda m: m.get_buffer("bn.nothing"),
    lambda m: m.get_parameter("missing.weight"),
], ids=["not_module", "no_module", "not_parameter", "no_parameter", "not_buffer",
        "no_buffer", "no_path"])
def test_get_errors(call):
    with pytest.raises(AttributeError) as expected:
        call(_with_buffers(torch))
    with pytest.raises(AttributeError) as got:
        call(_with_buffers(mg))
    assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------------------------
# nn.utils: vectors and clipping
# ---------------------------------------------------------------------------------------------


def test_parameters_to_vector_and_back():
    t = torch.nn.Linear(3, 2).double()
    m = mg.nn.Linear(3, 2).double()
    m.load_state_dict(t.state_dict())
    tv = torch.nn.utils.parameters_to_vector(t.parameters())
    mv = mg.nn.utils.parameters_to_vector(m.parameters())
    np.testing.assert_array_equal(mv.numpy(), tv.detach().numpy())
    # differentiable, as torch.cat of views
    (tv * tv).sum().backward()
    (mv * mv).sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy(), t.weight.grad.numpy())
    new = np.arange(8, dtype=np.float64)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), t.parameters())
    mg.nn.utils.vector_to_parameters(mg.tensor(new), m.parameters())
    np.testing.assert_array_equal(m.weight.numpy(), t.weight.detach().numpy())
    np.testing.assert_array_equal(m.bias.numpy(), t.bias.detach().numpy())
    with pytest.raises(TypeError):
        mg.nn.utils.vector_to_parameters(new, m.parameters())
    with pytest.raises(RuntimeError, match=r"\(5,\)"):
        mg.nn.utils.vector_to_parameters(mg.tensor(new[:5]), m.parameters())


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_and_value(norm_type):
    results = []
    for lib in (mg, torch):
        net = lib.nn.Linear(3, 2).double()
        with (mg.no_grad() if lib is mg else torch.no_grad()):
            for p, values in zip(net.parameters(), (np.arange(6.0).reshape(2, 3), [1.0, -2.0])):
                p.copy_(lib.tensor(np.asarray(values)))
        net(lib.ones(4, 3, dtype=lib.float64)).pow(2).sum().backward()
        total = lib.nn.utils.clip_grad_norm_(net.parameters(), 5.0, norm_type)
        clipped = [p.grad.numpy().copy() for p in net.parameters()]
        lib.nn.utils.clip_grad_value_(net.parameters(), 0.5)
        results.append((float(total), clipped, [p.grad.numpy().copy() for p in net.parameters()]))
    (mt, mc, mv), (tt, tc, tv) = results
    assert mt == pytest.approx(tt, rel=1e-12)
    for a, b in zip(mc + mv, tc + tv):
        np.testing.assert_allclose(a, b, rtol=1e-12)
