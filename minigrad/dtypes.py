"""minigrad's dtypes: thin named wrappers over numpy dtypes, printed the way PyTorch prints them.

``mg.float32`` is the default for Python floats, ``mg.int64`` for Python ints (labels, indices).
Type promotion follows PyTorch (see ``result_type``), which differs from numpy's in two places:
an integer tensor combined with a float tensor takes the float tensor's dtype (numpy would
widen to float64), and a 0-d tensor does not widen a dimensioned tensor of the same kind.
"""
import numpy as np

_LEGACY_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}


class dtype:
    __slots__ = ("is_floating_point", "itemsize", "legacy_name", "name", "np_dtype")

    def __init__(self, name, np_dtype):
        self.name = name
        # PyTorch's scalar-type names, as its error messages spell them ("Float", "Long"...)
        self.legacy_name = _LEGACY_NAMES.get(name, name)
        self.np_dtype = np.dtype(np_dtype)
        self.is_floating_point = self.np_dtype.kind == "f"
        self.itemsize = self.np_dtype.itemsize

    def __repr__(self):
        return "minigrad." + self.name

    def __reduce__(self):  # copy/deepcopy return the same singleton
        return (as_dtype, (self.name,))


float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
float16 = dtype("float16", np.float16)
int64 = dtype("int64", np.int64)
int32 = dtype("int32", np.int32)
int16 = dtype("int16", np.int16)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
bool_ = dtype("bool", np.bool_)

_BY_NUMPY = {d.np_dtype: d for d in (float32, float64, float16, int64, int32, int16, int8,
                                     uint8, bool_)}
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
    return from_numpy_dtype(np.dtype(value))


def _category(np_dtype):
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[np_dtype.kind]


def result_type(a, b):
    """PyTorch's promotion of two arrays: a dimensioned operand outranks a 0-d one of the same
    category (bool < integer < float); otherwise the wider dtype of the higher category wins."""
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ca, cb = _category(da), _category(db)
    if ca != cb:
        return da if ca > cb else db
    if a.ndim == 0 and b.ndim > 0:
        return db
    if b.ndim == 0 and a.ndim > 0:
        return da
    return np.promote_types(da, db)
