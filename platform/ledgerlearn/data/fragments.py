"""Validation fragments: one encrypted share of the publisher's validation set per validator.

The publisher splits its held-out validation set into one stratified fragment per committee
member (:func:`split_fragments`), serialises each as safetensors (:func:`encode_fragment`:
tensors ``x`` float32 and ``y`` int64 and a format marker, no pickle) and encrypts it to that
member's registered secp256k1 public key with ECIES (:func:`encrypt_fragment`, ``eciespy``:
an ephemeral secp256k1 key, ECDH, HKDF-SHA256 and AES-256-GCM). Only the member's private key
(its Ethereum account key) decrypts it (:func:`decrypt_fragment`), and AES-GCM authentication
makes any change of the ciphertext fail decryption.

The decrypted bytes are checked before use (:func:`decode_fragment`), since a publisher may be
faulty: size cap first, then the safetensors header (with the strict parser of
:func:`ledgerlearn.model.weights.read_header`), exact tensor names, dtypes and shapes against
the task's model, at least one sample, finite features and labels in ``[0, num_classes)``.

Ciphertext layout (``eciespy`` 0.4 defaults): 65-byte uncompressed ephemeral public key,
16-byte nonce, 16-byte tag, then the encrypted safetensors bytes (:data:`ECIES_OVERHEAD`
bytes longer than the plaintext).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import coincurve
import coincurve.utils
import ecies
import numpy as np
import safetensors.numpy

from ledgerlearn.data.datasets import Dataset
from ledgerlearn.data.errors import (
    DatasetError,
    FragmentDecryptionError,
    FragmentError,
)
from ledgerlearn.data.partition import stratified_partition
from ledgerlearn.limits import MAX_CONTENT_BYTES
from ledgerlearn.model.weights import WeightsFormatError, read_header

__all__ = [
    "DEFAULT_MAX_FRAGMENT_BYTES",
    "ECIES_OVERHEAD",
    "FRAGMENT_FORMAT",
    "decode_fragment",
    "decrypt_fragment",
    "encode_fragment",
    "encrypt_fragment",
    "split_fragments",
]

FRAGMENT_FORMAT: Final = "ledgerlearn.fragment/1"
"""Value of the ``format`` metadata entry of every fragment file."""

DEFAULT_MAX_FRAGMENT_BYTES: Final = MAX_CONTENT_BYTES
"""Default cap on a (decrypted) fragment file, in bytes (:mod:`ledgerlearn.limits`)."""

ECIES_OVERHEAD: Final = 65 + 16 + 16
"""Bytes ECIES adds: uncompressed ephemeral public key, AES-GCM nonce and tag."""

_PUBLIC_KEY_LENGTHS = (33, 64, 65)


def split_fragments(dataset: Dataset, num_members: int, *, seed: int) -> list[Dataset]:
    """Split a validation set into one stratified fragment per committee member.

    Parameters
    ----------
    dataset
        The publisher's validation set.
    num_members
        Committee size.
    seed
        Seed of the split (see :func:`~ledgerlearn.data.partition.stratified_partition`).

    Returns
    -------
    list of Dataset
        ``num_members`` disjoint fragments covering the set, named
        ``"<name>/fragment-<i>"``; sizes and per-class counts differ by at most one.

    Raises
    ------
    PartitionError
        If there are fewer samples than members.
    """
    parts = stratified_partition(dataset.y, num_members, seed=seed)
    return [dataset.subset(p, name=f"{dataset.name}/fragment-{i}") for i, p in enumerate(parts)]


def encode_fragment(fragment: Dataset) -> bytes:
    """Serialise a fragment as safetensors bytes (deterministic, no pickle).

    Parameters
    ----------
    fragment
        The fragment.

    Returns
    -------
    bytes
        A safetensors file with ``x`` (F32), ``y`` (I64) and metadata
        ``{"format": FRAGMENT_FORMAT}``.
    """
    tensors = {
        "x": np.ascontiguousarray(fragment.x, dtype="<f4"),
        "y": np.ascontiguousarray(fragment.y, dtype="<i8"),
    }
    return bytes(safetensors.numpy.save(tensors, metadata={"format": FRAGMENT_FORMAT}))


def decode_fragment(
    data: bytes,
    *,
    input_shape: Sequence[int],
    num_classes: int,
    max_bytes: int = DEFAULT_MAX_FRAGMENT_BYTES,
    name: str = "fragment",
) -> Dataset:
    """Decode and check fragment bytes against the task's model.

    Parameters
    ----------
    data
        The (decrypted, untrusted) safetensors bytes.
    input_shape
        The model's input shape; ``x`` must be ``(samples, *input_shape)``.
    num_classes
        The model's number of classes; labels must lie in ``[0, num_classes)``.
    max_bytes
        Size cap, checked before anything else.
    name
        Name of the returned dataset.

    Returns
    -------
    Dataset
        The fragment.

    Raises
    ------
    FragmentError
        Too large, not safetensors, wrong or missing format marker, tensor names other than
        exactly ``x`` and ``y``, wrong dtypes or shapes, no samples, non-finite features, or
        labels out of range; the message says which.
    """
    if len(data) > max_bytes:
        raise FragmentError(f"fragment is {len(data)} bytes, above the limit of {max_bytes}")
    try:
        header = read_header(data)
    except WeightsFormatError as exc:
        raise FragmentError(f"fragment: {exc}") from None
    if header.metadata != {"format": FRAGMENT_FORMAT}:
        raise FragmentError(
            f"fragment: metadata {header.metadata!r} lacks the format marker "
            f"{{'format': {FRAGMENT_FORMAT!r}}}: not a ledgerlearn fragment"
        )
    entries = {entry.name: entry for entry in header.tensors}
    if sorted(entries) != ["x", "y"]:
        raise FragmentError(
            f"fragment: expected exactly the tensors 'x' and 'y', got {sorted(entries)}"
        )
    x_entry, y_entry = entries["x"], entries["y"]
    if x_entry.dtype != "F32" or y_entry.dtype != "I64":
        raise FragmentError(
            f"fragment: x must be F32 and y I64, got x {x_entry.dtype} and y {y_entry.dtype}"
        )
    shape = tuple(int(d) for d in input_shape)
    samples = y_entry.shape[0] if len(y_entry.shape) == 1 else -1
    if samples < 1 or len(y_entry.shape) != 1:
        raise FragmentError(f"fragment: y has shape {list(y_entry.shape)}, expected [samples >= 1]")
    if tuple(x_entry.shape) != (samples, *shape):
        raise FragmentError(
            f"fragment: x has shape {list(x_entry.shape)}, expected {[samples, *shape]} "
            f"({samples} samples of the model's input_shape {list(shape)})"
        )
    try:
        loaded = safetensors.numpy.load(bytes(data))
    except Exception as exc:  # SafetensorError and friends: report, never crash the caller
        raise FragmentError(f"fragment: safetensors refused the file: {exc}") from None
    x = np.require(loaded["x"], dtype=np.float32, requirements=["C", "W"])
    y = np.require(loaded["y"], dtype=np.int64, requirements=["C", "W"])
    if x.shape != (samples, *shape) or y.shape != (samples,):  # pragma: no cover
        raise FragmentError("fragment: safetensors disagrees with the header")
    try:
        return Dataset(x, y, num_classes, name)
    except DatasetError as exc:
        raise FragmentError(f"fragment: {exc}") from None


def encrypt_fragment(fragment: Dataset, public_key: bytes | str) -> bytes:
    """Serialise a fragment and encrypt it to a committee member's public key.

    Parameters
    ----------
    fragment
        The fragment.
    public_key
        The member's secp256k1 public key: 33 (compressed), 65 (uncompressed) or 64 (Ethereum
        style, no prefix) bytes, or the same as hex (``0x`` optional).

    Returns
    -------
    bytes
        The ECIES ciphertext (``len(encode_fragment(fragment)) + ECIES_OVERHEAD`` bytes).
        Encryption is randomised: encrypting twice gives different bytes.

    Raises
    ------
    FragmentError
        If ``public_key`` is not a valid secp256k1 public key.
    """
    key = _public_key_bytes(public_key)
    return ecies.encrypt(key, encode_fragment(fragment))


def decrypt_fragment(
    ciphertext: bytes,
    private_key: bytes | str,
    *,
    input_shape: Sequence[int],
    num_classes: int,
    max_bytes: int = DEFAULT_MAX_FRAGMENT_BYTES,
    name: str = "fragment",
) -> Dataset:
    """Decrypt a fragment with the member's private key, then decode and check it.

    Parameters
    ----------
    ciphertext
        The ECIES ciphertext (untrusted).
    private_key
        The member's 32-byte secp256k1 private key (its Ethereum account key), or its hex.
    input_shape, num_classes
        The task model's input shape and number of classes (see :func:`decode_fragment`).
    max_bytes
        Cap on the decrypted fragment; the ciphertext may be :data:`ECIES_OVERHEAD` longer.
    name
        Name of the returned dataset.

    Returns
    -------
    Dataset
        The fragment.

    Raises
    ------
    FragmentDecryptionError
        If the ciphertext is too short or too long, or authentication fails: the fragment was
        encrypted to another key, or the ciphertext was changed.
    FragmentError
        If ``private_key`` is malformed, or the decrypted bytes fail :func:`decode_fragment`.
    """
    secret = _private_key_bytes(private_key)
    size = len(ciphertext)
    if size <= ECIES_OVERHEAD:
        raise FragmentDecryptionError(
            f"ciphertext of {size} bytes is truncated: ECIES adds {ECIES_OVERHEAD} bytes of "
            f"key, nonce and tag to the fragment"
        )
    if size > max_bytes + ECIES_OVERHEAD:
        raise FragmentDecryptionError(
            f"ciphertext is {size} bytes, above the limit of {max_bytes + ECIES_OVERHEAD}"
        )
    try:
        plaintext = ecies.decrypt(secret, bytes(ciphertext))
    except (ValueError, TypeError) as exc:
        raise FragmentDecryptionError(
            "cannot decrypt the fragment: it was encrypted to another public key, or the "
            f"ciphertext was altered or corrupted (authentication failed: {exc})"
        ) from None
    return decode_fragment(
        plaintext, input_shape=input_shape, num_classes=num_classes, max_bytes=max_bytes, name=name
    )


def _hex_or_bytes(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise FragmentError(f"{what} is not valid hex") from None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise FragmentError(f"{what} must be bytes or a hex string, got {type(value).__name__}")


def _public_key_bytes(public_key: bytes | str) -> bytes:
    key = _hex_or_bytes(public_key, "public key")
    if len(key) not in _PUBLIC_KEY_LENGTHS:
        raise FragmentError(
            f"public key has {len(key)} bytes; a secp256k1 public key has 33 (compressed), "
            f"65 (uncompressed) or 64 (Ethereum style) bytes"
        )
    candidate = b"\x04" + key if len(key) == 64 else key
    try:
        coincurve.PublicKey(candidate)
    except (ValueError, TypeError):
        raise FragmentError("public key is not a point on secp256k1") from None
    return candidate


def _private_key_bytes(private_key: bytes | str) -> bytes:
    key = _hex_or_bytes(private_key, "private key")
    if len(key) != 32:
        raise FragmentError(f"private key has {len(key)} bytes; a secp256k1 key has 32")
    order = int(coincurve.utils.GROUP_ORDER_INT)
    if not 0 < int.from_bytes(key, "big") < order:
        raise FragmentError("private key is not a valid secp256k1 secret (zero or >= order)")
    return key
