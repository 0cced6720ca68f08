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
from typing import TYPE_CHECKING

from ledgerlearn.agents.participant import Participant
from ledgerlearn.core.rules import Stage
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

if TYPE_CHECKING:
    from ledgerlearn.chain.index import TaskRecord

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
        self._posted: set[int] = set()  # drawn tasks whose fragments this publisher sent

    def tend(self, task: TaskRecord, validation: Dataset, *, seed: int = 0) -> bool:
        """React to the draw of one of its tasks: once the committee is seated and before the
        fragments are posted, encrypt them to the drawn members and post them (once). True
        when a transaction was sent."""
        if (
            task.closed
            or task.stage is not Stage.VETTING
            or task.params.fragment_cids
            or task.task_id in self._posted
        ):
            return False
        self.post_fragments(task.task_id, validation, seed=seed)
        self._posted.add(task.task_id)
        return True

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
        drawn = policy.draw_size > 0
        if drawn and committee:
            raise AgentError(
                f"the policy draws a committee of {policy.draw_size}: name no committee"
            )
        policy.check_committee(policy.draw_size if drawn else len(committee), expected_providers)
        validation.check_matches(spec)
        get_metric(policy.metric)
        keys = self._keys(committee)
        if initial_weights is None:
            initial_weights = dict(state_dict_to_arrays(build(spec, seed=seed)))
        spec_bytes = spec.to_json()
        self._check_size("spec", "the model spec", len(spec_bytes))
        weights = encode(initial_weights, spec=spec)  # type: ignore[arg-type]
        self._check_size("weights", "the initial weights", len(weights))
        fragments = self._encrypt(validation, keys, seed)
        # A drawn committee's fragments are made once it is seated: measure their size now.
        probe = self._encrypt(validation, [_PROBE_KEY] * policy.draw_size, seed) if drawn else []
        self._check_fragments(validation, probe if drawn else fragments)
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

    def post_fragments(self, task_id: int, validation: Dataset, *, seed: int = 0) -> list[str]:
        """For a drawn task whose committee was seated: encrypt one fragment of ``validation``
        to each member (in the committee's order), put them on IPFS and post their hashes and
        CIDs on chain. Returns the CIDs.

        Raises
        ------
        AgentError
            No committee seated yet, or a member without a registered encryption key.
        StorageError
            The node could not store a fragment.
        """
        committee = self.participant.client.committee(task_id)
        if not committee:
            raise AgentError(f"task {task_id} has no committee seated yet: nothing to encrypt to")
        members = [member for member, _ in committee]
        fragments = self._encrypt(validation, self._keys(members), seed)
        self._check_fragments(validation, fragments)
        cids = []
        for content in fragments:
            cid, _ = self.participant.store.put(content)
            cids.append(cid)
        self.participant.client.post_fragments(task_id, [_sha256(f) for f in fragments], cids)
        log.info(
            "task %d: posted the validation fragments of its %d drawn members",
            task_id,
            len(members),
        )
        return cids

    def _keys(self, committee: list[str]) -> list[bytes]:
        """The registered encryption key of each member, in order."""
        keys = []
        for member in committee:
            key = self.participant.client.member(member).encryption_key
            if not key:
                raise AgentError(
                    f"committee member {member} has not registered an encryption key: "
                    "its validator must run once (registerMember) before publication"
                )
            keys.append(key)
        return keys

    @staticmethod
    def _encrypt(validation: Dataset, keys: list[bytes], seed: int) -> list[bytes]:
        """One stratified fragment per key, each encrypted to its key."""
        if not keys:
            return []
        parts: list[Dataset | None] = list(split_fragments(validation, len(keys), seed=seed))
        fragments = []
        for i, key in enumerate(keys):
            part = parts[i]
            assert part is not None
            fragments.append(encrypt_fragment(part, key))
            parts[i] = None  # each plaintext share is dropped once encrypted
        return fragments

    def _check_fragments(self, validation: Dataset, fragments: list[bytes]) -> None:
        largest = max((len(f) for f in fragments), default=0)
        self._check_size(
            "validation",
            f"the largest encrypted validation fragment ({len(validation)} samples split "
            f"among {len(fragments)} members)",
            largest,
        )

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


_PROBE_KEY = bytes.fromhex(
    "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
)
"""The secp256k1 generator point: a valid public key to measure a fragment's encrypted size
before the members it goes to are drawn."""


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
