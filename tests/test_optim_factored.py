"""Adafactor and Muon (PyTorch 2.13's matrix-aware optimizers, written in numpy) against
torch.optim: trajectories, options, errors, state_dict."""
import inspect

import numpy as np
import pytest

import minigrad as mg

ADAFACTOR_CONFIGS = [
    {},
    {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    {"d": 2.0, "eps": (1e-20, 1e-2), "beta2_decay": -0.5},
    {"eps": (1e-3, 1e-3)},  # eps1 large enough to clamp
]
SHAPES = [(6, 4), (5,), (2, 3, 4), (1, 7)]


def _gradient(x, i):
    return np.sin(3 * x.astype(np.float64)) + 0.1 * i


@pytest.mark.parametrize("kwargs", ADAFACTOR_CONFIGS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adafactor_trajectory_matches_torch(kwargs, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    starts = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    params = [mg.tensor(a.copy(), requires_grad=True) for a in starts]
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    opt = mg.optim.Adafactor(params, **kwargs)
    topt = torch.optim.Adafactor(tparams, **kwargs, foreach=False)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for i in range(40):
        for p, tp in zip(params, tparams):
            g = _gradient(p.numpy(), i).astype(dtype)
            p.grad, tp.grad = mg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        for p, tp in zip(params, tparams):
            assert p.numpy().dtype == tp.detach().numpy().dtype
            # Reductions (norms, means) sum in another order than PyTorch's: round-off only.
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol,
                                       atol=1e-14 if dtype == np.float64 else 1e-6,
                                       err_msg=f"step {i}")
    for p, tp in zip(params, tparams):
        assert set(opt.state[p]) == set(topt.state[tp])
        for key, value in topt.state[tp].items():
            np.testing.assert_allclose(np.asarray(opt.state[p][key]), value.numpy(),
                                       rtol=rtol * 10, err_msg=key)


MUON_CONFIGS = [
    {},
    {"lr": 0.02, "nesterov": False, "adjust_lr_fn": "match_rms_adamw"},
    {"weight_decay": 0.0, "momentum": 0.5, "ns_steps": 3},
    {"adjust_lr_fn": "original", "ns_coefficients": (2.0, -1.5, 0.5), "eps": 1e-5},
]


@pytest.mark.parametrize("kwargs", MUON_CONFIGS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_muon_updates_match_torch(kwargs, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for shape in [(6, 4), (4, 6), (16, 16)]:
        start = rng.standard_normal(shape).astype(dtype)
        p = mg.tensor(start.copy(), requires_grad=True)
        tp = torch.tensor(start.copy(), requires_grad=True)
        opt, topt = mg.optim.Muon([p], **kwargs), torch.optim.Muon([tp], **kwargs)
        exact = 0
        for i in range(15):
            g = _gradient(p.numpy(), i).astype(dtype)
            p.grad, tp.grad = mg.tensor(g), torch.tensor(g)
            before = tp.detach().numpy().copy()
            opt.step()
            topt.step()
            ours, theirs = p.numpy() - before, tp.detach().numpy() - before
            # The Newton-Schulz iteration runs in bfloat16 (8 significant bits) in both; its
            # matrix products may sum in another order, which now and then moves a value by
            # one bfloat16 step (0.4%) and the next iterations by a few.
            scale = np.abs(theirs).max()
            assert np.abs(ours - theirs).max() <= 0.05 * scale, (shape, i)
            exact += np.abs(ours - theirs).max() <= 1e-5 * scale
            p.data = mg.tensor(tp.detach().numpy().copy())  # compare step by step
            # (PyTorch's vectorised lerp uses fused multiply-adds: last-bit differences.)
            np.testing.assert_allclose(opt.state[p]["momentum_buffer"],
                                       topt.state[tp]["momentum_buffer"].numpy(),
                                       rtol=1e-5 if dtype == np.float32 else 1e-12,
                                       atol=1e-7 if dtype == np.float32 else 1e-15)
        assert exact >= 8, shape  # most steps agree exactly (to float round-off)


def test_muon_orthogonalises():
    # The Newton-Schulz output has singular values near 1 (0.7 to 1.2 for these
    # coefficients), whatever the scale of the input.
    from minigrad.optim.muon import _zeropower_via_newtonschulz
    g = np.random.default_rng(3).standard_normal((8, 5)) * 100
    o = _zeropower_via_newtonschulz(g, (3.4445, -4.7750, 2.0315), 5, 1e-7)
    s = np.linalg.svd(o.astype(np.float64), compute_uv=False)
    assert o.shape == (8, 5) and np.all((s > 0.6) & (s < 1.3)), s


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type and message are compared
        return type(exc).__name__, str(exc)
    return None


REFUSED = [
    ("Adafactor", {"lr": -1.0}, (3,)),
    ("Adafactor", {"beta2_decay": 0.5}, (3,)),
    ("Adafactor", {"eps": (-1.0, 1e-3)}, (3,)),
    ("Adafactor", {"eps": (None, -1.0)}, (3,)),
    ("Adafactor", {"d": 0.5}, (3,)),
    ("Adafactor", {"weight_decay": -0.1}, (3,)),
    ("Muon", {}, (3,)),
    ("Muon", {"lr": -1.0}, (2, 2)),
    ("Muon", {"momentum": -1.0}, (2, 2)),
    ("Muon", {"weight_decay": -1.0}, (2, 2)),
    ("Muon", {"adjust_lr_fn": "other"}, (2, 2)),
    ("Muon", {"ns_steps": 100}, (2, 2)),
]


@pytest.mark.parametrize("name, kwargs, shape", REFUSED, ids=[f"{n}-{k}-{s}"
                                                              for n, k, s in REFUSED])
def test_refused_like_torch(name, kwargs, shape):
    torch = pytest.importorskip("torch")

    def attempt(lib):
        p = lib.ones(*shape, requires_grad=True)
        opt = getattr(lib.optim, name)([p], **kwargs)
        p.grad = lib.ones(*shape)
        opt.step()

    expected = _error(lambda: attempt(torch))
    assert expected is not None
    kind, message = _error(lambda: attempt(mg))
    # A shape prints as minigrad.Size where PyTorch's says torch.Size.
    assert (kind, message.replace("minigrad.Size", "torch.Size")) == expected


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_signature_is_torchs(name):
    torch = pytest.importorskip("torch")
    ours = inspect.signature(getattr(mg.optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert list(ours) == list(theirs)
    for key in theirs:
        assert ours[key].kind == theirs[key].kind, key
        assert ours[key].default == theirs[key].default, key


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_state_dict_round_trip_and_torch_state(name, tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    init = [rng.standard_normal((5, 3)), rng.standard_normal((3, 4))]
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tparams, lr=0.01)
    for i in range(5):
        for p in tparams:
            p.grad = torch.tensor(_gradient(p.detach().numpy(), i))
        topt.step()
    # A torch state dict loads (its tensors cast, its row/col shapes kept), and a minigrad
    # one saved to a file resumes bit-identically.
    params = [mg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tparams]
    opt = getattr(mg.optim, name)(params, lr=0.5)
    opt.load_state_dict(topt.state_dict())
    assert opt.param_groups[0]["lr"] == 0.01
    for p, tp in zip(params, tparams):
        for key, value in topt.state[tp].items():
            np.testing.assert_array_equal(np.asarray(opt.state[p][key]), value.numpy())
    mg.save(opt.state_dict(), tmp_path / "opt.mg")
    copies = [mg.tensor(p.numpy().copy(), requires_grad=True) for p in params]
    resumed = getattr(mg.optim, name)(copies, lr=0.5)
    resumed.load_state_dict(mg.load(tmp_path / "opt.mg"))
    for i in range(5):
        for p, q in zip(params, copies):
            p.grad = q.grad = mg.tensor(_gradient(p.numpy(), i))
        opt.step()
        resumed.step()
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
