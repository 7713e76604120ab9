"""mg.optim.lr_scheduler's public behaviour against torch.optim.lr_scheduler 2.13: warnings,
the deprecated step(epoch), Tensor lrs, state_dict interchange, SequentialLR and
ChainedScheduler, ReduceLROnPlateau, and the exceptions for bad arguments.

Most tests run one script on both libraries (``lib`` is ``torch`` or ``minigrad``) and
compare what it returns: learning rates exactly (the same float operations in the same
order), warnings and exception messages as strings.
"""
import gc
import math
import re
import warnings
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import lr_scheduler


def _optimizer(lib, kind="sgd", lrs=(0.1, 0.03)):
    """An optimizer with one float64 parameter per group, group i at lr lrs[i]."""
    groups = [{"params": [lib.tensor([1.0], dtype=lib.float64, requires_grad=True)], "lr": lr}
              for lr in lrs]
    first = lrs[0]
    if kind == "sgd":
        return lib.optim.SGD(groups, lr=first, momentum=0.9)
    if kind == "adam":
        return lib.optim.Adam(groups, lr=first)
    return lib.optim.Adagrad(groups, lr=first)


def _on_both(script):
    """``script(lib)`` for torch and minigrad; returns (torch's result, minigrad's)."""
    torch = pytest.importorskip("torch")
    return script(torch), script(mg)


def _floats(values):
    return [float(v) for v in values]


