"""Reductions: sums, means, extremes, statistics."""
from ._common import method_form

__all__ = ["amax", "amin", "argmax", "argmin", "max", "mean", "min", "std", "sum", "var"]
METHODS = []

sum = method_form("sum")
mean = method_form("mean")
var = method_form("var")
std = method_form("std")
amax = method_form("amax")
amin = method_form("amin")
max = method_form("max")
min = method_form("min")
argmax = method_form("argmax")
argmin = method_form("argmin")
