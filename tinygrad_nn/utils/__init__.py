"""Utilities beside the core, as `torch.utils`: `utils.data` (datasets and loaders)."""

from . import data

__all__ = ["data"]
