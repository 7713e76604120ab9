"""Products: matmul and friends."""
from ..tensor import matmul
from ._common import method_form

__all__ = ["dot", "matmul", "mm"]
METHODS = []

mm = method_form("mm")
dot = method_form("dot")

_ = (matmul,)
