"""Exceptions raised by the recommender engine.

Every problem with the caller's input raises :class:`RecommenderInputError` (a ``ValueError``) with a message that
names the problem (the column, the bad values, the file). The CLI prints that message and exits with status 2,
without a traceback.
"""


class RecommenderError(Exception):
    """Base class for every error the engine raises on purpose."""


class RecommenderInputError(RecommenderError, ValueError):
    """The interactions or items given to the engine are not in the documented format."""


class ArtifactError(RecommenderError, ValueError):
    """A saved model artifact cannot be read (corrupt, wrong version, not an artifact)."""
