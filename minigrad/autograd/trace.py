"""Watch a backward pass node by node: ``mg.autograd.trace``.

::

    with mg.autograd.trace() as t:
        loss.backward()
    print(t)                 # one row per node, in the order the engine ran them
    t.to_dataframe()         # the same rows as a pandas DataFrame (pandas is optional)

For each node the engine visits (newest first: see ``engine.py``), a record keeps the op's
name, the gradient it received, dL/d(output) ("grad in": its shape and 2-norm, summed over
every path that reaches the node), the gradients its formula returned for its inputs, dL/d(input)
("grads out": shape and 2-norm each, None where an input needs none, as the formula returned
them, before the engine sums a broadcast gradient back to its input's shape) and the time the
formula took. The 2-norm is sqrt(sum of squares) of all entries, computed in float64.

How it hooks in: the engine reads ``engine._tracer`` once per backward pass. While a trace is
active the pass calls each node's formula through ``Op._traced_backward`` (defined here) instead
of ``Op.backward``; an untraced pass is unchanged and costs nothing more. A trace records
every backward run in the process while it is active (``autograd.grad``, ``create_graph``
passes and the passes of ``gradcheck`` included), numbered by ``pass_index``.
"""
import time

import numpy as np

from . import engine
from .graph import Op, tensor_type

__all__ = ["TraceRecord", "trace"]


def _norm(g):
    if g is None:
        return None
    values = g._data if isinstance(g, tensor_type()) else np.asarray(g)
    return float(np.sqrt(np.sum(np.square(values, dtype=np.float64))))


def _shape(g):
    if g is None:
        return None
    values = g._data if isinstance(g, tensor_type()) else np.asarray(g)
    return tuple(values.shape)


def _array(g):
    if g is None:
        return None
    return g._data if isinstance(g, tensor_type()) else np.asarray(g)


class TraceRecord:
    """One node's visit: ``index`` (visiting order in the trace), ``pass_index``, ``op`` (its
    name, e.g. ``'MulBackward0'``), ``node`` (the node itself), ``out_shapes``/``grad_in_norms``
    (one per output of the node), ``grad_out_shapes``/``grad_out_norms`` (one per input;
    None where no gradient), ``seconds``, and ``grad_in`` (the array, or a list of them for a
    node with several outputs)."""

    __slots__ = ("grad_in", "grad_in_norms", "grad_out_norms", "grad_out_shapes", "index",
                 "node", "op", "out_shapes", "pass_index", "seconds")

    def __init__(self, index, pass_index, node, grad_in, grads_out, seconds):
        self.index = index
        self.pass_index = pass_index
        self.node = node
        self.op = node.name()
        ins = list(grad_in) if isinstance(grad_in, (list, tuple)) else [grad_in]
        self.grad_in = [_array(g) for g in ins] if len(ins) > 1 else _array(ins[0])
        self.out_shapes = [_shape(g) for g in ins]
        self.grad_in_norms = [_norm(g) for g in ins]
        self.grad_out_shapes = [_shape(g) for g in grads_out]
        self.grad_out_norms = [_norm(g) for g in grads_out]
        self.seconds = seconds

    def as_dict(self):
        return {name: getattr(self, name) for name in
                ("index", "pass_index", "op", "out_shapes", "grad_in_norms",
                 "grad_out_shapes", "grad_out_norms", "seconds")}

    def __repr__(self):
        return (f"TraceRecord({self.index}, {self.op}, grad in {self.out_shapes} "
                f"|{_fmt_list(self.grad_in_norms)}|, grads out {self.grad_out_shapes} "
                f"|{_fmt_list(self.grad_out_norms)}|)")


def _fmt(value):
    return "-" if value is None else f"{value:.4g}"


def _fmt_list(values):
    return ", ".join(_fmt(v) for v in values)


def _fmt_shapes(shapes):
    return ", ".join("-" if s is None else str(s) for s in shapes)


class trace:
    """Context manager recording every backward pass run inside it (see the module docstring).

    ``t.records`` is the list of ``TraceRecord``; ``len(t)``, iteration and ``t[i]`` reach it;
    ``str(t)`` is a table; ``t.to_dataframe()`` needs pandas."""

    def __init__(self):
        self.records = []
        self.passes = 0
        self._previous = None
        self._active = False

    def __enter__(self):
        self._previous = engine._tracer
        engine._tracer = self
        self._active = True
        return self

    def __exit__(self, *exc):
        engine._tracer = self._previous
        self._active = False
        return False

    # the engine's side (once per pass) -----------------------------------------------------
    def method_name(self, backward):
        """Called by the engine at the start of a pass: the name of the method it calls on
        each node (the traced twin of ``backward`` or ``backward_recorded``)."""
        self.passes += 1
        return "_traced_" + backward

    def _record(self, node, method, grad, xp):
        start = time.perf_counter()
        grads_out = method(grad, xp)
        seconds = time.perf_counter() - start
        outs = grads_out if type(grads_out) is tuple else (grads_out,)
        self.records.append(TraceRecord(len(self.records), self.passes - 1, node, grad, outs,
                                        seconds))
        return grads_out

    # the reader's side ---------------------------------------------------------------------
    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, index):
        return self.records[index]

    @property
    def total_seconds(self):
        return sum(r.seconds for r in self.records)

    def __str__(self):
        header = ("#", "op", "grad in: shape", "|grad in|", "grads out: shapes", "|grads out|",
                  "time (us)")
        rows = [header]
        for r in self.records:
            rows.append((str(r.index) if self.passes <= 1 else f"{r.pass_index}.{r.index}",
                         r.op, _fmt_shapes(r.out_shapes), _fmt_list(r.grad_in_norms),
                         _fmt_shapes(r.grad_out_shapes), _fmt_list(r.grad_out_norms),
                         f"{r.seconds * 1e6:.1f}"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = []
        for k, row in enumerate(rows):
            cells = [cell.rjust(w) if i in (0, 3, 6) else cell.ljust(w)
                     for i, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.append(f"{len(self.records)} nodes in {self.passes} backward pass(es), "
                     f"{self.total_seconds * 1e6:.1f} us in the formulas")
        return "\n".join(lines)

    def __repr__(self):
        return f"<autograd.trace: {len(self.records)} nodes, {self.passes} passes>"

    def to_dataframe(self):
        """The records as a pandas DataFrame, one row per node (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("trace.to_dataframe() needs pandas (pip install pandas); "
                              "print(t) shows the same table") from error
        return pd.DataFrame([r.as_dict() for r in self.records])


def _traced_backward(node, grad, xp):
    return engine._tracer._record(node, node.backward, grad, xp)


def _traced_backward_recorded(node, grad, xp):
    return engine._tracer._record(node, node.backward_recorded, grad, xp)


# The traced twins of the engine's two calls, reachable on every node by name (see
# engine._run); set here so that graph.py knows nothing of tracing.
Op._traced_backward = _traced_backward
Op._traced_backward_recorded = _traced_backward_recorded
