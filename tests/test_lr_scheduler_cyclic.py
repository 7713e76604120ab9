"""CyclicLR and OneCycleLR: lr and momentum (SGD's momentum, Adam's beta1) cycling, against
torch.optim.lr_scheduler and against values worked out by hand."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import lr_scheduler


def _optimizer(lib, kind, lrs=(0.1, 0.03)):
    """Two groups of float64 parameters (shapes (3,) and (2, 2)) at lrs[0] and lrs[1]."""
    params = [lib.tensor(np.linspace(-1.0, 1.0, 3), dtype=lib.float64, requires_grad=True),
              lib.tensor([[0.5, -0.25], [2.0, 1.5]], dtype=lib.float64, requires_grad=True)]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if kind == "sgd":
        return lib.optim.SGD(groups, lr=lrs[0], momentum=0.5)
    if kind == "sgd-nesterov":
        return lib.optim.SGD(groups, lr=lrs[0], momentum=0.5, nesterov=True, weight_decay=0.01)
    if kind == "adam":
        return lib.optim.Adam(groups, lr=lrs[0], betas=(0.8, 0.99))
    return lib.optim.AdamW(groups, lr=lrs[0], betas=(0.85, 0.995), amsgrad=True)


def _momentums(opt):
    return [g["betas"] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _run(lib, kind, build, steps):
    """Train a quadratic with the scheduled optimizer; trace lrs, momentums, parameters."""
    opt = _optimizer(lib, kind)
    sched = build(lib.optim.lr_scheduler, opt)
    trace = [(sched.get_last_lr(), _momentums(opt))]
    params = [p for g in opt.param_groups for p in g["params"]]
    for step in range(steps):
        for i, p in enumerate(params):
            # grad of sum(p**2 * (1 + i)) + a step-dependent push, computed outside autograd
            values = p.detach().numpy() * 2.0 * (1 + i) + math.sin(step + i)
            p.grad = lib.tensor(values, dtype=lib.float64)
        opt.step()
        sched.step()
        trace.append((sched.get_last_lr(), _momentums(opt),
                      [p.detach().numpy().copy() for p in params]))
    return trace


CYCLIC = {
    "triangular": lambda s, opt: s.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "triangular2-asymmetric": lambda s, opt: s.CyclicLR(
        opt, base_lr=[0.01, 0.005], max_lr=[0.1, 0.3], step_size_up=3, step_size_down=6,
        mode="triangular2", base_momentum=[0.7, 0.6], max_momentum=[0.95, 0.9]),
    "exp_range": lambda s, opt: s.CyclicLR(opt, base_lr=0.02, max_lr=0.2, step_size_up=5,
                                           mode="exp_range", gamma=0.98),
    "scale_fn-iterations": lambda s, opt: s.CyclicLR(
        opt, 0.01, 0.1, step_size_up=2, scale_fn=lambda x: 1 / (1 + 0.1 * x),
        scale_mode="iterations", base_momentum=0.85, max_momentum=0.95),
    "no-momentum-cycling": lambda s, opt: s.CyclicLR(opt, 0.01, 0.1, step_size_up=3,
                                                     cycle_momentum=False),
    "onecycle-cos": lambda s, opt: s.OneCycleLR(opt, max_lr=0.2, total_steps=45),
    "onecycle-linear-three-phase": lambda s, opt: s.OneCycleLR(
        opt, max_lr=[0.2, 0.1], epochs=9, steps_per_epoch=5, anneal_strategy="linear",
        three_phase=True, base_momentum=0.6, max_momentum=[0.9, 0.8]),
    "onecycle-factors": lambda s, opt: s.OneCycleLR(
        opt, max_lr=0.5, total_steps=44, pct_start=0.25, div_factor=5.0,
        final_div_factor=50.0, three_phase=True),
    "onecycle-no-momentum": lambda s, opt: s.OneCycleLR(opt, max_lr=0.2, total_steps=45,
                                                        cycle_momentum=False),
}


@pytest.mark.parametrize("kind", ["sgd", "sgd-nesterov", "adam", "adamw-amsgrad"])
@pytest.mark.parametrize("case", list(CYCLIC))
def test_training_with_cycled_momentum_matches_torch(case, kind):
    torch = pytest.importorskip("torch")
    torch_trace = _run(torch, kind, CYCLIC[case], 44)
    mg_trace = _run(mg, kind, CYCLIC[case], 44)
    assert mg_trace[0] == torch_trace[0]
    for step, (mine, theirs) in enumerate(zip(mg_trace[1:], torch_trace[1:])):
        # The schedules are the same float operations: equal. The optimizers read them.
        assert mine[:2] == theirs[:2], step
        for ours, their in zip(mine[2], theirs[2]):
            np.testing.assert_allclose(ours, their, rtol=1e-12, atol=1e-14, err_msg=str(step))


def test_betas_keep_beta2_and_stay_tuples():
    opt = _optimizer(mg, "adam")
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, base_momentum=0.5,
                                    max_momentum=0.9)
    assert [g["betas"] for g in opt.param_groups] == [(0.9, 0.99), (0.9, 0.99)]
    opt.step()
    sched.step()
    betas = opt.param_groups[0]["betas"]
    assert isinstance(betas, tuple) and betas[1] == 0.99 and 0.5 < betas[0] < 0.9
    assert [g["max_momentum"] for g in opt.param_groups] == [0.9, 0.9]
    assert [g["base_momentum"] for g in opt.param_groups] == [0.5, 0.5]
    assert "momentum" not in opt.param_groups[0]


# ------------------------------------------------------------------------------------------
# Worked by hand
# ------------------------------------------------------------------------------------------

def _sequence(sched, opt, steps):
    values = [(sched.get_last_lr()[0], opt.param_groups[0]["momentum"])]
    for _ in range(steps):
        opt.step()
        sched.step()
        values.append((sched.get_last_lr()[0], opt.param_groups[0]["momentum"]))
    return np.array(values)


def _sgd(lr=0.1):
    return mg.optim.SGD([mg.tensor([1.0], requires_grad=True)], lr=lr, momentum=0.9)


def test_cyclic_triangular_by_hand():
    opt = _sgd()
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=1.0, step_size_up=2,
                                  base_momentum=0.8, max_momentum=0.9)
    values = _sequence(sched, opt, 8)
    # Up over 2 steps, down over 2, repeat; momentum goes the other way.
    np.testing.assert_allclose(values[:, 0], [0.1, 0.55, 1.0, 0.55, 0.1, 0.55, 1.0, 0.55, 0.1],
                               rtol=1e-14)
    np.testing.assert_allclose(values[:, 1], [0.9, 0.85, 0.8, 0.85, 0.9, 0.85, 0.8, 0.85, 0.9],
                               rtol=1e-14)


def test_cyclic_triangular2_and_exp_range_by_hand():
    opt = _sgd()
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=1,
                                  step_size_down=3, mode="triangular2", cycle_momentum=False)
    values = _sequence(sched, opt, 8)[:, 0]
    # Cycle 1 peaks at 1 (step 1), cycle 2 at 1/2 (step 5); the fall takes 3 steps.
    np.testing.assert_allclose(values, [0, 1, 2 / 3, 1 / 3, 0, 0.5, 1 / 3, 1 / 6, 0],
                               atol=1e-15)

    opt = _sgd()
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=2,
                                  mode="exp_range", gamma=0.5, cycle_momentum=False)
    values = _sequence(sched, opt, 4)[:, 0]
    # scale 0.5**t at iteration t times the triangle (0, 1/2, 1, 1/2, 0).
    np.testing.assert_allclose(values, [0, 0.25, 0.25, 0.0625, 0], atol=1e-15)


def test_cyclic_sets_base_lr_and_momentum_at_construction():
    opt = _sgd(lr=5.0)
    sched = lr_scheduler.CyclicLR(opt, base_lr=0.2, max_lr=0.4, max_momentum=0.93)
    assert opt.param_groups[0]["lr"] == 0.2 == sched.get_last_lr()[0]
    assert opt.param_groups[0]["momentum"] == 0.93
    assert sched.base_lrs == [0.2] and sched.max_lrs == [0.4]
    assert sched.total_size == 4000.0 and sched.step_ratio == 0.5


def test_cyclic_after_another_scheduler_matches_torch():
    # The construction step uses the groups' existing "initial_lr" (not base_lr); the
    # cycle then runs from base_lr. Same quirk as PyTorch's.
    def script(lib):
        opt = _optimizer(lib, "sgd")
        lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        sched = lib.optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3)
        values = [sched.get_last_lr()]
        for _ in range(8):
            opt.step()
            sched.step()
            values.append(sched.get_last_lr())
        return values

    torch = pytest.importorskip("torch")
    assert script(mg) == script(torch)


def test_cyclic_scale_fn_calls_match_torch():
    class Counting:
        def __init__(self):
            self.calls = []

        def __call__(self, x):
            self.calls.append(x)
            return 0.9 ** x

    def script(lib):
        fn = Counting()
        opt = _optimizer(lib, "adam")
        sched = lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2, scale_fn=fn)
        for _ in range(6):
            opt.step()
            sched.step()
        return fn.calls, sched.get_last_lr(), sched.scale_fn(3)

    torch = pytest.importorskip("torch")
    assert script(mg) == script(torch)


def test_one_cycle_by_hand():
    opt = _sgd()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=11, pct_start=0.2,
                                    anneal_strategy="linear", div_factor=10.0,
                                    final_div_factor=100.0, base_momentum=0.8,
                                    max_momentum=0.9)
    group = opt.param_groups[0]
    assert (group["initial_lr"], group["max_lr"], group["min_lr"]) == (0.1, 1.0, 0.001)
    values = _sequence(sched, opt, 10)
    # Phase 1 ends at step 0.2 * 11 - 1 = 1.2; phase 2 runs from 1.2 to step 10.
    expected_lr = [0.1 + 0.9 * t / 1.2 if t <= 1.2 else 1.0 + (0.001 - 1.0) * (t - 1.2) / 8.8
                   for t in range(11)]
    expected_momentum = [0.9 - 0.1 * t / 1.2 if t <= 1.2 else 0.8 + 0.1 * (t - 1.2) / 8.8
                         for t in range(11)]
    np.testing.assert_allclose(values[:, 0], expected_lr, rtol=1e-12)
    np.testing.assert_allclose(values[:, 1], expected_momentum, rtol=1e-12)
    assert values[-1, 0] == pytest.approx(0.001, rel=1e-12)


def test_one_cycle_cos_three_phase_endpoints():
    opt = _sgd()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=2.0, total_steps=21, pct_start=0.25,
                                    three_phase=True)
    values = _sequence(sched, opt, 20)[:, 0]
    # Phase ends: 0.25 * 21 - 1 = 4.25, 2 * 0.25 * 21 - 2 = 8.5, 20.
    t = 3
    assert values[t] == pytest.approx(2.0 + (0.08 - 2.0) / 2 * (1 + math.cos(math.pi * t / 4.25)),
                                      rel=1e-12)
    t = 6
    pct = (t - 4.25) / (8.5 - 4.25)
    assert values[t] == pytest.approx(0.08 + (2.0 - 0.08) / 2 * (1 + math.cos(math.pi * pct)),
                                      rel=1e-12)
    assert values[0] == pytest.approx(0.08) and values[20] == pytest.approx(0.08 / 1e4)


def test_one_cycle_total_steps_equals_epochs_times_steps():
    def lrs(**kwargs):
        opt = _sgd()
        sched = lr_scheduler.OneCycleLR(opt, max_lr=0.3, **kwargs)
        return _sequence(sched, opt, 24).tolist(), sched.total_steps

    assert lrs(total_steps=24) == lrs(epochs=4, steps_per_epoch=6)
    # total_steps wins over epochs * steps_per_epoch.
    assert lrs(total_steps=24, epochs=100, steps_per_epoch=100) == lrs(total_steps=24)


def test_one_cycle_stepping_past_the_end():
    def script(lib):
        opt = _optimizer(lib, "sgd")
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.3, total_steps=5)
        for _ in range(5):
            opt.step()
            sched.step()
        last = sched.get_last_lr()
        with pytest.raises(ValueError) as info:
            sched.step()
        return last, str(info.value), sched.last_epoch

    torch = pytest.importorskip("torch")
    torch_result, mg_result = script(torch), script(mg)
    assert mg_result == torch_result
    assert mg_result[1] == "Tried to step 6 times. The specified number of total steps is 5"


def test_one_cycle_resume_with_last_epoch_matches_torch():
    def script(lib):
        opt = _optimizer(lib, "adam")
        first = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.3, total_steps=30)
        for _ in range(10):
            opt.step()
            first.step()
        # A new scheduler resuming at step 10 reads initial_lr/max_lr/min_lr from the groups.
        resumed = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=99.0, total_steps=30,
                                                    last_epoch=10)
        values = [resumed.get_last_lr(), _momentums(opt)]
        for _ in range(15):
            opt.step()
            resumed.step()
            values.append((resumed.get_last_lr(), _momentums(opt)))
        return values

    torch = pytest.importorskip("torch")
    assert script(mg) == script(torch)
