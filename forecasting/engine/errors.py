"""Exceptions raised by the forecasting engine. Catch :class:`ForecastError` for all of them."""


class ForecastError(Exception):
    """Base class of every error the forecasting engine raises on purpose."""


class ForecastInputError(ForecastError, ValueError):
    """The input data (sales, items, config, arguments) is not in the documented format.

    The message always names the file/frame, the column and the problem, e.g.
    ``sales: column 'date' has unparsable value '2011-13-01' (row 4)``.
    """


class ArtifactError(ForecastError, ValueError):
    """A saved model artifact could not be read (corrupt bytes, wrong version)."""
