"""A person's own data file -> :class:`~ledgerlearn.data.datasets.Dataset`, with clear errors.

Two formats, chosen by the file's suffix:

- ``.npz``: a numpy archive with exactly two arrays, ``x`` (one row per sample; numbers:
  integers, floats or booleans) and ``y`` (integer labels), e.g. written by
  ``np.savez(path, x=x, y=y)``. Read with ``allow_pickle=False``: an archive holding Python
  objects is refused, never unpickled. Each array's ``.npy`` header is read and checked
  (dtype, shape, size against the zip entry, at most ``max_values`` values) before its data
  is inflated, so a small archive that would expand to gigabytes costs nothing.
- ``.csv``: one sample per line, numeric features; the label is the last column, or the
  column named (header) or numbered (0-based, negative from the end) by ``label_column``.
  Blank lines are skipped. Labels may be written ``3`` or ``3.0`` but must be whole numbers.
  The file is streamed in chunks of lines; at most ``max_values`` feature values are read.
  **Header line** (``header``): ``True``, line 1 names the columns, whatever it holds;
  ``False``, line 1 is data; ``None`` (auto), line 1 is a header when none of its fields is a
  number and data when all are, except that a line reading ``0, 1, ..., n-1`` or ``1, ..., n``
  (the column numbers a dataframe writes) is refused as ambiguous
  (:class:`~ledgerlearn.data.errors.AmbiguousHeaderError`), and a line mixing numbers and text
  is refused. What was decided is reported through ``notice``.

:func:`load_features` reads samples to run a model on (``ledgerlearn model predict``): the
same formats, with labels optional (an ``.npz`` without ``y``; a ``.csv`` with as many columns
as the model has input values, or one more: the label, last).

Features are converted to float32 and not scaled: the values reach the model as they are
in the file, and the model applies the transform its spec declares, if any (see
:mod:`ledgerlearn.data.inputs` for the check against the spec's input range). With
``input_shape`` (a model spec's), each sample is reshaped row-major to it when the number of
values matches.

Every problem raises :class:`~ledgerlearn.data.errors.DataFileError` (or
:class:`~ledgerlearn.data.errors.LabelRangeError` for labels outside ``[0, num_classes)``),
with the file, and the array, line, column or sample at fault, e.g.::

    data.csv: line 7, column 'pixel3': 'x' is not a number
    data.npz: y has dtype float64; labels must be integers (save y.astype(np.int64))
    data.csv: 2 labels lie outside [0, 10) of a model with 10 classes (first: line 5 ...)
"""

from __future__ import annotations

import csv
import math
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from ledgerlearn.data.datasets import Dataset, check_labels
from ledgerlearn.data.errors import AmbiguousHeaderError, DataFileError, LabelRangeError
from ledgerlearn.limits import MAX_LOCAL_DATA_VALUES

__all__ = ["SUPPORTED_SUFFIXES", "Features", "load_csv", "load_features", "load_file", "load_npz"]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".npz", ".csv")
"""File suffixes :func:`load_file` understands."""

CSV_CHUNK_LINES = 4096
"""Lines of a CSV file parsed at once."""

MAX_CSV_LINE_BYTES = 8 * 2**20
"""Longest line of a CSV file."""

MAX_NPY_HEADER_BYTES = 10_000
"""Largest ``.npy`` header inside an ``.npz`` archive (numpy's own default)."""

MAX_DEFLATE_RATIO = 1100
"""Deflate expands at most about 1032-fold: a zip entry declaring more is lying."""

_NPY_MAGIC = b"\x93NUMPY"
_NUMERIC_KINDS = "biuf"