def _warnings_of(action):
    """The messages of the warnings ``action()`` emits (every one, repeats included)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [(w.category.__name__, str(w.message)) for w in caught]


# ------------------------------------------------------------------------------------------
# Warnings
# ------------------------------------------------------------------------------------------

def _script_step_order(lib):
    """Which warnings each usage pattern produces."""
    sched_mod = lib.optim.lr_scheduler
    log = {}
    # scheduler.step() before any optimizer.step(): warns once, on the first step only.
    opt = _optimizer(lib)
    sched = sched_mod.StepLR(opt, step_size=2)
    log["early"] = _warnings_of(sched.step)
    log["early-again"] = _warnings_of(sched.step)
    # The right order: no warning.
    opt = _optimizer(lib)
    sched = sched_mod.ExponentialLR(opt, gamma=0.5)
    log["ordered"] = _warnings_of(lambda: (opt.step(), sched.step()))
    # optimizer.step() before the scheduler existed does not count.
    opt = _optimizer(lib)
    opt.step()
    sched = sched_mod.StepLR(opt, step_size=2)
    log["stepped-before-init"] = _warnings_of(sched.step)
    # optimizer.step replaced after the scheduler was built.
    opt = _optimizer(lib)
    sched = sched_mod.LinearLR(opt)
    opt.step = lambda closure=None: None
    log["overridden"] = _warnings_of(sched.step)
    # Two schedulers on one optimizer share one wrapper: one optimizer.step() serves both.
    opt = _optimizer(lib)
    first = sched_mod.ConstantLR(opt)
    second = sched_mod.ExponentialLR(opt, gamma=0.9)
    log["two"] = _warnings_of(lambda: (opt.step(), first.step(), second.step()))
    # ChainedScheduler and SequentialLR pass their sub-schedulers' warnings on.
    opt = _optimizer(lib)
    chain = sched_mod.ChainedScheduler([sched_mod.ConstantLR(opt),
                                        sched_mod.PolynomialLR(opt, total_iters=9)])
    log["chained"] = _warnings_of(chain.step)
    opt = _optimizer(lib)
    seq = sched_mod.SequentialLR(opt, [sched_mod.ConstantLR(opt),
                                       sched_mod.ExponentialLR(opt, gamma=0.9)], [3])
    log["sequential"] = _warnings_of(seq.step)
    # CosineAnnealingWarmRestarts and ReduceLROnPlateau never check the order.
    opt = _optimizer(lib)
    log["warm-restarts"] = _warnings_of(sched_mod.CosineAnnealingWarmRestarts(opt, 3).step)
    log["plateau"] = _warnings_of(lambda: sched_mod.ReduceLROnPlateau(opt).step(1.0))
    return log


def test_step_order_warnings_match_torch():
    torch_log, mg_log = _on_both(_script_step_order)
    assert mg_log == torch_log
    # What the torch run showed, spelled out (so a change in either is noticed).
    assert mg_log["early"] == [("UserWarning", lr_scheduler._STEP_ORDER_WARNING)]
    assert mg_log["early"][0][1].startswith(
        "Detected call of `lr_scheduler.step()` before `optimizer.step()`.")
    assert mg_log["early-again"] == mg_log["ordered"] == mg_log["two"] == []
    assert mg_log["stepped-before-init"] == mg_log["early"]
    assert mg_log["overridden"][0][1].startswith(
        "Seems like `optimizer.step()` has been overridden")
    assert len(mg_log["chained"]) == 2 and len(mg_log["sequential"]) == 1
    assert mg_log["warm-restarts"] == mg_log["plateau"] == []


def test_step_order_warning_without_torch():
    opt = _optimizer(mg)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler\.step\(\)` before "
                                         r"`optimizer\.step\(\)`"):
        sched.step()
    opt = _optimizer(mg)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_wrapped_optimizer_step_still_works():
    p = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt = mg.optim.SGD([p], lr=0.5)
    lr_scheduler.StepLR(opt, step_size=2)
    lr_scheduler.ExponentialLR(opt, gamma=0.5)  # a second scheduler does not wrap twice
    assert opt.step._wrapped_by_lr_sched is True
    assert opt.step.__wrapped__ is mg.optim.SGD.step
    p.grad = mg.tensor([2.0], dtype=mg.float64)
    assert opt.step(lambda: 7.0) == 7.0  # the closure's loss comes back
    np.testing.assert_array_equal(p.numpy(), [0.0])  # 1 - 0.5 * 2
    assert opt._opt_called is True


def test_wrapper_does_not_keep_the_optimizer_alive():
    opt = _optimizer(mg)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    alive = weakref.ref(opt)
    del opt, sched
    gc.collect()
    assert alive() is None


def test_get_lr_called_by_hand_warns():
    def script(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        opt.step()
        inside_step = _warnings_of(sched.step)
        lrs = []
        by_hand = _warnings_of(lambda: lrs.append(sched.get_lr()))
        return inside_step, by_hand, lrs

    (t_inside, t_hand, t_lr), (m_inside, m_hand, m_lr) = _on_both(script)
    assert m_inside == t_inside == []
    assert m_hand == t_hand == [("UserWarning", ("To get the last learning rate computed by "
                                                 "the scheduler, please use `get_last_lr()`."))]
    assert m_lr == t_lr


@pytest.mark.parametrize("name, args", [
    ("StepLR", (3,)), ("MultiStepLR", ([3],)), ("ConstantLR", ()), ("LinearLR", ()),
    ("ExponentialLR", (0.9,)), ("PolynomialLR", ()), ("CosineAnnealingLR", (5,)),
    ("LambdaLR", (abs,)), ("MultiplicativeLR", (abs,)), ("CosineAnnealingWarmRestarts", (5,)),
    ("CyclicLR", (0.01, 0.1)), ("OneCycleLR", (0.1, 10)), ("ReduceLROnPlateau", ()),
])
def test_verbose_argument_is_gone_as_in_2_13(name, args):
    # 2.13 removed the deprecated `verbose` argument: passing it is a TypeError.
    def script(lib):
        with pytest.raises(TypeError) as info:
            getattr(lib.optim.lr_scheduler, name)(_optimizer(lib), *args, verbose=True)
        return str(info.value)

    torch_message, mg_message = _on_both(script)
    assert mg_message == torch_message == (f"{name}.__init__() got an unexpected keyword "
                                           "argument 'verbose'")


# ------------------------------------------------------------------------------------------
# The deprecated step(epoch)
# ------------------------------------------------------------------------------------------

EPOCH_SCRIPT = [None, None, None, 12, 3, None, None, 20, 20, 0, None, 7, None, 33, None, 41,
                None, 2]

STEP_EPOCH_CASES = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 19], "gamma": 0.3}),
    ("ConstantLR", {"factor": 0.2, "total_iters": 6}),
    ("LinearLR", {"start_factor": 0.1, "total_iters": 9}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("PolynomialLR", {"total_iters": 25, "power": 1.5}),
    ("CosineAnnealingLR", {"T_max": 8, "eta_min": 0.002}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 1.0 / (1.0 + epoch)}),
    ("MultiplicativeLR", {"lr_lambda": lambda epoch: 0.97}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": [0.1, 0.2], "step_size_up": 3,
                  "mode": "triangular2"}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 45, "three_phase": True}),
]


@pytest.mark.parametrize("name, kwargs", STEP_EPOCH_CASES,
                         ids=[name for name, _ in STEP_EPOCH_CASES])
def test_step_with_epoch_matches_torch(name, kwargs):
    def script(lib):
        opt = _optimizer(lib)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        trace = []
        for epoch in EPOCH_SCRIPT:
            opt.step()
            caught = _warnings_of(lambda: sched.step(epoch))  # noqa: B023 (called at once)
            trace.append((sched.last_epoch, sched.get_last_lr(),
                          [g["lr"] for g in opt.param_groups],
                          [g["momentum"] for g in opt.param_groups], caught))
        return trace

    torch_trace, mg_trace = _on_both(script)
    assert mg_trace == torch_trace
    for epoch, (_, _, _, _, caught) in zip(EPOCH_SCRIPT, mg_trace):
        expected = [] if epoch is None else [("UserWarning",
                                              lr_scheduler.EPOCH_DEPRECATION_WARNING)]
        assert caught == expected


def test_step_with_epoch_warning_text():
    opt = _optimizer(mg)
    sched = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match=r"The epoch parameter in `scheduler\.step\(\)` was not "
                                         r"necessary and is being deprecated"):
        sched.step(7)
    # Closed form: 0.1 * 0.5 ** (7 // 3).
    assert sched.get_last_lr() == [0.1 * 0.5 ** 2, 0.03 * 0.5 ** 2]
    assert sched.last_epoch == 7
    assert lr_scheduler.EPOCH_DEPRECATION_WARNING.endswith(
        "https://github.com/pytorch/pytorch/issues/new/choose.")


WARM_RESTART_EPOCHS = [None, 0.5, 1.25, 2.999, 3.0, None, 7.3, 15.2, None, 0, 4, 44.5, None,
                       21, 9.75, 100.01, None, None, 2, 6.0]


@pytest.mark.parametrize("T_0, T_mult, eta_min", [(3, 1, 0.0), (3, 2, 0.001), (2, 3, 0),
                                                  (5, 2, 0.01)])
def test_warm_restarts_fractional_epochs_match_torch(T_0, T_mult, eta_min):
    def script(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult,
                                                                   eta_min=eta_min)
        trace = [(sched.T_cur, sched.T_i, sched.last_epoch, sched.get_last_lr())]
        for epoch in WARM_RESTART_EPOCHS:
            caught = _warnings_of(lambda: sched.step(epoch))  # noqa: B023 (called at once)
            trace.append((sched.T_cur, sched.T_i, sched.last_epoch, sched.get_last_lr(),
                          caught))
        # The documented per-batch pattern: step(epoch + i / iters).
        for epoch in range(3):
            for i in range(5):
                sched.step(epoch + i / 5)
                trace.append((sched.T_cur, sched.T_i, sched.get_last_lr()))
        return trace

    torch_trace, mg_trace = _on_both(script)
    assert mg_trace == torch_trace
    # step(epoch) is this scheduler's own API: no deprecation warning.
    assert all(entry[4] == [] for entry in mg_trace[1:len(WARM_RESTART_EPOCHS) + 1])


def test_warm_restarts_closed_form_by_hand():
    # T_0 = 2, T_mult = 2: periods [0, 2), [2, 6), [6, 14). Epoch 9.5 is 3.5 into the third.
    opt = _optimizer(mg, lrs=(1.0,))
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    sched.step(9.5)
    assert (sched.T_i, sched.T_cur, sched.last_epoch) == (8, 3.5, 9)
    np.testing.assert_allclose(sched.get_last_lr(), [(1 + math.cos(math.pi * 3.5 / 8)) / 2],
                               rtol=1e-15)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


# ------------------------------------------------------------------------------------------
# Tensor learning rates
# ------------------------------------------------------------------------------------------

TENSOR_LR_CASES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [4, 9]}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 4}),
    ("LinearLR", {"total_iters": 8}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("PolynomialLR", {"total_iters": 12, "power": 2.0}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.9 ** epoch}),
    ("MultiplicativeLR", {"lr_lambda": lambda epoch: 0.95}),
    ("CosineAnnealingWarmRestarts", {"T_0": 4, "T_mult": 2}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, kwargs", TENSOR_LR_CASES,
                         ids=[name for name, _ in TENSOR_LR_CASES])
def test_tensor_lr_updated_in_place_as_torch(name, kwargs, dtype):
    def script(lib):
        lr_tensors = [lib.tensor(0.1, dtype=getattr(lib, dtype)),
                      lib.tensor(0.03, dtype=getattr(lib, dtype))]
        groups = [{"params": [lib.tensor([1.0], requires_grad=True)], "lr": lr}
                  for lr in lr_tensors]
        opt = lib.optim.SGD(groups, lr=0.1, momentum=0.9)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        # initial_lr and base_lrs are copies: the scheduler never aliases the group's Tensor.
        # (CyclicLR's base_lrs are its base_lr argument.)
        assert all(b is not t for b, t in zip(sched.base_lrs, lr_tensors))
        assert all(isinstance(g["initial_lr"], lib.Tensor) and g["initial_lr"] is not t
                   for g, t in zip(opt.param_groups, lr_tensors))
        trace = []
        for _ in range(25):
            opt.step()
            sched.step()
            assert all(g["lr"] is t for g, t in zip(opt.param_groups, lr_tensors))
            last = sched.get_last_lr()
            assert all(isinstance(v, lib.Tensor) and v is not t
                       for v, t in zip(last, lr_tensors))
            trace.append((_floats(last), _floats(lr_tensors)))
        # Writing into get_last_lr()'s values leaves the optimizer alone.
        last[0].fill_(123.0)
        assert float(lr_tensors[0]) != 123.0
        return trace

    torch_trace, mg_trace = _on_both(script)
    assert mg_trace == torch_trace


def test_tensor_lr_reduce_on_plateau():
    def script(lib):
        lr = lib.tensor(0.1, dtype=lib.float64)
        opt = lib.optim.SGD([{"params": [lib.tensor([1.0], requires_grad=True)], "lr": lr}],
                            lr=0.1)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5,
                                                         min_lr=0.01)
        trace = []
        for metric in [1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]:
            sched.step(lib.tensor(metric))  # a 0-d Tensor metric
            assert opt.param_groups[0]["lr"] is lr
            trace.append((float(lr), _floats(sched.get_last_lr())))
        return trace

    torch_trace, mg_trace = _on_both(script)
    assert mg_trace == torch_trace


# ------------------------------------------------------------------------------------------
# state_dict: PyTorch's keys, interchangeable with PyTorch's
# ------------------------------------------------------------------------------------------

INTERCHANGE_CASES = [
    ("StepLR", {"step_size": 4}),
    ("MultiStepLR", {"milestones": [3, 11, 11]}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 12}),
    ("LinearLR", {"start_factor": 0.2, "total_iters": 15}),
    ("PolynomialLR", {"total_iters": 20, "power": 3.0}),
    ("CosineAnnealingLR", {"T_max": 6}),
    ("CosineAnnealingWarmRestarts", {"T_0": 4, "T_mult": 2}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "mode": "exp_range",
                  "gamma": 0.99}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 40, "anneal_strategy": "linear"}),
    ("ReduceLROnPlateau", {"patience": 1, "cooldown": 1, "mode": "max"}),
]


def _step(sched, opt, i):
    opt.step()
    if type(sched).__name__ == "ReduceLROnPlateau":
        sched.step(float(np.sin(i)))
    else:
        sched.step()


def _copy_groups(source, target):
    """Copy every group entry but the parameters (lr, momentum, initial_lr, max_lr, ...)."""
    for src, dst in zip(source.param_groups, target.param_groups):
        for key, value in src.items():
            if key != "params":
                dst[key] = value


@pytest.mark.parametrize("direction", ["torch-to-minigrad", "minigrad-to-torch"])
@pytest.mark.parametrize("name, kwargs", INTERCHANGE_CASES,
                         ids=[name for name, _ in INTERCHANGE_CASES])
def test_state_dict_interchanges_with_torch(name, kwargs, direction):
    torch = pytest.importorskip("torch")
    source_lib, target_lib = (torch, mg) if direction == "torch-to-minigrad" else (mg, torch)
    # A run that continues without interruption, on the source library...
    source_opt = _optimizer(source_lib)
    source = getattr(source_lib.optim.lr_scheduler, name)(source_opt, **kwargs)
    for i in range(9):
        _step(source, source_opt, i)
    # ... and one resumed, in the other library, from the source's state at step 9.
    target_opt = _optimizer(target_lib)
    target = getattr(target_lib.optim.lr_scheduler, name)(target_opt, **kwargs)
    state = source.state_dict()
    assert sorted(state) == sorted(target.state_dict())
    _copy_groups(source_opt, target_opt)
    target.load_state_dict(state)
    assert target.get_last_lr() == source.get_last_lr()
    for i in range(9, 40):
        _step(source, source_opt, i)
        _step(target, target_opt, i)
        assert target.get_last_lr() == source.get_last_lr(), i
        assert ([g["momentum"] for g in target_opt.param_groups]
                == [g["momentum"] for g in source_opt.param_groups])


@pytest.mark.parametrize("name, kwargs", INTERCHANGE_CASES,
                         ids=[name for name, _ in INTERCHANGE_CASES])
def test_state_dict_survives_save_and_load(name, kwargs, tmp_path):
    opt = _optimizer(mg)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    for i in range(7):
        _step(sched, opt, i)
    state = sched.state_dict()
    if name == "MultiStepLR":
        # mg.save holds plain dicts; MultiStepLR turns its milestones back into a Counter.
        state = dict(state, milestones=dict(state["milestones"]))
    mg.save({"scheduler": state, "optimizer": opt.state_dict()}, tmp_path / "ckpt.pt")
    checkpoint = mg.load(tmp_path / "ckpt.pt")
    new_opt = _optimizer(mg)
    new_sched = getattr(lr_scheduler, name)(new_opt, **kwargs)
    new_opt.load_state_dict(checkpoint["optimizer"])
    new_sched.load_state_dict(checkpoint["scheduler"])
    for i in range(7, 40):
        _step(sched, opt, i)
        _step(new_sched, new_opt, i)
        assert new_sched.get_last_lr() == sched.get_last_lr(), i
    if name == "MultiStepLR":
        with pytest.warns(UserWarning, match="epoch parameter"):
            new_sched.step(12)  # the closed form needs Counter.elements()
        assert new_sched.get_last_lr() == [0.1 * 0.1 ** 3, 0.03 * 0.1 ** 3]


def test_load_state_dict_leaves_the_given_dict_alone():
    opt = _optimizer(mg)
    cyclic = lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=_HalfPower(0.5))
    lam = lr_scheduler.LambdaLR(_optimizer(mg), _HalfPower(0.7))
    seq_opt = _optimizer(mg)
    seq = lr_scheduler.SequentialLR(seq_opt, [lr_scheduler.ConstantLR(seq_opt),
                                              lr_scheduler.StepLR(seq_opt, 2)], [3])
    for sched in (cyclic, lam, seq):
        state = sched.state_dict()
        keys = sorted(state)
        sched.load_state_dict(state)
        sched.load_state_dict(state)  # loading twice works
        assert sorted(state) == keys


class _HalfPower:
    """A callable object: its attributes are what state_dict keeps of it."""

    def __init__(self, base):
        self.base = base

    def __call__(self, x):
        return self.base ** x


def test_custom_scale_fn_object_state_round_trip():
    def script(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3,
                                                scale_fn=_HalfPower(0.8), scale_mode="cycle")
        for _ in range(5):
            opt.step()
            sched.step()
        state = sched.state_dict()
        saved = state["_scale_fn_custom"]  # (torch's load_state_dict pops it from state)
        other_opt = _optimizer(lib)
        other = lib.optim.lr_scheduler.CyclicLR(other_opt, 0.01, 0.1, step_size_up=3,
                                                scale_fn=_HalfPower(0.1))
        other.load_state_dict(state)
        _copy_groups(opt, other_opt)
        trace = []
        for _ in range(20):
            other_opt.step()
            other.step()
            trace.append(other.get_last_lr())
        return saved, other._scale_fn_custom.base, trace

    torch_result, mg_result = _on_both(script)
    assert mg_result == torch_result
    assert mg_result[:2] == ({"base": 0.8}, 0.8)


# ------------------------------------------------------------------------------------------
# SequentialLR and ChainedScheduler
# ------------------------------------------------------------------------------------------

def _seq_warmup_then_restarts(lib, opt):
    s = lib.optim.lr_scheduler
    return s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.1, total_iters=5),
                                s.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2)],
                          milestones=[5])


def _seq_three(lib, opt):
    s = lib.optim.lr_scheduler
    return s.SequentialLR(opt, [s.ConstantLR(opt, factor=0.5, total_iters=10),
                                s.ExponentialLR(opt, gamma=0.9),
                                s.PolynomialLR(opt, total_iters=30, power=2.0)],
                          milestones=[4, 15])


def _seq_multiplicative_cosine(lib, opt):
    s = lib.optim.lr_scheduler
    return s.SequentialLR(opt, [s.MultiplicativeLR(opt, lambda epoch: 1.2),
                                s.CosineAnnealingLR(opt, T_max=9, eta_min=0.001),
                                s.StepLR(opt, step_size=4)],
                          milestones=[6, 20])


def _chain_constant_exponential(lib, opt):
    s = lib.optim.lr_scheduler
    return s.ChainedScheduler([s.ConstantLR(opt, factor=0.1, total_iters=6),
                               s.ExponentialLR(opt, gamma=0.95)])


def _chain_with_optimizer(lib, opt):
    s = lib.optim.lr_scheduler
    return s.ChainedScheduler([s.LinearLR(opt, start_factor=0.5, total_iters=8),
                               s.MultiplicativeLR(opt, lambda epoch: 0.98),
                               s.PolynomialLR(opt, total_iters=50),
                               s.MultiStepLR(opt, milestones=[10, 30])], optimizer=opt)


def _chain_in_sequence(lib, opt):
    s = lib.optim.lr_scheduler
    chain = s.ChainedScheduler([s.ConstantLR(opt, factor=0.5, total_iters=3),
                                s.ExponentialLR(opt, gamma=0.9)])
    return s.SequentialLR(opt, [chain, s.CosineAnnealingLR(opt, T_max=10)], milestones=[8])


def _seq_cyclic_after_warmup(lib, opt):
    s = lib.optim.lr_scheduler
    return s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.25, total_iters=4),
                                s.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3)],
                          milestones=[6])


COMBINATIONS = [_seq_warmup_then_restarts, _seq_three, _seq_multiplicative_cosine,
                _chain_constant_exponential, _chain_with_optimizer, _chain_in_sequence,
                _seq_cyclic_after_warmup]


# A ChainedScheduler inside a SequentialLR steps its schedulers during construction, before
# any optimizer.step(): they warn then, in PyTorch as here (test_step_order_warnings_...).
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler")
@pytest.mark.parametrize("build", COMBINATIONS, ids=[b.__name__[1:] for b in COMBINATIONS])
def test_combinations_match_torch(build):
    def script(lib):
        opt = _optimizer(lib)
        sched = build(lib, opt)
        trace = [(sched.get_last_lr(), [g["lr"] for g in opt.param_groups])]
        for _ in range(45):
            opt.step()
            sched.step()
            trace.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups],
                          [g["momentum"] for g in opt.param_groups]))
        return trace, sorted(sched.state_dict()), sched.state_dict()["_schedulers"]

    torch_result, mg_result = _on_both(script)
    assert mg_result[0] == torch_result[0]
    assert mg_result[1] == torch_result[1]
    # The nested state dicts hold the same keys.
    assert [sorted(s) for s in mg_result[2]] == [sorted(s) for s in torch_result[2]]


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler")
@pytest.mark.parametrize("build", COMBINATIONS, ids=[b.__name__[1:] for b in COMBINATIONS])
def test_combination_state_dict_round_trip(build):
    opt = _optimizer(mg)
    sched = build(mg, opt)
    for _ in range(7):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and all(isinstance(s, dict) for s in state["_schedulers"])
    new_opt = _optimizer(mg)
    new_sched = build(mg, new_opt)
    new_opt.load_state_dict(opt.state_dict())
    new_sched.load_state_dict(state)
    for _ in range(30):
        opt.step()
        new_opt.step()
        sched.step()
        new_sched.step()
        assert new_sched.get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in new_opt.param_groups] == [g["lr"] for g in opt.param_groups]


def test_sequential_by_hand():
    # ConstantLR(0.5) for epochs 0-2, then StepLR(2, 0.1) restarted at epoch 3. The restart
    # evaluates StepLR's closed form at its epoch 0, so the lr goes back to the base 0.1;
    # it decays at StepLR's epochs 2 and 4.
    opt = _optimizer(mg, lrs=(0.1,))
    sched = lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt, factor=0.5),
                                            lr_scheduler.StepLR(opt, step_size=2)],
                                      milestones=[3])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(7):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [0.05, 0.05, 0.05, 0.1, 0.1, 0.01, 0.01, 0.001],
                               rtol=1e-14)


# ------------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode, threshold", [("rel", 1e-4), ("rel", 0.05),
                                                       ("abs", 0.0), ("abs", 0.02)])
@pytest.mark.parametrize("patience, cooldown", [(0, 0), (2, 0), (1, 3), (4, 2)])
def test_reduce_on_plateau_random_metrics_match_torch(mode, threshold_mode, threshold,
                                                      patience, cooldown):
    metrics = np.cumsum(np.random.default_rng(7).normal(0.0, 0.1, size=60)).tolist()

    def script(lib):
        opt = _optimizer(lib, lrs=(0.1, 0.03, 0.5))
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode=mode, factor=0.5, patience=patience, threshold=threshold,
            threshold_mode=threshold_mode, cooldown=cooldown, min_lr=[0.01, 0.0, 0.2],
            eps=1e-3)
        trace = []
        for metric in metrics:
            sched.step(metric)
            trace.append((sched.get_last_lr(), sched.best, sched.num_bad_epochs,
                          sched.cooldown_counter, sched.last_epoch))
        return trace, sorted(sched.state_dict())

    torch_result, mg_result = _on_both(script)
    assert mg_result == torch_result


def test_reduce_on_plateau_eps_and_min_lr_by_hand():
    opt = _optimizer(mg, lrs=(1.0, 1e-7))
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, min_lr=[0.3, 0.0],
                                           eps=1e-8)
    lrs = []
    for metric in [1.0, 2.0, 2.0, 2.0]:
        sched.step(metric)
        lrs.append(sched.get_last_lr())
    # Group 0 halves to its floor 0.3; group 1's change (5e-8) is more than eps once, then
    # halving 5e-8 changes it by 2.5e-8 > eps, then 1.25e-8 > eps.
    assert lrs == [[1.0, 1e-7], [0.5, 5e-8], [0.3, 2.5e-8], [0.3, 1.25e-8]]
    sched.eps = 1e-7  # now no reduction is big enough
    sched.step(3.0)
    assert sched.get_last_lr() == [0.3, 1.25e-8]


def test_reduce_on_plateau_epoch_argument_and_new_groups():
    def script(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        caught = _warnings_of(lambda: sched.step(1.0, epoch=5))
        sched.step(2.0)
        epochs = sched.last_epoch
        opt.add_param_group({"params": [lib.tensor([2.0], requires_grad=True)], "lr": 0.7})
        sched.step(3.0)  # a scalar min_lr extends to the new group
        fixed = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0, 0, 0])
        opt.add_param_group({"params": [lib.tensor([3.0], requires_grad=True)], "lr": 0.7})
        fixed.step(1.0)
        with pytest.raises(RuntimeError) as info:
            fixed.step(2.0)
        return caught, epochs, sched.min_lrs, sched.get_last_lr(), str(info.value)

    torch_result, mg_result = _on_both(script)
    assert mg_result == torch_result
    assert mg_result[0] == [("UserWarning", lr_scheduler.EPOCH_DEPRECATION_WARNING)]
    assert mg_result[1] == 6


# ------------------------------------------------------------------------------------------
# The base class
# ------------------------------------------------------------------------------------------

def test_lrscheduler_alias_and_user_subclass():
    assert issubclass(lr_scheduler._LRScheduler, lr_scheduler.LRScheduler)
    assert lr_scheduler._LRScheduler.__name__ == "_LRScheduler"

    def script(lib):
        class Halving(lib.optim.lr_scheduler._LRScheduler):
            """A user's scheduler: lr = base_lr / 2**(epoch // 3)."""

            def get_lr(self):
                return [base_lr / 2 ** (self.last_epoch // 3) for base_lr in self.base_lrs]

        opt = _optimizer(lib)
        sched = Halving(opt)
        trace = [sched.get_last_lr()]
        for _ in range(10):
            opt.step()
            sched.step()
            trace.append(sched.get_last_lr())
        with pytest.raises(NotImplementedError):
            lib.optim.lr_scheduler.LRScheduler.get_lr(sched)
        return trace, sorted(sched.state_dict()), sched.base_lrs

    torch_result, mg_result = _on_both(script)
    assert mg_result == torch_result


def test_resume_with_last_epoch():
    def script(lib):
        opt = _optimizer(lib)
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"] * 2
        trace = []
        for name, kwargs in [("StepLR", {"step_size": 3}), ("ExponentialLR", {"gamma": 0.5}),
                             ("CosineAnnealingLR", {"T_max": 10}), ("PolynomialLR", {}),
                             ("CosineAnnealingWarmRestarts", {"T_0": 3}),
                             ("ConstantLR", {"total_iters": 8})]:
            sched = getattr(lib.optim.lr_scheduler, name)(opt, last_epoch=6, **kwargs)
            opt.step()
            sched.step()
            trace.append((name, sched.base_lrs, sched.last_epoch, sched.get_last_lr()))
        return trace

    torch_trace, mg_trace = _on_both(script)
    assert mg_trace == torch_trace


def test_public_names_match_torch():
    torch = pytest.importorskip("torch")
    assert sorted(lr_scheduler.__all__) == sorted(torch.optim.lr_scheduler.__all__)
    for name in lr_scheduler.__all__:
        assert hasattr(lr_scheduler, name)
    for name in ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
                 "PolynomialLR", "CosineAnnealingLR", "LambdaLR", "MultiplicativeLR",
                 "CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]:
        ours, theirs = getattr(lr_scheduler, name), getattr(torch.optim.lr_scheduler, name)
        assert (hasattr(ours, "_get_closed_form_lr")
                == hasattr(theirs, "_get_closed_form_lr")), name
        import inspect

        ours_sig = inspect.signature(ours.__init__)
        theirs_sig = inspect.signature(theirs.__init__)
        assert ([(p.name, p.default) for p in ours_sig.parameters.values()]
                == [(p.name, p.default) for p in theirs_sig.parameters.values()]), name


# ------------------------------------------------------------------------------------------
# Bad arguments: the same exception type and message as PyTorch
# ------------------------------------------------------------------------------------------

def _other_optimizer_scheduler(lib, opt):
    return lib.optim.lr_scheduler.StepLR(_optimizer(lib), 2)


BAD_ARGUMENTS = {
    "not-an-optimizer": lambda s, opt: s.StepLR("sgd", step_size=3),
    "resume-without-initial_lr": lambda s, opt: s.ExponentialLR(opt, 0.9, last_epoch=3),
    "constant-factor-high": lambda s, opt: s.ConstantLR(opt, factor=1.5),
    "constant-factor-negative": lambda s, opt: s.ConstantLR(opt, factor=-0.1),
    "linear-start": lambda s, opt: s.LinearLR(opt, start_factor=0),
    "linear-end": lambda s, opt: s.LinearLR(opt, end_factor=1.5),
    "lambda-count": lambda s, opt: s.LambdaLR(opt, [abs]),
    "multiplicative-count": lambda s, opt: s.MultiplicativeLR(opt, [abs, abs, abs]),
    "multiplicative-not-callable": lambda s, opt: s.MultiplicativeLR(opt, 0.9),
    "multiplicative-list-not-callable": lambda s, opt: s.MultiplicativeLR(opt, [abs, 0.9]),
    "warm-T_0-zero": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, T_0=0),
    "warm-T_0-float": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, T_0=2.5),
    "warm-T_mult-zero": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, 3, T_mult=0),
    "warm-T_mult-float": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, 3, T_mult=1.5),
    "warm-eta_min-str": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, 3, eta_min="0"),
    "warm-negative-epoch": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, 3).step(-0.5),
    "cyclic-mode": lambda s, opt: s.CyclicLR(opt, 0.01, 0.1, mode="triangle"),
    "cyclic-base_lr-count": lambda s, opt: s.CyclicLR(opt, [0.01], 0.1),
    "cyclic-max_lr-count": lambda s, opt: s.CyclicLR(opt, 0.01, (0.1, 0.2, 0.3)),
    "cyclic-momentum-count": lambda s, opt: s.CyclicLR(opt, 0.01, 0.1, base_momentum=[0.8]),
    "cyclic-not-an-optimizer": lambda s, opt: s.CyclicLR(None, 0.01, 0.1),
    "onecycle-no-length": lambda s, opt: s.OneCycleLR(opt, 0.1),
    "onecycle-epochs-only": lambda s, opt: s.OneCycleLR(opt, 0.1, epochs=3),
    "onecycle-total-zero": lambda s, opt: s.OneCycleLR(opt, 0.1, total_steps=0),
    "onecycle-total-float": lambda s, opt: s.OneCycleLR(opt, 0.1, total_steps=10.0),
    "onecycle-epochs-zero": lambda s, opt: s.OneCycleLR(opt, 0.1, epochs=0, steps_per_epoch=4),
    "onecycle-epochs-float": lambda s, opt: s.OneCycleLR(opt, 0.1, epochs=2.0,
                                                         steps_per_epoch=4),
    "onecycle-steps-negative": lambda s, opt: s.OneCycleLR(opt, 0.1, epochs=2,
                                                           steps_per_epoch=-4),
    "onecycle-pct-int": lambda s, opt: s.OneCycleLR(opt, 0.1, 10, pct_start=1),
    "onecycle-pct-high": lambda s, opt: s.OneCycleLR(opt, 0.1, 10, pct_start=1.5),
    "onecycle-anneal": lambda s, opt: s.OneCycleLR(opt, 0.1, 10, anneal_strategy="exp"),
    "onecycle-max_lr-count": lambda s, opt: s.OneCycleLR(opt, [0.1, 0.2, 0.3], 10),
    "onecycle-momentum-count": lambda s, opt: s.OneCycleLR(opt, 0.1, 10, max_momentum=[0.9]),
    "onecycle-not-an-optimizer": lambda s, opt: s.OneCycleLR([], 0.1, 10),
    "sequential-empty": lambda s, opt: s.SequentialLR(opt, [], []),
    "sequential-milestones": lambda s, opt: s.SequentialLR(opt, [s.StepLR(opt, 2)], [3]),
    "sequential-plateau": lambda s, opt: s.SequentialLR(
        opt, [s.StepLR(opt, 2), s.ReduceLROnPlateau(opt)], [3]),
    "sequential-no-optimizer": lambda s, opt: s.SequentialLR(opt, [object()], []),
    "chained-empty": lambda s, opt: s.ChainedScheduler([]),
    "chained-plateau": lambda s, opt: s.ChainedScheduler([s.ReduceLROnPlateau(opt)],
                                                         optimizer=opt),
    "chained-no-optimizer": lambda s, opt: s.ChainedScheduler([s.StepLR(opt, 2), 3]),
    "plateau-factor": lambda s, opt: s.ReduceLROnPlateau(opt, factor=1.0),
    "plateau-mode": lambda s, opt: s.ReduceLROnPlateau(opt, mode="sideways"),
    "plateau-threshold-mode": lambda s, opt: s.ReduceLROnPlateau(opt, threshold_mode="log"),
    "plateau-min_lr-count": lambda s, opt: s.ReduceLROnPlateau(opt, min_lr=[0.1]),
    "plateau-not-an-optimizer": lambda s, opt: s.ReduceLROnPlateau(3),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_raise_as_torch(case):
    def script(lib):
        opt = _optimizer(lib)
        with pytest.raises(Exception) as info:
            BAD_ARGUMENTS[case](lib.optim.lr_scheduler, opt)
        return type(info.value).__name__, str(info.value)

    torch_error, mg_error = _on_both(script)
    assert mg_error == torch_error


