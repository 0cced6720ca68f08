"""The error hierarchy of ledgerlearn.

Every error the library raises on purpose derives from :class:`LedgerlearnError`. Contract
custom errors are decoded into :class:`ContractError` subclasses (see
``ledgerlearn.chain.errors``) carrying the same fields as the Solidity error.
"""

from __future__ import annotations


class LedgerlearnError(Exception):
    """Root of every error raised on purpose by ledgerlearn."""


class AgentError(LedgerlearnError):
    """An agent cannot do its job (e.g. the task's content is unavailable or malformed)."""


class ConfigError(LedgerlearnError):
    """A setting or a configuration value is invalid."""


class ChainError(LedgerlearnError):
    """Talking to the chain failed (node unreachable, transaction failed, ...)."""


class NodeUnreachableError(ChainError):
    """The chain's JSON-RPC node did not answer (connection refused or lost, timed out): a
    link or node that went away, which an agent waits out and retries."""


class ChainResetError(ChainError):
    """The chain under a checkpoint was reset: no code at the contract address or a new genesis."""


class ChainReorgError(ChainError):
    """The chain was rolled back: the checkpointed block hash is no longer on the chain."""


class ContractError(ChainError):
    """A contract call reverted with a custom error; subclasses carry its fields."""


class StorageError(LedgerlearnError):
    """Putting or getting content from IPFS failed."""


class ContentUnavailableError(StorageError):
    """Content could not be fetched before its deadline (no peer has it, or a peer went away)."""


class ContentTooLargeError(StorageError):
    """Content is larger than the allowed maximum size."""


class ContentHashMismatchError(StorageError):
    """The sha256 of fetched bytes differs from the expected (on-chain) content hash."""


class ModelSpecError(LedgerlearnError):
    """A model spec is malformed, names a layer outside the allowlist, or has wrong shapes."""


class WeightsError(LedgerlearnError):
    """A weights file is malformed, unsafe, or does not match the model spec."""


class ExportError(LedgerlearnError):
    """A model could not be exported (TorchScript, ONNX) or checked after its export, or the
    export extra is not installed."""
