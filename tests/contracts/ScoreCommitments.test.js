// Scores committed, then revealed (THREATS J3): nobody reads a score before the commit window
// closes, a reveal must match its commitment, and a commitment never revealed counts for nothing.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const {
  PASS,
  FAIL,
  STATUS,
  h,
  cid,
  taskParams,
  dagParams,
  deployGovernedLedger,
  publish,
  submitUpdate,
  submitDagUpdate,
  mineBefore,
} = require("./helpers/fixtures");

const COMMIT_WINDOW = 10;
const salt = (member, update) => ethers.id(`salt-${member.address}-${update}`);

async function commitRevealTask(flow = "federation") {
  const ctx = await deployGovernedLedger({ vetting: false, commitments: true });
  const { ledger, publisher, v, p } = ctx;
  const committee = v.slice(0, 5);
  const params =
    flow === "federation"
      ? taskParams(committee, { commitWindow: COMMIT_WINDOW })
      : dagParams(committee, { commitWindow: COMMIT_WINDOW });
  const taskId = await publish(ledger, publisher, params);
  for (const a of p) await ledger.connect(a).joinTask(taskId);
  const update = h("u1");
  if (flow === "federation") await submitUpdate(ledger, p[0], taskId, 1, update, cid("u1"), 10);
  else await submitDagUpdate(ledger, p[0], taskId, [params.initialWeightsHash], update, cid("u1"), 10);
  const deadline = Number(await ledger.commitDeadline(taskId, update));
  return { ...ctx, committee, params, taskId, update, deadline };
}

async function dagCommitRevealTask() {
  return commitRevealTask("dag");
}

async function commit(ctx, member, score, update = ctx.update) {
  const c = await ctx.scoreCommitments.scoreCommitment(ctx.taskId, update, member.address, score, salt(member, update));
  return ctx.scoreCommitments.connect(member).commitScore(ctx.taskId, update, c);
}

async function reveal(ctx, member, score, update = ctx.update) {
  return ctx.scoreCommitments.connect(member).revealScore(ctx.taskId, update, score, salt(member, update));
}

