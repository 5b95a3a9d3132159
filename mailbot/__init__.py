"""iro-mailbot: the service shell (config, transports, scheduler, CLI, templates)."""

__version__ = "0.1.0"
