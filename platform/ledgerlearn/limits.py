"""The platform's size limits, in one place.

Every member fetches content (a task's spec, weights and validation fragments, updates,
aggregates) under one cap, :data:`MAX_CONTENT_BYTES`. The limits on what may be *published*
are derived from it, so nothing can be published that no member could fetch: a spec may not
declare more parameters than fit in a weights file of that size, a validation set may not
hold more values than fit in a fragment of that size. The model spec checker
(:class:`~ledgerlearn.model.spec.SpecLimits`), the weights and fragment codecs, the storage
settings (``max_get_bytes``), the data file readers and the gateway read their defaults here.

JSON from the network or from files another process wrote goes through
:mod:`ledgerlearn.strict_json`, bounded by :data:`MAX_JSON_DEPTH`, :data:`MAX_JSON_BYTES` and
:data:`MAX_JSON_INT_DIGITS`.
"""

from __future__ import annotations

from typing import Final

MAX_CONTENT_BYTES: Final = 64 * 2**20
"""Largest content any member fetches from IPFS (default of ``StorageSettings.max_get_bytes``,
and the cap of a decrypted validation fragment)."""

WEIGHTS_HEADER_BYTES: Final = 100_000
"""Largest JSON header of a safetensors weights file."""

BYTES_PER_PARAMETER: Final = 4
"""Weights travel as float32."""

MAX_PARAMETERS: Final = (MAX_CONTENT_BYTES - WEIGHTS_HEADER_BYTES - 8) // BYTES_PER_PARAMETER
"""Most trainable parameters a model spec may declare: its float32 weights, the safetensors
header and its 8-byte length prefix fit in :data:`MAX_CONTENT_BYTES` (about 16.7 million)."""

MAX_SPEC_BYTES: Final = 1_000_000
"""Largest model spec document."""

MAX_JSON_DEPTH: Final = 64
"""Deepest nesting of a JSON document; ledgerlearn's own documents need fewer than 8 levels."""

MAX_JSON_BYTES: Final = 1_000_000
"""Default cap on a JSON document (callers reading larger trusted files raise it)."""

MAX_JSON_INT_DIGITS: Final = 100
"""Longest integer literal in a JSON document (uint256 needs 78 digits)."""

MAX_DATA_VALUES: Final = MAX_CONTENT_BYTES // 4
"""Most feature values (samples x features) of a validation set a task is published with:
its float32 features fit in one fragment's cap even with a committee of one (about 16.7
million, e.g. 21,000 MNIST images)."""

MAX_LOCAL_DATA_VALUES: Final = 2**28
"""Most feature values a data file read for local training may hold (1 GiB of float32)."""
