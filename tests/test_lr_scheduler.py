"""mg.optim.lr_scheduler against torch.optim.lr_scheduler: the same lr sequences, step by step."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import lr_scheduler


def _mg_optimizer(lrs=(0.1, 0.03)):
    groups = [{"params": [mg.tensor([1.0], requires_grad=True)], "lr": lr} for lr in lrs]
    return mg.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def _torch_optimizer(torch, lrs=(0.1, 0.03)):
    groups = [{"params": [torch.tensor([1.0], requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


class _Scale:
    """A callable object: its attributes survive LambdaLR.state_dict()."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


SCHEDULERS = [
    ("StepLR", {"step_size": 7}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 20], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.8, "total_iters": 17}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 10}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("ConstantLR", {}),
    ("ConstantLR", {"factor": 0.25, "total_iters": 13}),
    ("PolynomialLR", {}),
    ("PolynomialLR", {"total_iters": 30, "power": 2.5}),
    ("PolynomialLR", {"total_iters": 12, "power": 0.5}),
    # Schedulers without a closed form (step(epoch) evaluates get_lr at that epoch).
    ("LambdaLR", {"lr_lambda": lambda epoch: 1.0 / (1 + epoch)}),
    ("LambdaLR", {"lr_lambda": [lambda epoch: 0.95 ** epoch, lambda epoch: epoch % 4 + 1]}),
    ("MultiplicativeLR", {"lr_lambda": lambda epoch: 0.93}),
    ("MultiplicativeLR", {"lr_lambda": [lambda epoch: 0.9,
                                        lambda epoch: 1.0 + 1.0 / (epoch + 1)]}),
    ("CosineAnnealingWarmRestarts", {"T_0": 7}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 1e-3}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}),
    ("CyclicLR", {"base_lr": [0.01, 0.002], "max_lr": [0.1, 0.05], "step_size_up": 3,
                  "step_size_down": 5, "mode": "triangular2"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "exp_range",
                  "gamma": 0.97}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4,
                  "scale_fn": lambda x: 0.5 ** x, "scale_mode": "iterations"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "step_size_down": 3,
                  "scale_fn": lambda c: 1.0 / c, "cycle_momentum": False}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 45}),
    ("OneCycleLR", {"max_lr": [1.0, 0.5], "epochs": 5, "steps_per_epoch": 9,
                    "anneal_strategy": "linear", "three_phase": True}),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 44, "pct_start": 0.45, "div_factor": 10.0,
                    "final_div_factor": 100.0, "three_phase": True,
                    "base_momentum": [0.8, 0.7], "max_momentum": 0.99}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(SCHEDULERS)]
CLOSED_FORM = [(name, kwargs) for name, kwargs in SCHEDULERS
               if name in ("StepLR", "MultiStepLR", "ExponentialLR", "LinearLR",
                           "CosineAnnealingLR", "ConstantLR", "PolynomialLR")]
