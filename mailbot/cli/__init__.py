"""The ``mailbot`` command: ``main`` groups the commands of ``reading``, ``records``, ``service``, ``digest``,
``export`` and ``stories``; ``support`` builds the one App of a run; ``views`` is what they print. A command's module
is imported when the command runs (``mailbot --help`` lists them from ``main.COMMANDS``), and the command imports what
it uses then, so starting ``mailbot`` costs click, ``main`` and ``support``."""

from .main import cli, main

__all__ = ["cli", "main"]
