"""The recurrent cells: one fused op per timestep (RNN tanh/relu, LSTM, GRU).

A layer projects the whole input sequence at once (``gi = x @ weight_ih.T + bias_ih``, one
Linear op), then runs one of these ops per timestep on ``gi[t]`` and the previous state: the
hidden-to-hidden product, the gates and the state update are one node of the graph, so a step
costs one Python-level op instead of a dozen.

Shapes: gi (B, G*H), h and c (B, H), weight_hh (G*H, H), bias_hh (G*H,) or None, with G = 1
(RNN), 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n), in PyTorch's order.

``backward`` is written once with ``xp``: on the fast path it reuses the gates kept from
forward; under ``create_graph`` it recomputes them from the saved inputs with ``xp``, so the
formula is itself differentiable (double backward).
"""
import numpy as np

from .._kernels import kernels as K
from ..autograd import anomaly_mode, graph
from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import Op


def _hidden_product(gi, h, weight_hh, bias_hh, xp):
    """gi + h @ weight_hh.T + bias_hh (the pre-activations of every gate)."""
    out = xp.add(gi, xp.matmul(h, xp.mT(weight_hh)))
    return out if bias_hh is None else xp.add(out, bias_hh)


def _hidden_grads(dgates, h, weight_hh, needs, xp):
    """dL/dh, dL/dweight_hh, dL/dbias_hh from dL/d(h @ weight_hh.T + bias_hh) = dgates."""
    return (xp.matmul(dgates, weight_hh) if needs[0] else None,
            xp.matmul(xp.mT(dgates), h) if needs[1] else None,
            xp.sum(dgates, 0) if needs[2] else None)


class RNNCell(Op):
    """h' = act(gi + h @ weight_hh.T + bias_hh), act = tanh or relu.

    With p the pre-activation and g = dL/dh': dp = g (1 - h'^2) (tanh) or g 1[p > 0] (relu);
    dL/dgi = dp, dL/dh = dp @ weight_hh, dL/dweight_hh = dp.T @ h, dL/dbias_hh = sum_rows(dp).
    """

    may_broadcast = False

    def forward(self, gi, h, weight_hh, bias_hh, nonlinearity):
        self.saved_tensors = (gi, h, weight_hh, bias_hh)
        self.nonlinearity = nonlinearity
        pre = _hidden_product(gi, h, weight_hh, bias_hh, K)
        out = np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)
        self.result = out
        return out

    def backward(self, grad, xp):
        _gi, h, weight_hh, _bias_hh = self.saved_tensors
        y = self.result
        if self.nonlinearity == "tanh":
            dpre = xp.tanh_backward(y, grad)
        else:
            dpre = xp.relu_backward(xp.values(y), grad)  # y > 0 exactly where the input was
        need_gi, need_h, need_w, need_b = self.needs_input_grad[:4]
        dh, dw, db = _hidden_grads(dpre, h, weight_hh, (need_h, need_w, need_b), xp)
        return (dpre if need_gi else None), dh, dw, db, None


def apply_multi(cls, *args):
    """Run op ``cls`` whose forward returns a tuple of arrays: a tuple of Tensors, output k
    of one node (its grad_fn edge an ``OutputRef``), as ``Split`` does."""
    Tensor = graph.tensor_type()
    node = cls()
    needs = tuple([isinstance(x, Tensor) and x._requires_grad for x in args])
    outs = node.forward(*[x._data if isinstance(x, Tensor) else x for x in args])
    node.num_outputs = len(outs)
    record = True in needs and _grad_state.enabled
    if record:
        node.needs_input_grad = needs
        node._edges = tuple([(x._grad_fn or x) if need else None
                             for x, need in zip(args, needs)])
        node._inputs = args
        node._seq = graph._next_sequence()
        if anomaly_mode.state.enabled:
            node._trace = anomaly_mode.creation_trace()
    results = []
    for k, out in enumerate(outs):
        t = Tensor.__new__(Tensor)
        t._data, t._grad, t._requires_grad = out, None, record
        t._grad_fn = graph.OutputRef(node, k) if record else None
        results.append(t)
    return tuple(results)


