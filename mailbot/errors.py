"""The shell's exceptions. The CLI turns each into one clear line and a non-zero exit."""


class MailbotError(Exception):
    """Base of every error the service reports to a person."""


class ConfigError(MailbotError):
    """A configuration file is wrong. The message names the file, the key, the problem and the fix."""
