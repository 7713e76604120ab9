"""Every name of PyTorch's tensor API that minigrad promises (issue 9's list) exists in both
spellings PyTorch has: ``mg.<name>`` where ``torch.<name>`` exists and ``Tensor.<name>`` where
``torch.Tensor.<name>`` exists. Behaviour is tested per family (tests/test_ops_*.py); this
catches a name that was never written or a method that was never attached."""
import pytest

import minigrad as mg

NAMES = ["sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square", "abs", "neg", "sign", "sgn", "floor", "ceil", "round", "trunc", "frac", "fmod", "remainder", "floor_divide", "reciprocal", "pow", "float_power", "erf", "erfc", "erfinv", "sigmoid", "logit", "logaddexp", "logaddexp2", "lerp", "hypot", "copysign", "clamp", "clip", "maximum", "minimum", "fmax", "fmin", "nan_to_num", "isnan", "isinf", "isfinite", "isclose", "allclose", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "sum", "mean", "prod", "std", "var", "std_mean", "var_mean", "norm", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "logsumexp", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "any", "all", "count_nonzero", "median", "mode", "sort", "argsort", "topk", "kthvalue", "unique", "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy", "index_fill", "masked_fill", "masked_select", "masked_scatter", "nonzero", "take", "take_along_dim", "where", "index_put_", "index_put", "repeat", "repeat_interleave", "tile", "flip", "fliplr", "flipud", "roll", "rot90", "split", "chunk", "tensor_split", "unbind", "select", "narrow", "unfold", "unflatten", "movedim", "moveaxis", "swapaxes", "swapdims", "t", "contiguous", "broadcast_to", "broadcast_tensors", "meshgrid", "tril", "triu", "diag", "diagonal", "diag_embed", "trace", "outer", "inner", "dot", "mm", "mv", "bmm", "addmm", "addmv", "baddbmm", "einsum", "kron", "cross", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "dstack", "column_stack", "empty", "full", "full_like", "zeros_like", "ones_like", "empty_like", "eye", "linspace", "logspace", "arange", "tril_indices", "triu_indices", "normal", "rand_like", "randn_like", "randint_like", "bernoulli", "multinomial", "poisson", "randperm", "normal_", "uniform_", "bernoulli_", "random_", "exponential_", "fill_", "zero_", "copy_", "manual_seed", "seed", "Generator", "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "set_default_dtype", "get_default_dtype", "is_floating_point", "element_size", "nelement", "numel", "type", "softmax", "log_softmax", "int32", "int16", "int8", "uint8", "float16"]


@pytest.mark.parametrize("name", NAMES)
def test_name_exists_where_torch_has_it(name):
    torch = pytest.importorskip("torch")
    assert hasattr(torch, name) or hasattr(torch.Tensor, name), name  # the list itself
    if hasattr(torch, name):
        assert hasattr(mg, name), f"mg.{name} is missing"
    if hasattr(torch.Tensor, name):
        assert callable(getattr(mg.Tensor, name, None)), f"Tensor.{name} is missing"


def test_tensor_where_method_and_function_forms_of_in_place_fills():
    torch = pytest.importorskip("torch")
    for lib in (torch, mg):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        out = x.where(lib.tensor([True, False, True]), lib.tensor(9.0, dtype=lib.float64))
        out.sum().backward()
        assert out.tolist() == [1.0, 9.0, 3.0]
        assert x.grad.tolist() == [1.0, 0.0, 1.0]
        t = lib.ones(2)
        assert lib.fill_(t, 2.5) is t and t.tolist() == [2.5, 2.5]
        assert lib.zero_(t) is t and t.tolist() == [0.0, 0.0]
