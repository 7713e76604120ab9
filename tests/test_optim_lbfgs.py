"""LBFGS against torch.optim.LBFGS on the Rosenbrock function: same iterates to round-off,
with and without the strong-Wolfe line search; options and errors.

The closures compute the Rosenbrock value and gradient with the same numpy formula for both
libraries, so both optimizers see bit-identical inputs and any difference is LBFGS's own.
(Through each library's autograd the gradients differ in the last bit now and then, and
Rosenbrock's ill-conditioning amplifies that over dozens of evaluations.)"""
import numpy as np
import pytest

import minigrad as mg


def rosenbrock(xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosenbrock_and_gradient(xy):
    x, y = xy
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], dtype=xy.dtype)
    return f, g


def run(lib, start, steps, dtype, autograd=False, **kwargs):
    """steps calls of LBFGS.step on Rosenbrock from start; the iterates, losses and state."""
    if lib is mg:
        p = mg.tensor(np.array(start, dtype=dtype), requires_grad=True)
    else:
        p = lib.tensor(np.array(start, dtype=dtype), requires_grad=True)
    opt = lib.optim.LBFGS([p], **kwargs)
    evaluations = []

    def closure():
        opt.zero_grad()
        if autograd:
            loss = rosenbrock(p)
            loss.backward()
        else:
            f, g = rosenbrock_and_gradient(np.array(p.detach().numpy()))
            p.grad = lib.tensor(g)
            loss = lib.tensor(f)
        evaluations.append(loss.item())
        return loss

    iterates, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        iterates.append(np.array(p.detach().numpy() if lib is not mg else p.numpy()))
    return iterates, losses, evaluations, opt.state[p]


@pytest.mark.parametrize("kwargs", [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"lr": 0.5, "history_size": 3, "max_iter": 7},
    {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 5, "max_eval": 6},
    {"tolerance_grad": 1e-3, "tolerance_change": 1e-4, "line_search_fn": "strong_wolfe"},
    {"lr": 0.1, "max_iter": 1},
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
@pytest.mark.parametrize("start", [(-1.5, 2.0), (0.3, -0.4)])
def test_lbfgs_matches_torch_on_rosenbrock(kwargs, start):
    torch = pytest.importorskip("torch")
    ours = run(mg, start, 3, np.float64, **kwargs)
    theirs = run(torch, start, 3, np.float64, **kwargs)
    # Same sequence of closure evaluations: every decision of the iteration and of the line
    # search was the same. The values agree to round-off: PyTorch's add_(alpha=) uses fused
    # multiply-adds, so last bits differ from the first iterations on, and Rosenbrock's
    # valley amplifies them (to ~1e-7 after 60 evaluations at lr=1 without line search).
    assert len(ours[2]) == len(theirs[2])
    first_step = len(ours[2]) // 3
    np.testing.assert_allclose(ours[2][:first_step], theirs[2][:first_step], rtol=1e-9)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert ours[3]["func_evals"] == theirs[3]["func_evals"]
    assert ours[3]["n_iter"] == theirs[3]["n_iter"]
    assert len(ours[3]["old_dirs"]) == len(theirs[3]["old_dirs"])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_through_autograd_converges_like_torch(line_search_fn):
    torch = pytest.importorskip("torch")
    ours = run(mg, (-1.5, 2.0), 5, np.float64, autograd=True, line_search_fn=line_search_fn)
    theirs = run(torch, (-1.5, 2.0), 5, np.float64, autograd=True,
                 line_search_fn=line_search_fn)
    np.testing.assert_allclose(ours[2][:8], theirs[2][:8], rtol=1e-12)  # the first iterations
    np.testing.assert_allclose(ours[0][-1], [1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(ours[0][-1], theirs[0][-1], atol=1e-6)


def test_lbfgs_float32_follows_torch():
    torch = pytest.importorskip("torch")
    ours = run(mg, (-1.5, 2.0), 3, np.float32, line_search_fn="strong_wolfe")
    theirs = run(torch, (-1.5, 2.0), 3, np.float32, line_search_fn="strong_wolfe")
    assert ours[0][-1].dtype == np.float32
    np.testing.assert_allclose(ours[0][0], theirs[0][0], rtol=1e-3, atol=1e-4)


def test_lbfgs_several_parameters_and_state_dict_round_trip():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal(4)
    target = rng.standard_normal(6)

    def make(lib):
        ps = [lib.tensor(a.copy(), requires_grad=True), lib.tensor(b.copy(), requires_grad=True)]
        opt = lib.optim.LBFGS(ps, history_size=4, max_iter=4, line_search_fn="strong_wolfe")
        t = lib.tensor(target)

        def closure():
            opt.zero_grad()
            x = ps[0].reshape(-1)
            loss = ((x - t) ** 2).sum() + (ps[1] ** 4).sum() + (x.sum() * ps[1].sum()) ** 2
            loss.backward()
            return loss
        return ps, opt, closure

    mps, mopt, mclosure = make(mg)
    tps, topt, tclosure = make(torch)
    for _ in range(2):
        mopt.step(mclosure)
        topt.step(tclosure)
    # Resume a fresh minigrad LBFGS from the state dict: it continues identically.
    sd = mopt.state_dict()
    nps, nopt, nclosure = make(mg)
    for p, q in zip(nps, mps):
        p.data = q.detach().clone()
    nopt.load_state_dict(sd)
    for _ in range(2):
        mopt.step(mclosure)
        nopt.step(nclosure)
        topt.step(tclosure)
    for p, q, r in zip(mps, nps, tps):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        np.testing.assert_allclose(p.numpy(), r.detach().numpy(), rtol=1e-8, atol=1e-10)


def test_lbfgs_errors():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    q = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        mg.optim.LBFGS([{"params": [p]}, {"params": [q]}])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        mg.optim.LBFGS([p], lr=-1)
    opt = mg.optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    assert mg.optim.LBFGS([p], max_iter=8).defaults["max_eval"] == 10
