"""The store's exceptions: one hierarchy, so the shell can turn any of them into one clear line."""

from __future__ import annotations


class StoreError(Exception):
    """Something went wrong in the persistence layer."""


class AppendOnlyError(StoreError):
    """An audit-trail event was about to be changed or deleted; events are written once and kept."""


class NaiveDateTimeError(StoreError, ValueError):
    """A datetime without a timezone was about to be stored; the store keeps aware UTC times only."""
