"""Saddle–minimum connections and the disconnectivity graph of a solve's real critical points."""

from .run import Landscape, landscape

__all__ = ["Landscape", "landscape"]