CLOSED_FORM_IDS = [IDS[SCHEDULERS.index(case)] for case in CLOSED_FORM]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=IDS)
def test_lr_sequence_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    mopt, topt = _mg_optimizer(), _torch_optimizer(torch)
    msched = getattr(lr_scheduler, name)(mopt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    assert msched.get_last_lr() == tsched.get_last_lr()
    assert ([g["initial_lr"] for g in mopt.param_groups]
            == [g["initial_lr"] for g in topt.param_groups])
    for epoch in range(44):
        mopt.step()
        topt.step()
        msched.step()
        tsched.step()
        # The recursive forms are the same float operations: equal, not merely close.
        assert msched.get_last_lr() == tsched.get_last_lr(), epoch
        assert [g["lr"] for g in mopt.param_groups] == [g["lr"] for g in topt.param_groups]
        # CyclicLR and OneCycleLR also cycle the momentum.
        assert ([g["momentum"] for g in mopt.param_groups]
                == [g["momentum"] for g in topt.param_groups]), epoch
        assert msched.last_epoch == tsched.last_epoch == epoch + 1
    assert sorted(msched.state_dict()) == sorted(tsched.state_dict())


@pytest.mark.parametrize("name, kwargs", CLOSED_FORM, ids=CLOSED_FORM_IDS)
def test_closed_form_agrees_with_recursion(name, kwargs):
    # Independent of torch: step(epoch) uses the closed form; it must match the recursion.
    opt = _mg_optimizer()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    for _ in range(25):
        opt.step()
        sched.step()
    recursive = sched.get_last_lr()
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
        sched.step(25)
    np.testing.assert_allclose(sched.get_last_lr(), recursive, rtol=1e-9, atol=1e-15)


def test_hand_computed_values():
    opt = _mg_optimizer(lrs=(1.0,))
    step = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(6):
        lrs.append(step.get_last_lr()[0])
        opt.step()
        step.step()
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]

    opt = _mg_optimizer(lrs=(1.0,))
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    values = [cosine.get_last_lr()[0]]
    for _ in range(4):
        opt.step()
        cosine.step()
        values.append(cosine.get_last_lr()[0])
    expected = [(1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(values, expected, atol=1e-15)


def test_scheduled_lr_is_used_by_the_optimizer():
    p = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt = mg.optim.SGD([p], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    for _ in range(3):
        p.grad = mg.tensor([1.0], dtype=mg.float64)
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-(1.0 + 0.1 + 0.01)], rtol=1e-12)


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=IDS)
def test_state_dict_round_trip(name, kwargs):
    opt = _mg_optimizer()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    for _ in range(8):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 8
    assert "lr_lambdas" not in state or all(fn is None for fn in state["lr_lambdas"])

    # Resume as PyTorch's docs say: build both, then load the optimizer's state after the
    # scheduler's construction (whose initial step changes the lr), then the scheduler's.
    new_opt = _mg_optimizer()
    new_sched = getattr(lr_scheduler, name)(new_opt, **kwargs)
    new_opt.load_state_dict(opt.state_dict())
    new_sched.load_state_dict(state)
    assert new_sched.get_last_lr() == sched.get_last_lr()
    for _ in range(20):
        opt.step()
        new_opt.step()
        sched.step()
        new_sched.step()
        assert new_sched.get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in new_opt.param_groups] == [g["lr"] for g in opt.param_groups]
        assert ([g["momentum"] for g in new_opt.param_groups]
                == [g["momentum"] for g in opt.param_groups])


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    opt = _mg_optimizer()
    sched = lr_scheduler.LambdaLR(opt, [_Scale(0.5), lambda epoch: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    other = lr_scheduler.LambdaLR(_mg_optimizer(), [_Scale(0.9), lambda epoch: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5


def test_resume_with_last_epoch_needs_initial_lr():
    opt = _mg_optimizer()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=5)


def test_constructor_checks():
    opt = _mg_optimizer()
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR("sgd", step_size=3)
    with pytest.raises(ValueError):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError):
        lr_scheduler.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="lr_lambdas"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Factor"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="log")


# ------------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ------------------------------------------------------------------------------------------

PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.91, 0.92, 0.9, 0.89995, 0.93, 0.8, 0.81, 0.82, 0.83,
                   0.84, 0.85, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.71, 0.72, 0.73, 0.74,
                   0.75, 0.76, 0.77, 0.78, 0.79, 0.8, 0.81, 0.82, 0.83, 0.84]


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("kwargs", [
    {},
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2},
    {"patience": 0, "threshold": 0.05, "threshold_mode": "abs"},
    {"patience": 1, "threshold": 0.01, "threshold_mode": "rel", "min_lr": 0.02},
    {"patience": 0, "factor": 0.5, "min_lr": [0.05, 0.001], "eps": 1e-3},
])
def test_reduce_on_plateau_matches_torch(mode, kwargs):
    torch = pytest.importorskip("torch")
    mopt, topt = _mg_optimizer(), _torch_optimizer(torch)
    msched = lr_scheduler.ReduceLROnPlateau(mopt, mode=mode, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, mode=mode, **kwargs)
    sign = 1.0 if mode == "min" else -1.0
    for metric in PLATEAU_METRICS:
        msched.step(sign * metric)
        tsched.step(sign * metric)
        assert msched.get_last_lr() == tsched.get_last_lr()
        assert msched.num_bad_epochs == tsched.num_bad_epochs
        assert msched.best == tsched.best
    assert msched.last_epoch == len(PLATEAU_METRICS)


def test_reduce_on_plateau_hand_scripted():
    opt = _mg_optimizer(lrs=(1.0,))
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2,
                                           cooldown=1, min_lr=0.2)
    metrics = [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(sched.get_last_lr()[0])
    # The 3rd epoch without improvement (> patience 2) halves the lr; the cooldown epoch after
    # a reduction does not count; the floor min_lr = 0.2 stops the halving.
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]

    opt = _mg_optimizer(lrs=(1.0,))
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0)
    lrs = []
    for m in [1.0, 2.0, 2.0, 3.0, 1.0]:
        sched.step(m)
        lrs.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(lrs, [1.0, 1.0, 0.1, 0.1, 0.01])


def test_reduce_on_plateau_state_dict_round_trip():
    opt = _mg_optimizer()
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1, threshold_mode="abs")
    for m in [1.0, 1.0, 1.0, 0.5]:
        sched.step(m)
    state = sched.state_dict()
    assert "optimizer" not in state and state["best"] == 1.0
    new_opt = _mg_optimizer()
    new_opt.load_state_dict(opt.state_dict())
    new_sched = lr_scheduler.ReduceLROnPlateau(new_opt)
    new_sched.load_state_dict(state)
    assert new_sched.mode == "max" and new_sched.num_bad_epochs == sched.num_bad_epochs
    for m in [0.9, 0.8, 1.2, 1.0, 1.0, 1.0]:
        sched.step(m)
        new_sched.step(m)
        assert new_sched.get_last_lr() == sched.get_last_lr()
