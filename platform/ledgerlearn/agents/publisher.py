"""The publisher: puts a task's content on IPFS and publishes the task on chain.

It takes a model spec, initial weights (or a seed to create them), a metric, a validation set,
the committee and the policy. The validation set is split into one stratified fragment per
committee member, each encrypted to that member's registered public key (ECIES on secp256k1)
so only that member can read it; the spec, the weights and the fragments go to IPFS, their
sha256 on chain. No code is shipped: the spec is a JSON allowlist of layers.

Everything is checked before anything is stored (:meth:`Publisher.build`): the policy against
the contract's types (:class:`~ledgerlearn.flows.policy.Policy`), the committee's keys, and
the size of every content against what members fetch at most, so a publication that could
never be served is refused.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from ledgerlearn.agents.participant import Participant
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.data import Dataset
from ledgerlearn.data.fragments import encrypt_fragment, split_fragments
from ledgerlearn.errors import AgentError, StorageError
from ledgerlearn.flows.policy import Policy
from ledgerlearn.limits import MAX_CONTENT_BYTES
from ledgerlearn.model import ModelSpec, build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.weights import encode
from ledgerlearn.training import get_metric

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedTask:
    """What was published."""

    task_id: int
    params: TaskParams


class UnservableContentError(AgentError):
    """A content of the task is larger than any member fetches: nobody could use the task.

    ``field`` names the content: ``spec``, ``weights`` or ``validation``.
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PreparedTask:
    """A task's parameters and content, checked, with the CIDs computed but nothing stored."""

    params: TaskParams
    contents: tuple[bytes, ...]
    """The spec, the initial weights, then one encrypted fragment per committee member."""


class Publisher:
    """Publishes tasks for one participant holding PUBLISHER_ROLE."""

    def __init__(self, participant: Participant, *, max_content_bytes: int = MAX_CONTENT_BYTES):
        self.participant = participant
        self.max_content_bytes = max_content_bytes

    def build(
        self,
        spec: ModelSpec,
        validation: Dataset,
        committee: list[str],
        policy: Policy,
        *,
        initial_weights: dict[str, object] | None = None,
        seed: int = 0,
        expected_providers: int | None = None,
    ) -> PreparedTask:
        """Check and encode a task; store nothing (:meth:`store` does).

        Raises
        ------
        AgentError
            An unsafe committee policy, or a member without a registered encryption key.
        UnservableContentError
            A content larger than ``max_content_bytes``: no member could fetch it.
        AggregationConfigError
            A rule configured beyond its breakdown point for ``expected_providers``.
        DataError
            A validation set that does not match the spec.
        """
        policy.check_committee(len(committee), expected_providers)
        validation.check_matches(spec)
        get_metric(policy.metric)
        keys = []
        for member in committee:
            key = self.participant.client.member(member).encryption_key
            if not key:
                raise AgentError(
                    f"committee member {member} has not registered an encryption key: "
                    "its validator must run once (registerMember) before publication"
                )
            keys.append(key)
        if initial_weights is None:
            initial_weights = dict(state_dict_to_arrays(build(spec, seed=seed)))
        spec_bytes = spec.to_json()
        self._check_size("spec", "the model spec", len(spec_bytes))
        weights = encode(initial_weights, spec=spec)  # type: ignore[arg-type]
        self._check_size("weights", "the initial weights", len(weights))
        parts: list[Dataset | None] = list(split_fragments(validation, len(committee), seed=seed))
        fragments = []
        for i, key in enumerate(keys):
            part = parts[i]
            assert part is not None
            fragments.append(encrypt_fragment(part, key))
            parts[i] = None  # each plaintext share is dropped once encrypted
        largest = max((len(f) for f in fragments), default=0)
        self._check_size(
            "validation",
            f"the largest encrypted validation fragment ({len(validation)} samples split "
            f"among {len(committee)} members)",
            largest,
        )
        store = self.participant.store
        cids = [store.compute_cid(content) for content in (spec_bytes, weights, *fragments)]
        digests = [_sha256(content) for content in (spec_bytes, weights, *fragments)]
        params = TaskParams(
            model_spec_hash=digests[0],
            model_spec_cid=cids[0],
            initial_weights_hash=digests[1],
            initial_weights_cid=cids[1],
            committee=tuple(committee),
            fragment_hashes=tuple(digests[2:]),
            fragment_cids=tuple(cids[2:]),
            **policy.params_fields(),  # type: ignore[arg-type]
        )
        return PreparedTask(params, (spec_bytes, weights, *fragments))

    def store(self, prepared: PreparedTask) -> TaskParams:
        """Put a built task's content on IPFS; its parameters, ready to publish or sign.

        Raises
        ------
        StorageError
            If the node cannot store a content, or stores it under another CID.
        """
        p = prepared.params
        expected = (p.model_spec_cid, p.initial_weights_cid, *p.fragment_cids)
        for content, cid in zip(prepared.contents, expected, strict=True):
            stored, _ = self.participant.store.put(content)
            if stored != cid:
                raise StorageError(f"the node stored content as {stored}, not {cid}")
        return p

    def prepare(
        self,
        spec: ModelSpec,
        validation: Dataset,
        committee: list[str],
        policy: Policy,
        *,
        initial_weights: dict[str, object] | None = None,
        seed: int = 0,
        expected_providers: int | None = None,
    ) -> TaskParams:
        """Check the task, put its content on IPFS and return the parameters to publish or
        sign (:meth:`build`, then :meth:`store`)."""
        prepared = self.build(
            spec,
            validation,
            committee,
            policy,
            initial_weights=initial_weights,
            seed=seed,
            expected_providers=expected_providers,
        )
        return self.store(prepared)

    def publish(self, params: TaskParams) -> PublishedTask:
        """Publish prepared parameters on chain (this participant is the publisher)."""
        task_id = self.participant.client.publish_task(params)
        log.info("published task %d", task_id)
        return PublishedTask(task_id, params)

    def _check_size(self, field: str, what: str, size: int) -> None:
        if size > self.max_content_bytes:
            raise UnservableContentError(
                f"{what} would be {size} bytes, above the {self.max_content_bytes} bytes a "
                "member fetches at most: no member could fetch it (use a smaller model or "
                "validation set, or a larger committee)",
                field,
            )


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
