"""A person's own data file -> :class:`~ledgerlearn.data.datasets.Dataset`, with clear errors.

Two formats, chosen by the file's suffix:

- ``.npz``: a numpy archive with exactly two arrays, ``x`` (one row per sample; numbers:
  integers, floats or booleans) and ``y`` (integer labels), e.g. written by
  ``np.savez(path, x=x, y=y)``. Read with ``allow_pickle=False``: an archive holding Python
  objects is refused, never unpickled.
- ``.csv``: one sample per line, numeric features; the label is the last column, or the
  column named (header) or numbered (0-based, negative from the end) by ``label_column``. A
  first line of non-numbers only is a header; a first line mixing numbers and text is refused.
  Blank lines are skipped. Labels may be written ``3`` or ``3.0`` but must be whole numbers.

Features are converted to float32 (no scaling: preprocess them as the task's model expects,
e.g. pixels in [0, 1] for the bundled models). With ``input_shape`` (a model spec's), each
sample is reshaped row-major to it when the number of values matches.

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
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ledgerlearn.data.datasets import Dataset, check_labels
from ledgerlearn.data.errors import DataFileError, LabelRangeError

__all__ = ["SUPPORTED_SUFFIXES", "load_csv", "load_file", "load_npz"]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".npz", ".csv")
"""File suffixes :func:`load_file` understands."""

_NUMERIC_KINDS = "biuf"


def load_file(
    path: str | Path,
    *,
    num_classes: int,
    input_shape: Sequence[int] | None = None,
    label_column: str | int | None = None,
    name: str | None = None,
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

    Returns
    -------
    Dataset
        float32 features, int64 labels.

    Raises
    ------
    DataFileError
        If the file is missing, has an unsupported suffix, or is malformed (see the module).
    LabelRangeError
        If a label lies outside ``[0, num_classes)``.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".npz":
        if label_column is not None:
            raise DataFileError(f"{file}: label_column applies to .csv files, not .npz")
        return load_npz(file, num_classes=num_classes, input_shape=input_shape, name=name)
    if suffix == ".csv":
        return load_csv(
            file,
            num_classes=num_classes,
            input_shape=input_shape,
            label_column=label_column,
            name=name,
        )
    raise DataFileError(
        f"{file}: unsupported file type {file.suffix or '(no suffix)'!r}; "
        f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def load_npz(
    path: str | Path,
    *,
    num_classes: int,
    input_shape: Sequence[int] | None = None,
    name: str | None = None,
) -> Dataset:
    """Load a ``.npz`` archive with arrays ``x`` and ``y`` (never unpickles).

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

    Returns
    -------
    Dataset
        The data.

    Raises
    ------
    DataFileError
        Missing file, not an ``.npz`` archive, missing or extra arrays, object arrays, wrong
        dtypes or shapes, mismatched lengths, no samples, non-finite features.
    LabelRangeError
        If a label lies outside ``[0, num_classes)``.
    """
    file = Path(path)
    _check_num_classes(num_classes, file)
    if not file.is_file():
        raise DataFileError(f"{file}: no such file")
    try:
        archive = np.load(file, allow_pickle=False)
    except ValueError as exc:  # e.g. a pickle: numpy refuses it with allow_pickle=False
        raise DataFileError(f"{file}: not a numpy .npz archive ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{file}: not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFileError(
            f"{file}: holds a single array (.npy format); save x and y together with "
            f"np.savez(path, x=x, y=y)"
        )
    with archive:
        keys = sorted(archive.files)
        missing = [k for k in ("x", "y") if k not in keys]
        extra = [k for k in keys if k not in ("x", "y")]
        if missing or extra:
            problems = []
            if missing:
                problems.append("missing " + ", ".join(repr(k) for k in missing))
            if extra:
                problems.append("unexpected " + ", ".join(repr(k) for k in extra))
            raise DataFileError(
                f"{file}: expected exactly the arrays 'x' and 'y', {'; '.join(problems)} "
                f"(save with np.savez(path, x=x, y=y))"
            )
        x = _read_member(archive, "x", file)
        y = _read_member(archive, "y", file)

    where = str(file)
    if x.dtype.kind not in _NUMERIC_KINDS:
        raise DataFileError(
            f"{where}: x has dtype {x.dtype} ({_kind_name(x.dtype)}); features must be numbers"
        )
    if y.dtype.kind not in "iu":
        hint = " (save y.astype(np.int64))" if y.dtype.kind in "fb" else ""
        raise DataFileError(
            f"{where}: y has dtype {y.dtype} ({_kind_name(y.dtype)}); labels must be integers{hint}"
        )
    if x.ndim < 2:
        raise DataFileError(
            f"{where}: x has shape {x.shape}; it needs one row per sample, "
            f"shape (samples, features...)"
        )
    if y.ndim != 1:
        raise DataFileError(f"{where}: y has shape {y.shape}; it must be 1-D, one label per sample")
    if x.shape[0] != y.shape[0]:
        raise DataFileError(f"{where}: x has {x.shape[0]} samples but y has {y.shape[0]} labels")
    if y.shape[0] == 0:
        raise DataFileError(f"{where}: no samples")
    features = _to_float32(x, where, lambda i: f"sample {i}")
    labels = y.astype(np.int64)
    check_labels(labels, num_classes, name=where)
    features = _reshape(features, input_shape, where)
    return Dataset(features, labels, num_classes, file.name if name is None else name)


def load_csv(
    path: str | Path,
    *,
    num_classes: int,
    input_shape: Sequence[int] | None = None,
    label_column: str | int | None = None,
    name: str | None = None,
    delimiter: str = ",",
) -> Dataset:
    """Load a CSV file of numeric features and an integer label column.

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

    Returns
    -------
    Dataset
        The data.

    Raises
    ------
    DataFileError
        Missing or undecodable file, no data lines, unknown label column, rows of differing
        lengths, empty or non-numeric fields, non-integer labels, non-finite features; the
        message gives the line number and column.
    LabelRangeError
        If a label lies outside ``[0, num_classes)`` (with the line of the first one).
    """
    file = Path(path)
    _check_num_classes(num_classes, file)
    if not file.is_file():
        raise DataFileError(f"{file}: no such file")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataFileError(f"{file}: cannot read ({exc.strerror or exc})") from None

    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise DataFileError(f"{file}: empty file, no data lines")
    first = _split(numbered[0][1], delimiter)
    numeric = [_is_number(field) for field in first]
    has_header = not any(numeric)
    if any(numeric) and not all(numeric):
        raise DataFileError(
            f"{file}: line {numbered[0][0]} mixes numbers and text: a header line must name "
            f"every column and a data line must hold only numbers"
        )
    header = [field.strip() for field in first] if has_header else None
    rows = numbered[1:] if has_header else numbered
    if not rows:
        raise DataFileError(f"{file}: a header line but no data lines")
    width = len(first)
    if width < 2:
        raise DataFileError(
            f"{file}: line {numbered[0][0]} has {width} column; need features and a label "
            f"(delimiter {delimiter!r})"
        )
    # How messages name a column: its header name, else its 1-based position.
    columns = (
        [repr(name) for name in header]
        if header is not None
        else [str(i) for i in range(1, width + 1)]
    )
    label_index = _label_index(label_column, header, width, file)

    lines = [line for _, line in rows]
    line_numbers = np.array([n for n, _ in rows], dtype=np.int64)
    try:
        table = np.loadtxt(
            lines, delimiter=delimiter, comments=None, quotechar='"', dtype=np.float64, ndmin=2
        )
    except ValueError as exc:
        raise DataFileError(
            _diagnose_csv(rows, width, columns, delimiter, file) or f"{file}: {exc}"
        ) from None
    if table.shape[1] != width:  # pragma: no cover - loadtxt already refuses ragged rows
        raise DataFileError(f"{file}: expected {width} columns, read {table.shape[1]}")

    def locate(i: int) -> str:
        return f"line {int(line_numbers[i])}"

    raw_labels = table[:, label_index]
    label_name = columns[label_index]
    bad = ~np.isfinite(raw_labels) | (raw_labels != np.round(raw_labels))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFileError(
            f"{file}: {locate(i)}, label column {label_name}: {float(raw_labels[i])!r} is not a "
            f"whole number ({int(bad.sum())} such labels); labels must be integers"
        )
    if np.abs(raw_labels).max() >= 2.0**62:
        i = int(np.argmax(np.abs(raw_labels)))
        raise LabelRangeError(
            f"{file}: {locate(i)}, label column {label_name}: {float(raw_labels[i])!r} lies far "
            f"outside [0, {num_classes}) of a model with {num_classes} classes"
        )
    labels = raw_labels.astype(np.int64)
    check_labels(labels, num_classes, name=str(file), locate=locate)

    feature_names = [c for j, c in enumerate(columns) if j != label_index]
    features64 = np.delete(table, label_index, axis=1)
    features = _to_float32(features64, str(file), locate, lambda j: f"column {feature_names[j]}")
    features = _reshape(features, input_shape, str(file))
    return Dataset(features, labels, num_classes, file.name if name is None else name)


# --- helpers -------------------------------------------------------------------------------


def _check_num_classes(num_classes: Any, file: Path) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise DataFileError(f"{file}: num_classes must be a positive integer, got {num_classes!r}")


def _read_member(archive: np.lib.npyio.NpzFile, key: str, file: Path) -> npt.NDArray[Any]:
    try:
        value = archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataFileError(
                f"{file}: array {key!r} holds Python objects (dtype object); only numeric "
                f"arrays are accepted, nothing is unpickled"
            ) from None
        raise DataFileError(f"{file}: array {key!r} is malformed ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{file}: array {key!r} cannot be read ({exc})") from None
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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _label_index(
    label_column: str | int | None, header: list[str] | None, width: int, file: Path
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
    rows: list[tuple[int, str]], width: int, columns: list[str], delimiter: str, file: Path
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