def load_file(
    path: str | Path,
    *,
    num_classes: int,
    input_shape: Sequence[int] | None = None,
    label_column: str | int | None = None,
    name: str | None = None,
    label: str | None = None,
    max_values: int = MAX_LOCAL_DATA_VALUES,
    header: bool | None = None,
    notice: Callable[[str], None] | None = None,
) -> Dataset:
    """Load a ``.npz`` or ``.csv`` data file.

    Parameters
    ----------
    path
        The file; its suffix (case-insensitive) selects the format.
    num_classes
        Number of classes of the task's model; every label must lie in ``[0, num_classes)``.
    input_shape
        The model's input shape (e.g. ``spec.input_shape``); samples are reshaped to it.
        ``None`` keeps the file's shape (``.npz``) or one feature vector per line (``.csv``).
    label_column
        ``.csv`` only: the label column's header name or index; default the last column.
    name
        Dataset name; default the file name.
    label
        How error messages name the file; default its path (a server names the upload, not
        its temporary copy).
    max_values
        Most feature values (samples x features per sample) the file may hold; a file
        declaring more is refused before its data is read or inflated.
    header
        ``.csv`` only: whether line 1 is a header (``None``: detect it, see the module).
    notice
        Told, in one line, how the file was read (a CSV's header line, detected or given).

    Returns
    -------
    Dataset
        float32 features, int64 labels.

    Raises
    ------
    DataFileError
        If the file is missing, has an unsupported suffix, is malformed (see the module) or
        holds more than ``max_values`` values.
    LabelRangeError
        If a label lies outside ``[0, num_classes)``.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    where = label or str(file)
    if suffix == ".npz":
        if label_column is not None:
            raise DataFileError(f"{where}: label_column applies to .csv files, not .npz")
        if header is not None:
            raise DataFileError(f"{where}: a header line applies to .csv files, not .npz")
        return load_npz(
            file,
            num_classes=num_classes,
            input_shape=input_shape,
            name=name,
            label=label,
            max_values=max_values,
        )
    if suffix == ".csv":
        return load_csv(
            file,
            num_classes=num_classes,
            input_shape=input_shape,
            label_column=label_column,
            name=name,
            label=label,
            max_values=max_values,
            header=header,
            notice=notice,
        )
    raise DataFileError(
        f"{where}: unsupported file type {file.suffix or '(no suffix)'!r}; "
        f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def load_npz(
    path: str | Path,
    *,
    num_classes: int,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
    label: str | None = None,
    max_values: int = MAX_LOCAL_DATA_VALUES,
) -> Dataset:
    """Load a ``.npz`` archive with arrays ``x`` and ``y`` (never unpickles).

    The archive is checked before any array is inflated: exactly the members ``x.npy`` and
    ``y.npy``, stored or deflated, not encrypted; each member's ``.npy`` header (read with
    :func:`numpy.lib.format.read_array_header_1_0` and friends) must declare a numeric dtype
    and a shape within ``max_values``, and a size the zip entry's declared size matches. A
    small archive that would inflate to gigabytes is refused in milliseconds.

    Parameters
    ----------
    path
        The archive.
    num_classes
        Number of classes of the model.
    input_shape
        Shape each sample is reshaped to, or ``None``.
    name
        Dataset name; default the file name.
    label
        How error messages name the file; default its path.
    max_values
        Most values ``x`` may hold.

    Returns
    -------
    Dataset
        The data.

    Raises
    ------
    DataFileError
        Missing file, not an ``.npz`` archive, missing or extra arrays, object arrays, wrong
        dtypes or shapes, mismatched lengths, no samples, too many values, sizes that do not
        add up, non-finite features.
    LabelRangeError
        If a label lies outside ``[0, num_classes)``.
    """
    file = Path(path)
    where = label or str(file)
    _check_num_classes(num_classes, where)
    features, labels = _npz_arrays(file, where, max_values, need_y=True)
    assert labels is not None
    check_labels(labels, num_classes, name=where)
    features = _reshape(features, input_shape, where)
    return Dataset(features, labels, num_classes, file.name if name is None else name)


def _npz_arrays(
    file: Path, where: str, max_values: int, *, need_y: bool
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64] | None]:
    """The features (float32) and labels (int64; None when ``y`` is absent and not needed) of
    an ``.npz`` archive, checked as :func:`load_npz` says (labels not yet against a model)."""
    if not file.is_file():
        raise DataFileError(f"{where}: no such file")
    try:
        with file.open("rb") as handle:
            magic = handle.read(len(_NPY_MAGIC))
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        if magic == _NPY_MAGIC:
            raise DataFileError(
                f"{where}: holds a single array (.npy format); save x and y together with "
                f"np.savez(path, x=x, y=y)"
            ) from None
        raise DataFileError(f"{where}: not a numpy .npz archive (not a zip file)") from None
    except (OSError, EOFError, ValueError) as exc:
        raise DataFileError(f"{where}: not a readable .npz archive ({exc})") from None
    with archive:
        members = _npz_members(archive, where, need_y=need_y)
        headers = {key: _npy_header(archive, info, key, where) for key, info in members.items()}
        x_shape = headers["x"][0]
        x_values = math.prod(x_shape)
        if x_values > max_values:
            raise DataFileError(
                f"{where}: x has shape {x_shape} ({x_values} values), above the limit of "
                f"{max_values} values"
            )
        if "y" in headers and math.prod(headers["y"][0]) > max_values:
            raise DataFileError(
                f"{where}: y has shape {headers['y'][0]}, above the limit of {max_values} values"
            )
        x = _read_member(archive, members["x"], "x", where)
        y = _read_member(archive, members["y"], "y", where) if "y" in members else None

    if x.dtype.kind not in _NUMERIC_KINDS:
        raise DataFileError(
            f"{where}: x has dtype {x.dtype} ({_kind_name(x.dtype)}); features must be numbers"
        )
    if x.ndim < 2:
        raise DataFileError(
            f"{where}: x has shape {x.shape}; it needs one row per sample, "
            f"shape (samples, features...)"
        )
    if x.shape[0] == 0:
        raise DataFileError(f"{where}: no samples")
    if y is not None:
        if y.dtype.kind not in "iu":
            hint = " (save y.astype(np.int64))" if y.dtype.kind in "fb" else ""
            raise DataFileError(
                f"{where}: y has dtype {y.dtype} ({_kind_name(y.dtype)}); labels must be "
                f"integers{hint}"
            )
        if y.ndim != 1:
            raise DataFileError(
                f"{where}: y has shape {y.shape}; it must be 1-D, one label per sample"
            )
        if x.shape[0] != y.shape[0]:
            raise DataFileError(
                f"{where}: x has {x.shape[0]} samples but y has {y.shape[0]} labels"
            )
    features = _to_float32(x, where, lambda i: f"sample {i}")
    return features, None if y is None else y.astype(np.int64)


def load_csv(
    path: str | Path,
    *,
    num_classes: int,
    input_shape: Sequence[int] | None = None,
    label_column: str | int | None = None,
    name: str | None = None,
    delimiter: str = ",",
    label: str | None = None,
    max_values: int = MAX_LOCAL_DATA_VALUES,
    header: bool | None = None,
    notice: Callable[[str], None] | None = None,
) -> Dataset:
    """Load a CSV file of numeric features and an integer label column.

    The file is read as a stream, :data:`CSV_CHUNK_LINES` lines at a time, each chunk parsed
    by :func:`numpy.loadtxt` into float32 features: memory stays near the size of the result,
    a file with more than ``max_values`` feature values is refused as soon as the count
    passes the limit, and a thread parsing a large file gives the interpreter back between
    chunks.

    Parameters
    ----------
    path
        The file (UTF-8; a byte-order mark is ignored; blank lines are skipped).
    num_classes
        Number of classes of the model.
    input_shape
        Shape each sample's features are reshaped to, or ``None`` for flat vectors.
    label_column
        Header name or 0-based index (negative from the end) of the label column; default the
        last column.
    name
        Dataset name; default the file name.
    delimiter
        Field separator.
    label
        How error messages name the file; default its path.
    max_values
        Most feature values (lines x feature columns) the file may hold.
    header
        Whether line 1 names the columns; ``None`` detects it (see the module).
    notice
        Told, in one line, whether line 1 was taken as a header and why.

    Returns
    -------
    Dataset
        The data.

    Raises
    ------
    DataFileError
        Missing or undecodable file, no data lines, unknown label column, rows of differing
        lengths, empty or non-numeric fields, non-integer labels, non-finite features, lines
        longer than :data:`MAX_CSV_LINE_BYTES`, too many values; the message gives the line
        number and column. :class:`~ledgerlearn.data.errors.AmbiguousHeaderError` when
        ``header`` is ``None`` and line 1 reads like column numbers.
    LabelRangeError
        If a label lies outside ``[0, num_classes)`` (with the line of the first one).
    """
    file = Path(path)
    where = label or str(file)
    _check_num_classes(num_classes, where)
    if not file.is_file():
        raise DataFileError(f"{where}: no such file")
    try:
        with file.open("rb") as handle:
            return _CsvReader(
                handle,
                where=where,
                num_classes=num_classes,
                label_column=label_column,
                delimiter=delimiter,
                max_values=max_values,
                header=header,
                notice=notice,
            ).read(input_shape, file.name if name is None else name)
    except OSError as exc:
        raise DataFileError(f"{where}: cannot read ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class Features:
    """Samples to run a model on, with their labels when the file has them."""

    x: npt.NDArray[np.float32]
    """``(n, *input_shape)`` float32."""
    y: npt.NDArray[np.int64] | None
    """``(n,)`` labels, or None."""
    name: str


def load_features(
    path: str | Path,
    *,
    input_shape: Sequence[int],
    num_classes: int,
    name: str | None = None,
    label: str | None = None,
    max_values: int = MAX_LOCAL_DATA_VALUES,
) -> Features:
    """Load samples to run a model on from a ``.npz`` or ``.csv`` file; labels optional.

    ``.npz``: the array ``x``, and ``y`` when present (checked as in :func:`load_npz`).
    ``.csv``: as in :func:`load_csv`, each line holding the model's ``prod(input_shape)``
    input values, or one more, the label, last (a header line is allowed either way).

    Parameters
    ----------
    path
        The file; its suffix (case-insensitive) selects the format.
    input_shape
        The model's input shape; samples are reshaped to it.
    num_classes
        The model's classes (labels, when present, must lie in ``[0, num_classes)``).
    name, label, max_values
        As for :func:`load_file`.

    Raises
    ------
    DataFileError
        A missing, malformed or oversized file, or samples that do not fit ``input_shape``.
    LabelRangeError
        A label outside ``[0, num_classes)``.
    """
    file = Path(path)
    where = label or str(file)
    _check_num_classes(num_classes, where)
    name = file.name if name is None else name
    suffix = file.suffix.lower()
    if suffix == ".npz":
        x, y = _npz_arrays(file, where, max_values, need_y=False)
        if y is not None:
            check_labels(y, num_classes, name=where)
        return Features(_reshape(x, input_shape, where), y, name)
    if suffix != ".csv":
        raise DataFileError(
            f"{where}: unsupported file type {file.suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not file.is_file():
        raise DataFileError(f"{where}: no such file")
    values = math.prod(int(d) for d in input_shape)
    try:
        with file.open("rb") as handle:
            reader = _CsvReader(
                handle,
                where=where,
                num_classes=num_classes,
                label_column=None,
                delimiter=",",
                max_values=max_values,
            )
            first = next(reader.lines(), None)
            if first is None:
                raise DataFileError(f"{where}: empty file, no data lines")
            width = len(_split(first[1], ","))
            if width not in (values, values + 1):
                raise DataFileError(
                    f"{where}: lines have {width} columns; the model takes {values} values per "
                    f"sample ({values} columns, or {values + 1} with the label last)"
                )
            handle.seek(0)
            reader = _CsvReader(
                handle,
                where=where,
                num_classes=num_classes,
                label_column=None,
                delimiter=",",
                max_values=max_values,
                labels=width == values + 1,
            )
            x, y = reader.read_arrays(input_shape)
    except OSError as exc:
        raise DataFileError(f"{where}: cannot read ({exc.strerror or exc})") from None
    return Features(x, y, name)


class _CsvReader:
    """Reads one CSV file as a stream of chunks (see :func:`load_csv`)."""

    def __init__(
        self,
        handle: BinaryIO,
        *,
        where: str,
        num_classes: int,
        label_column: str | int | None,
        delimiter: str,
        max_values: int,
        labels: bool = True,
        header: bool | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.handle = handle
        self.has_labels = labels
        self.header = header
        self.notice = notice
        self.where = where
        self.num_classes = num_classes
        self.label_column = label_column
        self.delimiter = delimiter
        self.max_values = max_values
        self.offset = 0
        self.number = 0
        # features go into one array sized from a count of the file's line breaks (bounded by
        # max_values), so the result is never copied whole; it grows if that count was short
        self.features = np.empty((0, 0), dtype=np.float32)
        self.rows = 0
        self.labels: list[npt.NDArray[np.float64]] = []
        self.line_numbers: list[npt.NDArray[np.int64]] = []
        # deferred problems: (first line, text) and how many, reported after the whole file
        self.fractional: tuple[str, int] | None = None
        self.fractional_count = 0
        self.huge: tuple[float, str] | None = None
        self.non_finite: tuple[str, int] | None = None
        self.non_finite_count = 0

    def lines(self) -> Iterator[tuple[int, str]]:
        """Non-blank lines with their 1-based numbers, as :meth:`str.splitlines` splits."""
        first = True
        while True:
            raw = self.handle.readline(MAX_CSV_LINE_BYTES + 1)
            if not raw:
                return
            if len(raw) > MAX_CSV_LINE_BYTES:
                raise DataFileError(
                    f"{self.where}: line {self.number + 1} is longer than "
                    f"{MAX_CSV_LINE_BYTES} bytes"
                )
            try:
                text = raw.decode("utf-8-sig" if first else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataFileError(
                    f"{self.where}: not UTF-8 text ({exc.reason} at byte {self.offset + exc.start})"
                ) from None
            first = False
            self.offset += len(raw)
            for line in text.splitlines():
                self.number += 1
                if line.strip():
                    yield self.number, line

    def _line_breaks(self) -> int:
        breaks = 0
        while chunk := self.handle.read(1024 * 1024):
            breaks += chunk.count(b"\n") + chunk.count(b"\r")
        self.handle.seek(0)
        return breaks

    def read(self, input_shape: Sequence[int] | None, name: str) -> Dataset:
        features, labels = self.read_arrays(input_shape)
        assert labels is not None
        return Dataset(features, labels, self.num_classes, name)

    def read_arrays(
        self, input_shape: Sequence[int] | None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64] | None]:
        """The features and (when the file has a label column) the labels."""
        where, delimiter = self.where, self.delimiter
        breaks = self._line_breaks()
        lines = self.lines()
        head = next(lines, None)
        if head is None:
            raise DataFileError(f"{where}: empty file, no data lines")
        first = _split(head[1], delimiter)
        width = len(first)
        if width < 2 and self.has_labels:
            raise DataFileError(
                f"{where}: line {head[0]} has {width} column; need features and a label "
                f"(delimiter {delimiter!r})"
            )
        has_header = self._has_header(head[0], first)
        header = [field.strip() for field in first] if has_header else None
        # How messages name a column: its header name, else its 1-based position.
        self.columns = (
            [repr(name) for name in header]
            if header is not None
            else [str(i) for i in range(1, width + 1)]
        )
        self.width = width
        self.label_index = (
            _label_index(self.label_column, header, width, where) if self.has_labels else None
        )
        self.feature_names = [c for j, c in enumerate(self.columns) if j != self.label_index]
        self.n_features = len(self.feature_names)
        if self.notice is not None:
            self.notice(self._layout(head[0], header))
        capacity = min(breaks + 1, self.max_values // self.n_features + 1)
        self.features = np.empty((capacity, self.n_features), dtype=np.float32)
        chunk: list[tuple[int, str]] = [] if has_header else [head]
        rows = 0
        for item in lines:
            chunk.append(item)
            if len(chunk) >= CSV_CHUNK_LINES:
                rows += len(chunk)
                self._check_count(rows, item[0])
                self._parse(chunk)
                chunk = []
        if chunk:
            rows += len(chunk)
            self._check_count(rows, chunk[-1][0])
            self._parse(chunk)
        if rows == 0:
            raise DataFileError(f"{where}: a header line but no data lines")
        return self._finish(input_shape)

    def _has_header(self, line: int, first: list[str]) -> bool:
        """Whether the first line is a header: as given, else detected (see the module)."""
        if self.header is not None:
            return self.header
        numeric = [_is_number(field) for field in first]
        if not any(numeric):
            return True
        if not all(numeric):
            raise DataFileError(
                f"{self.where}: line {line} mixes numbers and text: a header line names every "
                "column and a data line holds only numbers (if it is a header, give --header)"
            )
        if _counts_columns(first):
            raise AmbiguousHeaderError(self.where, line, [f.strip() for f in first])
        return False

    def _layout(self, line: int, header: list[str] | None) -> str:
        """How the file is read, in one line."""
        how = "given" if self.header is not None else "detected"
        if self.label_index is None:
            labelled = "no label column"
        else:
            label = self.columns[self.label_index]
            position = "the last" if self.label_index == self.width - 1 else "given"
            labelled = f"label column {label} ({position})"
        if header is None:
            why = "" if self.header is not None else ": it holds numbers"
            return (
                f"{self.where}: no header line ({how}{why}); line {line} is data, "
                f"{self.n_features} features, {labelled}"
            )
        why = "" if self.header is not None else ": it names the columns"
        return (
            f"{self.where}: line {line} is a header ({how}{why}); {self.n_features} features, "
            f"{labelled}"
        )

    def _check_count(self, rows: int, line: int) -> None:
        values = rows * self.n_features
        if values > self.max_values:
            raise DataFileError(
                f"{self.where}: more than {self.max_values} feature values by line {line} "
                f"({rows} lines of {self.n_features} features); the limit is {self.max_values}"
            )

    def _parse(self, rows: list[tuple[int, str]]) -> None:
        where = self.where
        try:
            table = np.loadtxt(
                [line for _, line in rows],
                delimiter=self.delimiter,
                comments=None,
                quotechar='"',
                dtype=np.float64,
                ndmin=2,
            )
        except ValueError as exc:
            raise DataFileError(
                _diagnose_csv(rows, self.width, self.columns, self.delimiter, where)
                or f"{where}: {exc}"
            ) from None
        if table.shape[1] != self.width:  # pragma: no cover - loadtxt refuses ragged rows
            raise DataFileError(f"{where}: expected {self.width} columns, read {table.shape[1]}")
        numbers = np.array([n for n, _ in rows], dtype=np.int64)
        if self.label_index is None:
            self._store(table, numbers)
            return
        raw_labels = table[:, self.label_index].copy()  # not a view keeping the table alive
        bad = ~np.isfinite(raw_labels) | (raw_labels != np.round(raw_labels))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            if self.fractional is None:
                self.fractional = (f"line {int(numbers[i])}", i)
                self.fractional_value = float(raw_labels[i])
            self.fractional_count += int(bad.sum())
        finite = raw_labels[np.isfinite(raw_labels)]
        if finite.size and np.abs(finite).max() >= 2.0**62:
            i = int(np.argmax(np.where(np.isfinite(raw_labels), np.abs(raw_labels), -1.0)))
            value = float(raw_labels[i])
            if self.huge is None or abs(value) > abs(self.huge[0]):
                self.huge = (value, f"line {int(numbers[i])}")
        self.labels.append(raw_labels)
        self._store(np.delete(table, self.label_index, axis=1), numbers)

    def _store(self, features64: npt.NDArray[np.float64], numbers: npt.NDArray[np.int64]) -> None:
        """Check a chunk's features (float32, finite) and append them."""
        with np.errstate(over="ignore", invalid="ignore"):
            features = np.ascontiguousarray(features64, dtype=np.float32)
        ok = np.isfinite(features)
        if not ok.all():
            flat = ~ok
            if self.non_finite is None:
                sample = int(np.flatnonzero(flat.any(axis=1))[0])
                column = int(np.flatnonzero(flat[sample])[0])
                original = float(features64[sample, column])
                reason = (
                    "is not a finite number"
                    if not math.isfinite(original)
                    else "is too large for float32"
                )
                self.non_finite = (
                    f"line {int(numbers[sample])}, column {self.feature_names[column]}: "
                    f"value {original!r} {reason}",
                    0,
                )
            self.non_finite_count += int(flat.sum())
        end = self.rows + len(features)
        if end > len(self.features):  # line breaks str.splitlines knows and the count missed
            grown = np.empty((max(end, 2 * len(self.features)), self.width - 1), np.float32)
            grown[: self.rows] = self.features[: self.rows]
            self.features = grown
        self.features[self.rows : end] = features
        self.rows = end
        self.line_numbers.append(numbers)

    def _finish(
        self, input_shape: Sequence[int] | None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64] | None]:
        where = self.where
        if self.label_index is None:
            self._check_finite()
            return _reshape(self.features[: self.rows], input_shape, where), None
        label_name = self.columns[self.label_index]
        if self.fractional is not None:
            place, _ = self.fractional
            raise DataFileError(
                f"{where}: {place}, label column {label_name}: {self.fractional_value!r} is not "
                f"a whole number ({self.fractional_count} such labels); labels must be integers"
            )
        if self.huge is not None:
            value, place = self.huge
            raise LabelRangeError(
                f"{where}: {place}, label column {label_name}: {value!r} lies far outside "
                f"[0, {self.num_classes}) of a model with {self.num_classes} classes"
            )
        line_numbers = np.concatenate(self.line_numbers)
        labels = np.concatenate(self.labels).astype(np.int64)
        self.labels = []
        check_labels(
            labels,
            self.num_classes,
            name=where,
            locate=lambda i: f"line {int(line_numbers[i])}",
        )
        self._check_finite()
        return _reshape(self.features[: self.rows], input_shape, where), labels

    def _check_finite(self) -> None:
        if self.non_finite is not None:
            raise DataFileError(
                f"{self.where}: {self.non_finite[0]} ({self.non_finite_count} non-finite "
                "values in all); every feature must be a finite number"
            )


