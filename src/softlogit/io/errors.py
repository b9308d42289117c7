"""The two kinds of bad input the io layer reports: bad data and bad model files.

Data that can be used, but not quite as given, gives a :class:`DataWarning` instead.

Both are :class:`ValueError` subclasses whose message is one sentence that names the file (and
the column, value or row count) at fault, so the command-line tool can print it as it is.
"""


class DataError(ValueError):
    """A data file or bundled data set that cannot be used as asked (the message says why)."""


class ModelFileError(ValueError):
    """A model file that is truncated, corrupted, foreign or from a newer format version."""


class DataWarning(UserWarning):
    """Data used with a change the user should know of (the message says which and where)."""
