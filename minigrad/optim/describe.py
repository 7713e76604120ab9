"""``optimizer.describe()``: the update an optimizer applies, with its current numbers.

::

    opt = mg.optim.Adam(model.parameters(), lr=0.01)
    ... a few steps ...
    print(opt.describe())

prints the update rule (from the optimizer's docstring, the same equations PyTorch's
documentation gives), then for each parameter group its hyper-parameters, the state kept per
parameter (names and shapes), the number of steps taken, and the quantities the NEXT
``step()`` will use, computed from the hyper-parameters and the step count: Adam's and
AdamW's bias corrections 1 - beta1^t and 1 - beta2^t and the step size lr / (1 - beta1^t),
Adamax's and NAdam's corrections, Adagrad's decayed learning rate, AdamW's decay factor,
SGD's steady-state step for a constant gradient with momentum.

The result is a ``Description``: ``str()`` is the text; ``.groups`` holds the numbers (one
dict per group: ``'hyperparameters'``, ``'state'``, ``'steps'``, ``'next_step'``,
``'values'``) so they can be checked or plotted.
"""
import numpy as np

__all__ = ["Description", "describe"]

# Group entries that change nothing in minigrad's arithmetic, left out of the description.
_NOISE = {"params", "foreach", "differentiable", "fused", "capturable", "initial_lr"}


class Description:
    """What ``Optimizer.describe()`` returns: ``name``, ``formula`` (text), ``groups``."""

    def __init__(self, name, formula, groups):
        self.name = name
        self.formula = formula
        self.groups = groups

    def __str__(self):
        lines = [f"{self.name}: the update of each parameter p with gradient g"]
        if self.formula:
            lines.extend("    " + line for line in self.formula.splitlines())
        for i, group in enumerate(self.groups):
            lines.append(f"group {i} ({group['num_params']} parameters):")
            hyper = ", ".join(f"{k}={_fmt(v)}" for k, v in group["hyperparameters"].items())
            lines.append(f"  hyper-parameters: {hyper}")
            if group["state"]:
                state = ", ".join(f"{k} {v}" for k, v in group["state"].items())
                lines.append(f"  state kept per parameter: {state}")
            else:
                lines.append("  state kept per parameter: none yet")
            if group["steps"] is None:
                lines.append(f"  steps taken: not counted by {self.name}")
            else:
                lines.append(f"  steps taken: {group['steps']}; the next step is t = "
                             f"{group['next_step']}")
            for key, (value, meaning) in group["values"].items():
                lines.append(f"    {key} = {_fmt(value)}   ({meaning})")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def _formula(cls):
    """The indented block after the first ``::`` of the class docstring (the update rule)."""
    for klass in cls.__mro__:
        doc = klass.__dict__.get("__doc__")
        if not doc or "::" not in doc:
            continue
        after = doc.split("::", 1)[1].splitlines()
        block = []
        for line in after[1:]:
            if line.strip() == "":
                if block:
                    break
                continue
            block.append(line)
        indent = min(len(line) - len(line.lstrip()) for line in block) if block else 0
        text = "\n".join(line[indent:] for line in block)
        if "docstring" in text:  # "... then the update of <Parent>'s docstring": write it out
            parent = _formula(klass.__mro__[1])
            if parent:
                text += "\n" + parent
        return text
    return ""


def _number(value):
    """A hyper-parameter as a Python number (1-element Tensors included)."""
    if hasattr(value, "item"):
        return float(value.item())
    return value


def _state_summary(optimizer, params):
    summary = {}
    steps = []
    for p in params:
        state = optimizer.state.get(p)
        if not state:
            continue
        for key, value in state.items():
            if key == "step":
                steps.append(int(_number(value)))
            elif key not in summary and isinstance(value, (list, tuple)):
                summary[key] = f"list of {len(value)}"
            elif key not in summary:
                array = getattr(value, "_data", value)
                shape = getattr(array, "shape", None)
                summary[key] = (f"shape {tuple(shape)}" if shape is not None and len(shape)
                                else "scalar")
    if steps:
        return summary, max(steps)
    return summary, (None if summary else 0)  # state without a step count (SGD): not counted


