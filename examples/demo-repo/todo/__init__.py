"""A tiny task tracker."""

__version__ = "0.1.0"
