"""PyTorch's autograd semantics, each scenario written once and run on torch and on minigrad.

A scenario is a function ``scenario(lib)`` using only the PyTorch API; the test runs it with
``lib=torch`` and ``lib=minigrad`` and compares what it returns (numbers, shapes, flags, the
exception type and the key phrase of its message).
"""
import gc
import threading
import tracemalloc
import warnings

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


def both(scenario):
    """Run ``scenario`` on both libraries; return (torch result, minigrad result)."""
    return scenario(torch), scenario(mg)


def values(x):
    """Numbers of whatever a scenario returns, for comparison across libraries."""
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, (tuple, list)):
        return [values(v) for v in x]
    if isinstance(x, dict):
        return {k: values(v) for k, v in x.items()}
    if hasattr(x, "detach"):
        return np.asarray(x.detach().numpy(), dtype=np.float64).round(10).tolist()
    return x


def _close(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return bool(np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    return a == b and type(a) is type(b)


def assert_same(scenario):
    expected, actual = both(scenario)
    expected, actual = values(expected), values(actual)
    assert _close(actual, expected), f"minigrad {actual} != torch {expected}"


def raises_alike(scenario, match):
    """Both libraries raise the same exception type, and minigrad's message contains
    ``match`` (a phrase of PyTorch's message)."""
    kinds = []
    for lib in (torch, mg):
        with pytest.raises(Exception) as info:
            scenario(lib)
        kinds.append(info)
    assert isinstance(kinds[1].value, type(kinds[0].value)), \
        f"torch raised {type(kinds[0].value).__name__}, minigrad {type(kinds[1].value).__name__}"
    assert match in str(kinds[1].value), str(kinds[1].value)


def leaf(lib, values, dtype="float64"):
    return lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)


# ---------------------------------------------------------------------------------------------
# .data
# ---------------------------------------------------------------------------------------------


def test_data_is_an_untracked_tensor_sharing_storage():
    def scenario(lib):
        p = leaf(lib, [1.0, 2.0])
        d = p.data
        flags = [isinstance(d, lib.Tensor), d.requires_grad, d.grad_fn is None]
        d[0] = 5.0  # writes through to p
        (p * p).sum().backward()
        p.data -= 0.5 * p.grad  # the classic manual SGD step, not recorded
        p.data.mul_(2.0)
        return flags, p, p.grad, p.requires_grad, p.is_leaf, p.data.numpy().tolist()

    assert_same(scenario)


def test_data_changes_are_not_seen_by_the_version_check():
    def scenario(lib):
        x = leaf(lib, [1.0, 2.0])
        y = (x * x).sum()
        x.data.add_(1.0)  # as torch: not tracked, so backward uses the new values silently
        y.backward()
        return x.grad

    assert_same(scenario)


def test_data_assignment_swaps_the_storage():
    def scenario(lib):
        p = leaf(lib, [1.0, 2.0])
        p.data = lib.tensor([3.0, 4.0, 5.0], dtype=lib.float64)
        (p * 2).sum().backward()
        return p, p.grad, p.shape

    assert_same(scenario)


# ---------------------------------------------------------------------------------------------
# autograd.grad and backward
# ---------------------------------------------------------------------------------------------


def test_grad_returns_gradients_without_touching_dot_grad():
    def scenario(lib):
        x, w = leaf(lib, [1.0, -2.0, 3.0]), leaf(lib, [0.5, 0.25, -1.0])
        y = (x * w).exp().sum() + (x ** 3).sum()
        gx, gw = lib.autograd.grad(y, (x, w))
        return gx, gw, x.grad is None, w.grad is None

    assert_same(scenario)


def test_grad_with_grad_outputs_several_outputs_and_a_non_leaf_input():
    def scenario(lib):
        x = leaf(lib, [[1.0, 2.0], [3.0, -1.0]])
        h = x.sigmoid()
        a, b = h * 3, (h * x).sum(1)
        ga, = lib.autograd.grad([a, b], [h], [lib.ones_like(a), lib.tensor([1.0, -2.0],
                                                                           dtype=lib.float64)])
        return ga

    assert_same(scenario)


def test_second_and_third_derivatives_with_create_graph():
    def scenario(lib):
        x = leaf(lib, [0.5, -1.5, 2.0])
        y = (x.tanh() * x.exp() + x ** 3 / (1 + x * x)).sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        h, = lib.autograd.grad(g.sum(), x, create_graph=True)
        t, = lib.autograd.grad(h.sum(), x)
        return g, h, t, g.requires_grad

    assert_same(scenario)


def test_backward_create_graph_then_differentiate_the_grad():
    def scenario(lib):
        x = leaf(lib, [1.0, 2.0])
        (x.pow(3).sum()).backward(create_graph=True)
        first = x.grad.clone()
        x.grad.sum().backward()  # d/dx sum(3x^2) = 6x, accumulated onto 3x^2
        return first, x.grad, first.requires_grad

    assert_same(scenario)


def test_gradient_penalty_reaches_the_weights():
    """The WGAN-GP pattern: the norm of d(out)/d(input), differentiated w.r.t. the weights."""
    def scenario(lib):
        lib.manual_seed(0)
        w = leaf(lib, [[0.5, -1.0, 0.25], [1.5, 0.5, -0.5]])
        b = leaf(lib, [0.1, -0.2])
        x = leaf(lib, [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
        out = (lib.nn.functional.linear(x, w, b).tanh() ** 2).sum()
        g, = lib.autograd.grad(out, x, create_graph=True)
        penalty = ((g.norm(2, dim=1) - 1) ** 2).mean() if hasattr(g, "norm") else \
            (((g * g).sum(1).sqrt() - 1) ** 2).mean()
        penalty.backward()
        return w.grad, b.grad

    assert_same(scenario)


def test_allow_unused_and_materialize_grads():
    def scenario(lib):
        x, z = leaf(lib, [1.0]), leaf(lib, [2.0])
        y = (x * 3).sum()
        return (lib.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True),
                lib.autograd.grad(y, [x, z], materialize_grads=True))

    assert_same(scenario)
    raises_alike(lambda lib: lib.autograd.grad((leaf(lib, [1.0]) * 2).sum(),
                                               [leaf(lib, [1.0])]),
                 "appears to not have been used in the graph")


def test_grad_errors():
    raises_alike(lambda lib: lib.autograd.grad(lib.ones(2).sum(), [leaf(lib, [1.0])]),
                 "does not require grad")
    raises_alike(lambda lib: lib.autograd.grad((leaf(lib, [1.0]) * 2).sum(), [lib.ones(1)]),
                 "does not require grad")
    raises_alike(lambda lib: (leaf(lib, [1.0, 2.0]) * 2).backward(), "scalar outputs")
    raises_alike(lambda lib: (leaf(lib, [1.0, 2.0]) * 2).backward(lib.ones(3)),
                 "Mismatch in shape")


def test_backward_with_inputs_accumulates_only_into_them():
    def scenario(lib):
        x, w = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, -1.0])
        h = x * w
        h.retain_grad()
        y = (h * h).sum()
        y.backward(inputs=[w], retain_graph=True)
        first = (x.grad, w.grad.clone())
        lib.autograd.backward([y], inputs=[h, x])  # a non-leaf input gets .grad too
        return first, x.grad, w.grad, h.grad

    assert_same(scenario)


