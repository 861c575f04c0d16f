"""The version of ssvae, recorded with every run and results table."""

__version__ = "0.1.0"
