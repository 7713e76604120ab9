"""Lowered tape entries for ``mg.compile``: the common ops without their node objects.

A recorded forward entry calls ``node.forward`` (which saves its inputs on the node) and a
backward entry calls ``node.backward(grad, K)`` (which reads them back). For the ops of a
typical training step the tape knows everything those methods compute from: which slots hold
the saved inputs and outputs, and the constants (``needs_input_grad``, a loss' scale, a
reduction's axes). The entries here call the very kernels the op's methods call, with the same
arguments in the same order, straight on the slots: no node, no attribute traffic, the same
bits. Calls of the recorded optimizer steps and ``zero_grad`` are lowered the same way: the
optimizer's loop without its hook wrapper, reading the learning rate and every other
hyper-parameter live from ``param_groups`` at each replay.

Every lowered entry is a closure ``run(slots)``; the kernels are looked up in ``K`` at each
call, so switching the kernel backend (``_kernels.use``) after recording takes effect.
"""
from __future__ import annotations

import numpy as np

from ._kernels import kernels as K
from .autograd import graph
from .nn.losses.pointwise import MSEFused
from .ops import elementwise as _elementwise
from .ops import nn as _nn_ops
from .ops import reduce as _reduce
from .optim import adam as _adam
from .optim import optimizer as _optimizer
from .optim import sgd as _sgd

__all__ = ["lower_backward", "lower_call", "lower_forward", "source"]


def source(run, *lines, **constants):
    """Attach to entry ``run`` the Python source of its body, for the tape's generated replay
    function (``_compile.Tape``): ``lines`` read the slots as ``s[i]`` and the kernels as
    ``K.name``; ``{name}`` stands for ``constants[name]`` (bound by the generator)."""
    run.lines = lines
    run.constants = constants
    return run


# ---------------------------------------------------------------------------------------------
# Forward entries. ``lower_forward`` returns (entry, saved) or None; ``saved`` is what the
# backward entry needs (slots and constants), kept by the recorder under the node's id.
# ---------------------------------------------------------------------------------------------


def lower_forward(recorder, node, arg_slots, options, out):
    cls = type(node)
    maker = _FORWARD.get(cls)
    if maker is None:
        return None
    return maker(recorder, node, arg_slots, options, out)


def _linear_forward(recorder, node, arg_slots, options, out):
    if options or len(arg_slots) != 3 or recorder.slots[arg_slots[0]].ndim != 2:
        return None  # the reshaping path of Linear.forward stays with the node
    x, w, b = arg_slots

    def run(slots):
        slots[out] = K.linear_forward(slots[x], slots[w], slots[b])
    return source(run, f"s[{out}] = K.linear_forward(s[{x}], s[{w}], s[{b}])"), (x, w)


def _linear_activation_forward(recorder, node, arg_slots, options, out):
    if options or len(arg_slots) != 3 or recorder.slots[arg_slots[0]].ndim != 2:
        return None
    x, w, b = arg_slots
    act = node.activation
    if act == "relu":
        def run(slots):
            slots[out] = K.linear_relu(slots[x], slots[w], slots[b])
        source(run, f"s[{out}] = K.linear_relu(s[{x}], s[{w}], s[{b}])")
    else:
        def run(slots):
            slots[out] = getattr(K, act)(K.linear_forward(slots[x], slots[w], slots[b]))
        source(run, f"s[{out}] = K.{act}(K.linear_forward(s[{x}], s[{w}], s[{b}]))")
    return run, (x, w, out)


def _unary_forward(kernel_name, floating):
    convert = _elementwise._floating if floating else None

    def make(recorder, node, arg_slots, options, out):
        if options or len(arg_slots) != 1:
            return None
        x, = arg_slots
        if convert is None:
            def run(slots):
                slots[out] = getattr(K, kernel_name)(slots[x])
            source(run, f"s[{out}] = K.{kernel_name}(s[{x}])")
        else:
            def run(slots):
                slots[out] = getattr(K, kernel_name)(convert(slots[x]))
            source(run, f"s[{out}] = K.{kernel_name}({{convert}}(s[{x}]))", convert=convert)
        return run, (x, out)
    return make


