"""Exceptions raised by the chat engine.

Every problem with the caller's input raises :class:`ChatInputError` (a ``ValueError``) with a message that names
the problem (the column, the intent, the file). The CLI prints that message and exits with status 2, without a
traceback.
"""


class ChatEngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class ChatInputError(ChatEngineError, ValueError):
    """The examples or texts given to the engine are not in the documented format."""


class ArtifactError(ChatEngineError, ValueError):
    """A saved model artifact cannot be read (corrupt, wrong version, not an artifact)."""
