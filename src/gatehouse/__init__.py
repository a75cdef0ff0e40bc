"""Gatehouse: a self-hosted OAuth 2.0 authorization server for machine-to-machine API access.

This module stays import-light on purpose: ``gatehouse.verify`` and ``gatehouse.client`` must be
importable with only ``cryptography`` and ``httpx`` installed.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