def _binary_forward(kernel_name):
    def make(recorder, node, arg_slots, options, out):
        if options or len(arg_slots) != 2:
            return None
        a, b = arg_slots

        def run(slots):
            slots[out] = getattr(K, kernel_name)(slots[a], slots[b])
        return source(run, f"s[{out}] = K.{kernel_name}(s[{a}], s[{b}])"), (a, b)
    return make


def _mse_forward(recorder, node, arg_slots, options, out):
    if options or len(arg_slots) != 2:
        return None
    x, y = arg_slots
    scale = node.scale   # 1/n (n fixed by the guarded shapes) or 1.0 for the sum
    mean = node.mean
    twice_diff = recorder.new_internal_slot(node.twice_diff)

    def run(slots):
        a = slots[x]
        total, slots[twice_diff] = K.mse_loss(a, slots[y])
        slots[out] = np.asarray(total * scale if mean else total, dtype=a.dtype)
    source(run, f"total, s[{twice_diff}] = K.mse_loss(s[{x}], s[{y}])",
           f"s[{out}] = {{asarray}}({'total * {scale}' if mean else 'total'}, "
           f"dtype=s[{x}].dtype)", asarray=np.asarray, scale=scale)
    return run, (twice_diff, scale)


def _reduction_forward(mean):
    def make(recorder, node, arg_slots, options, out):
        if len(arg_slots) != 1:
            return None
        x, = arg_slots
        axis = options.get("axis")
        keepdims = options.get("keepdims", False)
        if set(options) - {"axis", "keepdims"}:
            return None
        array = recorder.slots[x]
        if mean:
            count = _reduce.reduced_count(array.shape, axis)
            if count == 0:
                return None
            run = _mean_run(x, out, axis, keepdims)
            return run, (array.shape, axis, keepdims, 1.0 / count)
        if axis is None and array.dtype.kind == "f":
            reshape = (1,) * array.ndim if keepdims else None

            def run(slots):
                value = K.sum_all(slots[x])
                slots[out] = value if reshape is None else value.reshape(reshape)
            source(run, f"s[{out}] = K.sum_all(s[{x}])" if reshape is None else
                   f"s[{out}] = K.sum_all(s[{x}]).reshape({{reshape}})", reshape=reshape)
        else:
            def run(slots):
                slots[out] = K.reduce_axes(slots[x], axis, "sum", keepdims)
            source(run, f"s[{out}] = K.reduce_axes(s[{x}], {{axis}}, 'sum', {{keepdims}})",
                   axis=axis, keepdims=keepdims)
        return run, (array.shape, axis, keepdims, None)
    return make


def _mean_run(x, out, axis, keepdims):
    def run(slots):
        slots[out] = K.reduce_axes(slots[x], axis, "mean", keepdims)
    return source(run, f"s[{out}] = K.reduce_axes(s[{x}], {{axis}}, 'mean', {{keepdims}})",
                  axis=axis, keepdims=keepdims)


_FORWARD = {
    _nn_ops.Linear: _linear_forward,
    _nn_ops.LinearReLU: _linear_activation_forward,
    _nn_ops.LinearSigmoid: _linear_activation_forward,
    _nn_ops.LinearTanh: _linear_activation_forward,
    _elementwise.ReLU: _unary_forward("relu", False),
    _elementwise.Sigmoid: _unary_forward("sigmoid", True),
    _elementwise.Tanh: _unary_forward("tanh", True),
    _elementwise.Add: _binary_forward("add"),
    _elementwise.Sub: _binary_forward("sub"),
    _elementwise.Mul: _binary_forward("mul"),
    MSEFused: _mse_forward,
    _reduce.Sum: _reduction_forward(False),
    _reduce.Mean: _reduction_forward(True),
}