# --- helpers -------------------------------------------------------------------------------


def _check_num_classes(num_classes: Any, where: str) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise DataFileError(f"{where}: num_classes must be a positive integer, got {num_classes!r}")


def _npz_members(
    archive: zipfile.ZipFile, where: str, *, need_y: bool = True
) -> dict[str, zipfile.ZipInfo]:
    """The members ``x`` and ``y`` (optional unless ``need_y``) of an archive, refusing
    anything else."""
    infos = archive.infolist()
    keys = [info.filename.removesuffix(".npy") for info in infos]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise DataFileError(
            f"{where}: the archive holds {', '.join(repr(k) for k in repeated)} more than once"
        )
    missing = [k for k in ("x", "y") if k not in keys and (k == "x" or need_y)]
    extra = sorted(k for k in keys if k not in ("x", "y"))
    if missing or extra:
        problems = []
        if missing:
            problems.append("missing " + ", ".join(repr(k) for k in missing))
        if extra:
            problems.append("unexpected " + ", ".join(repr(k) for k in extra[:10]))
        expected = "exactly the arrays 'x' and 'y'" if need_y else "the array 'x' (and 'y')"
        raise DataFileError(
            f"{where}: expected {expected}, {'; '.join(problems)} "
            f"(save with np.savez(path, x=x, y=y))"
        )
    members = dict(zip(keys, infos, strict=True))
    for key, info in members.items():
        if info.flag_bits & 0x1:
            raise DataFileError(f"{where}: array {key!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise DataFileError(
                f"{where}: array {key!r} uses zip compression method {info.compress_type}; "
                "only stored or deflated members are read (as np.savez and "
                "np.savez_compressed write them)"
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_DEFLATE_RATIO:
            raise DataFileError(
                f"{where}: array {key!r} declares {info.file_size} bytes from "
                f"{info.compress_size} compressed, more than deflate can expand to"
            )
    return members


def _npy_header(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, where: str
) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype from a member's ``.npy`` header, read without inflating its data."""
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(
                    member, max_header_size=MAX_NPY_HEADER_BYTES
                )
            elif version in ((2, 0), (3, 0)):
                shape, _, dtype = np.lib.format.read_array_header_2_0(
                    member, max_header_size=MAX_NPY_HEADER_BYTES
                )
            else:  # pragma: no cover - read_magic refuses other versions
                raise ValueError(f"unsupported .npy version {version}")
            header_size = member.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{where}: array {key!r} is malformed ({exc})") from None
    if dtype.hasobject:
        raise DataFileError(
            f"{where}: array {key!r} holds Python objects (dtype object); only numeric "
            f"arrays are accepted, nothing is unpickled"
        )
    needed = header_size + math.prod(shape) * dtype.itemsize
    if info.file_size != needed:
        raise DataFileError(
            f"{where}: array {key!r} declares shape {shape} of {dtype} ({needed} bytes with "
            f"its header) but its zip entry holds {info.file_size} bytes"
        )
    return tuple(int(d) for d in shape), dtype


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, where: str
) -> npt.NDArray[Any]:
    try:
        with archive.open(info) as member:
            value = np.lib.format.read_array(
                member, allow_pickle=False, max_header_size=MAX_NPY_HEADER_BYTES
            )
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # pragma: no cover - refused from the header first
            raise DataFileError(
                f"{where}: array {key!r} holds Python objects (dtype object); only numeric "
                f"arrays are accepted, nothing is unpickled"
            ) from None
        raise DataFileError(f"{where}: array {key!r} is malformed ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{where}: array {key!r} cannot be read ({exc})") from None
    return np.asarray(value)


