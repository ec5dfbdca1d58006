"""A private coding assistant that runs a local model on your machine."""

__version__ = "0.1.0"
