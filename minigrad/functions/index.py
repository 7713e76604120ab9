"""Indexing functions: gather, scatter, masks, index_select and friends."""

__all__ = []
METHODS = []