def _kind_name(dtype: np.dtype[Any]) -> str:
    names = {
        "b": "booleans",
        "i": "integers",
        "u": "unsigned integers",
        "f": "floats",
        "c": "complex numbers",
        "U": "strings",
        "S": "bytes",
        "O": "Python objects",
        "M": "dates",
        "m": "time deltas",
        "V": "raw records",
    }
    return names.get(dtype.kind, "unsupported")


def _to_float32(
    x: npt.NDArray[Any],
    where: str,
    locate: Callable[[int], str],
    feature: Callable[[int], str] | None = None,
) -> npt.NDArray[np.float32]:
    """Cast features to float32; refuse NaN, inf and values that overflow float32."""
    with np.errstate(over="ignore", invalid="ignore"):
        features = np.ascontiguousarray(x, dtype=np.float32)
    finite = np.isfinite(features)
    if finite.all():
        return features
    bad = ~finite
    flat = bad.reshape(bad.shape[0], -1)
    sample = int(np.flatnonzero(flat.any(axis=1))[0])
    position = int(np.flatnonzero(flat[sample])[0])
    original = x.reshape(x.shape[0], -1)[sample, position]
    column = f", {feature(position)}" if feature is not None else f", feature {position}"
    reason = "is not a finite number" if not np.isfinite(original) else "is too large for float32"
    raise DataFileError(
        f"{where}: {locate(sample)}{column}: value {float(original)!r} {reason} "
        f"({int(bad.sum())} non-finite values in all); every feature must be a finite number"
    )


