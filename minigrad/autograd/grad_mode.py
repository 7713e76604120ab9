"""Grad mode: whether operations are recorded for backward. Thread-local, as in PyTorch.

Every thread starts with recording on. ``no_grad`` / ``enable_grad`` / ``set_grad_enabled`` /
``inference_mode`` switch it for the current thread only, so a ``no_grad`` block in a data
thread never turns recording off in the training thread. Each works as a context manager and
as a decorator, including of generator functions (the mode is set around every resumption of
the generator, and the caller's mode is untouched between them).
"""
from __future__ import annotations

import functools
import inspect
import sys
import threading
from typing import Any

__all__ = ["enable_grad", "inference_mode", "is_grad_enabled", "is_inference_mode_enabled",
           "no_grad", "set_grad_enabled"]


class _GradState(threading.local):
    """Per-thread flags; the class attributes are each new thread's starting values."""

    enabled = True
    inference = False


state = _GradState()


def is_grad_enabled() -> bool:
    """True when operations in this thread are being recorded for backward."""
    return state.enabled


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return state.inference


class _DecoratorContextManager:
    """A context manager that is also a decorator of functions and generator functions."""

    def clone(self):
        return self.__class__()

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return decorated

    def _wrap_generator(self, func):
        """Run every step of the generator inside the context, and nothing else."""

        @functools.wraps(func)
        def generator_context(*args, **kwargs):
            gen = func(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException:  # noqa: BLE001 - handed on to the generator
                        with self.clone():
                            response = gen.throw(*sys.exc_info()[1:2])
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return generator_context


class _NoParamDecorator(_DecoratorContextManager):
    """Also usable without parentheses: ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func: Any = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):
    """Operations inside record no graph: results have ``requires_grad=False``.

    ``with mg.no_grad(): ...``, ``@mg.no_grad()`` or ``@mg.no_grad``."""

    def __enter__(self) -> None:
        self.prev = state.enabled
        state.enabled = False

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.prev


class enable_grad(_NoParamDecorator):
    """Turn recording back on inside a ``no_grad`` block."""

    def __enter__(self) -> None:
        self.prev = state.enabled
        state.enabled = True

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.prev


class set_grad_enabled(_DecoratorContextManager):
    """``set_grad_enabled(False)`` switches recording off at once (a plain call); as a
    context manager it restores the previous mode on exit; as a decorator it leaves the
    mode alone and sets it around each call."""

    def __init__(self, mode: bool) -> None:
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __call__(self, func):
        state.enabled = self.prev  # used as a decorator: undo the switch made by __init__
        return super().__call__(func)

    def __enter__(self) -> None:
        state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.prev

    def clone(self):
        return self.__class__(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad`` (no graph is recorded); ``inference_mode(False)`` does nothing.

    minigrad has no separate inference tensors: tensors made here are ordinary tensors
    that do not require grad."""

    def __new__(cls, mode: Any = True) -> Any:
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # @inference_mode without parentheses

    def __init__(self, mode: bool = True) -> None:
        if isinstance(mode, bool):
            self.mode = mode

    def __enter__(self) -> None:
        self.prev = (state.enabled, state.inference)
        if self.mode:
            state.enabled = False
            state.inference = True

    def __exit__(self, *exc: object) -> None:
        state.enabled, state.inference = self.prev

    def clone(self):
        return self.__class__(self.mode)