def test_autograd_backward_of_several_tensors():
    def scenario(lib):
        x = leaf(lib, [1.0, 2.0, 3.0])
        a, b = x * 2, (x ** 2).sum()
        lib.autograd.backward([a, b], [lib.tensor([1.0, 0.0, -1.0], dtype=lib.float64), None])
        return x.grad

    assert_same(scenario)


# ---------------------------------------------------------------------------------------------
# retain_graph and memory
# ---------------------------------------------------------------------------------------------


def test_second_backward_through_a_freed_graph_raises():
    raises_alike(lambda lib: [y.backward() for y in [(leaf(lib, [1.0]).exp() * 2).sum()] * 2],
                 "backward through the graph a second time")


def test_retain_graph_allows_a_second_backward_and_nodes_without_saved_values_stay_usable():
    def scenario(lib):
        x = leaf(lib, [1.0, -2.0])
        y = (x.exp() * 2).sum()
        y.backward(retain_graph=True)
        y.backward()
        z = (x + 1).sum()  # add and sum save nothing: torch allows a second pass
        z.backward()
        z.backward()
        return x.grad

    assert_same(scenario)


def test_keeping_every_loss_in_a_list_keeps_only_the_graph_structure():
    """The classic mistake of ``losses.append(loss)``: after backward the graph's saved
    activations are freed (as in PyTorch), so each kept loss costs little memory."""
    rng = np.random.default_rng(0)
    model = mg.nn.Sequential(mg.nn.Linear(64, 256), mg.nn.ReLU(), mg.nn.Linear(256, 1))
    x = mg.tensor(rng.standard_normal((128, 64)), dtype=mg.float32)
    y = mg.tensor(rng.standard_normal((128, 1)), dtype=mg.float32)
    losses = []

    def step():
        model.zero_grad()
        loss = mg.nn.functional.mse_loss(model(x), y)
        loss.backward()
        losses.append(loss)

    for _ in range(3):
        step()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            step()
        gc.collect()
        per_step = (tracemalloc.get_traced_memory()[0] - before) / 20
    finally:
        tracemalloc.stop()
    activations = 128 * 256 * 4 * 2  # two (128, 256) float32 arrays per step, if kept
    assert per_step < 40_000 < activations, per_step


