"""The package version, alone in a module below everything, so any module may read it."""

__version__ = "0.1.0"