class LSTMCell(Op):
    """(h', c') from gates = gi + h @ weight_hh.T + bias_hh split as (i, f, g, o):

        i, f, o = sigmoid(.), g = tanh(.),  c' = f c + i g,  h' = o tanh(c').

    With gh = dL/dh', gc = dL/dc' and t = tanh(c'): dc' = gc + gh o (1 - t^2), then
    di = dc' g, df = dc' c, dg = dc' i, do = gh t, dL/dc = dc' f, and the gate
    pre-activations' gradients go through sigmoid' = s (1 - s), tanh' = 1 - g^2 into
    dL/dgi, dL/dh, dL/dweight_hh, dL/dbias_hh as for ``RNNCell``.
    """

    may_broadcast = False

    def forward(self, gi, h, c, weight_hh, bias_hh):
        self.saved_tensors = (gi, h, c, weight_hh, bias_hh)
        gates = np.matmul(h, weight_hh.T)
        gates += gi
        if bias_hh is not None:
            gates += bias_hh
        H = h.shape[1]
        act = np.negative(gates, out=np.empty_like(gates))  # sigmoid over all four blocks,
        np.exp(act, out=act)                                # then tanh over g's
        act += 1.0
        np.reciprocal(act, out=act)
        np.tanh(gates[:, 2 * H:3 * H], out=act[:, 2 * H:3 * H])
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c_new = f * c
        c_new += i * g
        tc = np.tanh(c_new)
        h_new = o * tc
        self.cache = (i, f, g, o, tc)  # fast path only (see backward)
        return h_new, c_new

    def _gates(self, xp):
        gi, h, c, weight_hh, bias_hh = self.saved_tensors
        gates = _hidden_product(gi, h, weight_hh, bias_hh, xp)
        H = tuple(h.shape)[1]
        pi, pf, pg, po = xp.split(gates, (H, 2 * H, 3 * H), 1)
        i, f, g, o = xp.sigmoid(pi), xp.sigmoid(pf), xp.tanh(pg), xp.sigmoid(po)
        tc = xp.tanh(xp.add(xp.mul(f, c), xp.mul(i, g)))
        return i, f, g, o, tc

    def backward(self, grads, xp):
        _gi, h, c, weight_hh, _bias_hh = self.saved_tensors
        gh, gc = grads
        if gh is None and gc is None:
            return None, None, None, None, None
        if xp is K:
            return self._backward_arrays(gh, gc)
        i, f, g, o, tc = self._gates(xp)
        if gh is not None:
            dc_new = xp.mul(xp.mul(gh, o), xp.sub(1.0, xp.mul(tc, tc)))
            if gc is not None:
                dc_new = xp.add(dc_new, gc)
            do = xp.mul(gh, tc)
        else:
            dc_new = gc
            do = xp.zeros_like(o)
        di = xp.mul(dc_new, g)
        df = xp.mul(dc_new, c)
        dg = xp.mul(dc_new, i)
        dgates = xp.cat((xp.sigmoid_backward(i, di), xp.sigmoid_backward(f, df),
                         xp.tanh_backward(g, dg), xp.sigmoid_backward(o, do)), 1)
        need_gi, need_h, need_c, need_w, need_b = self.needs_input_grad[:5]
        dh, dw, db = _hidden_grads(dgates, h, weight_hh, (need_h, need_w, need_b), xp)
        dc = xp.mul(dc_new, f) if need_c else None
        return (dgates if need_gi else None), dh, dc, dw, db

    def _backward_arrays(self, gh, gc):
        """The formula of ``backward`` on numpy arrays, with the gates kept from forward,
        writing the four gate gradients into one array (no concatenation)."""
        gi, h, c, weight_hh, _bias_hh = self.saved_tensors
        i, f, g, o, tc = self.cache
        H = h.shape[1]
        if gh is not None:
            dc_new = 1.0 - tc * tc
            dc_new *= o
            dc_new *= gh
            if gc is not None:
                dc_new += gc
        else:
            dc_new = gc
        dgates = np.empty(gi.shape, dtype=np.result_type(i, dc_new))
        np.multiply(dc_new, g, out=dgates[:, :H])
        dgates[:, :H] *= i * (1.0 - i)
        np.multiply(dc_new, c, out=dgates[:, H:2 * H])
        dgates[:, H:2 * H] *= f * (1.0 - f)
        np.multiply(dc_new, i, out=dgates[:, 2 * H:3 * H])
        dgates[:, 2 * H:3 * H] *= 1.0 - g * g
        if gh is not None:
            np.multiply(gh, tc, out=dgates[:, 3 * H:])
            dgates[:, 3 * H:] *= o * (1.0 - o)
        else:
            dgates[:, 3 * H:] = 0.0
        need_gi, need_h, need_c, need_w, need_b = self.needs_input_grad[:5]
        return ((dgates if need_gi else None),
                np.matmul(dgates, weight_hh) if need_h else None,
                dc_new * f if need_c else None,
                np.matmul(dgates.T, h) if need_w else None,
                dgates.sum(axis=0) if need_b else None)


