"""L-BFGS, with an optional strong-Wolfe line search (PyTorch's algorithm, in numpy)."""
import copy

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_tensor_lr, _hyperparameter


def _same_layout(a, b):
    return a is not None and a.shape == b.shape and a.dtype == b.dtype


def _abs_max(x):
    """max |x_i| in two reductions and no temporary array (the same value as abs(x).max())."""
    return max(x.max(), -x.min())


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, slope g1) and (x2, f2, slope g2), clipped
    to ``bounds`` (default: the interval between x1 and x2); the midpoint of the bounds if the
    cubic has no minimum (Nocedal & Wright, eq. 3.59)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search for a step t along d satisfying the strong Wolfe conditions
    f(x + t d) <= f + c1 t gtd and |g(x + t d) . d| <= -c2 gtd: a bracketing phase (growing t
    by cubic extrapolation) then a zoom phase (cubic interpolation inside the bracket), as in
    minFunc and PyTorch. Returns (f_new, g_new, t, number of function evaluations)."""
    d_norm = _abs_max(d)
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        # Extrapolate: a step between 1.01 t and 10 t from the cubic through both points.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:  # reached the evaluation limit without a bracket
        bracket = [0, t]
        bracket_f = [f, f_new]
        bracket_g = [g, g_new]

    # Zoom: shrink the bracket until a point satisfies the strong Wolfe conditions.
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # A point too close to an end of the bracket makes little progress: move it to 10%
        # of the bracket's width from that end (at the second time in a row, or if outside).
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo fails or no better than the low end: t becomes the high end.
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.copy()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # the curvature condition holds too
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.copy()
            bracket_gtd[low_pos] = gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    r"""L-BFGS (Liu & Nocedal, 1989; ``torch.optim.LBFGS``, after minFunc).

    ``step(closure)`` runs up to ``max_iter`` iterations (and ``max_eval`` evaluations of
    the closure, which recomputes the loss and gradients). All parameters form one flat
    vector x with gradient g. Iteration k::

        d_1   = -g
        d_k   = -H_k g      (two-loop recursion over the last ``history_size`` pairs
                             s_i = t_i d_i, y_i = g_{i+1} - g_i with y_i.s_i > 1e-10,
                             starting from H_0 = (y.s / y.y) I of the newest pair)
        t_1   = min(1, 1 / sum|g|) * lr,  t_k = lr
        x    <- x + t_k d_k                 (t_k from a strong-Wolfe line search with
                                             line_search_fn="strong_wolfe")

    It stops when max|g| <= tolerance_grad, the directional derivative g.d >
    -tolerance_change, max|t d| <= tolerance_change, the loss changes by less than
    tolerance_change, or a limit is reached. The history carries over between ``step``
    calls. Written in numpy on flat float vectors (PyTorch's is plain Python on tensors);
    the operations and their order are PyTorch's, so iterates agree to round-off.
    Only one parameter group is supported, as in PyTorch. Returns the closure's first loss.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._scaled_update = None  # reused buffer for step_size * update

    def _load_param_state(self, value, param, index):
        """LBFGS's state is flat vectors and numbers, not buffers of the parameter's shape."""
        def convert(v):
            if isinstance(v, Tensor):
                return v._data.copy()
            if isinstance(v, dict):
                return {k: convert(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return type(v)(convert(x) for x in v)
            if hasattr(v, "__array__") and not isinstance(v, (np.ndarray, np.generic)):
                return np.array(v)
            return copy.deepcopy(v)
        return convert(value)

    def _take_spares(self, flat_grad, d):
        """Output arrays for y and s: those of the last rejected pair when their layouts fit
        (they are referenced nowhere else), else None (numpy allocates)."""
        spares, self._spares = getattr(self, "_spares", None), None
        if spares is None:
            return None, None
        y, s = spares
        return (y if _same_layout(y, flat_grad) else None,
                s if _same_layout(s, d) else None)

    def _gather_flat_grad(self):
        views = []
        for p in self._params:
            if p._grad is None:
                views.append(np.zeros(p._data.size, p._data.dtype))
            else:
                views.append(p._grad._data.reshape(-1))
        return np.concatenate(views)

    def _add_grad(self, step_size, update):
        """p <- p + step_size * update[part of p], in place (each array keeps its identity),
        step_size rounded to the parameters' dtype as PyTorch's add_(alpha=) does."""
        buffer = self._scaled_update
        if buffer is None or buffer.shape != update.shape or buffer.dtype != update.dtype:
            buffer = self._scaled_update = np.empty_like(update)
        np.multiply(update, update.dtype.type(step_size), out=buffer)
        offset = 0
        for p in self._params:
            data = p._data
            data += buffer[offset:offset + data.size].reshape(data.shape)
            offset += data.size

    def _clone_param(self):
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            p._data[...] = data

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure):
        """Run up to max_iter L-BFGS iterations; returns the loss of the first evaluation."""
        def evaluate():
            return self._evaluate_closure(closure)

        group = self.param_groups[0]
        lr = _hyperparameter(group["lr"])
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        # The state lives under the first parameter (PyTorch's layout).
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        if _abs_max(flat_grad) <= tolerance_grad:  # already optimal
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # Update the memory with the newest (y, s) pair if its curvature is positive.
                # (A rejected pair's arrays are reused next time: on a million parameters a
                # fresh 4 MB array costs a page fault per 4 KB, more than the arithmetic.)
                y_out, s_out = self._take_spares(flat_grad, d)
                y = np.subtract(flat_grad, prev_flat_grad, out=y_out)
                s = np.multiply(d, t, out=s_out)
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                else:
                    self._spares = (y, s)

                # Two-loop recursion: d = -H g.
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q += (-al[i]) * old_dirs[i]
                d = r = np.multiply(q, H_diag, out=q)  # q is not used again
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr

            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = _abs_max(flat_grad) <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # Re-evaluate for the next iteration (not after the last: the caller's
                    # next step does that).
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = _abs_max(flat_grad) <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if _abs_max(d * t) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss


