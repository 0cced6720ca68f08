"""A person's .npz / .csv file: good files load, each malformed case has its clear error."""

from __future__ import annotations

import io
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ledgerlearn.data import (
    AmbiguousHeaderError,
    DataFileError,
    LabelRangeError,
    load_csv,
    load_file,
    load_npz,
)
from ledgerlearn.data.files import CSV_CHUNK_LINES, MAX_CSV_LINE_BYTES
from ledgerlearn.model import logreg_digits

torch.set_num_threads(1)


class _Payload:
    """Unpickling this would create the sentinel file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.sentinel), "w"))


def _npz(tmp_path: Path, name: str = "data.npz", **arrays: Any) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _fails(path: Path, message: str, error: type[Exception] = DataFileError, **kwargs: Any) -> str:
    kwargs.setdefault("num_classes", 10)
    with pytest.raises(error, match=message) as info:
        load_file(path, **kwargs)
    assert str(path) in str(info.value)
    return str(info.value)


# --- good files ----------------------------------------------------------------------------


def test_npz_loads_and_converts(tmp_path: Path) -> None:
    x = np.arange(24, dtype=np.uint8).reshape(6, 4)
    y = np.array([0, 1, 2, 0, 1, 2], dtype=np.int32)
    dataset = load_file(_npz(tmp_path, x=x, y=y), num_classes=3)
    assert dataset.x.dtype == np.float32 and dataset.y.dtype == np.int64
    np.testing.assert_array_equal(dataset.x, x.astype(np.float32))
    np.testing.assert_array_equal(dataset.y, y)
    assert dataset.name == "data.npz" and dataset.num_classes == 3
    shaped = load_npz(_npz(tmp_path, x=x, y=y), num_classes=3, input_shape=(1, 2, 2), name="me")
    assert shaped.x.shape == (6, 1, 2, 2) and shaped.name == "me"
    compressed = tmp_path / "c.npz"
    np.savez_compressed(compressed, x=x.astype(bool), y=y.astype(np.uint8))
    assert load_file(compressed, num_classes=3).x.max() == 1.0


def test_csv_with_header_and_named_label_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "label,a,b\n1,0.5,2\n\n0,1e-3,-4\n")
    dataset = load_file(path, num_classes=2, label_column="label")
    np.testing.assert_array_equal(dataset.y, [1, 0])
    np.testing.assert_allclose(dataset.x, [[0.5, 2.0], [1e-3, -4.0]])


def test_csv_without_header_label_last_or_by_index(tmp_path: Path) -> None:
    path = _csv(tmp_path, "0.1,0.2,3\n0.3,0.4,1.0\n")
    dataset = load_csv(path, num_classes=4)
    np.testing.assert_array_equal(dataset.y, [3, 1])
    assert dataset.x.shape == (2, 2)
    first = load_csv(
        _csv(tmp_path, "1,0.5,0.25\n0,0.1,0.2\n", "f.csv"), num_classes=2, label_column=0
    )
    np.testing.assert_array_equal(first.y, [1, 0])
    np.testing.assert_allclose(first.x, [[0.5, 0.25], [0.1, 0.2]])
    semi = load_csv(_csv(tmp_path, "1;2;0\n", "s.csv"), num_classes=2, delimiter=";")
    assert semi.x.tolist() == [[1.0, 2.0]]


def test_csv_for_a_model_spec(tmp_path: Path) -> None:
    spec = logreg_digits()
    rows = [",".join(["0.5"] * 64 + [str(k)]) for k in range(10)]
    dataset = load_file(
        _csv(tmp_path, "\n".join(rows)), num_classes=spec.num_classes, input_shape=spec.input_shape
    )
    dataset.check_matches(spec)
    image = load_file(_csv(tmp_path, "\n".join(rows)), num_classes=10, input_shape=(1, 8, 8))
    assert image.x.shape == (10, 1, 8, 8)


# --- malformed files -----------------------------------------------------------------------


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    _fails(tmp_path / "nope.npz", r"no such file")
    _fails(tmp_path / "nope.csv", r"no such file")
    other = tmp_path / "data.json"
    other.write_text("{}")
    _fails(other, r"unsupported file type '.json'; use one of .npz, .csv")
    _fails(
        _npz(tmp_path, x=np.zeros((1, 1)), y=np.zeros(1, int)),
        r"label_column applies to .csv",
        label_column=0,
    )


def test_npz_missing_and_extra_arrays(tmp_path: Path) -> None:
    _fails(
        _npz(tmp_path, x_train=np.zeros((2, 2)), y=np.zeros(2, int)),
        r"expected exactly the arrays 'x' and 'y', missing 'x'; unexpected 'x_train'",
    )
    _fails(_npz(tmp_path, x=np.zeros((2, 2))), r"missing 'y'")


def test_npz_object_arrays_are_refused_and_never_unpickled(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    x = np.array([_Payload(sentinel), _Payload(sentinel)], dtype=object)
    path = _npz(tmp_path, x=x, y=np.zeros(2, int))
    _fails(path, r"array 'x' holds Python objects \(dtype object\).*nothing is unpickled")
    assert not sentinel.exists()


def test_a_pickle_named_npz_is_refused_and_never_run(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"x": _Payload(sentinel)}))
    _fails(path, r"not a numpy \.npz archive")
    assert not sentinel.exists()
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(os.urandom(64))
    _fails(garbage, r"not a (numpy|readable) \.npz archive")
    single = tmp_path / "single.npz"
    with single.open("wb") as handle:
        np.save(handle, np.zeros(3))
    _fails(single, r"holds a single array \(\.npy format\)")


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (
            np.array([["a", "b"]]),
            np.zeros(1, int),
            r"x has dtype <U1 \(strings\); features must be numbers",
        ),
        (
            np.zeros((1, 2), complex),
            np.zeros(1, int),
            r"x has dtype complex128 \(complex numbers\)",
        ),
        (
            np.zeros((2, 2)),
            np.zeros(2),
            r"y has dtype float64 \(floats\); labels must be integers "
            r"\(save y\.astype\(np\.int64\)\)",
        ),
        (np.zeros(3), np.zeros(3, int), r"x has shape \(3,\); it needs one row per sample"),
        (np.zeros((2, 2)), np.zeros((2, 1), int), r"y has shape \(2, 1\); it must be 1-D"),
        (np.zeros((3, 2)), np.zeros(2, int), r"x has 3 samples but y has 2 labels"),
        (np.zeros((0, 2)), np.zeros(0, int), r"no samples"),
        (
            np.array([[0.0, 1.0], [np.nan, 2.0]]),
            np.zeros(2, int),
            r"sample 1, feature 0: value nan is not a finite number \(1 non-finite values",
        ),
        (
            np.array([[1e39, 0.0]]),
            np.zeros(1, int),
            r"sample 0, feature 0: value 1e\+39 is too large for float32",
        ),
    ],
)
def test_npz_malformed_arrays(tmp_path: Path, x: Any, y: Any, message: str) -> None:
    _fails(_npz(tmp_path, x=x, y=y), message)


def test_npz_labels_outside_the_model(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((4, 2)), y=np.array([0, 10, 3, -2]))
    _fails(
        path,
        r"2 labels lie outside \[0, 10\) of a model with 10 classes "
        r"\(first: sample 1 has label 10; values outside: -2, 10\)",
        LabelRangeError,
    )


def test_npz_shape_does_not_fit_the_model(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((2, 63)), y=np.zeros(2, int))
    _fails(
        path,
        r"samples have 63 values .* model expects input_shape \[64\] \(64 values\)",
        input_shape=(64,),
    )


@pytest.mark.parametrize(
    ("text", "message", "kwargs"),
    [
        ("", r"empty file, no data lines", {}),
        ("a,b,label\n", r"a header line but no data lines", {}),
        ("1,2,0\n3,4\n", r"line 2 has 2 columns, expected 3 like the first line", {}),
        ("a,b,label\n1,2,0\n\n1,x,0\n", r"line 4, column 'b': 'x' is not a number", {}),
        ("1,2,0\n1,,0\n", r"line 2, column 2: empty value", {}),
        ("1,2,0\n1,nan,0\n", r"line 2, column 2: value nan is not a finite number", {}),
        ("1,2,0\n1,2,0.5\n", r"line 2, label column 3: 0.5 is not a whole number", {}),
        (
            "a,label,b\n1,2,3\n",
            r"no column named 'target' in the header \('a', 'label', 'b'\)",
            {"label_column": "target"},
        ),
        (
            "1,2,4\n",
            r"label_column 'label' names a column but the file has no header",
            {"label_column": "label"},
        ),
        ("1,2,4\n", r"label_column 5 is outside the 3 columns", {"label_column": 5}),
        ("a,1,label\n1,2,3\n", r"line 1 mixes numbers and text", {}),
        ("1\n2\n", r"line 1 has 1 column; need features and a label", {}),
        ("1,2,4\n", r"samples have 2 values .* input_shape \[64\]", {"input_shape": (64,)}),
    ],
)
def test_csv_malformed(tmp_path: Path, text: str, message: str, kwargs: dict[str, Any]) -> None:
    _fails(_csv(tmp_path, text), message, **kwargs)


# --- header lines: detected (and said), given, or refused as ambiguous -----------------------


def _read(path: Path, **kwargs: Any) -> tuple[Any, list[str]]:
    notices: list[str] = []
    kwargs.setdefault("num_classes", 10)
    return load_file(path, notice=notices.append, **kwargs), notices


def test_a_header_of_names_is_detected_and_said(tmp_path: Path) -> None:
    data, notices = _read(_csv(tmp_path, "pixel0,pixel1,label\n0,16,3\n4,2,1\n"))
    assert data.x.tolist() == [[0, 16], [4, 2]] and data.y.tolist() == [3, 1]
    assert notices == [
        f"{tmp_path / 'data.csv'}: line 1 is a header (detected: it names the columns); "
        "2 features, label column 'label' (the last)"
    ]


def test_a_first_line_of_numbers_is_data_and_said(tmp_path: Path) -> None:
    data, notices = _read(_csv(tmp_path, "0,16,3\n4,2,1\n"))
    assert len(data) == 2
    assert notices == [
        f"{tmp_path / 'data.csv'}: no header line (detected: it holds numbers); line 1 is "
        "data, 2 features, label in column 3 (the last)"
    ]


@pytest.mark.parametrize("first", ["0,1,2,3", "1,2,3,4", " 0, 1 ,2,3"])
def test_column_numbers_are_ambiguous_unless_said(tmp_path: Path, first: str) -> None:
    path = _csv(tmp_path, f"{first}\n5,6,7,2\n8,9,10,1\n")
    message = _fails(
        path,
        r"line 1 reads .*: column numbers of a header, or a line of data\? "
        r"give --header or --no-header$",
        AmbiguousHeaderError,
    )
    assert "line 1 reads 0, 1, 2, ..., 3" in message or "line 1 reads 1, 2, 3, ..., 4" in message
    header, notices = _read(path, header=True)
    assert len(header) == 2 and header.y.tolist() == [2, 1]
    assert "line 1 is a header (given)" in notices[0]
    data, notices = _read(path, header=False)
    assert len(data) == 3 and data.x[0].tolist() == [float(v) for v in first.split(",")[:3]]
    assert "no header line (given)" in notices[0]


def test_a_dataframes_header_with_a_label_name_asks_for_header(tmp_path: Path) -> None:
    # pandas writes column numbers and the label's name: a mixed line, refused with a hint
    path = _csv(tmp_path, "0,1,label\n5,6,1\n")
    _fails(path, r"line 1 mixes numbers and text: .* \(if it is a header, give --header\)")
    data, _ = _read(path, header=True, label_column="label")
    assert data.x.tolist() == [[5, 6]] and data.y.tolist() == [1]


def test_no_header_said_of_a_header_names_the_text(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b,label\n5,6,1\n")
    _fails(path, r"line 1, column 1: 'a' is not a number", header=False)


def test_other_numbers_in_line_one_are_data(tmp_path: Path) -> None:
    for first in ("0,1,3", "1,2,2", "0,2,1", "0.0,1,2"):
        data, _ = _read(_csv(tmp_path, f"{first}\n"))
        assert len(data) == 1, first


def test_a_header_is_for_csv_files(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((2, 2)), y=np.zeros(2, int))
    _fails(path, r"a header line applies to .csv files, not .npz", header=True)


def test_csv_labels_outside_the_model_name_the_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, "f,label\n0.1,1\n\n0.2,12\n0.3,-1\n")
    message = _fails(path, r"2 labels lie outside \[0, 10\)", LabelRangeError)
    assert re.search(r"first: line 4 has label 12; values outside: -1, 12", message)
    huge = _csv(tmp_path, "0.1,1\n0.2,1e30\n", "huge.csv")
    _fails(huge, r"line 2, label column 2: 1e\+30 lies far outside \[0, 10\)", LabelRangeError)


def test_csv_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("caf\xe9,label\n1,0\n".encode("latin-1"))
    _fails(path, r"not UTF-8 text")


def test_num_classes_must_be_valid(tmp_path: Path) -> None:
    _fails(_csv(tmp_path, "1,0\n"), r"num_classes must be a positive integer", num_classes=0)


# --- bombs: refused from the headers, before anything is inflated ---------------------------


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _zip(path: Path, members: list[tuple[str, bytes]], **kwargs: Any) -> Path:
    with zipfile.ZipFile(path, "w", **kwargs) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def _npy(array: Any) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array))
    return buffer.getvalue()


def test_an_npz_declaring_more_values_than_allowed_is_refused_from_its_header(
    tmp_path: Path,
) -> None:
    # the header claims 2e6 x 64 float64 (1 GB); only the header is there: a refusal from
    # the data would be a different error
    x = _npy_header((2_000_000, 64))
    path = _zip(tmp_path / "bomb.npz", [("x.npy", x), ("y.npy", _npy(np.zeros(3, int)))])
    _fails(path, r"array 'x' declares shape \(2000000, 64\) of float64 .* holds \d+ bytes")
    bomb = tmp_path / "real-bomb.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w") as member:
            member.write(_npy_header((20_000, 64)))
            for _ in range(20):
                member.write(bytes(8 * 64 * 1000))
        archive.writestr("y.npy", _npy(np.zeros(20_000, int)))
    assert bomb.stat().st_size < 100_000  # 10 MB of zeros inflate from a few KB
    _fails(
        bomb,
        r"x has shape \(20000, 64\) \(1280000 values\), above the limit of 1000000",
        max_values=1_000_000,
    )
    assert load_file(bomb, num_classes=10, max_values=1_280_000).x.shape == (20_000, 64)


def test_an_npz_lying_about_its_members_is_refused(tmp_path: Path) -> None:
    y = _npy(np.zeros(2, int))
    twice = _zip(tmp_path / "twice.npz", [("x.npy", _npy(np.zeros((2, 2)))), ("y.npy", y)])
    with zipfile.ZipFile(twice, "a") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("x.npy", _npy(np.ones((2, 2))))
    _fails(twice, r"the archive holds 'x' more than once")
    lzma = _zip(
        tmp_path / "lzma.npz",
        [("x.npy", _npy(np.zeros((2, 2)))), ("y.npy", y)],
        compression=zipfile.ZIP_LZMA,
    )
    _fails(lzma, r"array 'x' uses zip compression method 14")
    short = _zip(tmp_path / "short.npz", [("x.npy", _npy(np.zeros((2, 2)))[:-8]), ("y.npy", y)])
    _fails(short, r"array 'x' declares shape \(2, 2\) of float64 \(\d+ bytes with its header\)")


def test_a_csv_beyond_the_value_limit_is_refused_as_it_is_read(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i + 1},{i % 10}" for i in range(10_000))
    path = _csv(tmp_path, rows)
    _fails(path, r"more than 10000 feature values by line \d+", max_values=10_000)
    assert load_file(path, num_classes=10, max_values=20_000).x.shape == (10_000, 2)


def test_a_csv_line_longer_than_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(b"1," * (MAX_CSV_LINE_BYTES // 2 + 1) + b"0\n")
    _fails(path, r"line 1 is longer than")


def test_a_large_csv_streams_in_chunks_with_the_right_line_numbers(tmp_path: Path) -> None:
    lines = [f"{i % 7}.5,{i % 3},{i % 10}" for i in range(3 * CSV_CHUNK_LINES)]
    lines[2 * CSV_CHUNK_LINES + 5] = "1.0,2.0,12"
    lines[2 * CSV_CHUNK_LINES + 9] = "1.0,2.0,-3"
    path = _csv(tmp_path, "a,b,label\n" + "\n".join(lines) + "\n")
    message = _fails(path, r"2 labels lie outside \[0, 10\)", LabelRangeError)
    assert f"first: line {2 * CSV_CHUNK_LINES + 7} has label 12" in message
    lines[2 * CSV_CHUNK_LINES + 5] = "1.0,inf,1"
    lines[2 * CSV_CHUNK_LINES + 9] = "1.0,2.0,1"
    lines[5] = "1.0,2.0,1.5"
    path = _csv(tmp_path, "a,b,label\n" + "\n".join(lines) + "\n", "mixed.csv")
    # a label problem anywhere comes before a feature problem, as for a file read at once
    _fails(path, r"line 7, label column 'label': 1.5 is not a whole number \(1 such labels\)")
    lines[5] = "1.0,2.0,1"
    path = _csv(tmp_path, "a,b,label\n" + "\n".join(lines) + "\n", "feature.csv")
    _fails(path, rf"line {2 * CSV_CHUNK_LINES + 7}, column 'b': value inf is not a finite number")
    lines[5] = "1.0,2.0,1"
    lines[2 * CSV_CHUNK_LINES + 5] = "1.0,2.0,1"
    data = load_file(_csv(tmp_path, "\n".join(lines), "good.csv"), num_classes=10)
    assert data.x.shape == (3 * CSV_CHUNK_LINES, 2)
    assert data.x[7].tolist() == [0.5, 1.0] and int(data.y[7]) == 7


def test_messages_name_the_file_by_its_label_not_its_path(tmp_path: Path) -> None:
    path = _csv(tmp_path, "1,2,0\n1,x,0\n", "upload-tmp-copy.csv")
    with pytest.raises(DataFileError) as caught:
        load_file(path, num_classes=10, label="validation.csv")
    assert str(caught.value).startswith("validation.csv: line 2")
    assert str(tmp_path) not in str(caught.value)
    npz = _npz(tmp_path, x=np.zeros((2, 2)), y=np.zeros(3, int))
    with pytest.raises(DataFileError) as caught:
        load_file(npz, num_classes=10, label="mine.npz")
    assert str(caught.value) == "mine.npz: x has 2 samples but y has 3 labels"


def test_line_breaks_only_unicode_knows_still_load_every_row(tmp_path: Path) -> None:
    # the reader sizes its array from a count of \n and \r; str.splitlines also breaks at
    # U+2028 and friends: the array grows
    path = tmp_path / "odd.csv"
    path.write_bytes("\u2028".join(f"{i},{i % 10}" for i in range(5000)).encode())
    data = load_file(path, num_classes=10)
    assert data.x.shape == (5000, 1) and data.x[-1, 0] == 4999.0


# --- samples to predict on: labels optional ---------------------------------------------------


def test_features_without_labels_load_from_npz_and_csv(tmp_path: Path) -> None:
    from ledgerlearn.data import load_features

    x = np.arange(3 * 64, dtype=np.float64).reshape(3, 64) / 100
    shape = (1, 8, 8)
    unlabelled = load_features(_npz(tmp_path, x=x), input_shape=shape, num_classes=10)
    assert unlabelled.y is None and unlabelled.x.shape == (3, 1, 8, 8)
    assert unlabelled.x.dtype == np.float32 and np.allclose(unlabelled.x.reshape(3, 64), x)
    rows = "\n".join(",".join(f"{v:g}" for v in row) for row in x)
    from_csv = load_features(_csv(tmp_path, rows + "\n"), input_shape=shape, num_classes=10)
    assert from_csv.y is None and np.array_equal(from_csv.x, unlabelled.x)
    header = ",".join(f"p{i}" for i in range(64))
    headed = load_features(
        _csv(tmp_path, f"{header}\n{rows}\n", "headed.csv"), input_shape=shape, num_classes=10
    )
    assert headed.y is None and np.array_equal(headed.x, unlabelled.x)


def test_features_with_labels_keep_them(tmp_path: Path) -> None:
    from ledgerlearn.data import load_features

    x = np.ones((2, 4), dtype=np.float32)
    labelled = load_features(
        _npz(tmp_path, x=x, y=np.array([1, 2])), input_shape=(4,), num_classes=3
    )
    assert labelled.y is not None and labelled.y.tolist() == [1, 2]
    from_csv = load_features(
        _csv(tmp_path, "1,1,1,1,2\n1,1,1,1,0\n"), input_shape=(4,), num_classes=3
    )
    assert from_csv.y is not None and from_csv.y.tolist() == [2, 0]
    with pytest.raises(LabelRangeError):
        load_features(_csv(tmp_path, "1,1,1,1,3\n", "bad.csv"), input_shape=(4,), num_classes=3)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("wide.csv", "1,2,3,4,5,6\n", "lines have 6 columns; the model takes 4 values per sample"),
        ("empty.csv", "\n\n", "empty file, no data lines"),
        ("text.csv", "1,2,3,4\n1,2,x,4\n", "line 2, column 3: 'x' is not a number"),
        ("data.txt", "1,2,3,4\n", "unsupported file type '.txt'"),
    ],
)
def test_features_that_do_not_fit_are_refused(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    from ledgerlearn.data import load_features

    path = _csv(tmp_path, content, name)
    with pytest.raises(DataFileError) as caught:
        load_features(path, input_shape=(4,), num_classes=3)
    assert message in str(caught.value)
    with pytest.raises(DataFileError, match="samples have 5 values"):
        load_features(_npz(tmp_path, x=np.zeros((2, 5))), input_shape=(4,), num_classes=3)
    with pytest.raises(DataFileError, match="no such file"):
        load_features(tmp_path / "missing.npz", input_shape=(4,), num_classes=3)
