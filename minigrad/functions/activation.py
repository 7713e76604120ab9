"""Activation functions that PyTorch also offers as ``torch.*`` functions and Tensor methods
(``torch.softmax(x, 1)``, ``x.log_softmax(1)``); ``nn.functional`` has the full set."""

__all__ = ["log_softmax", "softmax"]
METHODS = ["log_softmax", "softmax"]


def softmax(input, dim=None, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (see ``nn.functional.softmax``)."""
    from ..nn.functional import softmax as _softmax  # nn sits above the tensor functions
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (see ``nn.functional.log_softmax``)."""
    from ..nn.functional import log_softmax as _log_softmax
    return _log_softmax(input, dim, dtype=dtype)
