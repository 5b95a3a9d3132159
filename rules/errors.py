"""The exceptions raised by the pure rules package.

The CLI and the configuration loader turn a :class:`RulesError` into one clear line and a non-zero exit, so
messages are written for the person who edits the configuration: they name the key path, the problem and the
fix, for example::

    policy.levels[2].working_days: must be a whole number of working days from 1 to 60, got 'five'
    — write e.g. working_days = 5
"""

from __future__ import annotations


class RulesError(Exception):
    """Base class of every error raised by :mod:`rules`."""


class PolicyError(RulesError):
    """A policy (preset or custom) is invalid or was asked for something it does not have."""
