"""Creation: tensors from data, factories, random sampling, dtype helpers."""
from ..tensor import (
    Tensor,
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from ._common import method_form

__all__ = ["arange", "as_tensor", "empty", "eye", "from_numpy", "full", "full_like",
           "is_tensor", "linspace", "numel", "ones", "ones_like", "rand", "rand_like",
           "randint", "randn", "randn_like", "randperm", "tensor", "zeros", "zeros_like"]
METHODS = []

numel = method_form("numel")


def is_tensor(obj):
    return isinstance(obj, Tensor)


# ---------------------------------------------------------------------------------------------
# dtypes: the default dtype, promotion, machine limits, legacy tensor types
# ---------------------------------------------------------------------------------------------

from .. import dtypes as _dt
from ..dtypes import (
    can_cast,
    finfo,
    get_default_dtype,
    iinfo,
    promote_types,
    set_default_dtype,
)

__all__ += ["BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor",
            "HalfTensor", "IntTensor", "LongTensor", "ShortTensor", "can_cast", "finfo",
            "get_default_dtype", "iinfo", "is_complex", "is_floating_point", "promote_types",
            "result_type", "set_default_dtype"]


def is_floating_point(input):
    """True if ``input`` has a floating dtype."""
    return input.is_floating_point()


def is_complex(input):
    """True if ``input`` has a complex dtype (never, in minigrad's scope)."""
    return input._data.dtype.kind == "c"


def result_type(tensor, other):
    """The dtype PyTorch computes ``tensor <op> other`` in: each a Tensor or a number (a
    dimensioned tensor outranks a 0-d one, which outranks a number, within a category)."""
    values = []
    for x in (tensor, other):
        if isinstance(x, Tensor):
            values.append(x._data)
        elif isinstance(x, (bool, int, float, complex)):
            values.append(x)
        else:
            raise TypeError(f"result_type(): argument must be Tensor or Number, not "
                            f"{type(x).__name__}")
    return _dt.from_numpy_dtype(_dt.result_np_dtype(*values))


class _LegacyTensorType(type):
    """The metaclass of ``mg.FloatTensor`` and friends (PyTorch's legacy tensor types):
    calling one builds a tensor of its dtype (``FloatTensor([1, 2])`` from data,
    ``FloatTensor(2, 3)`` of that size, ``FloatTensor()`` empty), and ``isinstance(t,
    mg.FloatTensor)`` is True for a float32 tensor."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np_dtype

    def __call__(cls, *args, device=None):
        if not args:
            return zeros(0, dtype=cls.dtype, device=device)
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor) and data.dtype is not cls.dtype:
                raise TypeError(f"expected {cls.dtype} (got {data.dtype})")
            return tensor(data, dtype=cls.dtype, device=device)
        return zeros(*args, dtype=cls.dtype, device=device)

    def __repr__(cls):
        return f"<class 'minigrad.{cls.__name__}'>"


def _legacy_type(name, dtype):
    return _LegacyTensorType(name, (), {"dtype": dtype, "__module__": "minigrad",
                                        "__doc__": f"Legacy constructor of {dtype} tensors."})


FloatTensor = _legacy_type("FloatTensor", _dt.float32)
DoubleTensor = _legacy_type("DoubleTensor", _dt.float64)
HalfTensor = _legacy_type("HalfTensor", _dt.float16)
LongTensor = _legacy_type("LongTensor", _dt.int64)
IntTensor = _legacy_type("IntTensor", _dt.int32)
ShortTensor = _legacy_type("ShortTensor", _dt.int16)
CharTensor = _legacy_type("CharTensor", _dt.int8)
ByteTensor = _legacy_type("ByteTensor", _dt.uint8)
BoolTensor = _legacy_type("BoolTensor", _dt.bool_)
_ = (can_cast, finfo, get_default_dtype, iinfo, promote_types, set_default_dtype)