# ---------------------------------------------------------------------------------------------
# Backward entries: ``outs`` are (index in the formula's results, slot), as for the
# node-calling entries of _compile.py.
# ---------------------------------------------------------------------------------------------


def lower_backward(node, saved, grad_slot, outs):
    maker = _BACKWARD.get(type(node))
    return None if maker is None else maker(node, saved, grad_slot, outs)


def _store(outs):
    """A function storing a tuple of gradients into the slots ``outs`` asks for."""
    if len(outs) == 1:
        (k, slot), = outs

        def store(slots, grads):
            slots[slot] = grads[k]
    else:
        def store(slots, grads):
            for k, slot in outs:
                slots[slot] = grads[k]
    return store


def _store_lines(outs):
    return tuple(f"s[{slot}] = grads[{k}]" for k, slot in outs)


def _linear_backward(node, saved, g, outs):
    x, w = saved
    need_x, need_w, need_b = node.needs_input_grad
    if len(outs) == 3:
        (_, sx), (_, sw), (_, sb) = outs

        def run(slots):
            slots[sx], slots[sw], slots[sb] = K.linear_backward(
                slots[g], slots[x], slots[w], need_x, need_w, need_b)
        return source(run, f"s[{sx}], s[{sw}], s[{sb}] = K.linear_backward(s[{g}], s[{x}], "
                      f"s[{w}], {need_x}, {need_w}, {need_b})")
    store = _store(outs)

    def run_some(slots):
        store(slots, K.linear_backward(slots[g], slots[x], slots[w], need_x, need_w, need_b))
    return source(run_some, f"grads = K.linear_backward(s[{g}], s[{x}], s[{w}], {need_x}, "
                  f"{need_w}, {need_b})", *_store_lines(outs))


def _linear_activation_backward(node, saved, g, outs):
    x, w, y = saved
    act = node.activation
    need_x, need_w, need_b = node.needs_input_grad
    store = _store(outs)

    def run(slots):
        store(slots, K.linear_act_backward(slots[g], slots[y], slots[x], slots[w], act,
                                           need_x, need_w, need_b))
    return source(run, f"grads = K.linear_act_backward(s[{g}], s[{y}], s[{x}], s[{w}], "
                  f"{act!r}, {need_x}, {need_w}, {need_b})", *_store_lines(outs))


def _activation_backward(kernel_name):
    def make(node, saved, g, outs):
        if len(outs) != 1 or outs[0][0] != 0:
            return None
        read, _ = saved   # (x, out): ReLU reads x, sigmoid and tanh their output
        if kernel_name != "relu_backward":
            read = saved[1]
        (_, slot), = outs

        def run(slots):
            slots[slot] = getattr(K, kernel_name)(slots[read], slots[g])
        return source(run, f"s[{slot}] = K.{kernel_name}(s[{read}], s[{g}])")
    return make


def _add_backward(node, saved, g, outs):
    slots_out = tuple(slot for _, slot in outs)

    def run(slots):
        grad = slots[g]
        for slot in slots_out:
            slots[slot] = grad
    return source(run, *(f"s[{slot}] = s[{g}]" for slot in slots_out))


def _sub_backward(node, saved, g, outs):
    need_b = node.needs_input_grad[1]

    def run(slots):
        grad = slots[g]
        grads = (grad, K.neg(grad) if need_b else None)
        for k, slot in outs:
            slots[slot] = grads[k]
    return source(run, f"grads = (s[{g}], K.neg(s[{g}]) if {need_b} else None)",
                  *_store_lines(outs))


def _mul_backward(node, saved, g, outs):
    a, b = saved
    need_a, need_b = node.needs_input_grad
    store = _store(outs)

    def run(slots):
        grad = slots[g]
        store(slots, (K.mul(grad, slots[b]) if need_a else None,
                      K.mul(grad, slots[a]) if need_b else None))
    return source(run, f"grads = (K.mul(s[{g}], s[{b}]) if {need_a} else None, "
                  f"K.mul(s[{g}], s[{a}]) if {need_b} else None)", *_store_lines(outs))


