// Free riders (issue 14): a provider whose updates are rejected maxRejections times in a task is
// excluded from it on chain; maxRejections = 0 never excludes.
const { expect } = require("chai");
const { loadFixture, mineUpTo } = require("@nomicfoundation/hardhat-network-helpers");
const {
  FAIL,
  PASS,
  h,
  cid,
  taskParams,
  dagParams,
  deployLedger,
  publish,
  submitUpdate,
  submitDagUpdate,
  scoreAll,
  ROUND_LENGTH,
} = require("./helpers/fixtures");

async function setup(maxRejections) {
  const ctx = await deployLedger();
  const committee = ctx.v.slice(0, 5);
  const fed = await publish(ctx.ledger, ctx.publisher, taskParams(committee, { maxRejections, maxRounds: 4 }));
  const dag = await publish(ctx.ledger, ctx.publisher, dagParams(committee, { maxRejections, maxPending: 4 }));
  for (const id of [fed, dag]) for (const a of ctx.p.slice(0, 2)) await ctx.ledger.connect(a).joinTask(id);
  return { ...ctx, committee, fed, dag };
}
const excluding = () => setup(2);
const never = () => setup(0);

/** Scores `update` with `scores` by the first members; returns the last score's transaction. */
async function scoreLast(ledger, taskId, update, members, scores) {
  await scoreAll(ledger, taskId, update, members.slice(0, -1), scores.slice(0, -1));
  return ledger.connect(members.at(-1)).submitScore(taskId, update, scores.at(-1));
}

/** Ends the current federation round with nothing accepted (the base model is kept). */
async function endRound(ctx, round) {
  const r = await ctx.ledger.getRound(ctx.fed, round);
  await mineUpTo(Number(r.startBlock) + ROUND_LENGTH);
  await ctx.ledger.connect(ctx.p[1]).proposeAggregate(ctx.fed, round, [], r.baseModelHash, cid(`base-${round}`));
}

describe("Free riders: exclusion at maxRejections", function () {
  it("federation: the second rejected update excludes its provider; its next submission reverts", async function () {
    const ctx = await loadFixture(excluding);
    const { ledger, fed, p, committee } = ctx;
    const fails = committee.slice(0, 3);
    await submitUpdate(ledger, p[0], fed, 1, h("r1"), cid("r1"), 10);
    await expect(scoreLast(ledger, fed, h("r1"), fails, [FAIL, FAIL, FAIL])).to.not.emit(ledger, "ProviderExcluded");
    await endRound(ctx, 1);
    await submitUpdate(ledger, p[0], fed, 2, h("r2"), cid("r2"), 10);
    await scoreAll(ledger, fed, h("r2"), fails.slice(0, 2), [FAIL, FAIL]);
    await expect(ledger.connect(fails[2]).submitScore(fed, h("r2"), FAIL))
      .to.emit(ledger, "ProviderExcluded")
      .withArgs(fed, p[0].address, 2);
    await endRound(ctx, 2);
    await expect(submitUpdate(ledger, p[0], fed, 3, h("r3"), cid("r3"), 10))
      .to.be.revertedWithCustomError(ledger, "UpdateLedgerProviderExcluded")
      .withArgs(fed, p[0].address, 2);
    await submitUpdate(ledger, p[1], fed, 3, h("ok3"), cid("ok3"), 10); // the others go on
    expect((await ledger.creditOf(fed, p[0].address)).rejected).to.equal(2);
  });

  it("dag: exclusion with updates still pending keeps the pending count sane; accepted ones still count", async function () {
    const ctx = await loadFixture(excluding);
    const { ledger, dag, p, committee } = ctx;
    const root = (await ledger.getTask(dag)).initialWeightsHash;
    for (const label of ["d1", "d2", "d3"]) await submitDagUpdate(ledger, p[0], dag, [root], h(label), cid(label), 10);
    await scoreAll(ledger, dag, h("d1"), committee.slice(0, 3), [FAIL, FAIL, FAIL]);
    await expect(scoreLast(ledger, dag, h("d2"), committee.slice(0, 3), [FAIL, FAIL, FAIL])).to.emit(ledger, "ProviderExcluded");
    await expect(scoreLast(ledger, dag, h("d3"), committee.slice(0, 3), [PASS, PASS, PASS])).to.emit(ledger, "UpdateAccepted");
    await expect(submitDagUpdate(ledger, p[0], dag, [root], h("d4"), cid("d4"), 10))
      .to.be.revertedWithCustomError(ledger, "UpdateLedgerProviderExcluded")
      .withArgs(dag, p[0].address, 2);
    expect((await ledger.creditOf(dag, p[0].address)).toArray().map(Number)).to.deep.equal([1, 2, 0, 0]);
  });

  it("maxRejections = 0 never excludes", async function () {
    const ctx = await loadFixture(never);
    const { ledger, dag, p, committee } = ctx;
    const root = (await ledger.getTask(dag)).initialWeightsHash;
    for (const label of ["n1", "n2", "n3"]) {
      await submitDagUpdate(ledger, p[0], dag, [root], h(label), cid(label), 10);
      await expect(scoreLast(ledger, dag, h(label), committee.slice(0, 3), [FAIL, FAIL, FAIL])).to.not.emit(ledger, "ProviderExcluded");
    }
    await submitDagUpdate(ledger, p[0], dag, [root], h("n4"), cid("n4"), 10);
  });
});
