"""Errors of :mod:`ledgerlearn.data`.

All derive from :class:`DataError`, itself a :class:`~ledgerlearn.errors.LedgerlearnError`.
Messages name the offending file, array, sample or value so that a person can fix the input.
"""

from __future__ import annotations

from ledgerlearn.errors import LedgerlearnError

__all__ = [
    "AmbiguousHeaderError",
    "DataError",
    "DataFileError",
    "DatasetError",
    "FragmentDecryptionError",
    "FragmentError",
    "LabelRangeError",
    "PartitionError",
    "UnsafePickleError",
]


class DataError(LedgerlearnError):
    """Root of the errors about data: datasets, files, partitions, fragments."""


class DatasetError(DataError):
    """Arrays do not form a valid dataset (dtype, shape, length, NaN, ...)."""


class LabelRangeError(DatasetError):
    """Some labels lie outside ``[0, num_classes)`` of the model."""


class DataFileError(DataError):
    """A person's data file cannot be read: missing, unsupported, malformed."""


class AmbiguousHeaderError(DataFileError):
    """A CSV file's first line reads ``0, 1, ..., n-1`` or ``1, ..., n``: column numbers of a
    header, or a line of data? The reader does not guess; the person says.

    ``str()`` names the command line's options; :meth:`asking` words the question for another
    interface (the gateway's form field).
    """

    def __init__(self, where: str, line: int, first: list[str]) -> None:
        self.where = where
        self.line = line
        shown = ", ".join(first[:3]) + (f", ..., {first[-1]}" if len(first) > 3 else "")
        self.shown = shown
        super().__init__(self.asking("give --header or --no-header"))

    def asking(self, how: str) -> str:
        """The message, ending with ``how`` a person says whether line 1 is a header."""
        return (
            f"{self.where}: line {self.line} reads {self.shown}: column numbers of a header, or "
            f"a line of data? {how}"
        )


class PartitionError(DataError):
    """A partition request is impossible (more clients than samples, bad alpha, ...)."""


class UnsafePickleError(DataError):
    """A pickle asked for something other than numpy arrays: refused, nothing was executed."""


class FragmentError(DataError):
    """A validation fragment is malformed, or does not match the task's model."""


class FragmentDecryptionError(FragmentError):
    """A fragment cannot be decrypted: wrong private key, tampered or truncated ciphertext."""