def _reshape(
    features: npt.NDArray[np.float32], input_shape: Sequence[int] | None, where: str
) -> npt.NDArray[np.float32]:
    if input_shape is None:
        return features
    shape = tuple(int(d) for d in input_shape)
    per_sample = math.prod(features.shape[1:])
    if math.prod(shape) != per_sample:
        raise DataFileError(
            f"{where}: samples have {per_sample} values (shape {features.shape[1:]}) but the "
            f"model expects input_shape {list(shape)} ({math.prod(shape)} values)"
        )
    return features.reshape(features.shape[0], *shape)


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter, quotechar='"'))


_WHOLE = re.compile(r"\s*[0-9]+\s*")


def _counts_columns(fields: list[str]) -> bool:
    """Whether a line reads ``0, 1, ..., n-1`` or ``1, 2, ..., n`` (column numbers)."""
    if not all(_WHOLE.fullmatch(field) for field in fields):
        return False
    numbers = [int(field) for field in fields]
    return numbers in (list(range(len(fields))), list(range(1, len(fields) + 1)))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _label_index(
    label_column: str | int | None, header: list[str] | None, width: int, file: str
) -> int:
    if label_column is None:
        return width - 1
    if isinstance(label_column, bool):
        raise DataFileError(
            f"{file}: label_column must be a name or an index, got {label_column!r}"
        )
    if isinstance(label_column, int):
        if not -width <= label_column < width:
            raise DataFileError(
                f"{file}: label_column {label_column} is outside the {width} columns"
            )
        return label_column % width
    if header is None:
        raise DataFileError(
            f"{file}: label_column {label_column!r} names a column but the file has no header "
            f"line; give its index instead"
        )
    if label_column not in header:
        shown = ", ".join(repr(c) for c in header[:10]) + (", ..." if len(header) > 10 else "")
        raise DataFileError(f"{file}: no column named {label_column!r} in the header ({shown})")
    if header.count(label_column) > 1:
        raise DataFileError(f"{file}: the header names {label_column!r} more than once")
    return header.index(label_column)


def _diagnose_csv(
    rows: list[tuple[int, str]], width: int, columns: list[str], delimiter: str, file: str
) -> str | None:
    """Find the first offending field of a CSV numpy refused, for a precise message."""
    for number, line in rows:
        fields = _split(line, delimiter)
        if len(fields) != width:
            return (
                f"{file}: line {number} has {len(fields)} columns, expected {width} "
                f"like the first line"
            )
        for j, field in enumerate(fields):
            if not field.strip():
                return f"{file}: line {number}, column {columns[j]}: empty value"
            if not _is_number(field):
                return f"{file}: line {number}, column {columns[j]}: {field!r} is not a number"
    return None
