"""Exceptions the CLI and the app turn into one-line messages (no traceback)."""


class AmintError(Exception):
    """Base class of every error meant for the user rather than the developer."""


class DatasetUnavailable(AmintError):
    """A dataset cannot be found offline and cannot be downloaded."""


class InvalidImage(AmintError):
    """An input file is not an image we can audit (corrupt, too large, wrong type)."""


class InvalidPair(AmintError):
    """A pair directory is missing files, tampered with, or not of our schema."""


class InvalidConfig(AmintError, ValueError):
    """A training or evaluation setting is impossible (sizes, taps, ranges)."""


class StorageError(AmintError):
    """A pair cannot be written (full disk, file size limit, permissions); nothing partial is left."""
