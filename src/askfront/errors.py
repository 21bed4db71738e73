"""Errors a user can fix. The CLI prints their message as one line instead of a traceback."""


class AskfrontError(Exception):
    """Base of every error whose message is meant for the user."""


class ConfigError(AskfrontError, ValueError):
    """A setting, flag or environment variable has a value askfront cannot use."""
