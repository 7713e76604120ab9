"""minigrad's own exception types."""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit an operation. A subclass of both ValueError and RuntimeError, so
    code written for PyTorch (which raises RuntimeError) still catches it. The message names
    every shape involved."""