class GRUCell(Op):
    """h' = (1 - z) n + z h, with gi = (gi_r, gi_z, gi_n), gh = h @ weight_hh.T + bias_hh split
    the same way, r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z),
    n = tanh(gi_n + r gh_n) (r multiplies the hidden part with its bias, as PyTorch).

    With g = dL/dh': dn = g (1 - z), dz = g (h - n), dpn = dn (1 - n^2), dr = dpn gh_n;
    dL/dgi = (dr r(1-r), dz z(1-z), dpn), dL/dgh = (same, same, dpn r), and
    dL/dh = g z + dgh @ weight_hh, dL/dweight_hh = dgh.T @ h, dL/dbias_hh = sum_rows(dgh).
    """

    may_broadcast = False

    def forward(self, gi, h, weight_hh, bias_hh):
        self.saved_tensors = (gi, h, weight_hh, bias_hh)
        H = h.shape[1]
        gh = K.matmul(h, weight_hh.T)
        if bias_hh is not None:
            gh = gh + bias_hh
        rz = gi[:, :2 * H] + gh[:, :2 * H]
        rz = 1.0 / (1.0 + np.exp(-rz))
        r, z = rz[:, :H], rz[:, H:]
        gh_n = gh[:, 2 * H:]
        n = np.tanh(gi[:, 2 * H:] + r * gh_n)
        out = n + z * (h - n)
        self.cache = (r, z, n, gh_n)
        return out

    def _gates(self, xp):
        gi, h, weight_hh, bias_hh = self.saved_tensors
        H = tuple(h.shape)[1]
        gh = xp.matmul(h, xp.mT(weight_hh))
        if bias_hh is not None:
            gh = xp.add(gh, bias_hh)
        gi_r, gi_z, gi_n = xp.split(gi, (H, 2 * H), 1)
        gh_r, gh_z, gh_n = xp.split(gh, (H, 2 * H), 1)
        r, z = xp.sigmoid(xp.add(gi_r, gh_r)), xp.sigmoid(xp.add(gi_z, gh_z))
        n = xp.tanh(xp.add(gi_n, xp.mul(r, gh_n)))
        return r, z, n, gh_n

    def backward(self, grad, xp):
        _gi, h, weight_hh, _bias_hh = self.saved_tensors
        r, z, n, gh_n = self.cache if xp is K else self._gates(xp)
        dn = xp.mul(grad, xp.sub(1.0, z))
        dz = xp.mul(grad, xp.sub(h, n))
        dpn = xp.tanh_backward(n, dn)
        dr = xp.sigmoid_backward(r, xp.mul(dpn, gh_n))
        dz = xp.sigmoid_backward(z, dz)
        need_gi, need_h, need_w, need_b = self.needs_input_grad[:4]
        dgh = xp.cat((dr, dz, xp.mul(dpn, r)), 1)
        dh, dw, db = _hidden_grads(dgh, h, weight_hh, (need_h, need_w, need_b), xp)
        if need_h:
            dh = xp.add(dh, xp.mul(grad, z))
        dgi = xp.cat((dr, dz, dpn), 1) if need_gi else None
        return dgi, dh, dw, db


_CELLS = {"RNN_TANH": RNNCell, "RNN_RELU": RNNCell, "LSTM": LSTMCell, "GRU": GRUCell}