describe("ScoreCommitments (J3)", function () {
  it("a commit-reveal task refuses scores in the clear, and scores from anyone but the commitments contract", async function () {
    const { ledger, scoreCommitments, taskId, update, committee, outsider } = await loadFixture(commitRevealTask);
    await expect(ledger.connect(committee[0]).submitScore(taskId, update, PASS))
      .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoresCommitted")
      .withArgs(taskId);
    await expect(ledger.connect(committee[0]).submitScores(taskId, [update], [PASS]))
      .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoresCommitted")
      .withArgs(taskId);
    await expect(ledger.connect(outsider).submitScoreFor(taskId, update, committee[0].address, PASS))
      .to.be.revertedWithCustomError(ledger, "UpdateLedgerNotScoreCommitments")
      .withArgs(outsider.address);
    expect(await ledger.scoreCommitments()).to.equal(await scoreCommitments.getAddress());
  });

  it("only committee members commit, once, before the deadline (federation: submissions close + commitWindow)", async function () {
    const ctx = await loadFixture(commitRevealTask);
    const { ledger, scoreCommitments, taskId, update, committee, v, p, deadline } = ctx;
    const round = await ledger.getRound(taskId, 1);
    expect(deadline).to.equal(Number(round.startBlock) + ctx.params.roundLength + COMMIT_WINDOW);
    await expect(commit(ctx, v[5], PASS)).to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsNotMember").withArgs(taskId, v[5].address);
    await expect(commit(ctx, p[1], PASS)).to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsNotMember").withArgs(taskId, p[1].address);
    const c = await scoreCommitments.scoreCommitment(taskId, update, committee[0].address, PASS, salt(committee[0], update));
    await expect(commit(ctx, committee[0], PASS)).to.emit(scoreCommitments, "ScoreCommitted").withArgs(taskId, update, committee[0].address, c);
    expect(await scoreCommitments.commitmentOf(taskId, update, committee[0].address)).to.equal(c);
    await expect(commit(ctx, committee[0], FAIL))
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsAlreadyCommitted")
      .withArgs(taskId, update, committee[0].address);
    await expect(reveal(ctx, committee[0], PASS))
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsRevealTooEarly")
      .withArgs(taskId, update, deadline);
    await mineBefore(deadline + 1);
    await expect(commit(ctx, committee[1], PASS))
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsCommitClosed")
      .withArgs(taskId, update, deadline);
    // a task whose scores are in the clear has nothing to commit
    const plain = await publish(ledger, ctx.publisher, taskParams(committee));
    await expect(scoreCommitments.connect(committee[0]).commitScore(plain, update, c))
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsNotCommitReveal")
      .withArgs(plain);
  });

  it("a reveal must match its commitment: another score, another salt, another member's commitment", async function () {
    const ctx = await loadFixture(commitRevealTask);
    const { scoreCommitments, taskId, update, committee, deadline } = ctx;
    await commit(ctx, committee[0], FAIL);
    const c = await scoreCommitments.commitmentOf(taskId, update, committee[0].address);
    await mineBefore(deadline);
    const adapted = await scoreCommitments.scoreCommitment(taskId, update, committee[0].address, PASS, salt(committee[0], update));
    await expect(reveal(ctx, committee[0], PASS)) // a liar adapting its score after the others
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsMismatch")
      .withArgs(taskId, update, c, adapted);
    const otherSalt = await scoreCommitments.scoreCommitment(taskId, update, committee[0].address, FAIL, ethers.id("other"));
    await expect(scoreCommitments.connect(committee[0]).revealScore(taskId, update, FAIL, ethers.id("other")))
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsMismatch")
      .withArgs(taskId, update, c, otherSalt);
    await expect(reveal(ctx, committee[1], FAIL)) // a copier with no commitment of its own
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsNoCommitment")
      .withArgs(taskId, update, committee[1].address);
    await expect(reveal(ctx, committee[0], FAIL))
      .to.emit(scoreCommitments, "ScoreRevealed")
      .withArgs(taskId, update, committee[0].address, FAIL);
    await expect(reveal(ctx, committee[0], FAIL)).to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsNoCommitment");
  });

  it("missing reveals are excluded: 3 revealed passes of 5 accept, the 2 silent members get no credit", async function () {
    const ctx = await loadFixture(commitRevealTask);
    const { ledger, taskId, update, committee, deadline } = ctx;
    for (const m of committee) await commit(ctx, m, PASS);
    await mineBefore(deadline);
    await reveal(ctx, committee[0], PASS);
    await reveal(ctx, committee[1], PASS);
    await expect(reveal(ctx, committee[2], PASS)).to.emit(ledger, "UpdateAccepted").withArgs(taskId, update, 1, 3, 3);
    for (const [i, m] of committee.entries()) {
      expect((await ledger.creditOf(taskId, m.address)).agreed).to.equal(i < 3 ? 1 : 0);
      expect((await ctx.scoreCommitments.lateCreditOf(taskId, m.address)).toArray()).to.deep.equal([0n, 0n]);
    }
  });

  it("too few reveals for a quorum: the update expires, whatever the silent members committed", async function () {
    const ctx = await loadFixture(commitRevealTask);
    const { ledger, taskId, update, committee, deadline, p } = ctx;
    for (const m of committee) await commit(ctx, m, PASS);
    await mineBefore(deadline);
    await reveal(ctx, committee[0], PASS);
    await reveal(ctx, committee[1], PASS);
    await mineBefore(Number(await ledger.scoreDeadline(taskId, update)));
    await expect(ledger.connect(p[1]).settleUpdates(taskId, [update])).to.emit(ledger, "UpdateExpired").withArgs(taskId, update, 1, 2);
    expect((await ledger.getUpdate(taskId, update)).status).to.equal(STATUS.Expired);
  });

  it("dag: the commit window counts from the submission; a reveal after the decision is credited only in time", async function () {
    const ctx = await loadFixture(dagCommitRevealTask);
    const { ledger, scoreCommitments, taskId, update, committee, deadline } = ctx;
    const submitted = Number((await ledger.getUpdate(taskId, update)).round);
    expect(deadline).to.equal(submitted + COMMIT_WINDOW);
    for (const m of committee) await commit(ctx, m, PASS);
    await mineBefore(deadline);
    for (const m of committee.slice(0, 3)) await reveal(ctx, m, PASS); // accepted
    // decided by the first three: the fourth's batch reveal goes to the commitments contract
    await expect(
      scoreCommitments.connect(committee[3]).revealScores(taskId, [update], [PASS], [salt(committee[3], update)])
    )
      .to.emit(scoreCommitments, "ScoreRevealedAfterDecision")
      .withArgs(taskId, update, committee[3].address, PASS, true)
      .and.to.not.emit(ledger, "ScoreSubmitted");
    expect((await ledger.getUpdate(taskId, update)).status).to.equal(STATUS.Accepted);
    expect((await scoreCommitments.lateCreditOf(taskId, committee[3].address)).toArray()).to.deep.equal([1n, 0n]);
    // after the scoring deadline the last commitment counts for nothing: refused alone, skipped in a batch
    const closes = Number(await ledger.scoreDeadline(taskId, update));
    await mineBefore(closes + 1);
    await expect(reveal(ctx, committee[4], PASS))
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsRevealClosed")
      .withArgs(taskId, update, closes);
    await expect(
      scoreCommitments.connect(committee[4]).revealScores(taskId, [update], [PASS], [salt(committee[4], update)])
    ).to.not.emit(scoreCommitments, "ScoreRevealedAfterDecision");
    expect((await scoreCommitments.lateCreditTotal(taskId)).toArray()).to.deep.equal([1n, 0n]);
    expect(await scoreCommitments.commitmentOf(taskId, update, committee[4].address)).to.not.equal(ethers.ZeroHash);
  });

  it("no credit moves after the task closed: a reveal then is refused alone and skipped in a batch", async function () {
    // the escrow pays by the credits from the close on: a late credit after some withdrew would
    // make the shares add up to more than the pool
    const ctx = await loadFixture(dagCommitRevealTask);
    const { ledger, scoreCommitments, publisher, taskId, update, committee, deadline } = ctx;
    for (const m of committee) await commit(ctx, m, PASS);
    await mineBefore(deadline);
    for (const m of committee.slice(0, 3)) await reveal(ctx, m, PASS); // accepted
    await ledger.connect(publisher).closeTask(taskId);
    const closes = Number(await ledger.scoreDeadline(taskId, update));
    expect(await ethers.provider.getBlockNumber()).to.be.lessThan(closes); // in time, but closed
    await expect(reveal(ctx, committee[3], PASS))
      .to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsRevealClosed")
      .withArgs(taskId, update, closes);
    await expect(
      scoreCommitments.connect(committee[4]).revealScores(taskId, [update], [PASS], [salt(committee[4], update)])
    ).to.not.emit(scoreCommitments, "ScoreRevealedAfterDecision");
    expect((await scoreCommitments.lateCreditTotal(taskId)).toArray()).to.deep.equal([0n, 0n]);
  });

  it("the reward counts an agreeing reveal after the decision; a disagreeing one, a mismatch or a silence earn nothing", async function () {
    // dag, committee of 5, reward 1000 (70% providers): m0-m2 reveal and accept; m3 reveals its
    // pass after the decision (credited), m4 its fail (counted against it: 1 of 1, above the
    // tolerance of 30%). Providers: p0 700. Validators: 300 over 4 agreeing scores, 75 each to
    // m0-m3, nothing to m4.
    const ctx = await loadFixture(dagCommitRevealTask);
    const { ledger, scoreCommitments, admin, publisher, taskId, update, committee, deadline, p } = ctx;
    const [m0, m1, m2, m3, m4] = committee;
    for (const m of [m0, m1, m2, m3]) await commit(ctx, m, PASS);
    await commit(ctx, m4, FAIL); // within the commit window of 10 blocks: the escrow comes after
    const escrow = await (await ethers.getContractFactory("RewardEscrow")).deploy(await ledger.getAddress());
    const token = await (await ethers.getContractFactory("TestToken")).deploy(admin.address);
    await token.connect(admin).mint(publisher.address, 1000n);
    await token.connect(publisher).approve(await escrow.getAddress(), 1000n);
    await escrow.connect(publisher).fund(taskId, await token.getAddress(), 1000n, 7000, 3000);
    await mineBefore(deadline);
    for (const m of [m0, m1, m2]) await reveal(ctx, m, PASS);
    await expect(reveal(ctx, m4, PASS)).to.be.revertedWithCustomError(scoreCommitments, "ScoreCommitmentsMismatch");
    await expect(reveal(ctx, m4, FAIL))
      .to.emit(scoreCommitments, "ScoreRevealedAfterDecision")
      .withArgs(taskId, update, m4.address, FAIL, false);
    await reveal(ctx, m3, PASS);
    expect((await scoreCommitments.lateCreditOf(taskId, m4.address)).toArray()).to.deep.equal([0n, 1n]);
    expect((await scoreCommitments.lateCreditTotal(taskId)).toArray()).to.deep.equal([1n, 1n]);
    await ledger.connect(publisher).closeTask(taskId);
    const owed = async (a) => Number(await escrow.owed(taskId, a.address));
    expect(await owed(p[0])).to.equal(700);
    expect(await Promise.all(committee.map(owed))).to.deep.equal([75, 75, 75, 75, 0]);
    await escrow.connect(m3).withdraw(taskId);
    expect(await token.balanceOf(m3.address)).to.equal(75n);
  });
});
