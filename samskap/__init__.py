"""Samskap core: application factory, extensions, configuration, time helpers, errors, CLI."""
from samskap.factory import create_app

__all__ = ["create_app"]
