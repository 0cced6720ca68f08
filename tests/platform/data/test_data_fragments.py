"""Validation fragments: stratified split, safetensors codec, ECIES to a member's key."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path
from typing import Any

import coincurve
import numpy as np
import pytest
import safetensors.numpy
import torch
from eth_account import Account

from ledgerlearn.data import (
    ECIES_OVERHEAD,
    FRAGMENT_FORMAT,
    Dataset,
    FragmentDecryptionError,
    FragmentError,
    PartitionError,
    decode_fragment,
    decrypt_fragment,
    encode_fragment,
    encrypt_fragment,
    load_digits,
    split_fragments,
)
from ledgerlearn.model import build, encode, logreg_digits, state_dict_to_arrays

torch.set_num_threads(1)

SHAPE = (64,)


@pytest.fixture(scope="module")
def validation() -> Dataset:
    return load_digits("test")


@pytest.fixture(scope="module")
def member() -> tuple[bytes, bytes]:
    """A committee member's Ethereum account key (32 bytes) and its 65-byte public key."""
    account = Account.create()
    private = bytes(account.key)
    public = coincurve.PrivateKey(private).public_key.format(compressed=False)
    return private, public


def _rows(dataset: Dataset) -> list[tuple[bytes, int]]:
    return sorted((x.tobytes(), int(y)) for x, y in zip(dataset.x, dataset.y, strict=True))


def _same(a: Dataset, b: Dataset) -> None:
    assert a.x.dtype == b.x.dtype and a.x.shape == b.x.shape
    assert a.x.tobytes() == b.x.tobytes()
    np.testing.assert_array_equal(a.y, b.y)


def _craft(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    return bytes(
        safetensors.numpy.save(
            tensors, metadata={"format": FRAGMENT_FORMAT} if metadata is None else metadata
        )
    )


# --- split -------------------------------------------------------------------------------


def test_split_is_stratified_and_covers_the_set(validation: Dataset) -> None:
    fragments = split_fragments(validation, 5, seed=0)
    sizes = [len(f) for f in fragments]
    assert sum(sizes) == len(validation) == 359 and max(sizes) - min(sizes) <= 1
    counts = np.stack([f.class_counts() for f in fragments])
    assert (counts.max(axis=0) - counts.min(axis=0)).max() <= 1
    assert counts.sum(axis=0).tolist() == validation.class_counts().tolist()
    assert sorted(r for f in fragments for r in _rows(f)) == _rows(validation)
    assert [f.name for f in fragments] == [f"digits/test/fragment-{i}" for i in range(5)]
    again = split_fragments(validation, 5, seed=0)
    for a, b in zip(fragments, again, strict=True):
        _same(a, b)
    with pytest.raises(PartitionError, match=r"cannot give 400 clients one sample each"):
        split_fragments(validation, 400, seed=0)


# --- codec -------------------------------------------------------------------------------


def test_encode_decode_round_trip(validation: Dataset) -> None:
    fragment = split_fragments(validation, 3, seed=1)[0]
    data = encode_fragment(fragment)
    assert encode_fragment(fragment) == data  # deterministic
    assert b"pickle" not in data and data[:8] != b"\x80\x04\x95"
    decoded = decode_fragment(data, input_shape=SHAPE, num_classes=10, name="mine")
    _same(decoded, fragment)
    assert decoded.name == "mine" and decoded.x.flags.writeable


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _craft({"x": np.zeros((2, 64), np.float32)}),
            r"expected exactly the tensors 'x' and 'y', got \['x'\]",
        ),
        (
            _craft(
                {
                    "x": np.zeros((2, 64), np.float32),
                    "y": np.zeros(2, np.int64),
                    "z": np.zeros(1, np.float32),
                }
            ),
            r"expected exactly the tensors 'x' and 'y', got \['x', 'y', 'z'\]",
        ),
        (
            _craft({"x": np.zeros((2, 64), np.float64), "y": np.zeros(2, np.int64)}),
            r"x must be F32 and y I64, got x F64",
        ),
        (
            _craft({"x": np.zeros((2, 64), np.float32), "y": np.zeros(2, np.int32)}),
            r"got x F32 and y I32",
        ),
        (
            _craft({"x": np.zeros((2, 63), np.float32), "y": np.zeros(2, np.int64)}),
            r"x has shape \[2, 63\], expected \[2, 64\]",
        ),
        (
            _craft({"x": np.zeros((3, 64), np.float32), "y": np.zeros(2, np.int64)}),
            r"x has shape \[3, 64\], expected \[2, 64\]",
        ),
        (
            _craft({"x": np.zeros((0, 64), np.float32), "y": np.zeros(0, np.int64)}),
            r"y has shape \[0\], expected \[samples >= 1\]",
        ),
        (
            _craft({"x": np.full((2, 64), np.nan, np.float32), "y": np.zeros(2, np.int64)}),
            r"x holds 128 NaN and 0 infinite values",
        ),
        (
            _craft({"x": np.zeros((2, 64), np.float32), "y": np.array([0, 10], np.int64)}),
            r"labels lie outside \[0, 10\)",
        ),
        (
            _craft({"x": np.zeros((2, 64), np.float32), "y": np.zeros(2, np.int64)}, {}),
            r"lacks the format marker",
        ),
        (b"\x80\x04K\x01.", r"not a safetensors file"),
        (b"", r"not a safetensors file"),
    ],
)
def test_decode_refuses_malformed_fragments(data: bytes, message: str) -> None:
    with pytest.raises(FragmentError, match=message):
        decode_fragment(data, input_shape=SHAPE, num_classes=10)