# ---------------------------------------------------------------------------------------------
# In-place operations and version counters
# ---------------------------------------------------------------------------------------------


def test_accumulating_a_loss_in_place_keeps_the_graph():
    def scenario(lib):
        w = leaf(lib, [0.5, -1.0])
        total = 0
        for k in range(3):
            loss = (w * (k + 1)).pow(2).sum()
            total += loss  # total becomes a tensor with history
        total.backward()
        return total, w.grad

    assert_same(scenario)


def test_in_place_add_of_a_tensor_that_requires_grad_makes_the_target_require_grad():
    def scenario(lib):
        a = lib.zeros(2, dtype=lib.float64)
        b = leaf(lib, [1.0, 2.0])
        a += b * 3
        flags = [a.requires_grad, a.is_leaf]
        a.sum().backward()
        return flags, b.grad

    assert_same(scenario)


def test_setitem_records_the_value_and_the_overwritten_part():
    def scenario(lib):
        x = leaf(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        v = leaf(lib, [10.0, 20.0])
        c = x * 2
        c[:, 1] = v
        c[0, 0] = v[1] * 3
        (c * lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=lib.float64)).sum().backward()
        return c, x.grad, v.grad

    assert_same(scenario)


def test_setitem_into_a_buffer_that_needs_no_grad():
    def scenario(lib):
        w = leaf(lib, [1.5, -0.5])
        out = lib.zeros(3, 2, dtype=lib.float64)
        for i in range(3):
            out[i] = w * (i + 1)
        (out ** 2).sum().backward()
        return out, w.grad, out.requires_grad

    assert_same(scenario)


def test_in_place_ops_on_non_leaves_are_recorded():
    def scenario(lib):
        x = leaf(lib, [0.5, -1.0, 2.0])
        y = x * 1.0
        y.mul_(x).add_(2.0).relu_()
        z = x * 3.0
        z.sub_(x, alpha=2.0).div_(3.0).pow_(2).exp_()
        (y.sum() + z.sum()).backward()
        return y, z, x.grad

    assert_same(scenario)