def _values(name, hyper, t):
    """The numbers the update at step t uses, from the hyper-parameters (plain formulas)."""
    lr = _number(hyper.get("lr", 0.0))
    values = {}
    if name in ("Adam", "AdamW"):
        beta1, beta2 = (_number(b) for b in hyper["betas"])
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        values["bias_correction1"] = (bc1, f"1 - beta1^t = 1 - {beta1:g}^{t}")
        values["bias_correction2"] = (bc2, f"1 - beta2^t = 1 - {beta2:g}^{t}")
        values["step_size"] = (lr / bc1, "lr / bias_correction1")
        values["sqrt(bias_correction2)"] = (float(np.sqrt(bc2)),
                                            "denom = sqrt(v) / sqrt(bias_correction2) + eps")
        if name == "AdamW" or hyper.get("decoupled_weight_decay"):
            wd = _number(hyper["weight_decay"])
            values["decay_factor"] = (1 - lr * wd, "p <- p * (1 - lr * weight_decay) first")
    elif name == "Adamax":
        beta1 = _number(hyper["betas"][0])
        bc = 1 - beta1 ** t
        values["bias_correction"] = (bc, f"1 - beta1^t = 1 - {beta1:g}^{t}")
        values["clr"] = (lr / bc, "lr / bias_correction")
    elif name == "NAdam":
        beta1, beta2 = (_number(b) for b in hyper["betas"])
        decay = _number(hyper["momentum_decay"])
        values["bias_correction2"] = (1 - beta2 ** t, f"1 - beta2^t = 1 - {beta2:g}^{t}")
        values["mu_t"] = (beta1 * (1 - 0.5 * 0.96 ** (t * decay)),
                          "beta1 (1 - 0.5 * 0.96^(t * momentum_decay))")
        values["mu_t+1"] = (beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * decay)),
                            "beta1 (1 - 0.5 * 0.96^((t + 1) * momentum_decay))")
    elif name == "RAdam":
        beta1, beta2 = (_number(b) for b in hyper["betas"])
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        values["bias_correction1"] = (1 - beta1 ** t, f"1 - beta1^t = 1 - {beta1:g}^{t}")
        values["rho_t"] = (rho_t, "rho_inf - 2 t beta2^t / (1 - beta2^t); adaptive if > 5")
    elif name == "Adagrad":
        decay = _number(hyper["lr_decay"])
        values["clr"] = (lr / (1 + (t - 1) * decay), "lr / (1 + (t - 1) * lr_decay)")
    elif name == "SGD":
        momentum = _number(hyper["momentum"])
        dampening = _number(hyper["dampening"])
        if momentum and not hyper.get("nesterov"):
            values["steady_state_step"] = (
                lr * (1 - dampening) / (1 - momentum) if momentum < 1 else float("inf"),
                "lr (1 - dampening) / (1 - momentum): the step per unit of a constant g")
    elif name == "RMSprop":
        alpha = _number(hyper["alpha"])
        values["average_window"] = (1 / (1 - alpha) if alpha < 1 else float("inf"),
                                    "1 / (1 - alpha): steps the square average remembers")
    return values


def describe(optimizer):
    """The update rule of ``optimizer`` and, per group, its hyper-parameters, state and the
    numbers the next step uses (see the module docstring). Returns a ``Description``."""
    cls = type(optimizer)
    name = cls.__name__
    groups = []
    for group in optimizer.param_groups:
        hyper = {k: (_number(v) if not isinstance(v, (tuple, list)) else
                     tuple(_number(x) for x in v))
                 for k, v in group.items() if k not in _NOISE}
        state, steps = _state_summary(optimizer, group["params"])
        next_step = 1 if steps is None else steps + 1
        groups.append({"num_params": len(group["params"]), "hyperparameters": hyper,
                       "state": state, "steps": steps, "next_step": next_step,
                       "values": _values(name, hyper, next_step)})
    return Description(name, _formula(cls), groups)
