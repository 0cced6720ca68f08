// Rewards: escrowed by the publisher, split at close by the ledger's credits, withdrawn by each
// account (pull). Hand-computed cases; the free rider and the liar earn nothing, a member that
// scored against the decision within the tolerance keeps its share.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  PASS,
  FAIL,
  h,
  cid,
  dagParams,
  deployLedger,
  deployGovernedLedger,
  drawnParams,
  publish,
  submitDagUpdate,
  scoreAll,
} = require("./helpers/fixtures");

const AMOUNT = 1000n;
const PROVIDER_SHARE_BPS = 7000; // 700 to providers, 300 to validators
const TOLERANCE_BPS = 3000; // a validator scoring against the decision more than 30% of the time forfeits

async function escrowed() {
  const ctx = await deployLedger();
  const { ledger, admin, publisher, v, p } = ctx;
  const escrow = await (await ethers.getContractFactory("RewardEscrow")).deploy(await ledger.getAddress());
  const token = await (await ethers.getContractFactory("TestToken")).deploy(admin.address);
  await token.connect(admin).mint(publisher.address, 10_000n);
  const committee = v.slice(0, 5);
  const params = dagParams(committee, { maxPending: 4 });
  const taskId = await publish(ledger, publisher, params);
  await token.connect(publisher).approve(await escrow.getAddress(), AMOUNT);
  for (const a of p.slice(0, 3)) await ledger.connect(a).joinTask(taskId);
  return { ...ctx, escrow, token, committee, params, taskId };
}

/** p0: 3 accepted updates (a, b, e), p1: 2 (c, d), p2 (free rider): 1 rejected. v4, the liar,
 * passes everything it scores: a, b and the free rider's; v2 fails b (accepted by the others).
 * Credits [agreed, disagreed]: v0 [5, 0], v1 [5, 0], v2 [3, 1] (25%), v3 [3, 0], v4 [2, 1] (33%). */
async function decided() {
  const ctx = await escrowed();
  const { ledger, escrow, publisher, taskId, params, p, committee: [v0, v1, v2, v3, v4] } = ctx;
  await escrow.connect(publisher).fund(taskId, await ctx.token.getAddress(), AMOUNT, PROVIDER_SHARE_BPS, TOLERANCE_BPS);
  const root = params.initialWeightsHash;
  const scored = [
    [p[0], "a", [v0, v4, v1], [PASS, PASS, PASS]],
    [p[0], "b", [v0, v2, v1, v4], [PASS, FAIL, PASS, PASS]],
    [p[1], "c", [v0, v1, v2], [PASS, PASS, PASS]],
    [p[1], "d", [v2, v3, v0], [PASS, PASS, PASS]],
    [p[0], "e", [v2, v3, v1], [PASS, PASS, PASS]],
    [p[2], "free", [v4, v0, v1, v3], [PASS, FAIL, FAIL, FAIL]],
  ];
  for (const [who, label, members, scores] of scored) {
    await submitDagUpdate(ledger, who, taskId, [root], h(label), cid(label), 10);
    await scoreAll(ledger, taskId, h(label), members, scores);
  }
  return ctx;
}

