// Rewards: escrowed by the publisher, split at close by the ledger's credits, withdrawn by each
// account (pull). Hand-computed cases; the free rider and the liar earn nothing.
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

/** p0: 2 accepted updates, p1: 1 accepted, p2 (free rider): 1 rejected; v4 (liar) passes the
 * free rider and scores nothing else. Credits: accepted 2/1/0 (3); agreed v0 4, v1 4, v2 3, v3 1,
 * v4 0 (12). */
async function decided() {
  const ctx = await escrowed();
  const { ledger, escrow, publisher, taskId, params, p, committee: [v0, v1, v2, v3, v4] } = ctx;
  await escrow.connect(publisher).fund(taskId, await ctx.token.getAddress(), AMOUNT, PROVIDER_SHARE_BPS);
  const root = params.initialWeightsHash;
  const good = [[p[0], "a"], [p[0], "b"], [p[1], "c"]];
  for (const [who, label] of good) {
    await submitDagUpdate(ledger, who, taskId, [root], h(label), cid(label), 10);
    await scoreAll(ledger, taskId, h(label), [v0, v1, v2], [PASS, PASS, PASS]);
  }
  await submitDagUpdate(ledger, p[2], taskId, [root], h("free"), cid("free"), 10);
  await scoreAll(ledger, taskId, h("free"), [v4, v0, v1, v3], [PASS, FAIL, FAIL, FAIL]);
  return ctx;
}

describe("RewardEscrow", function () {
  it("the ledger's credits by hand: accepted per provider, agreeing scores per validator", async function () {
    const { ledger, taskId, p, committee } = await loadFixture(decided);
    const credit = async (a) => (await ledger.creditOf(taskId, a.address)).toArray().map(Number);
    expect(await credit(p[0])).to.deep.equal([2, 0, 0]);
    expect(await credit(p[1])).to.deep.equal([1, 0, 0]);
    expect(await credit(p[2])).to.deep.equal([0, 1, 0]);
    expect(await Promise.all(committee.map(async (v) => (await credit(v))[2]))).to.deep.equal([4, 4, 3, 1, 0]);
    expect((await ledger.creditTotals(taskId)).toArray().map(Number)).to.deep.equal([3, 1, 12]);
  });

  it("after close each account withdraws its share once: 466/233/0 and 100/100/75/25/0; dust swept", async function () {
    const { ledger, escrow, token, publisher, taskId, p, committee } = await loadFixture(decided);
    await expect(escrow.connect(p[0]).withdraw(taskId)).to.be.revertedWithCustomError(escrow, "RewardNothingOwed");
    expect(await escrow.owed(taskId, p[0].address)).to.equal(0); // not closed yet
    await ledger.connect(publisher).closeTask(taskId);
    // providers: floor(700 * 2/3) = 466, floor(700 * 1/3) = 233; validators: 300 * (4, 4, 3, 1, 0) / 12
    const expected = new Map([
      [p[0], 466n], [p[1], 233n], [p[2], 0n],
      [committee[0], 100n], [committee[1], 100n], [committee[2], 75n], [committee[3], 25n], [committee[4], 0n],
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
    expect((await escrow.escrowOf(taskId)).paid).to.equal(999n); // 1 unit of rounding dust left
    await escrow.connect(publisher).refund(taskId); // both pools were earned: nothing back now
    await expect(escrow.connect(publisher).sweep(taskId)).to.be.revertedWithCustomError(escrow, "RewardNotRefundable");
    await time.increase(30 * 24 * 3600);
    await expect(escrow.connect(publisher).sweep(taskId)).to.changeTokenBalances(token, [publisher, escrow], [1n, -1n]);
    expect((await escrow.escrowOf(taskId)).paid).to.equal(AMOUNT);
  });

  it("a pool nobody earned goes back at close; funding rules", async function () {
    const ctx = await loadFixture(escrowed);
    const { ledger, escrow, token, publisher, publisher2, taskId, committee, p } = ctx;
    const t = await token.getAddress();
    await expect(escrow.connect(publisher2).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS))
      .to.be.revertedWithCustomError(escrow, "RewardNotPublisher")
      .withArgs(taskId, publisher2.address);
    await expect(escrow.connect(publisher).fund(taskId, t, AMOUNT, 10_001))
      .to.be.revertedWithCustomError(escrow, "RewardInvalidAmount")
      .withArgs(AMOUNT, 10_001);
    await escrow.connect(publisher).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS);
    await expect(escrow.connect(publisher).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS)).to.be.revertedWithCustomError(escrow, "RewardAlreadyFunded");
    // only a rejected update: no provider earned, the validators who rejected it did
    await submitDagUpdate(ledger, p[2], taskId, [ctx.params.initialWeightsHash], h("free"), cid("free"), 10);
    await scoreAll(ledger, taskId, h("free"), committee.slice(0, 3), [FAIL, FAIL, FAIL]);
    await expect(escrow.connect(publisher).refund(taskId)).to.be.revertedWithCustomError(escrow, "RewardTaskState").withArgs(taskId, false);
    await ledger.connect(publisher).closeTask(taskId);
    await expect(escrow.connect(publisher).fund(taskId, t, AMOUNT, PROVIDER_SHARE_BPS)).to.be.revertedWithCustomError(escrow, "RewardTaskState").withArgs(taskId, true);
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
    await escrow.connect(publisher).fund(taskId, await token.getAddress(), AMOUNT, PROVIDER_SHARE_BPS);
    const { runDraw } = require("./helpers/fixtures");
    const { committee } = await runDraw(ctx, taskId, v.slice(0, 2));
    for (const m of committee.slice(0, 3)) await vetting.connect(m).vote(taskId, false, "over the size limit");
    expect((await ledger.getTask(taskId)).closed).to.equal(true);
    expect(await escrow.owed(taskId, committee[0].address)).to.equal(0);
    await expect(escrow.connect(publisher).refund(taskId)).to.changeTokenBalances(token, [publisher], [AMOUNT]);
  });
});
