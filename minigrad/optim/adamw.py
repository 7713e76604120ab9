"""AdamW: Adam with decoupled weight decay."""
from .adam import Adam


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019; ``torch.optim.AdamW``).

    Adam whose weight decay shrinks the parameter directly instead of being added to the
    gradient (where Adam's normalisation would undo it)::

        p <- p * (1 - lr * weight_decay)
        ... then the Adam update of ``Adam``'s docstring, with g the raw gradient.

    The default weight_decay is 1e-2. State as in Adam.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
