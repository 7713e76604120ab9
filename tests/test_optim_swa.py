"""mg.optim.swa_utils against torch.optim.swa_utils: averaged weights, buffers, update_bn,
SWALR's learning rates."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import swa_utils


def _models(torch):
    """The same 2-4-1 network with a BatchNorm, in both libraries."""
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((4, 2)), rng.standard_normal(4)
    w2, b2 = rng.standard_normal((1, 4)), rng.standard_normal(1)
    m = mg.nn.Sequential(mg.nn.Linear(2, 4), mg.nn.BatchNorm1d(4), mg.nn.Linear(4, 1)).double()
    t = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4),
                            torch.nn.Linear(4, 1)).double()
    for model, lib in ((m, mg), (t, torch)):
        model[0].weight.data = lib.tensor(w1.copy())
        model[0].bias.data = lib.tensor(b1.copy())
        model[2].weight.data = lib.tensor(w2.copy())
        model[2].bias.data = lib.tensor(b2.copy())
    return m, t


def _train_and_average(lib, model, averaged, steps=6):
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = lib.tensor(rng.standard_normal((8, 2)))
        y = lib.tensor(rng.standard_normal((8, 1)))
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        averaged.update_parameters(model)


def _numpy(t):
    return t.numpy() if isinstance(t, mg.Tensor) else t.detach().numpy()


@pytest.mark.parametrize("kind", ["default", "ema_multi", "swa_multi", "ema_avg", "swa_avg",
                                  "custom_avg"])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_matches_torch(kind, use_buffers):
    torch = pytest.importorskip("torch")
    if kind == "swa_multi" and use_buffers:
        pytest.skip("torch 2.13 itself raises here (addcdiv on BatchNorm's int64 counter)")
    m, t = _models(torch)

    def make(lib, utils, model):
        kwargs = {}
        if kind == "ema_multi":
            kwargs["multi_avg_fn"] = utils.get_ema_multi_avg_fn(0.7)
        elif kind == "swa_multi":
            kwargs["multi_avg_fn"] = utils.get_swa_multi_avg_fn()
        elif kind == "ema_avg":
            kwargs["avg_fn"] = utils.get_ema_avg_fn(0.6)
        elif kind == "swa_avg":
            kwargs["avg_fn"] = utils.get_swa_avg_fn()
        elif kind == "custom_avg":
            kwargs["avg_fn"] = lambda avg, p, n: avg * 0.25 + p * 0.75 + n * 0.001
        return utils.AveragedModel(model, use_buffers=use_buffers, **kwargs)

    mavg = make(mg, swa_utils, m)
    tavg = make(torch, torch.optim.swa_utils, t)
    _train_and_average(mg, m, mavg)
    _train_and_average(torch, t, tavg)
    assert int(mavg.n_averaged.item()) == int(tavg.n_averaged.item()) == 6
    for a, b in zip(mavg.parameters(), tavg.parameters()):
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-11, atol=1e-13)
    for a, b in zip(mavg.module.buffers(), tavg.module.buffers()):
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-11, atol=1e-13)
    # The averaged model runs the copy; the original model is untouched by the averaging.
    x = np.random.default_rng(3).standard_normal((5, 2))
    mavg.eval()
    tavg.eval()
    np.testing.assert_allclose(_numpy(mavg(mg.tensor(x))), _numpy(tavg(torch.tensor(x))),
                               rtol=1e-10, atol=1e-12)
    assert mavg.module is not m and not np.shares_memory(mavg.module[0].weight.numpy(),
                                                         m[0].weight.numpy())


def test_update_bn_matches_torch():
    torch = pytest.importorskip("torch")
    m, t = _models(torch)
    rng = np.random.default_rng(7)
    batches = [rng.standard_normal((10, 2)) for _ in range(4)]
    m.eval()
    t.eval()
    swa_utils.update_bn([(mg.tensor(b), 0) for b in batches], m)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], t)
    bn, tbn = m[1], t[1]
    np.testing.assert_allclose(bn.running_mean.numpy(), tbn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-12)
    assert bn.momentum == tbn.momentum == 0.1  # restored
    assert not m.training  # the mode is restored too
    swa_utils.update_bn([], mg.nn.Linear(2, 2))  # no BatchNorm: nothing to do


@pytest.mark.parametrize("kwargs", [{"swa_lr": 0.05}, {"swa_lr": 0.5, "anneal_epochs": 3,
                                                        "anneal_strategy": "linear"},
                                    {"swa_lr": 0.01, "anneal_epochs": 0}])
def test_swalr_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    p = mg.tensor([1.0], requires_grad=True)
    tp = torch.tensor([1.0], requires_grad=True)
    opt = mg.optim.SGD([{"params": [p]}, {"params": [mg.tensor([2.0], requires_grad=True)],
                                          "lr": 0.2}], lr=0.1)
    topt = torch.optim.SGD([{"params": [tp]}, {"params": [torch.tensor([2.0],
                                                                       requires_grad=True)],
                                               "lr": 0.2}], lr=0.1)
    sched = swa_utils.SWALR(opt, **kwargs)
    tsched = torch.optim.swa_utils.SWALR(topt, **kwargs)
    for _ in range(15):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-14)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    assert [g["swa_lr"] for g in opt.param_groups] == [g["swa_lr"] for g in topt.param_groups]


def test_swa_errors():
    p = mg.tensor([1.0], requires_grad=True)
    opt = mg.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr must have the same length"):
        swa_utils.SWALR(opt, swa_lr=[0.1, 0.2])
    with pytest.raises(ValueError, match="Invalid decay value"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(mg.nn.Linear(1, 1), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())


def test_update_bn_resets_batch_norm_but_not_instance_norm():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).normal(size=(4, 2, 3)).astype(np.float32)
    results = []
    for lib in (torch, mg):
        model = lib.nn.Sequential(lib.nn.InstanceNorm1d(2, track_running_stats=True),
                                  lib.nn.BatchNorm1d(2))
        model[0].running_mean.fill_(5.0)
        model[1].running_mean.fill_(5.0)
        lib.optim.swa_utils.update_bn([lib.tensor(data)], model)
        results.append([model[0].running_mean.tolist(), model[1].running_mean.tolist()])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    assert results[1][0][0] > 4  # not reset: one momentum step away from 5
