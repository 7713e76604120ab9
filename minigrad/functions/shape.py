"""Shape and layout: views, joins and splits."""
from ..tensor import cat, concat, concatenate, stack
from ._common import method_form

__all__ = ["cat", "concat", "concatenate", "flatten", "permute", "reshape", "squeeze", "stack",
           "t", "transpose", "unsqueeze"]
METHODS = []

reshape = method_form("reshape")
flatten = method_form("flatten")
transpose = method_form("transpose")
permute = method_form("permute")
unsqueeze = method_form("unsqueeze")
squeeze = method_form("squeeze")
t = method_form("t")

_ = (cat, concat, concatenate, stack)
