"""Shipyard: a self-hosted compute-session platform."""

__version__ = "0.1.0"
