"""Defects found by probing minigrad as its users' worst day would: each test failed before its
fix. (Checkpoint files: tests/test_hostile_checkpoints.py; optimizer kernels on byte-swapped or
misaligned memory: tests/test_optim*.py and tests/test_kernels.py.)"""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------
# Byte order: memory the kernels would misread is converted, or refused, on the way in
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_a_tensor_made_from_big_endian_values_trains_correctly(optimizer):
    """One optimizer step on such a parameter used to write garbage (1.26e-29, 2.85e+154)."""
    def run(lib, values):
        p = lib.tensor(values, requires_grad=True)
        opt = getattr(lib.optim, optimizer)([p], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
        return p.detach().numpy()

    big_endian = np.array([1.0, 2.0, 3.0], dtype=">f8")
    # torch refuses big-endian input; it gets the same values in native order
    np.testing.assert_allclose(run(mg, big_endian), run(torch, big_endian.astype("=f8")),
                               rtol=1e-12)


def test_from_numpy_refuses_another_byte_order_as_torch_does():
    swapped = np.array([1.0, 2.0], dtype=">f4")
    for lib in (torch, mg):
        with pytest.raises(ValueError, match="byte order"):
            lib.from_numpy(swapped)


# ---------------------------------------------------------------------------------------------
# Classification losses whose every target is ignored
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy_smoothing", "nll_loss"])
def test_a_batch_with_every_target_ignored_gives_nan_loss_and_zero_gradient(loss):
    def run(lib):
        F_ = lib.nn.functional
        w = lib.tensor([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]], dtype=lib.float64,
                       requires_grad=True)
        x = lib.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=lib.float64)
        logits = x @ w.t()
        target = lib.tensor([-100, -100])
        if loss == "nll_loss":
            value = F_.nll_loss(F_.log_softmax(logits, dim=1), target)
        else:
            value = F_.cross_entropy(logits, target,
                                     label_smoothing=0.2 if "smoothing" in loss else 0.0)
        value.backward()
        opt = lib.optim.SGD([w], lr=0.1)
        opt.step()
        return value.item(), w.grad.numpy(), w.detach().numpy()

    (t_loss, t_grad, t_w), (m_loss, m_grad, m_w) = run(torch), run(mg)
    assert np.isnan(t_loss) and np.isnan(m_loss)
    np.testing.assert_array_equal(m_grad, np.zeros_like(m_grad))  # not NaN: weights survive
    np.testing.assert_array_equal(m_grad, t_grad)
    np.testing.assert_array_equal(m_w, t_w)


def test_a_nan_logit_in_an_ignored_row_does_not_make_the_loss_nan():
    def run(lib, reduction):
        logits = lib.tensor([[1.0, 2.0, 3.0], [float("nan"), 0.5, 1.0]], dtype=lib.float64)
        return lib.nn.functional.cross_entropy(logits, lib.tensor([2, -100]),
                                               reduction=reduction).numpy()

    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(run(mg, reduction), run(torch, reduction), rtol=1e-12)
        assert np.isfinite(run(mg, reduction)).all()


# ---------------------------------------------------------------------------------------------
# Bad arguments get an exception PyTorch code catches (PyTorch's RuntimeError)
# ---------------------------------------------------------------------------------------------

BAD_ARGUMENTS = {
    "huber_delta": lambda lib: lib.nn.HuberLoss(delta=-0.5)(lib.ones(2), lib.ones(2)),
    "smooth_l1_beta": lambda lib: lib.nn.functional.smooth_l1_loss(lib.ones(2), lib.ones(2),
                                                                   beta=-1.0),
    "label_smoothing": lambda lib: lib.nn.functional.cross_entropy(
        lib.ones(2, 3), lib.tensor([0, 1]), label_smoothing=1.2),
    "bce_target": lambda lib: lib.nn.functional.binary_cross_entropy(
        lib.tensor([0.5]), lib.tensor([1.5])),
    "bce_input": lambda lib: lib.nn.functional.binary_cross_entropy(
        lib.tensor([1.5]), lib.tensor([1.0])),
    "module_to_copy": lambda lib: lib.nn.Linear(2, 2).to("cpu", copy=True),
    "linear_dtype": lambda lib: lib.nn.Linear(2, 3)(lib.ones(1, 2, dtype=lib.float64)),
}


@pytest.mark.parametrize("name", list(BAD_ARGUMENTS))
def test_bad_arguments_raise_what_pytorch_raises(name):
    case = BAD_ARGUMENTS[name]
    with pytest.raises(Exception) as expected:
        case(torch)
    with pytest.raises(Exception) as got:
        case(mg)
    assert isinstance(expected.value, RuntimeError)
    assert isinstance(got.value, type(expected.value)), type(got.value)
