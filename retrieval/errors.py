"""The small exception family that every factdiff layer raises.

The doors (CLI, Slack) translate these into one-line messages; nothing else should need
to know more than the class.
"""

from __future__ import annotations


class FactDiffError(Exception):
    """Base class: a problem we can explain to the user in one line."""


class InputError(FactDiffError):
    """Bad input from the user: an empty file, a binary file, a malformed line."""


class FetchError(FactDiffError):
    """A URL could not be fetched (404, timeout, redirect loop, too large, not HTML...)."""


class BlockedURLError(FetchError):
    """A URL points at a private, loopback or link-local address (SSRF guard)."""


class ExtractionError(FactDiffError):
    """A page was fetched but holds no article text we can extract."""


class ModelFileError(FactDiffError):
    """A bundled model or tokenizer file is missing or does not match its pinned hash."""


class StoreError(FactDiffError):
    """The vector store could not be reached or refused an operation."""


class StoreBusyError(StoreError):
    """Another process holds the embedded store's write lock for longer than we may wait."""


class NotFoundError(FactDiffError):
    """A stored article id that does not exist."""


class ConfigError(FactDiffError):
    """A setting is missing or invalid."""
