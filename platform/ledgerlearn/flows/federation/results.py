"""A federation task's results: which round's result is its model, and each result recomputed
from the round's accepted updates as the committee did."""

from __future__ import annotations

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.flows.federation.rounds import ATTEST_TOLERANCE, aggregate_round, matches
from ledgerlearn.flows.models import NoModelError, TaskModel, Verification
from ledgerlearn.flows.ports import Member
from ledgerlearn.storage.content import sha256_digest

__all__ = ["finalized_rounds", "round_result", "verify_rounds"]


def finalized_rounds(task: TaskRecord, block: int | None = None) -> list[RoundRecord]:
    """The rounds finalized by ``block`` (None: by now), in order."""
    return [
        r
        for _, r in sorted(task.rounds.items())
        if r.result_hash is not None
        and (block is None or (r.finalized_block is not None and r.finalized_block <= block))
    ]


def _chosen(task: TaskRecord, number: int | None, block: int | None) -> RoundRecord:
    """Round ``number``'s record (finalized), or the last finalized by ``block``."""
    done = finalized_rounds(task, block)
    by = "" if block is None else f" by block {block}"
    which = f"finalized{by}: " + (", ".join(str(r.round) for r in done) if done else "none yet")
    if number is None:
        if not done:
            state = "closed" if task.closed else "still open"
            raise NoModelError(
                f"task {task.task_id} has no finalized round{by} (it is {state}): no model to "
                "take out yet"
            )
        return done[-1]
    last = task.params.max_rounds
    if not 1 <= number <= last:
        raise NoModelError(f"task {task.task_id} has rounds 1 to {last}, not {number}")
    chosen = [r for r in done if r.round == number]
    if not chosen:
        raise NoModelError(f"round {number} of task {task.task_id} is not finalized ({which})")
    return chosen[0]


def round_result(
    member: Member, task: TaskRecord, number: int | None = None, block: int | None = None
) -> TaskModel:
    """Round ``number``'s result (default: the last finalized, as of ``block``), fetched from
    its CIDs and checked against its on-chain hash.

    Raises
    ------
    NoModelError
        No round is finalized yet, or round ``number`` is not (or does not exist).
    StorageError
        No member serves it.
    """
    record = _chosen(task, number, block)
    result = record.result_hash
    assert result is not None
    content = member.fetch_model(task.task_id, result)
    source = f"result of round {record.round} of {task.params.max_rounds}"
    if record.kept_base_model:
        source += (
            " (closed at its attestation deadline without a proposal more than f members "
            "attested: it kept its base model)"
        )
    elif not record.accepted:
        source += " (no update was accepted: its base model carried over)"
    source += f", finalized at block {record.finalized_block}"
    if task.closed and task.final_model_hash == result:
        source += "; the task's final model"
    return TaskModel(
        task_id=task.task_id,
        content=content,
        content_hash=result,
        source=source,
        cids=tuple(task.cids_of(result) or [record.base_model_cid]),
        round=record.round,
        block=record.finalized_block,
    )


def verify_rounds(
    member: Member, task: TaskRecord, number: int | None = None, block: int | None = None
) -> list[Verification]:
    """Recompute round ``number``'s result (default: every round finalized by ``block``) from
    its base model and accepted updates, as the committee does, and compare with the hash the
    chain finalized.

    A round with accepted updates must give the aggregate of its accepted updates in
    acceptance order with the task's rule (identical bytes, or within the committee's
    tolerance); a round without, or closed at its deadline without a proposal more than f
    members attested, keeps its base model.
    """
    rounds = finalized_rounds(task, block) if number is None else [_chosen(task, number, block)]
    if not rounds:
        raise NoModelError(f"task {task.task_id} has no finalized round to verify")
    rule = RULE_NAMES.get(task.params.aggregation_rule, str(task.params.aggregation_rule))
    checks = []
    for record in rounds:
        result = record.result_hash
        assert result is not None
        what = f"round {record.round}'s result"
        if record.kept_base_model or not record.accepted:
            why = (
                "closed at the attestation deadline without a proposal more than f attested"
                if record.kept_base_model
                else "no accepted update"
            )
            ok = result == record.base_model_hash
            checks.append(
                Verification(
                    what,
                    result,
                    record.base_model_hash,
                    ok,
                    f"{why}: the round keeps its base model",
                )
            )
            continue
        recomputed = aggregate_round(member, task, record)
        digest = sha256_digest(recomputed)
        how = f"{rule} of its {len(record.accepted)} accepted updates, in acceptance order"
        if digest == result:
            ok, how = True, how + ": identical bytes"
        else:
            spec = member.spec(task.task_id)
            ok = matches(spec, member.fetch_model(task.task_id, result), recomputed)
            how += (
                f": within the committee's tolerance ({ATTEST_TOLERANCE:g} of the largest weight)"
                if ok
                else ": differs"
            )
        checks.append(Verification(what, result, digest, ok, how))
    return checks
