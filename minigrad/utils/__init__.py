"""Utilities, as in ``torch.utils``: ``minigrad.utils.data`` (datasets and loaders).

``data`` is imported on first use (``mg.utils.data.DataLoader`` works after a plain
``import minigrad``, as in PyTorch): it brings multiprocessing and its dependencies, which a
program that never loads data should not pay for at import."""
import importlib

__all__ = ["data"]


def __getattr__(name):
    if name == "data":
        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