def test_in_place_through_a_view_rewrites_the_base_history():
    def scenario(lib):
        x = leaf(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        y = x * 1.0
        row = y[1]
        row.mul_(10)
        y.view(-1)[0:2].add_(x[0, :2] * x[0, :2])
        col = y.t()[2]
        col.copy_(x[:, 0] * 7)
        (y * y).sum().backward()
        return y, x.grad

    assert_same(scenario)


def test_in_place_on_a_leaf_that_requires_grad_raises():
    raises_alike(lambda lib: leaf(lib, [1.0]).add_(1), "leaf Variable that requires grad")
    raises_alike(lambda lib: leaf(lib, [1.0, 2.0])[0].mul_(2),
                 "view of a leaf Variable that requires grad")

    def under_no_grad(lib):
        w = leaf(lib, [1.0, 2.0])
        with lib.no_grad():
            w.mul_(3)  # allowed: the usual weight update
        return w, w.requires_grad, w.is_leaf

    assert_same(under_no_grad)


def test_changing_a_saved_tensor_in_place_fails_at_backward():
    def output_saved(lib):
        x = leaf(lib, [0.5, -1.0])
        y = x.sigmoid()  # sigmoid's backward reads its output
        y.mul_(2)
        y.sum().backward()

    raises_alike(output_saved, "modified by an inplace operation")

    def input_saved(lib):
        x = leaf(lib, [0.5, -1.0])
        a = x * 2
        b = a * a  # mul saves its inputs
        a.add_(1)
        b.sum().backward()

    raises_alike(input_saved, "modified by an inplace operation")

    def through_detach(lib):
        x = leaf(lib, [0.5, -1.0])
        y = x.exp()
        y.detach().zero_()  # detach() shares the version counter
        y.sum().backward()

    raises_alike(through_detach, "modified by an inplace operation")


def test_changing_an_input_that_was_not_saved_is_fine():
    def scenario(lib):
        x = leaf(lib, [0.5, -1.0])
        a = x * 2
        b = a + 1  # add saves nothing
        a.mul_(5)
        b.sum().backward()
        return x.grad, a

    assert_same(scenario)


def test_version_counter_counts_in_place_changes_of_the_memory():
    def scenario(lib):
        x = lib.zeros(3)
        v0 = x._version
        x.add_(1)
        x[0] = 5
        view = x[1:]
        view.mul_(2)
        return v0, x._version, view._version

    assert_same(scenario)


def test_optimizer_step_between_forward_and_backward_is_caught():
    """The GAN-training mistake: stepping the weights a retained graph saved."""
    def scenario(lib):
        w = leaf(lib, [1.0, 2.0])
        opt = lib.optim.SGD([w], lr=0.1)
        loss = (w * w).sum()
        loss.backward(retain_graph=True)
        opt.step()
        loss.backward()

    raises_alike(scenario, "modified by an inplace operation")


# ---------------------------------------------------------------------------------------------
# Hooks and retain_grad
# ---------------------------------------------------------------------------------------------


def test_tensor_hooks_see_and_replace_gradients_and_can_be_removed():
    def scenario(lib):
        seen = []
        x = leaf(lib, [1.0, 2.0])
        h = x * 3
        handle = h.register_hook(lambda g: seen.append(g.clone()) or g * 10)
        x.register_hook(lambda g: g + 1)
        (h * h).sum().backward()
        first = x.grad.clone()
        handle.remove()
        x.grad = None
        (x * 3).sum().backward()
        return seen, first, x.grad

    assert_same(scenario)


def test_hook_changing_the_shape_raises():
    def scenario(lib):
        x = leaf(lib, [1.0, 2.0])
        y = x * 2
        y.register_hook(lambda g: g.sum())
        y.sum().backward()

    raises_alike(scenario, "hook")
    raises_alike(lambda lib: lib.ones(2).register_hook(lambda g: g),
                 "cannot register a hook on a tensor that doesn't require gradient")


def test_retain_grad_keeps_and_accumulates_a_non_leaf_gradient():
    def scenario(lib):
        x = leaf(lib, [1.0, -2.0])
        h = x.exp()
        h.retain_grad()
        y = (h * h).sum()
        y.backward(retain_graph=True)
        first = h.grad.clone()
        y.backward()
        return first, h.grad, h.retains_grad, x.retains_grad

    assert_same(scenario)


def test_post_accumulate_grad_hook_sees_the_accumulated_gradient():
    def scenario(lib):
        seen = []
        x = leaf(lib, [1.0, 2.0])
        x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
        (x * x).sum().backward()
        (x * 3).sum().backward()
        return seen

    assert_same(scenario)


def test_node_hooks_on_grad_fn():
    def scenario(lib):
        seen = []
        x = leaf(lib, [1.0, 2.0])
        y = x * x
        y.grad_fn.register_prehook(lambda grad_outputs: seen.append(grad_outputs[0].clone()))
        y.grad_fn.register_hook(lambda grad_inputs, grad_outputs:
                                (grad_inputs[0] * 2,) if len(grad_inputs) == 1 else
                                (grad_inputs[0] * 2, grad_inputs[1] * 2))
        y.sum().backward()
        return seen, x.grad

    assert_same(scenario)


def test_module_hooks_run_in_pytorch_order_with_pytorch_arguments():
    def scenario(lib):
        log = []
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            m.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3) / 10, dtype=lib.float64))
            m.bias.fill_(0.1)
        m.register_forward_pre_hook(lambda mod, args: log.append(("pre", list(args[0].shape))))
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,), prepend=True)
        m.register_forward_hook(lambda mod, args, out: out + 1)
        m.register_forward_hook(lambda mod, args, out: log.append(("fwd", out.clone())))
        m.register_full_backward_pre_hook(lambda mod, gout: log.append(("bpre", gout[0].clone())))
        m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0.5,))
        m.register_full_backward_hook(lambda mod, gin, gout: log.append(("bwd", gin[0].clone(),
                                                                         gout[0].clone())))
        x = leaf(lib, [[1.0, 2.0, 3.0]])
        (m(x) * 2).sum().backward()
        return log, x.grad, m.weight.grad

    assert_same(scenario)


