"""minigrad's dtypes: thin named wrappers over numpy dtypes, printed the way PyTorch prints them,
and PyTorch's type promotion.

``mg.float32`` is the default dtype (Python floats, factories, integer -> float results) until
``set_default_dtype`` changes it; ``mg.int64`` is the dtype of Python ints (labels, indices).

Type promotion follows PyTorch (``result_np_dtype``), which differs from numpy's in three places:

- categories rank bool < integer < floating, and a higher category wins whatever the sizes:
  int64 with float16 is float16 (numpy: float64);
- operands have a priority: dimensioned tensors, then 0-d tensors, then Python numbers. An
  operand of lower priority only counts if its category is higher than that of every operand
  above it: ``int8_tensor + torch.tensor(1000)`` stays int8, ``int32_tensor + 2.5`` is the
  default float dtype, ``int32_tensor + float64_0d`` is float64;
- a Python float counts as the default dtype, a Python int as int64, a bool as bool.
"""
import numpy as np

_LEGACY_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}


class dtype:
    """A tensor element type: ``mg.float32``, ``mg.int64``... (``torch.dtype``)."""

    __slots__ = ("is_complex", "is_floating_point", "is_signed", "itemsize", "legacy_name",
                 "name", "np_dtype")

    def __init__(self, name, np_dtype):
        self.name = name
        # PyTorch's scalar-type names, as its error messages spell them ("Float", "Long"...)
        self.legacy_name = _LEGACY_NAMES.get(name, name)
        self.np_dtype = np.dtype(np_dtype)
        self.is_floating_point = self.np_dtype.kind == "f"
        self.is_complex = self.np_dtype.kind == "c"
        self.is_signed = self.np_dtype.kind in "ifc"
        self.itemsize = self.np_dtype.itemsize

    def __repr__(self):
        return "minigrad." + self.name

    def __reduce__(self):  # copy/deepcopy return the same singleton
        return (as_dtype, (self.name,))

    def to_real(self):
        return self

    def to_complex(self):
        return {"float32": complex64, "float64": complex128}.get(self.name, complex64)


float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
float16 = dtype("float16", np.float16)
int64 = dtype("int64", np.int64)
int32 = dtype("int32", np.int32)
int16 = dtype("int16", np.int16)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
bool_ = dtype("bool", np.bool_)
complex64 = dtype("complex64", np.complex64)
complex128 = dtype("complex128", np.complex128)

_BY_NUMPY = {d.np_dtype: d for d in (float32, float64, float16, int64, int32, int16, int8,
                                     uint8, bool_, complex64, complex128)}
_ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64,
            "int": int32, "short": int16, "bool": bool_}


def from_numpy_dtype(np_dtype):
    """The minigrad dtype of a numpy dtype (made on demand for the rarer ones)."""
    found = _BY_NUMPY.get(np_dtype)
    if found is None:
        np_dtype = np.dtype(np_dtype)
        found = _BY_NUMPY.setdefault(np_dtype, dtype(np_dtype.name, np_dtype))
    return found


def as_dtype(value):
    """Accept a minigrad dtype, a numpy dtype or type, or a name ('float32', 'double', ...)."""
    if isinstance(value, dtype):
        return value
    if isinstance(value, str):
        name = value.replace("minigrad.", "").replace("torch.", "")
        if name in _ALIASES:
            return _ALIASES[name]
        return from_numpy_dtype(np.dtype(name))
    if value is float:
        return float64  # torch: tensor.to(float) -> float64
    if value is int:
        return int64
    if value is bool:
        return bool_
    legacy = getattr(value, "dtype", None)  # mg.FloatTensor and friends
    if isinstance(legacy, dtype):
        return legacy
    return from_numpy_dtype(np.dtype(value))


# ---------------------------------------------------------------------------------------------
# The default dtype
# ---------------------------------------------------------------------------------------------


class _Default:
    dtype = float32
    np_dtype = float32.np_dtype


_default = _Default()


def get_default_dtype():
    """The dtype of Python floats in ``mg.tensor``, of the factories (``zeros``, ``rand``...)
    and of integer inputs to floating functions (``mg.sin(int_tensor)``); float32 at start."""
    return _default.dtype


def set_default_dtype(d):
    """Set the default floating dtype (float16, float32 or float64), as
    ``torch.set_default_dtype``; TypeError for any other dtype."""
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default.dtype = d
    _default.np_dtype = d.np_dtype


def default_np():
    """The default floating dtype as a numpy dtype (the hot-path spelling)."""
    return _default.np_dtype


# ---------------------------------------------------------------------------------------------
# Promotion
# ---------------------------------------------------------------------------------------------

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_UINT64 = np.dtype(np.uint64)


