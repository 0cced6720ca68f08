"""The federation flow: synchronous rounds, aggregated deterministically, verified by the committee.

Round r starts from the global model of the task. Providers submit updates until the
submission window closes (held open, up to the policy's extension, until ``min_updates``
arrived); the committee scores them; then any participant (the :class:`RoundKeeper`) settles
updates still pending at the scoring deadline (those short of a quorum only once the scoring
extension ended: they expire), computes the aggregate of the accepted updates *in on-chain
acceptance order* with the task's rule, puts it on IPFS and proposes it. Committee members
recompute the same aggregate from the same inputs (:func:`aggregate_round`) and attest when
their result matches within :data:`ATTEST_TOLERANCE`; k attestations finalize the round. After
the attestation deadline any participant closes the round without a quorum
(:func:`close_overdue_round`): with a proposal more than f members attested, else keeping the
base model.

Modules: :mod:`.rounds` (the round's maths as every participant computes it),
:mod:`.keeper` (:class:`~.keeper.RoundKeeper`), :mod:`.committee` (what a committee member does
in a round: :class:`~.committee.RoundCommittee`), :mod:`.strategy`
(:class:`~.strategy.FederationFlow`, registered in :data:`~ledgerlearn.flows.registry.FLOWS`).
"""
