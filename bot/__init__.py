"""Wenda: answers questions about a Chinese document collection."""

__version__ = "0.1.0"