def test_cycle_momentum_needs_momentum_or_betas():
    def script(lib):
        s = lib.optim.lr_scheduler
        messages = []
        for build in (lambda opt: s.CyclicLR(opt, 0.01, 0.1),
                      lambda opt: s.OneCycleLR(opt, 0.1, total_steps=10)):
            with pytest.raises(ValueError) as info:
                build(_optimizer(lib, kind="adagrad"))
            messages.append(str(info.value))
        # Without momentum cycling an optimizer with neither is fine.
        opt = _optimizer(lib, kind="adagrad")
        sched = s.OneCycleLR(opt, 0.1, total_steps=10, cycle_momentum=False)
        opt.step()
        sched.step()
        return messages, sched.get_last_lr()

    torch_result, mg_result = _on_both(script)
    assert mg_result == torch_result
    assert mg_result[0][0] == ("optimizer must support momentum or beta1 with "
                               "`cycle_momentum` option enabled")


def test_different_optimizers_are_refused():
    def script(lib):
        s = lib.optim.lr_scheduler
        opt, other = _optimizer(lib), _optimizer(lib)
        messages = []
        for build in (lambda: s.SequentialLR(opt, [s.StepLR(opt, 2), s.StepLR(other, 2)], [3]),
                      lambda: s.ChainedScheduler([s.StepLR(opt, 2), s.StepLR(other, 2)]),
                      lambda: s.ChainedScheduler([s.StepLR(opt, 2)], optimizer=other)):
            with pytest.raises(ValueError) as info:
                build()
            messages.append(str(info.value))
        return messages

    torch_messages, mg_messages = _on_both(script)
    # The messages name the scheduler, its index and the optimizer (whose repr differs
    # between the libraries: compare up to it).
    pattern = re.compile(r"(.*) has .*, which is different from (\w+)\.", re.DOTALL)
    assert ([pattern.fullmatch(m).groups() for m in mg_messages]
            == [pattern.fullmatch(m).groups() for m in torch_messages])
    assert mg_messages[0].startswith("SequentialLR expects all schedulers to belong to the "
                                     "same optimizer, but got scheduler StepLR at index 1")


