"""minigrad's own exception types."""


class ArgumentError(ValueError, RuntimeError):
    """A bad argument value where PyTorch raises RuntimeError (a loss's delta or beta,
    label_smoothing, targets out of range...). A subclass of both, so code written for
    PyTorch and code that expects ValueError both catch it."""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit an operation. A subclass of both ValueError and RuntimeError, so
    code written for PyTorch (which raises RuntimeError) still catches it. The message names
    every shape involved."""
