// RoundLedger: federation rounds — submission window, proposals checked against the accepted
// digest, attestations, finalization, next round, task completion.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, mineUpTo } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ROLE,
  FLOW,
  PASS,
  FAIL,
  INT64_MAX,
  INT64_MIN,
  h,
  cid,
  acceptedDigest,
  taskParams,
  publish,
  federationTask,
  dagTask,
  scoreAll,
  blockNumber,
  nextTxAt,
  deployLedger,
  submitUpdate,
} = require("./helpers/fixtures");

/** Round 1 with u0, u2 accepted (in the order u2, u0) and u1 rejected; submissions closed. */
async function decidedRound() {
  const ctx = await federationTask();
  const { ledger, taskId, p, v } = ctx;
  const [u0, u1, u2] = ["u0", "u1", "u2"].map(h);
  await submitUpdate(ledger, p[0], taskId, 1, u0, cid("u0"), 10);
  await submitUpdate(ledger, p[1], taskId, 1, u1, cid("u1"), 10);
  await submitUpdate(ledger, p[2], taskId, 1, u2, cid("u2"), 10);
  await scoreAll(ledger, taskId, u2, [v[4], v[3], v[2]], [PASS, PASS, PASS]);
  await scoreAll(ledger, taskId, u1, [v[0], v[1], v[2]], [FAIL, FAIL, FAIL]);
  await scoreAll(ledger, taskId, u0, [v[0], v[1], v[2]], [PASS, PASS, PASS]);
  return { ...ctx, u0, u1, u2, accepted: [u2, u0], result: h("aggregate-1") };
}

async function decidedRoundClosed() {
  const ctx = await decidedRound();
  await mineUpTo(ctx.submissionsClose);
  return ctx;
}

/** decidedRoundClosed + the correct aggregate proposed by the publisher. */
async function proposedRound() {
  const ctx = await decidedRoundClosed();
  await ctx.ledger.connect(ctx.publisher).proposeAggregate(ctx.taskId, 1, ctx.accepted, ctx.result, cid("aggregate-1"));
  return ctx;
}

/** Federation task with maxRounds = 2. */
async function twoRoundTask() {
  const ctx = await deployLedger();
  const committee = ctx.v.slice(0, 5);
  const params = taskParams(committee, { maxRounds: 2 });
  const taskId = await publish(ctx.ledger, ctx.publisher, params);
  for (const a of ctx.p) await ctx.ledger.connect(a).joinTask(taskId);
  return { ...ctx, committee, params, taskId };
}

/** Runs one round of `task`: p[0] submits, 3 passes accept it, closes, proposes, 3 attest. */
async function runRound(ctx, round, label) {
  const { ledger, taskId, p, v, publisher } = ctx;
  const u = h(`${label}-update`);
  await submitUpdate(ledger, p[0], taskId, round, u, cid(u), 10);
  await scoreAll(ledger, taskId, u, v.slice(0, 3), [PASS, PASS, PASS]);
  const r = await ledger.getRound(taskId, round);
  const t = await ledger.getTask(taskId);
  await mineUpTo(Number(r.startBlock) + Number(t.roundLength));
  const result = h(`${label}-result`);
  await ledger.connect(publisher).proposeAggregate(taskId, round, [u], result, cid(result));
  await ledger.connect(v[0]).attestAggregate(taskId, round, result, "");
  await ledger.connect(v[1]).attestAggregate(taskId, round, result, "");
  const tx = ledger.connect(v[2]).attestAggregate(taskId, round, result, "");
  return { u, result, tx };
}