describe("RewardEscrow", function () {
  it("the ledger's credits by hand: accepted per provider, scores with and against the decision per validator", async function () {
    const { ledger, taskId, p, committee } = await loadFixture(decided);
    const credit = async (a) => (await ledger.creditOf(taskId, a.address)).toArray().map(Number);
    expect(await credit(p[0])).to.deep.equal([3, 0, 0, 0]);
    expect(await credit(p[1])).to.deep.equal([2, 0, 0, 0]);
    expect(await credit(p[2])).to.deep.equal([0, 1, 0, 0]);
    const judged = await Promise.all(committee.map(async (v) => (await credit(v)).slice(2)));
    expect(judged).to.deep.equal([[5, 0], [5, 0], [3, 1], [3, 0], [2, 1]]);
    expect((await ledger.creditTotals(taskId)).toArray().map(Number)).to.deep.equal([5, 1]);
  });

  it("after close each account withdraws its share once: 420/280/0 and 93/93/56/56/0 (the liar forfeits); dust swept", async function () {
    const { ledger, escrow, token, publisher, taskId, p, committee } = await loadFixture(decided);
    await expect(escrow.connect(p[0]).withdraw(taskId)).to.be.revertedWithCustomError(escrow, "RewardNothingOwed");
    expect(await escrow.owed(taskId, p[0].address)).to.equal(0); // not closed yet
    await ledger.connect(publisher).closeTask(taskId);
    // providers: 700 * 3/5 = 420, 700 * 2/5 = 280. Validators: v2 against the decision 1 of 4
    // (25%, within 30%) counts 3, v4 1 of 3 (33%) counts 0: 300 * (5, 5, 3, 3, 0) / 16
    const expected = new Map([
      [p[0], 420n], [p[1], 280n], [p[2], 0n],
      [committee[0], 93n], [committee[1], 93n], [committee[2], 56n], [committee[3], 56n], [committee[4], 0n],
    ]);
    for (const [who, amount] of expected) {
      expect(await escrow.owed(taskId, who.address)).to.equal(amount);
      if (amount === 0n) {
        await expect(escrow.connect(who).withdraw(taskId)).to.be.revertedWithCustomError(escrow, "RewardNothingOwed").withArgs(taskId, who.address);
        continue;
      }
      await expect(escrow.connect(who).withdraw(taskId)).to.changeTokenBalances(token, [who, escrow], [amount, -amount]);
      await expect(escrow.connect(who).withdraw(taskId)).to.be.revertedWithCustomError(escrow, "RewardNothingOwed");
    }
    expect((await escrow.escrowOf(taskId)).paid).to.equal(998n); // 2 units of rounding dust left
    // the liar's part went to the other members: both pools were earned, nothing back now
    await expect(escrow.connect(publisher).refund(taskId)).to.changeTokenBalances(token, [publisher], [0n]);
    await expect(escrow.connect(publisher).sweep(taskId)).to.be.revertedWithCustomError(escrow, "RewardNotRefundable");
    await time.increase(30 * 24 * 3600);
    await expect(escrow.connect(publisher).sweep(taskId)).to.changeTokenBalances(token, [publisher, escrow], [2n, -2n]);
    expect((await escrow.escrowOf(taskId)).paid).to.equal(AMOUNT);
  });

  it("with a tolerance of 100% the liar is paid for the scores on the decision's side", async function () {
    // the same scores with 10000 bps: 300 * (5, 5, 3, 3, 2) / 18
    const ctx = await escrowed();
    const { ledger, escrow, publisher, taskId, params, p, committee: [v0, v1, v2, v3, v4] } = ctx;
    await escrow.connect(publisher).fund(taskId, await ctx.token.getAddress(), AMOUNT, PROVIDER_SHARE_BPS, 10_000);
    const root = params.initialWeightsHash;
    await submitDagUpdate(ledger, p[0], taskId, [root], h("a"), cid("a"), 10);
    await scoreAll(ledger, taskId, h("a"), [v0, v4, v1], [PASS, PASS, PASS]);
    await submitDagUpdate(ledger, p[2], taskId, [root], h("free"), cid("free"), 10);
    await scoreAll(ledger, taskId, h("free"), [v4, v0, v1, v3], [PASS, FAIL, FAIL, FAIL]);
    await ledger.connect(publisher).closeTask(taskId);
    // v4: 1 with, 1 against (50%, within 100%); counted 2, 2, 0, 1, 1 of 6
    const owed = async (a) => Number(await escrow.owed(taskId, a.address));
    expect(await Promise.all([v0, v1, v2, v3, v4].map(owed))).to.deep.equal([100, 100, 0, 50, 50]);
  });

  it("a pool nobody earned goes back at close; funding rules", async function () {
    const ctx = await loadFixture(escrowed);
    const { ledger, escrow, token, publisher, publisher2, taskId, committee, p } = ctx;
    const t = await token.getAddress();
    await expect(escrow.connect(publisher2).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS, TOLERANCE_BPS))
      .to.be.revertedWithCustomError(escrow, "RewardNotPublisher")
      .withArgs(taskId, publisher2.address);
    await expect(escrow.connect(publisher).fund(taskId, t, AMOUNT, 10_001, TOLERANCE_BPS))
      .to.be.revertedWithCustomError(escrow, "RewardInvalidTerms")
      .withArgs(AMOUNT, 10_001, TOLERANCE_BPS);
    await expect(escrow.connect(publisher).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS, 10_001))
      .to.be.revertedWithCustomError(escrow, "RewardInvalidTerms")
      .withArgs(AMOUNT, PROVIDER_SHARE_BPS, 10_001);
    await escrow.connect(publisher).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS, TOLERANCE_BPS);
    await expect(escrow.connect(publisher).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS, TOLERANCE_BPS)).to.be.revertedWithCustomError(escrow, "RewardAlreadyFunded");
    // only a rejected update: no provider earned, the validators who rejected it did
    await submitDagUpdate(ledger, p[2], taskId, [ctx.params.initialWeightsHash], h("free"), cid("free"), 10);
    await scoreAll(ledger, taskId, h("free"), committee.slice(0, 3), [FAIL, FAIL, FAIL]);
    await expect(escrow.connect(publisher).refund(taskId)).to.be.revertedWithCustomError(escrow, "RewardTaskState").withArgs(taskId, false);
    await ledger.connect(publisher).closeTask(taskId);
    await expect(escrow.connect(publisher).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS, TOLERANCE_BPS)).to.be.revertedWithCustomError(escrow, "RewardTaskState").withArgs(taskId, true);
    await expect(escrow.connect(publisher).refund(taskId)).to.changeTokenBalances(token, [publisher], [700n]);
    await expect(escrow.connect(publisher).refund(taskId)).to.be.revertedWithCustomError(escrow, "RewardNotRefundable");
    expect(await escrow.owed(taskId, committee[0].address)).to.equal(100n); // 300 / 3
  });

  it("a task rejected at vetting never opened: the publisher gets everything back, nobody else anything", async function () {
    const ctx = await deployGovernedLedger();
    const { ledger, vetting, admin, publisher, v } = ctx;
    const escrow = await (await ethers.getContractFactory("RewardEscrow")).deploy(await ledger.getAddress());
    const token = await (await ethers.getContractFactory("TestToken")).deploy(admin.address);
    await token.connect(admin).mint(publisher.address, AMOUNT);
    const taskId = await publish(ledger, publisher, drawnParams(5));
    await token.connect(publisher).approve(await escrow.getAddress(), AMOUNT);
    await escrow.connect(publisher).fund(taskId, await token.getAddress(), AMOUNT, PROVIDER_SHARE_BPS, TOLERANCE_BPS);
    const { runDraw } = require("./helpers/fixtures");
    const { committee } = await runDraw(ctx, taskId, v.slice(0, 2));
    for (const m of committee.slice(0, 3)) await vetting.connect(m).vote(taskId, false, "over the size limit");
    expect((await ledger.getTask(taskId)).closed).to.equal(true);
    expect(await escrow.owed(taskId, committee[0].address)).to.equal(0);
    await expect(escrow.connect(publisher).refund(taskId)).to.changeTokenBalances(token, [publisher], [AMOUNT]);
  });
});
