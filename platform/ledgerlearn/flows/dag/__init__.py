"""The dag flow (tangle gossip): asynchronous updates that name the updates they built on.

There are no rounds. A provider, at its own pace, selects parents among the tips by a
score-biased random walk (:mod:`~ledgerlearn.core.tip_selection`), merges them with the
task's robust aggregation rule (:func:`merge_models`, optionally dampening stale parents),
trains from the merge, and publishes the result only if it beats the merge on the provider's
own held-out data (:func:`beats`, publish-if-better). The committee scores every update
against the merge of the parents it names; accepted updates become possible parents. Good
branches get built on, poorly scored ones die out.

The **consensus model** (:func:`consensus_model`) is the robust aggregate of the top K tips by
quality (committee scores, :class:`~ledgerlearn.core.dag_graph.DagGraph`), in a fixed order:
anyone with the chain's events and the tips' content recomputes the same bytes and so the
same content hash.

The :class:`DagKeeper` (the publisher's agent runs it) settles updates still pending at their
scoring deadline and closes the task when its planned duration is over.

Modules: :mod:`.updates` (a provider's settings, the merge of parents, the reference an
update is scored against, publish-if-better), :mod:`.consensus` (the consensus model),
:mod:`.keeper` (:class:`~.keeper.DagKeeper`), :mod:`.committee` (how a committee member scores
dag updates: :class:`~.committee.DagCommittee`), :mod:`.strategy` (:class:`~.strategy.DagFlow`,
registered in :data:`~ledgerlearn.flows.registry.FLOWS`).
"""