def _mse_backward(node, saved, g, outs):
    twice_diff, scale = saved
    need_y = node.needs_input_grad[1]
    store = _store(outs)

    def run(slots):
        grad_x = K.mul(slots[twice_diff], float(slots[g]) * scale)
        store(slots, (grad_x, K.neg(grad_x) if need_y else None))
    return source(run, f"grad_x = K.mul(s[{twice_diff}], float(s[{g}]) * {{scale}})",
                  f"grads = (grad_x, K.neg(grad_x) if {need_y} else None)",
                  *_store_lines(outs), scale=scale)


def _reduction_backward(node, saved, g, outs):
    if len(outs) != 1 or outs[0][0] != 0:
        return None
    shape, axis, keepdims, scale = saved
    (_, slot), = outs
    if scale is None:
        def run(slots):
            slots[slot] = K.sum_backward(slots[g], shape, axis, keepdims)
        return source(run, f"s[{slot}] = K.sum_backward(s[{g}], {{shape}}, {{axis}}, "
                      f"{{keepdims}})", shape=shape, axis=axis, keepdims=keepdims)
    def run(slots):
        slots[slot] = K.sum_backward(K.mul(slots[g], scale), shape, axis, keepdims)
    return source(run, f"s[{slot}] = K.sum_backward(K.mul(s[{g}], {{scale}}), {{shape}}, "
                  f"{{axis}}, {{keepdims}})", scale=scale, shape=shape, axis=axis,
                  keepdims=keepdims)


_BACKWARD = {
    _nn_ops.Linear: _linear_backward,
    _nn_ops.LinearReLU: _linear_activation_backward,
    _nn_ops.LinearSigmoid: _linear_activation_backward,
    _nn_ops.LinearTanh: _linear_activation_backward,
    _elementwise.ReLU: _activation_backward("relu_backward"),
    _elementwise.Sigmoid: _activation_backward("sigmoid_backward"),
    _elementwise.Tanh: _activation_backward("tanh_backward"),
    _elementwise.Add: _add_backward,
    _elementwise.Sub: _sub_backward,
    _elementwise.Mul: _mul_backward,
    MSEFused: _mse_backward,
    _reduce.Sum: _reduction_backward,
    _reduce.Mean: _reduction_backward,
}


# ---------------------------------------------------------------------------------------------
# Recorded calls: zero_grad and the optimizer steps
# ---------------------------------------------------------------------------------------------


def _adam_group_kernel(kernel):
    """``_compiled.adam_group_`` when ``kernel`` (the backend's ``adam_``) is the compiled one
    whose loop it shares, else None (the numpy backend: the Python loop, its twin)."""
    global _ADAM_KERNELS
    if _ADAM_KERNELS is None:
        try:
            from ._kernels import _compiled, _optim
        except ImportError:  # the compiled kernels are not built: numpy only
            _ADAM_KERNELS = (None, None)
        else:
            _ADAM_KERNELS = (_optim.adam_, _compiled.adam_group_)
    compiled_adam, group_kernel = _ADAM_KERNELS
    return group_kernel if kernel is compiled_adam and kernel is not None else None


_ADAM_KERNELS = None
# Parameters with at least this many elements go to the backend's adam_ (called from the
# group kernel): its AVX2 build beats the group kernel's baseline loop once the loop, not the
# call, dominates (measured: a 784 x 256 weight; the seed network's are under 100 elements).
_ADAM_OWN_LOOP_MAX = 1024


def _step_hooks(optimizer):
    return (optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
            or _optimizer._global_optimizer_pre_hooks
            or _optimizer._global_optimizer_post_hooks)