def _category(np_dtype):
    return _CATEGORY[np_dtype.kind]


def promote_np(a, b):
    """PyTorch's ``promote_types`` on numpy dtypes: the higher category wins whatever the
    sizes (int64 with float16 is float16); within a category, the smallest dtype that holds
    both (uint8 with int8 is int16)."""
    if a == b:
        return a
    if a.kind == "b" and b == _UINT64 or b.kind == "b" and a == _UINT64:
        raise RuntimeError("Promotion for uint16, uint32, uint64 types is not supported, "
                           "attempted to promote Bool and UInt64")
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def promote_types(type1, type2):
    """``torch.promote_types``: the smallest dtype both ``type1`` and ``type2`` convert to."""
    return from_numpy_dtype(promote_np(as_dtype(type1).np_dtype, as_dtype(type2).np_dtype))


def number_np_dtype(value):
    """The dtype a Python (or numpy scalar) number stands for in promotion."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        # a Python int in [2**63, 2**64) is PyTorch's uint64 scalar; beyond, none
        if not -(1 << 63) <= value < (1 << 64):
            raise OverflowError("int too big to convert")
        return _UINT64 if value >= 1 << 63 else np.dtype(np.int64)
    if isinstance(value, complex):
        return np.dtype(np.complex128 if _default.np_dtype == np.float64 else np.complex64)
    return _default.np_dtype


def _combine(higher, lower):
    """PyTorch's ``combine_categories``: a lower-priority dtype counts only if its category is
    above the higher-priority one's."""
    if higher is None:
        return lower
    if lower is None or higher.kind in "fc":
        return higher
    if higher.kind == "b" or lower.kind in "fc":
        return promote_np(higher, lower)
    return higher


def result_np_dtype(*operands):
    """PyTorch's result type of ``operands``: numpy arrays (the values of tensors; a 0-d array
    is a 0-d tensor) and Python numbers, as described at the top of this module."""
    dimensioned = zero_dim = number = None
    for x in operands:
        if isinstance(x, np.ndarray):
            if x.ndim:
                dimensioned = x.dtype if dimensioned is None else promote_np(dimensioned,
                                                                             x.dtype)
            else:
                zero_dim = x.dtype if zero_dim is None else promote_np(zero_dim, x.dtype)
        else:
            d = number_np_dtype(x)
            number = d if number is None else promote_np(number, d)
    return _combine(dimensioned, _combine(zero_dim, number))


def result_type(a, b):
    """The result dtype (numpy) of two arrays, by PyTorch's rules (see ``result_np_dtype``)."""
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    return result_np_dtype(a, b)


def can_cast(from_, to):
    """``torch.can_cast``: False only for a cast that loses the kind of value (float to
    integer or bool, integer to bool, complex to real)."""
    a, b = as_dtype(from_).np_dtype, as_dtype(to).np_dtype
    if a.kind == "c" and b.kind != "c":
        return False
    if a.kind == "f" and b.kind in "biu":
        return False
    return not (a.kind != "b" and b.kind == "b")


# ---------------------------------------------------------------------------------------------
# finfo and iinfo
# ---------------------------------------------------------------------------------------------


def _short(value):
    return f"{value:.6g}"


class finfo:
    """Machine limits of a floating dtype (``torch.finfo``): bits, eps, max, min, tiny
    (= smallest_normal), resolution, dtype (its name)."""

    def __init__(self, type=None):
        d = get_default_dtype() if type is None else as_dtype(type)
        if not d.is_floating_point:
            raise TypeError(f"minigrad.finfo() requires a floating point input type. Use "
                            f"minigrad.iinfo to handle '{d}'")
        info = np.finfo(d.np_dtype)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = d.name

    def __repr__(self):
        return (f"finfo(resolution={_short(self.resolution)}, min={_short(self.min)}, "
                f"max={_short(self.max)}, eps={_short(self.eps)}, "
                f"smallest_normal={_short(self.smallest_normal)}, tiny={_short(self.tiny)}, "
                f"dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype (``torch.iinfo``): bits, max, min, dtype."""

    def __init__(self, type):
        d = as_dtype(type)
        if d.np_dtype.kind == "b":
            raise TypeError(f"{d} is not supported by minigrad.iinfo")
        if d.np_dtype.kind not in "iu":
            raise TypeError(f"minigrad.iinfo() requires an integer input type. Use "
                            f"minigrad.finfo to handle '{d}'")
        info = np.iinfo(d.np_dtype)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = d.name

    def __repr__(self):
        return f"iinfo(min={_short(float(self.min))}, max={_short(float(self.max))}, " \
               f"dtype={self.dtype})"
