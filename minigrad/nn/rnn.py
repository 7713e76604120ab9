"""Recurrent layers: RNN (tanh/relu), LSTM and GRU, and their single-step cells.

PyTorch's constructor arguments, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``...),
shapes, gate order (LSTM i, f, g, o; GRU r, z, n), initialisation U(-1/sqrt(hidden_size),
1/sqrt(hidden_size)) and argument checks, so state dicts load both ways.

A layer direction is two nodes of the graph: the input projection of the whole sequence (one
Linear op), then the recurrence (``RecurrentSequence`` of ``minigrad/ops/rnn.py``), which runs
the fused cell step of ``RNNCell``/``LSTMCell``/``GRUCell`` (hidden product, gates and state
update) once per timestep and back-propagates through time with the same steps' formulas.
The cells (``nn.LSTMCell``...) apply one such step op per call.
"""
import math
import numbers
import operator
import warnings

import numpy as np

from ..functions.shape import cat, stack, unbind
from ..ops.rnn import GRUCell as _GRUStep
from ..ops.rnn import LSTMCell as _LSTMStep
from ..ops.rnn import RecurrentSequence as _Sequence
from ..ops.rnn import RNNCell as _RNNStep
from ..ops.rnn import apply_multi
from ..tensor import Tensor, _check_device, _wrap
from . import functional as F
from . import init
from .layers import _float_dtype
from .module import Module, Parameter

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _zeros(shape, dtype):
    return _wrap(np.zeros(shape, dtype))


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrent layer shared by RNN, LSTM and GRU.

    Input (T, B, input_size) (``batch_first``: (B, T, input_size)) or unbatched (T, input_size);
    states (num_layers * num_directions, B, hidden_size) (unbatched: without B). Layer k > 0
    reads the concatenated outputs of layer k - 1's directions, with dropout between layers
    in training.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", UserWarning,
                          stacklevel=2)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size:
            raise NotImplementedError("minigrad's LSTM does not implement proj_size > 0")
        self.mode = mode
        self.input_size = operator.index(input_size)
        self.hidden_size = hidden_size
        self.num_layers = operator.index(num_layers)
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(self.num_layers):
            for direction in range(num_directions):
                layer_input = self.input_size if layer == 0 else hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                names = []
                for base, shape in shapes:
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(np.empty(shape, np_dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self):
        """Accepted for PyTorch code (cuDNN's weight layout); nothing to do on the CPU."""

    def reset_parameters(self):
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ----- argument checks (PyTorch's types and messages) --------------------------------------

    def _check_input(self, input):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                             + ("instead" if self.mode == "LSTM" else "input instead"))
        dtype = self.weight_ih_l0.dtype
        if input.dtype != dtype:
            raise ValueError(f"{name} input dtype ({input.dtype}) does not match weight dtype "
                             f"({dtype}). Convert input: input.to({dtype}), or convert model: "
                             f"model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _check_hidden(self, hx, expected, message):
        if tuple(hx.shape) != expected:
            raise RuntimeError(message.format(expected, list(hx.shape)))

    # ----- forward --------------------------------------------------------------------------

    def forward(self, input, hx=None):
        """(output, h_n) for RNN/GRU, (output, (h_n, c_n)) for LSTM. output is
        (T, B, num_directions * hidden_size) (batch_first: (B, T, ...))."""
        self._check_input(input)
        lstm = self.mode == "LSTM"
        batched = input.dim() == 3
        if hx is not None:
            parts = tuple(hx) if lstm else (hx,)
            if lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
            dims = [p.dim() for p in parts]
            want = 3 if batched else 2
            if any(d != want for d in dims):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                if lstm:
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D "
                                       f"but got ({dims[0]}-D, {dims[1]}-D) tensors")
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"{dims[0]}-D tensor")
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = tuple(p.unsqueeze(1) for p in hx) if lstm else hx.unsqueeze(1)
        if self.batch_first:
            input = input.transpose(0, 1)
        batch = input.shape[1]
        num_directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * num_directions, batch, self.hidden_size)
        dtype = self.weight_ih_l0._data.dtype
        if hx is None:
            h0 = c0 = None
        elif lstm:
            self._check_hidden(hx[0], expected, "Expected hidden[0] size {}, got {}")
            self._check_hidden(hx[1], expected, "Expected hidden[1] size {}, got {}")
            h0, c0 = unbind(hx[0], 0), unbind(hx[1], 0)
        else:
            self._check_hidden(hx, expected, "Expected hidden size {}, got {}")
            h0, c0 = unbind(hx, 0), None
        output, h_n, c_n = self._layers(input, h0, c0, batch, dtype)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _layers(self, input, h0, c0, batch, dtype):
        num_directions = 2 if self.bidirectional else 1
        finals_h, finals_c = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                params = [getattr(self, name) for name in self._all_weights[k]]
                w_ih, w_hh = params[0], params[1]
                b_ih, b_hh = (params[2], params[3]) if self.bias else (None, None)
                h = h0[k] if h0 is not None else _zeros((batch, self.hidden_size), dtype)
                c = None
                if self.mode == "LSTM":
                    c = c0[k] if c0 is not None else _zeros((batch, self.hidden_size), dtype)
                gi = F.linear(layer_input, w_ih, b_ih)
                results = apply_multi(_Sequence, gi, h, c, w_hh, b_hh, self.mode,
                                      direction == 1)
                outputs.append(results[0])
                h = results[1]
                c = results[2] if self.mode == "LSTM" else None
                finals_h.append(h)
                finals_c.append(c)
            layer_input = outputs[0] if num_directions == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        h_n = stack(finals_h, 0)
        c_n = stack(finals_c, 0) if self.mode == "LSTM" else None
        return layer_input, h_n, c_n

