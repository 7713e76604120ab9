"""The dropout family beyond ``Dropout``: channel dropout (``Dropout1d``/``2d``/``3d``) and
alpha dropout for SELU networks (``AlphaDropout``, ``FeatureAlphaDropout``). Thin modules
around ``functional_activation.py``; identity in evaluation mode."""
from . import functional as F
from .module import Module

__all__ = ["AlphaDropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    function = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return type(self).function(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``."""

    function = F.dropout1d


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input (3-D input: 1-D channel dropout, warned)."""

    function = F.dropout2d


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""

    function = F.dropout3d


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU activations at zero mean and unit variance."""

    function = F.alpha_dropout


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    function = F.feature_alpha_dropout
