"""Anomaly detection: find the op whose backward produced a NaN, and where it was created.

With anomaly detection on, every recorded op keeps the stack of the user's code that created
it, and the engine checks each gradient a backward formula returns. The first NaN raises
``RuntimeError("Function 'LogBackward0' returned nan values in its 0th output. ...")``
followed by the traceback of the forward call that made that op: "why is my loss NaN" answered
at the line that caused it. It slows everything down; use it to debug.
"""
import os
import traceback
import warnings

from .grad_mode import _DecoratorContextManager

__all__ = ["detect_anomaly", "is_anomaly_check_nan_enabled", "is_anomaly_enabled",
           "set_detect_anomaly"]


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class _AnomalyState:
    enabled = False
    check_nan = True


state = _AnomalyState()


def is_anomaly_enabled():
    """True inside ``detect_anomaly()`` / ``set_detect_anomaly(True)``."""
    return state.enabled


def is_anomaly_check_nan_enabled():
    """True when anomaly detection also checks every backward output for NaN
    (``detect_anomaly(check_nan=True)``, the default)."""
    return state.check_nan


class detect_anomaly(_DecoratorContextManager):
    """Context manager / decorator that turns anomaly detection on (see the module)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self.prev = (state.enabled, state.check_nan)
        state.enabled, state.check_nan = True, self.check_nan

    def __exit__(self, *exc):
        state.enabled, state.check_nan = self.prev

    def clone(self):
        clone = object.__new__(self.__class__)
        clone.check_nan = self.check_nan
        return clone


class set_detect_anomaly(_DecoratorContextManager):
    """``set_detect_anomaly(True)`` turns detection on at once; as a context manager the
    previous setting comes back on exit."""

    def __init__(self, mode, check_nan=True):
        self.prev = (state.enabled, state.check_nan)
        self.mode, self.check_nan = bool(mode), check_nan
        state.enabled, state.check_nan = self.mode, check_nan

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.enabled, state.check_nan = self.prev

    def clone(self):
        return self.__class__(self.mode, self.check_nan)


def creation_trace():
    """The stack of the code creating an op, without minigrad's own frames at the top."""
    frames = traceback.extract_stack()[:-1]
    while frames and os.path.abspath(frames[-1].filename).startswith(_PACKAGE_DIR):
        frames.pop()
    return "".join(traceback.format_list(frames))