@pytest.mark.parametrize("name, args", [("LambdaLR", (abs,)),
                                        ("CosineAnnealingWarmRestarts", (3,)),
                                        ("CosineAnnealingLR", (3,))])
def test_group_added_after_the_scheduler(name, args):
    # Schedulers computing from base_lrs cannot serve a new group: ValueError, as PyTorch's
    # strict zip (whose message, "zip() argument 2 is shorter...", says less: ours names
    # the counts). Schedulers scaling the current lrs carry on.
    def script(lib):
        opt = _optimizer(lib, lrs=(0.1,))
        sched = getattr(lib.optim.lr_scheduler, name)(opt, *args)
        opt.add_param_group({"params": [lib.tensor([2.0], requires_grad=True)], "lr": 0.7,
                             "initial_lr": 0.7})
        opt.step()
        try:
            for _ in range(3):
                sched.step()
        except ValueError:
            return "ValueError", sched.last_epoch
        return sched.get_last_lr(), sched.last_epoch

    torch_result, mg_result = _on_both(script)
    assert mg_result == torch_result
    if name == "CosineAnnealingLR":
        assert len(mg_result[0]) == 2
    else:
        assert mg_result[0] == "ValueError"
        opt = _optimizer(mg, lrs=(0.1,))
        sched = getattr(lr_scheduler, name)(opt, *args)
        opt.add_param_group({"params": [mg.tensor([2.0], requires_grad=True)], "lr": 0.7})
        opt.step()
        with pytest.raises(ValueError, match=f"{name} computed 1 learning rates for 2 "
                                             "parameter groups"):
            sched.step()