def test_decode_refuses_weights_files_pickles_and_oversize(
    tmp_path: Path, validation: Dataset
) -> None:
    spec = logreg_digits()
    weights = encode(state_dict_to_arrays(build(spec, seed=0)))
    with pytest.raises(
        FragmentError, match=r"lacks the format marker|expected exactly the tensors"
    ):
        decode_fragment(weights, input_shape=SHAPE, num_classes=10)
    sentinel = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[Any, tuple[str, str]]:
            return (open, (str(sentinel), "w"))

    with pytest.raises(FragmentError, match=r"not a safetensors file"):
        decode_fragment(pickle.dumps(Payload()), input_shape=SHAPE, num_classes=10)
    assert not sentinel.exists()
    data = encode_fragment(validation)
    with pytest.raises(
        FragmentError, match=rf"fragment is {len(data)} bytes, above the limit of 100"
    ):
        decode_fragment(data, input_shape=SHAPE, num_classes=10, max_bytes=100)
    # A header claiming far more data than the file holds is refused before any allocation.
    header = json.dumps(
        {"x": {"dtype": "F32", "shape": [10**11, 64], "data_offsets": [0, 256 * 10**11]}}
    ).encode()
    with pytest.raises(FragmentError, match=r"extend beyond the data region"):
        decode_fragment(
            struct.pack("<Q", len(header)) + header + b"\0" * 64, input_shape=SHAPE, num_classes=10
        )


# --- encryption --------------------------------------------------------------------------


def test_encrypt_decrypt_round_trip(validation: Dataset, member: tuple[bytes, bytes]) -> None:
    private, public = member
    fragment = split_fragments(validation, 4, seed=2)[1]
    sealed = encrypt_fragment(fragment, public)
    assert len(sealed) == len(encode_fragment(fragment)) + ECIES_OVERHEAD
    assert encode_fragment(fragment) not in sealed
    assert encrypt_fragment(fragment, public) != sealed  # randomised
    opened = decrypt_fragment(sealed, private, input_shape=SHAPE, num_classes=10)
    _same(opened, fragment)
    # The same public key as compressed bytes, Ethereum-style 64 bytes or hex; key as hex.
    compressed = coincurve.PublicKey(public).format(compressed=True)
    for key in (compressed, public[1:], "0x" + public.hex(), compressed.hex()):
        _same(
            decrypt_fragment(
                encrypt_fragment(fragment, key),
                "0x" + private.hex(),
                input_shape=SHAPE,
                num_classes=10,
            ),
            fragment,
        )


def test_wrong_key_fails_clearly(validation: Dataset, member: tuple[bytes, bytes]) -> None:
    _, public = member
    sealed = encrypt_fragment(validation, public)
    other = bytes(Account.create().key)
    with pytest.raises(
        FragmentDecryptionError,
        match=r"encrypted to another public key, or the ciphertext was altered",
    ):
        decrypt_fragment(sealed, other, input_shape=SHAPE, num_classes=10)


@pytest.mark.parametrize("position", [0, 1, 40, 64, 65, 80, 81, 96, 97, 500, -1])
def test_tampered_ciphertext_fails(
    validation: Dataset, member: tuple[bytes, bytes], position: int
) -> None:
    private, public = member
    sealed = bytearray(encrypt_fragment(validation.subset(range(20)), public))
    sealed[position] ^= 0x01
    with pytest.raises(FragmentDecryptionError, match=r"cannot decrypt the fragment"):
        decrypt_fragment(bytes(sealed), private, input_shape=SHAPE, num_classes=10)


def test_truncated_and_oversize_ciphertexts(
    validation: Dataset, member: tuple[bytes, bytes]
) -> None:
    private, public = member
    sealed = encrypt_fragment(validation.subset(range(10)), public)
    with pytest.raises(FragmentDecryptionError, match=r"ciphertext of 97 bytes is truncated"):
        decrypt_fragment(sealed[:ECIES_OVERHEAD], private, input_shape=SHAPE, num_classes=10)
    with pytest.raises(FragmentDecryptionError, match=r"cannot decrypt"):
        decrypt_fragment(sealed[:-1], private, input_shape=SHAPE, num_classes=10)
    with pytest.raises(FragmentDecryptionError, match=r"above the limit"):
        decrypt_fragment(sealed, private, input_shape=SHAPE, num_classes=10, max_bytes=100)


def test_decrypted_fragment_is_checked_against_the_model(
    validation: Dataset, member: tuple[bytes, bytes]
) -> None:
    private, public = member
    sealed = encrypt_fragment(validation.subset(range(10)), public)
    with pytest.raises(FragmentError, match=r"x has shape \[10, 64\], expected \[10, 1, 8, 8\]"):
        decrypt_fragment(sealed, private, input_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(FragmentError, match=r"labels lie outside \[0, 2\)"):
        decrypt_fragment(sealed, private, input_shape=SHAPE, num_classes=2)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"\x04" + b"\x01" * 64, r"public key is not a point on secp256k1"),
        (b"\x02" * 20, r"public key has 20 bytes"),
        ("zz", r"public key is not valid hex"),
        (12345, r"public key must be bytes or a hex string, got int"),
    ],
)
def test_invalid_public_keys(validation: Dataset, key: Any, message: str) -> None:
    with pytest.raises(FragmentError, match=message):
        encrypt_fragment(validation, key)


def test_invalid_private_keys(validation: Dataset, member: tuple[bytes, bytes]) -> None:
    sealed = encrypt_fragment(validation.subset(range(5)), member[1])
    with pytest.raises(FragmentError, match=r"private key has 31 bytes"):
        decrypt_fragment(sealed, b"\x01" * 31, input_shape=SHAPE, num_classes=10)
    with pytest.raises(FragmentError, match=r"not a valid secp256k1 secret"):
        decrypt_fragment(sealed, b"\x00" * 32, input_shape=SHAPE, num_classes=10)
