"""The ``mailbot`` command: ``main`` groups the commands of ``reading``, ``records``, ``service``, ``digest``,
``export`` and ``stories``; ``support`` builds the one App of a run; ``views`` is what they print. Each command
imports what it uses when it runs, so starting ``mailbot`` costs click and these small modules."""

from .main import cli, main

__all__ = ["cli", "main"]
