"""Exceptions raised by the forecasting engine."""


class ForecastInputError(ValueError):
    """The input data (sales or items) is not in the documented format.

    The message always names the file/frame, the column and the problem, e.g.
    ``sales: column 'date' has unparsable value '2011-13-01' (row 4)``.
    """


class ArtifactError(ValueError):
    """A saved model artifact could not be read (corrupt bytes, wrong version)."""
