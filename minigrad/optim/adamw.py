"""AdamW: Adam with decoupled weight decay."""
from __future__ import annotations

from ..tensor import Tensor
from .adam import Adam
from .optimizer import ParamsT


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019; ``torch.optim.AdamW``).

    Adam whose weight decay shrinks the parameter directly instead of being added to the
    gradient (where Adam's normalisation would undo it)::

        p <- p * (1 - lr * weight_decay)
        ... then the Adam update of ``Adam``'s docstring, with g the raw gradient.

    The default weight_decay is 1e-2. State as in Adam.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