# ---------------------------------------------------------------------------------------------
# Custom Functions (the same class body on both libraries)
# ---------------------------------------------------------------------------------------------


def make_functions(lib):
    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y

    class ScaledSplit(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, flag):
            ctx.scale = scale
            ctx.save_for_backward(x)
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            return x * scale, x * x, idx

        @staticmethod
        def backward(ctx, g_scaled, g_square, g_idx):
            x, = ctx.saved_tensors
            return g_scaled * ctx.scale + g_square * 2 * x, None, None

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x ** 2

    class OnceCube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x ** 2

    class WrongCount(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return grad

    class WrongShape(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.sum(0, keepdim=True).expand(3, 2)

    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class NoMaterialize(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return (g1 * 2 if g1 is not None else 0) + (g2 * 3 if g2 is not None else 0)

    return locals()


def test_custom_function_forward_backward_and_names():
    def scenario(lib):
        f = make_functions(lib)
        x = leaf(lib, [0.5, -1.0])
        y = f["Exp"].apply(x)
        y.sum().backward()
        return y, x.grad, type(y.grad_fn).__name__, y.requires_grad

    assert_same(scenario)


def test_custom_function_with_several_outputs_and_non_differentiable_ones():
    def scenario(lib):
        f = make_functions(lib)
        x = leaf(lib, [0.5, 2.0, -1.0])
        scaled, square, idx = f["ScaledSplit"].apply(x, 3.0, True)
        (scaled.sum() * 2).backward()
        return scaled, square, idx.requires_grad, x.grad

    assert_same(scenario)


def test_custom_function_double_backward_and_gradgradcheck():
    def scenario(lib):
        f = make_functions(lib)
        x = leaf(lib, [0.5, -1.5])
        y = f["Cube"].apply(x).sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        h, = lib.autograd.grad(g.sum(), x)
        ok = (lib.autograd.gradcheck(f["Cube"].apply, (x,)),
              lib.autograd.gradgradcheck(f["Cube"].apply, (x,)))
        return g, h, ok

    assert_same(scenario)


def test_once_differentiable_refuses_a_second_derivative():
    def scenario(lib):
        f = make_functions(lib)
        x = leaf(lib, [0.5, -1.5])
        # the gradient reaching OnceCube's backward requires grad (it is x), so its result
        # is marked as not differentiable again
        g, = lib.autograd.grad((f["OnceCube"].apply(x) * x).sum(), x, create_graph=True)
        g.sum().backward()  # (autograd.grad would skip that branch: it reaches no input)

    raises_alike(scenario, "once_differentiable")


def test_custom_function_errors_name_the_function():
    def wrong_count(lib):
        f = make_functions(lib)
        f["WrongCount"].apply(leaf(lib, [1.0]), leaf(lib, [2.0])).sum().backward()

    raises_alike(wrong_count, "WrongCountBackward returned an incorrect number of gradients")

    def wrong_shape(lib):
        f = make_functions(lib)
        f["WrongShape"].apply(leaf(lib, [[1.0, 2.0], [3.0, 4.0]])).sum().backward()

    raises_alike(wrong_shape, "WrongShapeBackward returned an invalid gradient at index 0")

    def saved_after_free(lib):
        f = make_functions(lib)
        y = f["Exp"].apply(leaf(lib, [1.0]))
        y.sum().backward()
        return y.grad_fn.saved_tensors

    raises_alike(saved_after_free, "after they have already been freed")


def test_custom_function_mark_dirty_and_materialize_grads():
    def scenario(lib):
        f = make_functions(lib)
        x = leaf(lib, [1.0, 2.0])
        a = x * 1
        out = f["Double"].apply(a)
        (out * out).sum().backward()
        y = leaf(lib, [1.0, 2.0])
        p, _ = f["NoMaterialize"].apply(y)
        p.sum().backward()
        return out is a, x.grad, y.grad

    assert_same(scenario)


# ---------------------------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------------------------


def test_grad_mode_is_thread_local():
    def scenario(lib):
        results = {}
        inside = threading.Event()
        release = threading.Event()

        def worker():
            with lib.no_grad():
                inside.set()
                release.wait(5)
                results["worker"] = lib.is_grad_enabled()

        thread = threading.Thread(target=worker)
        thread.start()
        inside.wait(5)
        x = leaf(lib, [1.0])
        results["main"] = (x * 2).requires_grad
        release.set()
        thread.join(5)
        return results

    assert_same(scenario)


def test_grad_mode_context_managers_and_decorators():
    def scenario(lib):
        x = leaf(lib, [1.0])
        out = {}
        with lib.no_grad():
            out["no_grad"] = (x * 2).requires_grad
            with lib.enable_grad():
                out["enable_inside"] = (x * 2).requires_grad
        with lib.set_grad_enabled(False):
            out["set_false"] = (x * 2).requires_grad
        out["after"] = (x * 2).requires_grad

        @lib.no_grad()
        def f():
            return (x * 2).requires_grad

        @lib.no_grad
        def f_bare():
            return (x * 2).requires_grad

        @lib.set_grad_enabled(False)
        def f_set():
            return (x * 2).requires_grad

        @lib.no_grad()
        def gen():
            for _ in range(2):
                yield (x * 2).requires_grad

        out["decorated"] = (f(), f_bare(), f_set(), lib.is_grad_enabled())
        g = gen()
        out["generator"] = (next(g), lib.is_grad_enabled(), next(g), lib.is_grad_enabled())
        lib.set_grad_enabled(False)
        out["function_form"] = lib.is_grad_enabled()
        lib.set_grad_enabled(True)
        with lib.inference_mode():
            out["inference"] = ((x * 2).requires_grad, lib.is_inference_mode_enabled())

        @lib.inference_mode()
        def f_inf():
            return (x * 2).requires_grad

        out["inference_decorated"] = f_inf()
        return out

    assert_same(scenario)


# ---------------------------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------------------------


def test_anomaly_detection_names_the_op_and_the_line_that_made_it():
    def scenario(lib):
        x = leaf(lib, [0.0, 1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly():
                y = x.sqrt()  # the culprit: d sqrt/dx = inf at 0, and 0 * inf = nan
                (y * 0).sum().backward()

    raises_alike(scenario, "SqrtBackward0")
    with pytest.raises(RuntimeError) as info:
        scenario(mg)
    assert "returned nan values" in str(info.value)
    assert "y = x.sqrt()  # the culprit" in str(info.value)  # where the op was created


def test_set_detect_anomaly_switches_on_and_off():
    mg.autograd.set_detect_anomaly(True)
    try:
        assert mg.autograd.is_anomaly_enabled()
        x = leaf(mg, [0.0])
        with pytest.raises(RuntimeError, match="returned nan values"):
            (x.sqrt() * 0).sum().backward()
    finally:
        mg.autograd.set_detect_anomaly(False)
    x = leaf(mg, [0.0])
    (x.sqrt() * 0).sum().backward()  # off again: the NaN goes through, as in torch
    assert np.isnan(x.grad.numpy()).all()


# ---------------------------------------------------------------------------------------------
# Small semantics
# ---------------------------------------------------------------------------------------------


def test_grad_attribute_semantics():
    def scenario(lib):
        x = leaf(lib, [1.0, 2.0])
        (x * 2).sum().backward()
        before = x.grad.clone()
        del x.grad
        after_del = x.grad
        x.grad = lib.ones(2, dtype=lib.float64)
        (x * 2).sum().backward()
        return before, after_del, x.grad

    assert_same(scenario)
    raises_alike(lambda lib: setattr(leaf(lib, [1.0, 2.0]), "grad", lib.ones(3)),
                 "assigned grad has data of a different size")

    for lib in (torch, mg):
        y = leaf(lib, [1.0]) * 2
        with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
            assert y.grad is None


def test_requires_grad_flag_rules():
    raises_alike(lambda lib: lib.tensor([1, 2]).requires_grad_(), "floating point")
    raises_alike(lambda lib: (leaf(lib, [1.0]) * 2).requires_grad_(False),
                 "requires_grad flags of leaf variables")

    def scenario(lib):
        y = leaf(lib, [1.0]) * 2
        d = y.detach()
        return d.requires_grad, d.is_leaf, y.is_leaf, lib.autograd.Variable(y).requires_grad

    assert_same(scenario)


# ---------------------------------------------------------------------------------------------
# autograd.functional
# ---------------------------------------------------------------------------------------------


def _f(x, y):
    return (x.tanh() * y).sum(), x * y.exp()


def test_functional_jacobian_hessian_and_products():
    def scenario(lib):
        x = lib.tensor([0.5, -1.0], dtype=lib.float64)
        y = lib.tensor([2.0, 0.25], dtype=lib.float64)
        F = lib.autograd.functional
        v = lib.tensor([1.0, -2.0], dtype=lib.float64)
        return {
            "jacobian": F.jacobian(lambda a, b: _f(a, b)[1], (x, y)),
            "jacobian_single": F.jacobian(lambda a: a.exp() * a, x),
            "hessian": F.hessian(lambda a: (a ** 3).sum() * (a * a.exp()).sum(), x),
            "hessian_tuple": F.hessian(lambda a, b: _f(a, b)[0], (x, y)),
            "vjp": F.vjp(lambda a: a.exp() * a, x, v),
            "jvp": F.jvp(lambda a: a.exp() * a, x, v),
            "hvp": F.hvp(lambda a: (a ** 3).sum(), x, v),
            "vhp": F.vhp(lambda a: (a.exp() * a).sum(), x, v),
        }

    assert_same(scenario)
    raises_alike(lambda lib: lib.autograd.functional.jacobian(
        lambda a: lib.ones(2) * 2, lib.ones(2), strict=True), "strict mode")
    raises_alike(lambda lib: lib.autograd.functional.vjp(
        lambda a, b: a * 2, (lib.ones(2), lib.ones(2)), lib.ones(2), strict=True),
        "independent of input 1")


def test_next_functions_reach_one_accumulator_per_leaf():
    torch = pytest.importorskip("torch")

    def accumulators(fn):  # every AccumulateGrad below fn (graphs differ: torch uses addmm)
        found, stack = [], [fn]
        while stack:
            for node, _ in stack.pop().next_functions:
                if node is None:
                    continue
                (found if node.name().endswith("AccumulateGrad") else stack).append(node)
        return found

    for lib in (torch, mg):
        lin = lib.nn.Linear(2, 3)
        out = lin(lib.ones(4, 2))
        first, again = accumulators(out.grad_fn), accumulators(out.grad_fn)
        assert len(first) == 2 and all(a is b for a, b in zip(first, again))
        assert {id(node.variable) for node in first} == {id(lin.weight), id(lin.bias)}