def lower_call(entry):
    """A lowered version of the ``_CallEntry`` ``entry``, or None."""
    if entry.tensor_args or entry.outs:
        return None
    args, kwargs = entry.args, entry.kwargs
    if not args:
        return None
    optimizer = args[0]
    cls = type(optimizer)
    function = entry.function
    if function is _optimizer.Optimizer.zero_grad.__wrapped__:
        if len(args) > 2 or set(kwargs) - {"set_to_none"} or (len(args) == 2 and kwargs):
            return None
        set_to_none = args[1] if len(args) == 2 else kwargs.get("set_to_none", True)
        if set_to_none is not True or not isinstance(optimizer, _optimizer.Optimizer) or \
                cls.zero_grad is not _optimizer.Optimizer.zero_grad:
            return None
        return _zero_grad_entry(optimizer)
    if len(args) != 1 or kwargs or function is not cls.step:
        return None
    if cls in (_adam.Adam, _adam_w()):
        return _adam_entry(optimizer, entry)
    if cls is _sgd.SGD:
        return None  # SGD keeps its recorded call (its step has several state layouts)
    return None


def _adam_w():
    from .optim.adamw import AdamW
    return AdamW


def _zero_grad_entry(optimizer):
    def run(slots):
        for group in optimizer.param_groups:
            for p in group["params"]:
                p._grad = None   # as Optimizer.zero_grad(set_to_none=True)
    return source(run, "for group in {optimizer}.param_groups:",
                  "    for p in group['params']:", "        p._grad = None",
                  optimizer=optimizer)


def _adam_entry(optimizer, generic):
    """``Adam.step`` (AdamW's is the same step) without the hook wrapper: the same loop over
    the live param_groups and state (hyper-parameters read at each replay, state made for a
    parameter that has none yet, capturable refused), then the bulk-write mark the wrapper
    makes. With step hooks registered, the recorded call (wrapper and hooks) runs instead."""
    hyperparameter = _adam._hyperparameter
    grad_array = _adam._grad_array
    refuse_capturable = _adam._refuse_capturable
    mark = graph.mark_bulk_write

    def run(slots):
        if _step_hooks(optimizer):
            return generic(slots)
        kernel = K.adam_
        state = optimizer.state
        group_kernel = _adam_group_kernel(kernel)
        for group in optimizer.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            if lr.__class__ is not float:  # a Tensor lr or beta gives its value
                lr = hyperparameter(lr)
            if beta1.__class__ is not float or beta2.__class__ is not float:
                beta1, beta2 = hyperparameter(beta1), hyperparameter(beta2)
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            params = group["params"]
            last_step = None
            if group["capturable"] and any(p._grad is not None for p in params):
                refuse_capturable()
            start = 0
            if group_kernel is not None and params.__class__ is list:
                # The same loop in one compiled call; it hands back the parameters it
                # cannot take (from index start on), which the loop below then updates.
                start = group_kernel(params, state, lr, beta1, beta2, eps, weight_decay,
                                     decoupled, amsgrad, maximize, kernel, _ADAM_OWN_LOOP_MAX)
                if start < 0:
                    continue
            for index in range(start, len(params)):
                p = params[index]
                g = p._grad
                if g is None:
                    continue
                grad = g._data
                data = p._data
                if grad.shape != data.shape:
                    grad = grad_array(p)
                param_state = state.get(p)
                if not param_state:
                    param_state = optimizer._init_state(p, group)
                step = param_state["step"] + 1.0
                param_state["step"] = step
                if step != last_step:
                    last_step = step
                    step_size = lr / (1 - beta1**step)
                    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                kernel(data, grad, param_state["exp_avg"], param_state["exp_avg_sq"],
                       param_state.get("max_exp_avg_sq"), lr, beta1, beta2, eps,
                       weight_decay, decoupled, amsgrad, maximize, step_size,
                       bias_correction2_sqrt)
        mark(optimizer)
    return run
