"""``swap_in_optimizer_params_and_state`` (``torch.optim.swap_in_optimizer_params_and_state``):
run an optimizer's API on other parameters and state for the duration of a ``with`` block."""
import contextlib
from collections import defaultdict

from ..tensor import Tensor

# PyTorch raises RuntimeError (not TypeError) for every malformed argument here; so does this
# module, hence the TRY004 exemptions below.

_STATE_DICT_STYLE = ("swap_in_optimizer_params_and_state requires optimizer.state_dict()-style ")


def _validate_state_field(state):
    """``state`` must map packed parameter ids to per-parameter state dicts."""
    if not isinstance(state, dict):
        raise RuntimeError(  # noqa: TRY004
            "swap_in_optimizer_params_and_state requires swapin_optim_state['state'] to be a "
            "dict mapping packed parameter ids to per-param state dicts, got "
            f"{type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(_STATE_DICT_STYLE + "state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError("swap_in_optimizer_params_and_state requires per-parameter "
                           "optimizer state entries to be dictionaries.")
    return state


def _validate_param_groups_field(optimizer, param_groups):
    if not isinstance(param_groups, list):
        raise RuntimeError(  # noqa: TRY004
            "swap_in_optimizer_params_and_state requires swapin_optim_state['param_groups'] "
            f"to be a list of param-group dicts, got {type(param_groups).__name__}.")
    if len(optimizer.param_groups) != len(param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups "
                           "than the live optimizer.")
    return param_groups


def _validate_group_against_live(idx, group, swapin_group):
    """A swap-in group: a dict with packed integer ``params`` as many as the live group's,
    and exactly the live group's keys. Returns its packed ids."""
    if not isinstance(swapin_group, dict):
        raise RuntimeError(  # noqa: TRY004
            "swap_in_optimizer_params_and_state requires each optimizer param group to be a "
            "dictionary.")
    ids = swapin_group.get("params")
    if not isinstance(ids, list) or not all(isinstance(pid, int) for pid in ids):
        raise RuntimeError(_STATE_DICT_STYLE + "param_groups[*]['params'] entries keyed by "
                           "packed parameter ids.")
    if len(group["params"]) != len(ids):
        raise RuntimeError(f"swapin_optim_state param group {idx} has a different number of "
                           "params than the live optimizer param group.")
    swapin_only = [k for k in swapin_group if k not in group]
    live_only = [k for k in group if k not in swapin_group]
    if swapin_only or live_only:
        raise RuntimeError(
            _STATE_DICT_STYLE + "param group keys to exactly match the live optimizer group "
            f"keys for group {idx}. Keys only in swap-in: {swapin_only}. Keys only in live: "
            f"{live_only}.")
    return ids


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters, swapin_optim_state):
    """Temporarily replace ``optimizer``'s parameters and state, restoring them on exit.

    Parameters
    ----------
    optimizer : Optimizer
        The live optimizer; its state must already be initialized.
    swapin_parameters : dict
        name -> Tensor, in the order of the optimizer's parameters (e.g.
        ``model.named_parameters()`` order).
    swapin_optim_state : dict
        Shaped like ``optimizer.state_dict()``, whose ``"param_groups"`` have exactly the live
        groups' keys. Its buffers are used as they are, so in-place
        updates (every minigrad optimizer's) propagate back to it; other changes (a new
        entry, a new array) stay inside the block.

    Notes
    -----
    Inside the block every optimizer API (hooks included) sees the swapped-in parameters,
    hyper-parameters and state; ``step()`` updates the swapped-in parameters.
    """
    if not optimizer.state:
        raise RuntimeError("swap_in_optimizer_params_and_state requires initialized "
                           "optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(  # noqa: TRY004
            "swap_in_optimizer_params_and_state requires a DCP-style optimizer state_dict.")
    state = _validate_state_field(swapin_optim_state.get("state"))
    swapin_groups = _validate_param_groups_field(optimizer,
                                                 swapin_optim_state.get("param_groups"))
    flat_parameters = list(swapin_parameters.values())
    offset = 0
    seen_ids = set()
    infos = []
    for idx, (group, swapin_group) in enumerate(zip(optimizer.param_groups, swapin_groups)):
        ids = _validate_group_against_live(idx, group, swapin_group)
        seen_ids.update(ids)
        if offset + len(ids) > len(flat_parameters):
            raise RuntimeError("swap_in_optimizer_params_and_state requires the explicit "
                               "parameter state to match optimizer.param_groups ordering.")
        infos.append((group, swapin_group, flat_parameters[offset:offset + len(ids)]))
        offset += len(ids)
    extra_keys = [k for k in state if k not in seen_ids]
    if extra_keys:
        raise RuntimeError(
            "swap_in_optimizer_params_and_state requires swapin_optim_state['state'] to be "
            "keyed only by packed parameter ids from param_groups[*]['params']; got extra "
            f"keys {extra_keys!r}.")

    original_state = optimizer.state
    # Shallow copies restore every group's entries (and keep its params list's identity).
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        swapin_state = defaultdict(dict)
        for live_group, swapin_group, params in infos:
            live_group["params"] = params
            for key, value in swapin_group.items():
                if key != "params":
                    live_group[key] = value
            for param, param_id in zip(params, swapin_group["params"]):
                # A shallow copy: in-place updates of the buffers reach the caller's dict,
                # new entries do not.
                swapin_state[param] = dict(state.get(param_id, {}))
        optimizer.state = swapin_state
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = original_state
