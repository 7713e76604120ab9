"""Issue 8's wrong values, dtypes and accepted-but-refused inputs (items 6, 7 and 9), one test
each, against PyTorch: each failed on the behaviour the issue reported. Also the regressions the
fuzz (tests/test_fuzz.py) found: gradients at NaN and float32 gradients of 0-d results.

The other items have their tests beside their code: byte order and all-ignored batches in
test_hardening.py, misaligned optimizer buffers in test_optim.py, hostile checkpoints in
test_hostile_checkpoints.py, killed saves in test_serialization.py, worker_init_fn in
test_data_workers.py.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")


def _same(m, t):
    assert str(m.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(m.shape) == tuple(t.shape)
    np.testing.assert_array_equal(m.detach().numpy(), t.detach().numpy())


# ---------------------------------------------------------------------------------------------
# Item 6: values and dtypes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [[1, 2, -3], [True, False]])
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_of_integer_or_bool_tensors_give_float32(name, values):
    m = getattr(F, name)(mg.tensor(values))
    t = getattr(torch.nn.functional, name)(torch.tensor(values))
    assert m.dtype == mg.float32 and t.dtype == torch.float32
    np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dim", [None, 0])
def test_std_backward_at_a_constant_input_is_zero(dim):
    x = mg.tensor([2.5, 2.5, 2.5], requires_grad=True)
    tx = torch.tensor([2.5, 2.5, 2.5], requires_grad=True)
    (x.std() if dim is None else x.std(dim)).backward()
    (tx.std() if dim is None else tx.std(dim)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert not np.any(x.grad.numpy())


def test_float32_var_and_std_of_values_near_1e20_stay_finite():
    for values, fn in (([1e19, 2e19, 3e19], "var"), ([1e20, 2e20, 3e20], "std")):
        m = getattr(mg.tensor(values), fn)()
        t = getattr(torch.tensor(values), fn)()
        assert m.dtype == mg.float32 and np.isfinite(m.item())
        np.testing.assert_allclose(m.item(), t.item(), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_min_of_an_integer_tensor_holding_its_type_minimum(dtype):
    info = np.iinfo(dtype)
    values = [int(info.min), 0, int(info.max)]
    _same(mg.tensor(values, dtype=getattr(mg, dtype)).min(),
          torch.tensor(values, dtype=getattr(torch, dtype)).min())


def test_min_of_a_bool_tensor():
    for values in ([True, False], [True, True]):
        _same(mg.tensor(values).min(), torch.tensor(values).min())
        _same(mg.tensor(values).amin(0), torch.tensor(values).amin(0))


def test_gradient_of_x_to_the_zero_at_zero_is_zero():
    x = mg.tensor([0.0, 2.0, -1.0], requires_grad=True)
    tx = torch.tensor([0.0, 2.0, -1.0], requires_grad=True)
    (x ** 0).sum().backward()
    (tx ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("key", ["int_slice_index", "slice_int_index", "index_slice_int"])
def test_an_integer_and_an_index_tensor_separated_by_a_slice_order_axes_as_pytorch(key):
    def subscript(lib):
        idx = lib.tensor([0, 2])
        return {"int_slice_index": (0, slice(None), idx),
                "slice_int_index": (slice(None), 1, slice(None), idx),
                "index_slice_int": (idx, slice(None), 1)}[key]
    values = np.arange(3 * 4 * 5 * 6, dtype=np.float64).reshape(3, 4, 5, 6)
    _same(mg.tensor(values)[subscript(mg)], torch.tensor(values)[subscript(torch)])


@pytest.mark.parametrize("call", [
    lambda lib, x: x.sum(dim=1),
    lambda lib, x: x.sum(dim=-2),
    lambda lib, x: lib.amax(x, 1),
    lambda lib, x: lib.softmax(x, 1),
    lambda lib, x: x.unsqueeze(2),
    lambda lib, x: lib.flatten(x, 1),
    lambda lib, x: lib.squeeze(x, -3),
    lambda lib, x: lib.roll(x, 1, 0),
    lambda lib, x: lib.movedim(x, 1, 0),
    lambda lib, x: lib.cumsum(x, 1),
    lambda lib, x: x.argmax(1),
])
def test_an_out_of_range_dim_on_a_0d_tensor_raises_index_error(call):
    with pytest.raises(IndexError):
        call(torch, torch.tensor(1.0))
    with pytest.raises(IndexError):
        call(mg, mg.tensor(1.0))


@pytest.mark.parametrize("op", ["__or__", "__and__", "__xor__"])
def test_int32_bitwise_with_0xffffffff_wraps_as_pytorch(op):
    m = getattr(mg.tensor([1, -2, 7], dtype=mg.int32), op)(0xFFFFFFFF)
    t = getattr(torch.tensor([1, -2, 7], dtype=torch.int32), op)(0xFFFFFFFF)
    _same(m, t)


# ---------------------------------------------------------------------------------------------
# Item 7: inputs PyTorch refuses
# ---------------------------------------------------------------------------------------------

def test_a_gradient_of_another_shape_of_the_same_size_is_refused():
    def assign(lib):
        p = lib.zeros(2, 3, requires_grad=True)
        p.grad = lib.ones(3, 2)
    with pytest.raises(RuntimeError):
        assign(torch)
    with pytest.raises(RuntimeError):
        assign(mg)


def test_an_optimizer_refuses_a_gradient_reshaped_behind_the_parameter():
    p = mg.nn.Parameter(mg.zeros(2, 3))
    p.grad = mg.ones(2, 3)
    p.grad._data = p.grad._data.reshape(3, 2)  # storage changed behind the Tensor
    with pytest.raises(RuntimeError):
        mg.optim.SGD([p], lr=0.1).step()
    assert not np.any(p.numpy())


def test_cat_of_0d_tensors_raises_runtime_error_as_pytorch():
    with pytest.raises(RuntimeError, match="zero-dimensional"):
        torch.cat([torch.tensor(1.0), torch.tensor(2.0)])
    with pytest.raises(RuntimeError, match="zero-dimensional"):
        mg.cat([mg.tensor(1.0), mg.tensor(2.0)])


@pytest.mark.parametrize("shape", [(2 ** 62, 2 ** 62), (2 ** 32, 2 ** 32, 2), (3, 2 ** 62, 4)])
def test_reshape_whose_sizes_overflow_int64_raises_runtime_error(shape):
    with pytest.raises(RuntimeError):
        torch.arange(4.0).reshape(shape)
    with pytest.raises(RuntimeError):
        mg.arange(4.0).reshape(shape)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizers_step_float16_parameters_as_pytorch(name):
    def run(lib):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 0.5], dtype=lib.float16))
        opt = getattr(lib.optim, name)([p], lr=0.1)
        for _ in range(3):
            p.grad = lib.tensor([0.5, -0.25, 1.0], dtype=lib.float16)
            opt.step()
        return p
    m, t = run(mg), run(torch)
    assert m.dtype == mg.float16
    np.testing.assert_allclose(m.detach().numpy().astype(np.float64),
                               t.detach().numpy().astype(np.float64), rtol=2e-3, atol=1e-3)


# ---------------------------------------------------------------------------------------------
# Item 9: DataLoader(worker_init_fn=f) calls f in every worker
# ---------------------------------------------------------------------------------------------

def _record_worker(worker_id):
    import os
    info = mg.utils.data.get_worker_info()
    with open(os.path.join(os.environ["MINIGRAD_TEST_WORKER_DIR"], f"w{worker_id}"), "w") as f:
        f.write(f"{info.id} {info.num_workers}")


def test_worker_init_fn_is_called_in_each_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_TEST_WORKER_DIR", str(tmp_path))
    data = mg.utils.data.TensorDataset(mg.arange(8.0))
    loader = mg.utils.data.DataLoader(data, batch_size=2, num_workers=2,
                                      worker_init_fn=_record_worker)
    assert sum(len(b[0]) for b in loader) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w0", "w1"]
    assert (tmp_path / "w1").read_text() == "1 2"


# ---------------------------------------------------------------------------------------------
# Found by the fuzz
# ---------------------------------------------------------------------------------------------

def test_abs_and_l1_loss_gradients_at_nan_are_zero_as_pytorch():
    values = [float("nan"), -0.0, 2.0, -3.0]
    x = mg.tensor(values, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    x.abs().sum().backward()
    tx.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    for beta in (None, 0.0):
        x.grad, tx.grad = None, None
        zeros = [0.0] * 4
        if beta is None:
            F.l1_loss(x, mg.tensor(zeros), reduction="sum").backward()
            torch.nn.functional.l1_loss(tx, torch.tensor(zeros), reduction="sum").backward()
        else:
            F.smooth_l1_loss(x, mg.tensor(zeros), beta=beta, reduction="sum").backward()
            torch.nn.functional.smooth_l1_loss(tx, torch.tensor(zeros), beta=beta,
                                               reduction="sum").backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.clamp(x, max=1.0),
    lambda lib, x: lib.fmin(x, x * 2),
    lambda lib, x: lib.nan_to_num(x),
])
def test_float32_gradients_of_0d_results_stay_float32(call):
    x = mg.tensor(0.5, requires_grad=True)
    tx = torch.tensor(0.5, requires_grad=True)
    call(mg, x).backward()
    call(torch, tx).backward()
    assert x.grad.dtype == mg.float32
    _same(x.grad, tx.grad)
