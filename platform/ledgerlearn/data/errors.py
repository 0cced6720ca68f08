"""Errors of :mod:`ledgerlearn.data`.

All derive from :class:`DataError`, itself a :class:`~ledgerlearn.errors.LedgerlearnError`.
Messages name the offending file, array, sample or value so that a person can fix the input.
"""

from __future__ import annotations

from ledgerlearn.errors import LedgerlearnError

__all__ = [
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


class PartitionError(DataError):
    """A partition request is impossible (more clients than samples, bad alpha, ...)."""


class UnsafePickleError(DataError):
    """A pickle asked for something other than numpy arrays: refused, nothing was executed."""


class FragmentError(DataError):
    """A validation fragment is malformed, or does not match the task's model."""


class FragmentDecryptionError(FragmentError):
    """A fragment cannot be decrypted: wrong private key, tampered or truncated ciphertext."""
