"""Errors a user can act on: each message names the problem and the fix."""


class RagError(Exception):
    """Base class; the CLI prints the message on one line and exits with code 2."""

    exit_code = 2


class ConfigError(RagError):
    """A setting is invalid or missing."""


class InputError(RagError):
    """A question, path or argument cannot be used."""


class StoreError(RagError):
    """The index cannot be opened, is from other settings, or the server is unreachable."""


class StoreMismatchError(StoreError):
    """The store was built with settings that change the vectors."""


class ModelError(RagError):
    """A model file is missing, corrupt, or cannot be loaded offline."""
