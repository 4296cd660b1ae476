"""dlnlandscape: all critical points of deep linear network losses, classified."""

__version__ = "0.1.0"