class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; returns (output, h_n).
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM with gates (i, f, g, o) = split(x_t W_ih^T + b_ih + h W_hh^T + b_hh):
    c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g), h_t = sigmoid(o) tanh(c_t).
    Returns (output, (h_n, c_n)). ``proj_size > 0`` raises NotImplementedError."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU with r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h_t = (1 - z) n + z h_{t-1}."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Cells: one step, input (B, input_size) or (input_size,)
# ---------------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """Parameters weight_ih (G*H, input_size), weight_hh (G*H, H), bias_ih, bias_hh (G*H,),
    all from U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        self.input_size = operator.index(input_size)
        self.hidden_size = operator.index(hidden_size)
        self.bias = bias
        gate_size = num_chunks * self.hidden_size
        self.weight_ih = Parameter(np.empty((gate_size, self.input_size), np_dtype))
        self.weight_hh = Parameter(np.empty((gate_size, self.hidden_size), np_dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(gate_size, np_dtype))
            self.bias_hh = Parameter(np.empty(gate_size, np_dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, states):
        """Check the input and states; (input, states, batched) with a batch dimension."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        for s in states:
            if s is not None and s.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {s.dim()}D "
                                 "instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"expected scalar type {self.weight_ih.dtype} but found "
                               f"{input.dtype}")
        dtype = self.weight_ih._data.dtype
        batch = input.shape[0]
        out = []
        for k, s in enumerate(states):
            if s is None:
                s = _zeros((batch, self.hidden_size), dtype)
            elif not batched:
                s = s.unsqueeze(0)
            if s.dim() != 2 or s.shape[0] != batch:
                raise RuntimeError(f"Input batch size {batch} doesn't match hidden{k} batch "
                                   f"size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
            out.append(s)
        return input, out, batched


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        x, (h,), batched = self._prepare(input, (hx,))
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        out = _RNNStep.apply(gi, h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """(h', c') of one LSTM step; gates (i, f, g, o) as in ``LSTM``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        states = (None, None) if hx is None else tuple(hx)
        x, (h, c), batched = self._prepare(input, states)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = apply_multi(_LSTMStep, gi, h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """h' of one GRU step; gates (r, z, n) as in ``GRU``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, (hx,))
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        out = _GRUStep.apply(gi, h, self.weight_hh, self.bias_hh)
        return out if batched else out.squeeze(0)