class RecurrentSequence(Op):
    """A whole layer direction over time: the cell op's step, T times, as ONE node.

    Inputs gi (T, B, G*H) (the input projections of every step), h0 (B, H), c0 (B, H) (LSTM;
    else None), weight_hh, bias_hh. Outputs: out (T, B, H) (out[t] = h_t; with ``reverse``
    the steps run from T-1 down to 0), h_n and, for LSTM, c_n.

    Backward is back-propagation through time with each step's own backward formula
    (``RNNCell``/``LSTMCell``/``GRUCell``): g_h(t) = dL/dout[t] + the gradient flowing back
    from step t+1; dL/dweight_hh and dL/dbias_hh are the sums over the steps. On the fast path
    the steps' gates are kept from forward; under create_graph the recurrence is recomputed
    with ``xp`` and each step's formula runs on Tensors, so the result differentiates again.
    """

    may_broadcast = False

    def forward(self, gi, h0, c0, weight_hh, bias_hh, mode, reverse):
        self.saved_tensors = (gi, h0, c0, weight_hh, bias_hh)
        self.mode, self.reverse = mode, reverse
        cls = _CELLS[mode]
        steps = gi.shape[0]
        out = np.empty((steps,) + h0.shape, dtype=np.result_type(gi, h0))
        h, c = h0, c0
        cells = []
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            cell = cls()
            if mode == "LSTM":
                h, c = cell.forward(gi[t], h, c, weight_hh, bias_hh)
            elif mode == "GRU":
                h = cell.forward(gi[t], h, weight_hh, bias_hh)
            else:
                h = cell.forward(gi[t], h, weight_hh, bias_hh,
                                 "tanh" if mode == "RNN_TANH" else "relu")
            out[t] = h
            cells.append(cell)
        self.cells = cells  # fast path only: each step's saved values and gates
        h_n = out[0 if reverse else steps - 1].copy() if steps else h0.copy()
        return (out, h_n, c.copy() if steps else c0.copy()) if mode == "LSTM" else (out, h_n)

    def _recompute(self, xp):
        """The steps as cell ops whose saved values are Tensors (create_graph path)."""
        gi, h, c, weight_hh, bias_hh = self.saved_tensors
        steps = len(xp.values(gi))
        cls = _CELLS[self.mode]
        cells = []
        for t in (range(steps - 1, -1, -1) if self.reverse else range(steps)):
            cell = cls()
            gi_t = xp.index(gi, (t,))
            if self.mode == "LSTM":
                cell.saved_tensors = (gi_t, h, c, weight_hh, bias_hh)
                i, f, g, o, tc = cell._gates(xp)
                c = xp.add(xp.mul(f, c), xp.mul(i, g))
                h = xp.mul(o, tc)
            elif self.mode == "GRU":
                cell.saved_tensors = (gi_t, h, weight_hh, bias_hh)
                _r, z, n, _gh_n = cell._gates(xp)
                h = xp.add(n, xp.mul(z, xp.sub(h, n)))
            else:
                cell.saved_tensors = (gi_t, h, weight_hh, bias_hh)
                cell.nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
                pre = _hidden_product(gi_t, h, weight_hh, bias_hh, xp)
                h = xp.tanh(pre) if self.mode == "RNN_TANH" else xp.relu(pre)
                cell.result = h
            cells.append(cell)
        return cells

    def backward(self, grads, xp):
        gi = self.saved_tensors[0]
        lstm = self.mode == "LSTM"
        g_out, g_hn = grads[0], grads[1]
        g_cn = grads[2] if lstm else None
        need_w, need_b = self.needs_input_grad[3:5]
        cells = self.cells if xp is K else self._recompute(xp)
        steps = len(cells)
        order = list(range(steps - 1, -1, -1)) if self.reverse else list(range(steps))
        dgi = [None] * steps
        dw = db = None
        gh, gc = g_hn, g_cn
        for k in range(steps - 1, -1, -1):  # the steps in reverse order of computation
            t = order[k]
            cell = cells[k]
            if g_out is not None:
                g_t = xp.index(g_out, (t,))
                gh = g_t if gh is None else xp.add(gh, g_t)
            if gh is None and gc is None:
                dgi[t] = None
                continue
            if lstm:
                cell.needs_input_grad = (True, True, True, need_w, need_b)
                if gh is None:
                    gh = xp.zeros_like(gc)
                dgi_t, gh, gc, dw_t, db_t = cell.backward((gh, gc), xp)
            else:
                cell.needs_input_grad = (True, True, need_w, need_b)
                dgi_t, gh, dw_t, db_t = cell.backward(gh, xp)[:4]
            dgi[t] = dgi_t
            if dw_t is not None:
                dw = dw_t if dw is None else xp.add(dw, dw_t)
            if db_t is not None:
                db = db_t if db is None else xp.add(db, db_t)
        if any(g is None for g in dgi):
            like = xp.zeros_like(xp.index(gi, (0,)))
            dgi = [like if g is None else g for g in dgi]
        shape = tuple(gi.shape)
        d_gi = xp.reshape(xp.cat(dgi, 0), shape) if steps else None
        d_h0 = gh if gh is not None else None
        result = [d_gi, d_h0, gc if lstm else None, dw, db, None, None]
        return tuple(result)