describe("RoundLedger", function () {
  describe("proposeAggregate: when", function () {
    it("before the submission window closes: RoundLedgerRoundOpen(openUntil = submissions close)", async function () {
      const { ledger, taskId, publisher, accepted, result, submissionsClose } = await loadFixture(decidedRound);
      await nextTxAt(submissionsClose - 1);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, result, cid("r")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerRoundOpen")
        .withArgs(taskId, 1, submissionsClose, 0);
      // first block after the window: every update decided, so proposals open at once
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, result, cid("r"))).to.emit(
        ledger,
        "AggregateProposed"
      );
    });

    it("pending updates keep the round open until the scoring deadline, then block it until settled", async function () {
      const ctx = await loadFixture(decidedRound);
      const { ledger, taskId, p, v, publisher, submissionsClose, scoringCloses, u0, u2 } = ctx;
      const u3 = h("u3");
      await submitUpdate(ledger, p[3], taskId, 1, u3, cid("u3"), 10);
      await scoreAll(ledger, taskId, u3, [v[0], v[1], v[2]], [PASS, PASS, FAIL]); // 2 pass, 1 fail: pending
      await mineUpTo(submissionsClose);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, [u2, u0], h("r"), cid("r")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerRoundOpen")
        .withArgs(taskId, 1, scoringCloses, 1);
      await mineUpTo(scoringCloses);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, [u2, u0], h("r"), cid("r")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerPendingUpdates")
        .withArgs(taskId, 1, 1);
      // 2 of 3 pass: the lower median passes, but no more than f = 2 scores do: rejected
      await expect(ledger.connect(v[4]).settleUpdates(taskId, [u3]))
        .to.emit(ledger, "UpdateRejected")
        .withArgs(taskId, u3, 1, 2, 3);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, [u2, u0, u3], h("r"), cid("r")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerIncludedMismatch")
        .withArgs(taskId, 1, acceptedDigest([u2, u0]), acceptedDigest([u2, u0, u3]));
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, [u2, u0], h("r"), cid("r"))).to.emit(
        ledger,
        "AggregateProposed"
      );
    });

    it("the last pending update decided by a score opens proposals before the scoring deadline", async function () {
      const ctx = await loadFixture(decidedRound);
      const { ledger, taskId, p, v, publisher, submissionsClose, scoringCloses, u0, u2 } = ctx;
      await submitUpdate(ledger, p[3], taskId, 1, h("u3"), cid("u3"), 10);
      await mineUpTo(submissionsClose);
      await scoreAll(ledger, taskId, h("u3"), [v[0], v[1], v[2]], [FAIL, FAIL, FAIL]);
      expect(await blockNumber()).to.be.lessThan(scoringCloses);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, [u2, u0], h("r"), cid("r"))).to.emit(
        ledger,
        "AggregateProposed"
      );
    });
  });

  describe("proposeAggregate: what", function () {
    it("emits the receipt: inputs, rule, parameter, result", async function () {
      const { ledger, taskId, publisher, accepted, result, params } = await loadFixture(decidedRoundClosed);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, result, cid("aggregate-1")))
        .to.emit(ledger, "AggregateProposed")
        .withArgs(taskId, 1, result, publisher.address, cid("aggregate-1"), accepted, params.aggregationRule, params.numByzantine);
      expect(await ledger.getProposal(taskId, 1, result)).to.deep.equal([publisher.address, 0n]);
      expect(await ledger.getProposal(taskId, 1, h("never"))).to.deep.equal([ethers.ZeroAddress, 0n]);
      expect((await ledger.getRound(taskId, 1)).finalized).to.equal(false);
    });

    it("wrong included list: RoundLedgerIncludedMismatch (missing, extra, rejected, wrong order, empty)", async function () {
      const { ledger, taskId, publisher, u0, u1, u2, result } = await loadFixture(decidedRoundClosed);
      const expected = acceptedDigest([u2, u0]);
      expect((await ledger.getRound(taskId, 1)).acceptedDigest).to.equal(expected);
      for (const given of [[u0, u2], [u2], [u0], [u2, u0, u1], [u2, u1, u0], [u2, u0, u0], [], [u2, u0, h("x")]]) {
        await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, given, result, cid("r")))
          .to.be.revertedWithCustomError(ledger, "RoundLedgerIncludedMismatch")
          .withArgs(taskId, 1, expected, acceptedDigest(given));
      }
    });

    it("the same result again adds a CID; one proposal per account and round; zero result", async function () {
      const { ledger, taskId, publisher, p, accepted, result } = await loadFixture(proposedRound);
      await expect(ledger.connect(p[3]).proposeAggregate(taskId, 1, accepted, result, cid("other cid")))
        .to.emit(ledger, "AggregateCidAdded")
        .withArgs(taskId, 1, result, p[3].address, cid("other cid"))
        .and.not.to.emit(ledger, "AggregateProposed");
      expect(await ledger.getProposal(taskId, 1, result)).to.deep.equal([publisher.address, 0n]);
      for (const [who, hash] of [[publisher, h("another")], [p[3], result]]) {
        await expect(ledger.connect(who).proposeAggregate(taskId, 1, accepted, hash, cid("again")))
          .to.be.revertedWithCustomError(ledger, "RoundLedgerAlreadyProposed")
          .withArgs(taskId, 1, who.address);
      }
      await expect(ledger.connect(p[0]).proposeAggregate(taskId, 1, accepted, ethers.ZeroHash, cid("r")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerInvalidProposal")
        .withArgs(taskId, 1, ethers.ZeroHash);
    });

    it("wrong round, unknown task, dag task, non-participants", async function () {
      const { ledger, taskId, publisher, accepted, result, admin, outsider } = await loadFixture(decidedRoundClosed);
      for (const round of [0, 2]) {
        await expect(ledger.connect(publisher).proposeAggregate(taskId, round, accepted, result, cid("r")))
          .to.be.revertedWithCustomError(ledger, "RoundLedgerNotCurrentRound")
          .withArgs(taskId, round, 1);
      }
      await expect(ledger.connect(publisher).proposeAggregate(9, 1, accepted, result, cid("r")))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTask")
        .withArgs(9);
      for (const a of [admin, outsider]) {
        await expect(ledger.connect(a).proposeAggregate(taskId, 1, accepted, result, cid("r")))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(a.address, ROLE.NONE);
      }
      const dag = await dagTask();
      await expect(dag.ledger.connect(dag.publisher).proposeAggregate(dag.taskId, 0, [], result, cid("r")))
        .to.be.revertedWithCustomError(dag.ledger, "UpdateLedgerWrongFlow")
        .withArgs(dag.taskId, FLOW.DAG);
      await expect(dag.ledger.connect(dag.v[0]).attestAggregate(dag.taskId, 0, result, ""))
        .to.be.revertedWithCustomError(dag.ledger, "UpdateLedgerWrongFlow")
        .withArgs(dag.taskId, FLOW.DAG);
    });

    it("a task closed by its publisher takes no proposals", async function () {
      const { ledger, taskId, publisher, accepted, result, v } = await loadFixture(proposedRound);
      await ledger.connect(publisher).closeTask(taskId);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, h("other"), cid("r")))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(taskId);
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 1, result, ""))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(taskId);
    });
  });

  describe("attestAggregate", function () {
    it("attest unknown proposal", async function () {
      const { ledger, taskId, v } = await loadFixture(proposedRound);
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 1, h("unknown"), ""))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerUnknownProposal")
        .withArgs(taskId, 1, h("unknown"));
    });

    it("double attest, on the same proposal or another one", async function () {
      const { ledger, taskId, v, p, publisher, accepted, result } = await loadFixture(proposedRound);
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 1, result, cid("v0 copy")))
        .to.emit(ledger, "AggregateAttested")
        .withArgs(taskId, 1, result, v[0].address, cid("v0 copy"));
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 1, result, ""))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerAlreadyAttested")
        .withArgs(taskId, 1, v[0].address);
      await ledger.connect(p[0]).proposeAggregate(taskId, 1, accepted, h("other"), cid("other"));
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 1, h("other"), ""))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerAlreadyAttested")
        .withArgs(taskId, 1, v[0].address);
      expect(await ledger.getProposal(taskId, 1, result)).to.deep.equal([publisher.address, 1n]);
      expect(await ledger.getProposal(taskId, 1, h("other"))).to.deep.equal([p[0].address, 0n]);
      expect((await ledger.getRound(taskId, 1)).attestedMask).to.equal(1);
    });

    it("only committee validators attest", async function () {
      const { ledger, taskId, v, p, admin, outsider, publisher, result } = await loadFixture(proposedRound);
      await expect(ledger.connect(v[5]).attestAggregate(taskId, 1, result, ""))
        .to.be.revertedWithCustomError(ledger, "LedgerNotCommitteeMember")
        .withArgs(taskId, v[5].address);
      for (const a of [p[0], admin, outsider, publisher]) {
        await expect(ledger.connect(a).attestAggregate(taskId, 1, result, ""))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(a.address, ROLE.VALIDATOR);
      }
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 2, result, ""))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerNotCurrentRound")
        .withArgs(taskId, 2, 1);
    });

    it("a wrong proposal attested by liars (< k) does not finalize; the correct one does and supersedes it", async function () {
      const { ledger, taskId, v, p, accepted, result, publisher } = await loadFixture(proposedRound);
      const wrong = h("poisoned aggregate");
      const [liar1, liar2] = [v[3], v[4]];
      await ledger.connect(p[1]).proposeAggregate(taskId, 1, accepted, wrong, cid("wrong"));
      await ledger.connect(liar1).attestAggregate(taskId, 1, wrong, "");
      await expect(ledger.connect(liar2).attestAggregate(taskId, 1, wrong, "")).to.not.emit(ledger, "RoundFinalized");
      expect(await ledger.getProposal(taskId, 1, wrong)).to.deep.equal([p[1].address, 2n]);
      expect((await ledger.getRound(taskId, 1)).finalized).to.equal(false);
      expect((await ledger.getTask(taskId)).currentRound).to.equal(1);

      await ledger.connect(v[0]).attestAggregate(taskId, 1, result, "");
      await expect(ledger.connect(v[1]).attestAggregate(taskId, 1, result, "")).to.not.emit(ledger, "RoundFinalized");
      const tx = ledger.connect(v[2]).attestAggregate(taskId, 1, result, "");
      await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, 1, result, 2);
      await expect(tx).to.not.emit(ledger, "TaskClosed");
      const finalizedAt = (await (await tx).wait()).blockNumber;

      const r1 = await ledger.getRound(taskId, 1);
      expect(r1.finalized).to.equal(true);
      expect(r1.resultHash).to.equal(result);
      expect(r1.attestedMask).to.equal(0b11111);
      expect(r1.acceptedCount).to.equal(2);
      expect(await ledger.getProposal(taskId, 1, result)).to.deep.equal([publisher.address, 3n]);
      expect(await ledger.getProposal(taskId, 1, wrong)).to.deep.equal([p[1].address, 2n]);

      // next round: base model = result, opened in the finalizing block, fresh digest
      const t = await ledger.getTask(taskId);
      expect(t.currentRound).to.equal(2);
      expect(t.globalModelHash).to.equal(result);
      const r2 = await ledger.getRound(taskId, 2);
      expect(r2.baseModelHash).to.equal(result);
      expect(r2.startBlock).to.equal(finalizedAt);
      expect([r2.pendingCount, r2.acceptedCount, r2.attestedMask, r2.finalized, r2.acceptedDigest, r2.resultHash]).to.deep.equal([
        0n,
        0n,
        0n,
        false,
        ethers.ZeroHash,
        ethers.ZeroHash,
      ]);
      // the superseded proposal is dead: its round is over
      await expect(ledger.connect(v[5]).attestAggregate(taskId, 1, wrong, ""))
        .to.be.revertedWithCustomError(ledger, "LedgerNotCommitteeMember")
        .withArgs(taskId, v[5].address);
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 1, wrong, ""))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerNotCurrentRound")
        .withArgs(taskId, 1, 2);
    });
  });

  describe("rounds without accepted updates", function () {
    it("finalize at once with the base model when nothing was submitted", async function () {
      const { ledger, taskId, p, params, submissionsClose } = await loadFixture(federationTask);
      await mineUpTo(submissionsClose);
      const base = params.initialWeightsHash;
      await expect(ledger.connect(p[0]).proposeAggregate(taskId, 1, [], h("invented"), cid("x")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerInvalidProposal")
        .withArgs(taskId, 1, h("invented"));
      await expect(ledger.connect(p[0]).proposeAggregate(taskId, 1, [h("x")], base, cid("x")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerIncludedMismatch")
        .withArgs(taskId, 1, ethers.ZeroHash, acceptedDigest([h("x")]));
      const tx = ledger.connect(p[0]).proposeAggregate(taskId, 1, [], base, cid("initial"));
      await expect(tx)
        .to.emit(ledger, "AggregateProposed")
        .withArgs(taskId, 1, base, p[0].address, cid("initial"), [], params.aggregationRule, params.numByzantine);
      await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, 1, base, 0);
      const t = await ledger.getTask(taskId);
      expect(t.currentRound).to.equal(2);
      expect(t.globalModelHash).to.equal(base);
      expect((await ledger.getRound(taskId, 2)).baseModelHash).to.equal(base);
    });

    it("finalize at once with the base model when every update was rejected", async function () {
      const { ledger, taskId, p, v, params, submissionsClose } = await loadFixture(federationTask);
      await submitUpdate(ledger, p[0], taskId, 1, h("bad"), cid("bad"), 10);
      await scoreAll(ledger, taskId, h("bad"), v.slice(0, 3), [FAIL, INT64_MIN, 0]);
      await mineUpTo(submissionsClose);
      await expect(ledger.connect(v[4]).proposeAggregate(taskId, 1, [], params.initialWeightsHash, cid("initial")))
        .to.emit(ledger, "RoundFinalized")
        .withArgs(taskId, 1, params.initialWeightsHash, 0);
    });
  });

  describe("across rounds", function () {
    it("the next round's base model is the result; round-1 content and rounds are refused in round 2", async function () {
      const ctx = await loadFixture(twoRoundTask);
      const { ledger, taskId, p, v, publisher } = ctx;
      const { u, result, tx } = await runRound(ctx, 1, "r1");
      await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, 1, result, 1);
      expect((await ledger.getTask(taskId)).globalModelHash).to.equal(result);
      expect((await ledger.getRound(taskId, 2)).baseModelHash).to.equal(result);
      // same provider may submit again in round 2, but not the old bytes nor for round 1
      await expect(submitUpdate(ledger, p[0], taskId, 2, u, cid("again"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerDuplicateContent")
        .withArgs(taskId, u);
      await expect(submitUpdate(ledger, p[0], taskId, 1, h("new"), cid("new"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerWrongRound")
        .withArgs(taskId, 1, 2);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 1, [u], h("late"), cid("late")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerNotCurrentRound")
        .withArgs(taskId, 1, 2);
      await submitUpdate(ledger, p[0], taskId, 2, h("new"), cid("new"), 10);
      expect(await ledger.participation(taskId, p[0].address)).to.deep.equal([true, 2n]);
      // the validators may attest again in the new round
      expect((await ledger.getRound(taskId, 2)).attestedMask).to.equal(0);
      await scoreAll(ledger, taskId, h("new"), v.slice(2, 5), [PASS, INT64_MAX, PASS]);
      expect((await ledger.getUpdate(taskId, h("new"))).round).to.equal(2);
    });

    it("finalizing the last round closes the task (TaskClosed) with the final model", async function () {
      const ctx = await loadFixture(twoRoundTask);
      const { ledger, taskId, p, v, publisher } = ctx;
      await (await runRound(ctx, 1, "r1")).tx;
      const { result, tx } = await runRound(ctx, 2, "r2");
      await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, 2, result, 1);
      await expect(tx).to.emit(ledger, "TaskClosed").withArgs(taskId, v[2].address, result);
      const t = await ledger.getTask(taskId);
      expect(t.closed).to.equal(true);
      expect(t.currentRound).to.equal(2);
      expect(t.globalModelHash).to.equal(result);
      expect((await ledger.getRound(taskId, 3)).startBlock).to.equal(0);
      await expect(submitUpdate(ledger, p[1], taskId, 2, h("after"), cid("after"), 10))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(taskId);
      await expect(submitUpdate(ledger, p[1], taskId, 3, h("after"), cid("after"), 10))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(taskId);
      await expect(ledger.connect(publisher).proposeAggregate(taskId, 2, [], h("x"), cid("x")))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(taskId);
      await expect(ledger.connect(v[3]).attestAggregate(taskId, 2, result, ""))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(taskId);
      await expect(ledger.connect(publisher).closeTask(taskId))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(taskId);
    });

    it("an empty last round closes the task with the base model, named by its proposer", async function () {
      const { ledger, publisher, v, p } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5), { maxRounds: 1 });
      const taskId = await publish(ledger, publisher, params);
      const r = await ledger.getRound(taskId, 1);
      await mineUpTo(Number(r.startBlock) + params.roundLength);
      const tx = ledger.connect(p[2]).proposeAggregate(taskId, 1, [], params.initialWeightsHash, cid("initial"));
      await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, 1, params.initialWeightsHash, 0);
      await expect(tx).to.emit(ledger, "TaskClosed").withArgs(taskId, p[2].address, params.initialWeightsHash);
      expect((await ledger.getTask(taskId)).closed).to.equal(true);
    });

    it("several rounds in a row keep a replayable history", async function () {
      const { ledger, publisher, v, p } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5), { maxRounds: 4 });
      const taskId = await publish(ledger, publisher, params);
      for (const a of p) await ledger.connect(a).joinTask(taskId);
      const ctx = { ledger, taskId, p, v, publisher };
      const results = [];
      for (let round = 1; round <= 4; ++round) {
        const { result, tx } = await runRound(ctx, round, `hist-${round}`);
        await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, round, result, 1);
        results.push(result);
      }
      for (let round = 1; round <= 4; ++round) {
        const r = await ledger.getRound(taskId, round);
        expect(r.resultHash).to.equal(results[round - 1]);
        expect(r.baseModelHash).to.equal(round === 1 ? params.initialWeightsHash : results[round - 2]);
      }
      expect((await ledger.getTask(taskId)).closed).to.equal(true);
      const closed = await ledger.queryFilter(ledger.filters.TaskClosed(taskId));
      expect(closed.length).to.equal(1);
      expect(closed[0].args.finalModelHash).to.equal(results[3]);
    });
  });
});
