"""The ``mailbot`` command: ``main`` groups the commands of ``reading``, ``records``, ``service`` and ``digest``;
``support`` builds the one App of a run; ``views`` is what they print."""

from .main import cli, main

__all__ = ["cli", "main"]
