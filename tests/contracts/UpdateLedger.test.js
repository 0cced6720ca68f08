// UpdateLedger: joining, federation and dag submissions, committee scores and decisions (B4).
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, mine, mineUpTo } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ROLE,
  FLOW,
  STATUS,
  INT64_MAX,
  INT64_MIN,
  THRESHOLD,
  PASS,
  FAIL,
  ROUND_LENGTH,
  SCORE_WINDOW,
  h,
  cid,
  dagParams,
  taskParams,
  publish,
  federationTask,
  federationTaskWithDual,
  dagTask,
  deployLedger,
  scoreAll,
  blockNumber,
  nextTxAt,
  submitUpdate,
  submitDagUpdate,
  commitFor,
} = require("./helpers/fixtures");

/** Federation task with one pending update h("u") by p[0]. */
async function pendingUpdate() {
  const ctx = await federationTask();
  const tx = await submitUpdate(ctx.ledger, ctx.p[0], ctx.taskId, 1, h("u"), cid("u"), 100);
  return { ...ctx, u: h("u"), submittedBlock: (await tx.wait()).blockNumber };
}

/** Dag task with two accepted updates a, b, one rejected r and one pending q. */
async function dagWithHistory() {
  const ctx = await dagTask();
  const { ledger, taskId, p, v, params } = ctx;
  const init = params.initialWeightsHash;
  const [a, b, r, q] = ["a", "b", "r", "q"].map(h);
  await submitDagUpdate(ledger, p[0], taskId, [init], a, cid("a"), 10);
  await submitDagUpdate(ledger, p[1], taskId, [init], b, cid("b"), 10);
  await submitDagUpdate(ledger, p[2], taskId, [init], r, cid("r"), 10);
  await submitDagUpdate(ledger, p[3], taskId, [init], q, cid("q"), 10);
  for (const u of [a, b]) await scoreAll(ledger, taskId, u, v.slice(0, 3), [PASS, PASS, PASS]);
  await scoreAll(ledger, taskId, r, v.slice(0, 3), [FAIL, FAIL, FAIL]);
  return { ...ctx, init, a, b, r, q };
}

describe("UpdateLedger", function () {
  describe("joinTask", function () {
    it("records participation once and emits ProviderJoined", async function () {
      const { ledger, publisher, p, v } = await loadFixture(federationTask);
      const id = await publish(ledger, publisher, taskParams(v.slice(0, 5)));
      expect(await ledger.participation(id, p[0].address)).to.deep.equal([false, 0n]);
      await expect(ledger.connect(p[0]).joinTask(id)).to.emit(ledger, "ProviderJoined").withArgs(id, p[0].address);
      expect(await ledger.participation(id, p[0].address)).to.deep.equal([true, 0n]);
      await expect(ledger.connect(p[0]).joinTask(id))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerAlreadyJoined")
        .withArgs(id, p[0].address);
    });

    it("reverts for an unknown task and for non-providers", async function () {
      const { ledger, p, v, outsider, publisher } = await loadFixture(federationTask);
      await expect(ledger.connect(p[0]).joinTask(99)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(99);
      for (const a of [v[0], outsider, publisher]) {
        await expect(ledger.connect(a).joinTask(1))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(a.address, ROLE.PROVIDER);
      }
    });
  });

  describe("submitUpdate (federation)", function () {
    it("stores a pending update, emits UpdateSubmitted and counts it in the round", async function () {
      const { ledger, p, taskId } = await loadFixture(federationTask);
      await expect(submitUpdate(ledger, p[0], taskId, 1, h("u"), cid("u"), 1234))
        .to.emit(ledger, "UpdateSubmitted")
        .withArgs(taskId, h("u"), p[0].address, 1, 1234, cid("u"), []);
      const u = await ledger.getUpdate(taskId, h("u"));
      expect(u.provider).to.equal(p[0].address);
      expect(u.round).to.equal(1);
      expect(u.status).to.equal(STATUS.Pending);
      expect([u.passCount, u.scoreCount, u.scoredMask]).to.deep.equal([0n, 0n, 0n]);
      expect(await ledger.participation(taskId, p[0].address)).to.deep.equal([true, 1n]);
      expect((await ledger.getRound(taskId, 1)).pendingCount).to.equal(1);
    });

    it("duplicate submission: the same provider twice in a round", async function () {
      const { ledger, p, taskId } = await loadFixture(federationTask);
      await submitUpdate(ledger, p[0], taskId, 1, h("u"), cid("u"), 10);
      await expect(submitUpdate(ledger, p[0], taskId, 1, h("u2"), cid("u2"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerAlreadySubmitted")
        .withArgs(taskId, 1, p[0].address);
    });

    it("duplicate content: the same content hash twice (C3)", async function () {
      // A replay of the round's base model is left to the committee (C1): it scores no better
      // than the base model; checking it on chain would cost the hot path a cold read.
      const { ledger, p, taskId } = await loadFixture(federationTask);
      await submitUpdate(ledger, p[0], taskId, 1, h("u"), cid("u"), 10);
      await expect(submitUpdate(ledger, p[1], taskId, 1, h("u"), cid("copy"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerDuplicateContent")
        .withArgs(taskId, h("u"));
    });

    it("zero content hash or zero samples", async function () {
      const { ledger, p, taskId } = await loadFixture(federationTask);
      await expect(submitUpdate(ledger, p[0], taskId, 1, ethers.ZeroHash, cid("z"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidUpdate")
        .withArgs(taskId, ethers.ZeroHash, 10);
      await expect(submitUpdate(ledger, p[0], taskId, 1, h("u"), cid("u"), 0))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidUpdate")
        .withArgs(taskId, h("u"), 0);
    });

    it("not joined, wrong round, unknown task, dag task", async function () {
      const { ledger, publisher, consortium, admin, p, v, taskId, signers } = await loadFixture(federationTask);
      const fresh = signers[16];
      await consortium.connect(admin).grantRole(ROLE.PROVIDER, fresh.address);
      await expect(submitUpdate(ledger, fresh, taskId, 1, h("u"), cid("u"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerNotJoined")
        .withArgs(taskId, fresh.address);
      for (const round of [0, 2]) {
        await expect(submitUpdate(ledger, p[0], taskId, round, h("u"), cid("u"), 10))
          .to.be.revertedWithCustomError(ledger, "UpdateLedgerWrongRound")
          .withArgs(taskId, round, 1);
      }
      await expect(submitUpdate(ledger, p[0], 7, 1, h("u"), cid("u"), 10))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTask")
        .withArgs(7);
      const dagId = await publish(ledger, publisher, dagParams(v.slice(0, 5)));
      await ledger.connect(p[0]).joinTask(dagId);
      await expect(submitUpdate(ledger, p[0], dagId, 0, h("u"), cid("u"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerWrongFlow")
        .withArgs(dagId, FLOW.DAG);
    });

    it("submission window: open through startBlock + roundLength - 1, closed from startBlock + roundLength", async function () {
      const { ledger, p, taskId, submissionsClose } = await loadFixture(federationTask);
      for (const [who, u] of [[p[0], "last"], [p[1], "late"]]) await commitFor(ledger, who, taskId, h(u));
      await nextTxAt(submissionsClose - 1);
      await submitUpdate(ledger, p[0], taskId, 1, h("last"), cid("last"), 10);
      expect(await blockNumber()).to.equal(submissionsClose - 1);
      await expect(submitUpdate(ledger, p[1], taskId, 1, h("late"), cid("late"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerSubmissionClosed")
        .withArgs(taskId, 1, submissionsClose);
    });
  });

  describe("scores and the committee decision", function () {
    it("a score marks the member's bit and emits ScoreSubmitted with the raw value", async function () {
      const { ledger, taskId, u, v } = await loadFixture(pendingUpdate);
      await expect(ledger.connect(v[3]).submitScore(taskId, u, -42))
        .to.emit(ledger, "ScoreSubmitted")
        .withArgs(taskId, u, v[3].address, -42);
      const info = await ledger.getUpdate(taskId, u);
      expect(info.scoredMask).to.equal(1 << 3);
      expect(info.scoreCount).to.equal(1);
      expect(info.passCount).to.equal(0);
      expect(info.status).to.equal(STATUS.Pending);
    });

    it("accepted as soon as a majority of the committee (3 of 5) clears the threshold", async function () {
      const { ledger, taskId, u, v } = await loadFixture(pendingUpdate);
      await scoreAll(ledger, taskId, u, [v[0], v[1], v[2], v[3]], [FAIL, THRESHOLD, FAIL, INT64_MAX]);
      expect((await ledger.getUpdate(taskId, u)).status).to.equal(STATUS.Pending);
      await expect(ledger.connect(v[4]).submitScore(taskId, u, THRESHOLD + 1n))
        .to.emit(ledger, "UpdateAccepted")
        .withArgs(taskId, u, 1, 3, 5);
      const r = await ledger.getRound(taskId, 1);
      expect(r.pendingCount).to.equal(0);
      expect(r.acceptedCount).to.equal(1);
      const coder = ethers.AbiCoder.defaultAbiCoder();
      expect(r.acceptedDigest).to.equal(ethers.keccak256(coder.encode(["bytes32", "bytes32"], [ethers.ZeroHash, u])));
    });

    it("rejected as soon as a majority can no longer clear it (3 fails of 5)", async function () {
      const { ledger, taskId, u, v } = await loadFixture(pendingUpdate);
      await scoreAll(ledger, taskId, u, [v[0], v[1]], [THRESHOLD - 1n, INT64_MIN]);
      await expect(ledger.connect(v[2]).submitScore(taskId, u, 0))
        .to.emit(ledger, "UpdateRejected")
        .withArgs(taskId, u, 1, 0, 3);
      const r = await ledger.getRound(taskId, 1);
      expect([r.pendingCount, r.acceptedCount, r.acceptedDigest]).to.deep.equal([0n, 0n, ethers.ZeroHash]);
    });

    it("B4: double score", async function () {
      const { ledger, taskId, u, v } = await loadFixture(pendingUpdate);
      await ledger.connect(v[0]).submitScore(taskId, u, PASS);
      await expect(ledger.connect(v[0]).submitScore(taskId, u, FAIL))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerAlreadyScored")
        .withArgs(taskId, u, v[0].address);
      await expect(ledger.connect(v[1]).submitScores(taskId, [u, u], [PASS, PASS]))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerAlreadyScored")
        .withArgs(taskId, u, v[1].address);
    });

    it("B4: no self score — a committee member (PROVIDER and VALIDATOR) cannot join the task", async function () {
      const { ledger, taskId, dual, v } = await loadFixture(federationTaskWithDual);
      await expect(ledger.connect(dual).joinTask(taskId))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerCommitteeMember")
        .withArgs(taskId, dual.address);
      await expect(submitUpdate(ledger, dual, taskId, 1, h("mine"), cid("mine"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerNotJoined")
        .withArgs(taskId, dual.address);
      expect((await ledger.participation(taskId, dual.address))[0]).to.equal(false);
      // it still scores the others' updates
      const { p } = await loadFixture(federationTaskWithDual);
      await submitUpdate(ledger, p[0], taskId, 1, h("theirs"), cid("theirs"), 10);
      await ledger.connect(dual).submitScore(taskId, h("theirs"), PASS);
      expect((await ledger.getUpdate(taskId, h("theirs"))).scoreCount).to.equal(1);
      void v;
    });

    it("B4: non-member score (validator off the committee, provider, outsider)", async function () {
      const { ledger, taskId, u, v, p, outsider, admin, publisher } = await loadFixture(pendingUpdate);
      await expect(ledger.connect(v[5]).submitScore(taskId, u, PASS))
        .to.be.revertedWithCustomError(ledger, "LedgerNotCommitteeMember")
        .withArgs(taskId, v[5].address);
      for (const a of [p[1], outsider, admin, publisher]) {
        await expect(ledger.connect(a).submitScore(taskId, u, PASS))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(a.address, ROLE.VALIDATOR);
      }
    });

    it("B4: late score (after the scoring deadline)", async function () {
      const { ledger, taskId, u, v, scoringCloses } = await loadFixture(pendingUpdate);
      expect(await ledger.scoreDeadline(taskId, u)).to.equal(scoringCloses);
      await nextTxAt(scoringCloses - 1);
      await ledger.connect(v[0]).submitScore(taskId, u, PASS); // last block that counts
      await mine(5);
      await expect(ledger.connect(v[1]).submitScore(taskId, u, PASS))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoringClosed")
        .withArgs(taskId, u, scoringCloses);
    });

    it("B4: unknown update, unknown task", async function () {
      const { ledger, taskId, v } = await loadFixture(pendingUpdate);
      await expect(ledger.connect(v[0]).submitScore(taskId, h("nope"), PASS))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerUnknownUpdate")
        .withArgs(taskId, h("nope"));
      await expect(ledger.scoreDeadline(taskId, h("nope")))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerUnknownUpdate")
        .withArgs(taskId, h("nope"));
      await expect(ledger.connect(v[0]).submitScore(42, h("u"), PASS))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTask")
        .withArgs(42);
      expect((await ledger.getUpdate(taskId, h("nope"))).status).to.equal(STATUS.None);
    });

    it("a decided update takes no more scores", async function () {
      const { ledger, taskId, u, v } = await loadFixture(pendingUpdate);
      await scoreAll(ledger, taskId, u, v.slice(0, 3), [PASS, PASS, PASS]);
      await expect(ledger.connect(v[3]).submitScore(taskId, u, PASS))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerAlreadyDecided")
        .withArgs(taskId, u, STATUS.Accepted);
      await expect(ledger.connect(v[0]).submitScore(taskId, u, PASS))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerAlreadyDecided")
        .withArgs(taskId, u, STATUS.Accepted);
    });

    it("a batch skips updates decided meanwhile instead of failing on the race", async function () {
      const { ledger, taskId, u, v, p } = await loadFixture(pendingUpdate);
      await submitUpdate(ledger, p[1], taskId, 1, h("other"), cid("other"), 10);
      await scoreAll(ledger, taskId, u, v.slice(0, 3), [PASS, PASS, PASS]); // u decided
      await expect(ledger.connect(v[3]).submitScores(taskId, [u, h("other")], [PASS, PASS]))
        .to.emit(ledger, "ScoreSubmitted")
        .withArgs(taskId, h("other"), v[3].address, PASS);
      expect((await ledger.getUpdate(taskId, u)).scoreCount).to.equal(3);
      expect((await ledger.getUpdate(taskId, h("other"))).scoreCount).to.equal(1);
    });

    it("submitScores scores a batch atomically and checks lengths", async function () {
      const { ledger, taskId, p, v } = await loadFixture(federationTask);
      const us = [0, 1, 2].map((i) => h(`b${i}`));
      for (let i = 0; i < 3; ++i) await submitUpdate(ledger, p[i], taskId, 1, us[i], cid(`b${i}`), 5);
      await expect(ledger.connect(v[0]).submitScores(taskId, us, [PASS, PASS]))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerLengthMismatch")
        .withArgs(3, 2);
      await expect(ledger.connect(v[0]).submitScores(taskId, [...us, h("nope")], [PASS, PASS, PASS, PASS]))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerUnknownUpdate")
        .withArgs(taskId, h("nope"));
      expect((await ledger.getUpdate(taskId, us[0])).scoreCount).to.equal(0); // nothing stuck
      await expect(ledger.connect(v[5]).submitScores(taskId, us, [PASS, PASS, PASS]))
        .to.be.revertedWithCustomError(ledger, "LedgerNotCommitteeMember")
        .withArgs(taskId, v[5].address);
      await expect(ledger.connect(p[0]).submitScores(taskId, us, [PASS, PASS, PASS]))
        .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
        .withArgs(p[0].address, ROLE.VALIDATOR);
      await expect(ledger.connect(v[0]).submitScores(99, [], []))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTask")
        .withArgs(99);
      await ledger.connect(v[0]).submitScores(taskId, us, [PASS, FAIL, PASS]);
      await ledger.connect(v[1]).submitScores(taskId, us, [PASS, FAIL, FAIL]);
      const tx = ledger.connect(v[2]).submitScores(taskId, us, [PASS, FAIL, FAIL]);
      await expect(tx).to.emit(ledger, "UpdateAccepted").withArgs(taskId, us[0], 1, 3, 3);
      await expect(tx).to.emit(ledger, "UpdateRejected").withArgs(taskId, us[1], 1, 0, 3);
      expect((await ledger.getUpdate(taskId, us[2])).status).to.equal(STATUS.Pending);
      expect((await ledger.getUpdate(taskId, us[2])).passCount).to.equal(1);
    });
  });

  describe("settleUpdates: the decision at the scoring deadline", function () {
    async function pendingWithScores(scores, overrides = {}) {
      const ctx = await federationTask(overrides);
      const { ledger, taskId, p, v } = ctx;
      await submitUpdate(ledger, p[0], taskId, 1, h("s"), cid("s"), 10);
      await scoreAll(ledger, taskId, h("s"), v.slice(0, scores.length), scores);
      await mineUpTo(ctx.scoringCloses);
      return ctx;
    }

    const cases = [
      // [scores received, accepted?, why]
      [[PASS, PASS, FAIL], false, "3 of 5 = quorum, lower median passes, but only 2 = f pass"],
      [[PASS, FAIL, FAIL, PASS], false, "4 scores, 2 pass: lower median is a failing score"],
      [[PASS, INT64_MIN, FAIL, PASS].slice(0, 3), false, "3 scores, 1 pass"],
      [[THRESHOLD, THRESHOLD, INT64_MIN, INT64_MIN].slice(0, 4), false, "4 scores, 2 exactly at the threshold"],
    ];
    for (const [scores, accepted, why] of cases) {
      it(`${accepted ? "accepts" : "rejects"}: ${why}`, async function () {
        const { ledger, taskId, publisher } = await pendingWithScores(scores);
        const passes = scores.filter((s) => s >= THRESHOLD).length;
        await expect(ledger.connect(publisher).settleUpdates(taskId, [h("s")]))
          .to.emit(ledger, accepted ? "UpdateAccepted" : "UpdateRejected")
          .withArgs(taskId, h("s"), 1, passes, scores.length);
        expect((await ledger.getUpdate(taskId, h("s"))).status).to.equal(accepted ? STATUS.Accepted : STATUS.Rejected);
        const r = await ledger.getRound(taskId, 1);
        expect(r.pendingCount).to.equal(0);
        expect(r.acceptedCount).to.equal(accepted ? 1 : 0);
      });
    }

    for (const scores of [[PASS, PASS], []]) {
      it(`fewer scores than the quorum (${scores.length}): expired, not rejected (no extension)`, async function () {
        const { ledger, taskId, publisher } = await pendingWithScores(scores);
        await expect(ledger.connect(publisher).settleUpdates(taskId, [h("s")]))
          .to.emit(ledger, "UpdateExpired")
          .withArgs(taskId, h("s"), 1, scores.length)
          .and.not.to.emit(ledger, "UpdateRejected");
        expect((await ledger.getUpdate(taskId, h("s"))).status).to.equal(STATUS.Expired);
        const r = await ledger.getRound(taskId, 1);
        expect([r.pendingCount, r.acceptedCount]).to.deep.equal([0n, 0n]);
      });
    }

    it("accepts with f = 1: 3 of 5 = quorum, lower median passes and 2 > f pass", async function () {
      const { ledger, taskId, publisher } = await pendingWithScores([PASS, PASS, FAIL], { maxFaultyValidators: 1 });
      await expect(ledger.connect(publisher).settleUpdates(taskId, [h("s")]))
        .to.emit(ledger, "UpdateAccepted")
        .withArgs(taskId, h("s"), 1, 2, 3);
      const r = await ledger.getRound(taskId, 1);
      expect([r.pendingCount, r.acceptedCount]).to.deep.equal([0n, 1n]);
    });

    it("reverts before the deadline, on decided and unknown updates, for non-participants", async function () {
      const ctx = await loadFixture(pendingUpdate);
      const { ledger, taskId, u, v, p, admin, outsider, scoringCloses } = ctx;
      await nextTxAt(scoringCloses - 1);
      await expect(ledger.connect(p[0]).settleUpdates(taskId, [u]))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoringOpen")
        .withArgs(taskId, u, scoringCloses);
      await expect(ledger.connect(p[0]).settleUpdates(taskId, [h("nope")]))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerUnknownUpdate")
        .withArgs(taskId, h("nope"));
      for (const a of [admin, outsider]) {
        await expect(ledger.connect(a).settleUpdates(taskId, [u]))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(a.address, ROLE.NONE);
      }
      await expect(ledger.connect(v[0]).settleUpdates(99, []))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTask")
        .withArgs(99);
      await ledger.connect(v[0]).settleUpdates(taskId, [u]); // validator: any participant may settle
      // settled first by someone else: skipped, not a revert (two keepers race on every deadline)
      await expect(ledger.connect(p[1]).settleUpdates(taskId, [u])).not.to.emit(ledger, "UpdateExpired");
    });

    it("the same update twice in one batch: decided once, the repeat skipped", async function () {
      const { ledger, taskId, u, p, scoringCloses } = await loadFixture(pendingUpdate);
      await mineUpTo(scoringCloses);
      const receipt = await (await ledger.connect(p[0]).settleUpdates(taskId, [u, u])).wait();
      const decided = receipt.logs.map((l) => ledger.interface.parseLog(l)).filter((e) => e && e.name === "UpdateExpired");
      expect(decided.length).to.equal(1);
      expect((await ledger.getUpdate(taskId, u)).status).to.equal(STATUS.Expired);
    });
  });

  describe("dag", function () {
    it("parents may be the initial weights or accepted updates; event lists them; round = block", async function () {
      const { ledger, taskId, p, init, a, b } = await loadFixture(dagWithHistory);
      await commitFor(ledger, p[0], taskId, h("c"));
      const tx = submitDagUpdate(ledger, p[0], taskId, [a, init, b], h("c"), cid("c"), 77);
      const block = (await blockNumber()) + 1;
      await expect(tx)
        .to.emit(ledger, "UpdateSubmitted")
        .withArgs(taskId, h("c"), p[0].address, block, 77, cid("c"), [a, init, b]);
      const info = await ledger.getUpdate(taskId, h("c"));
      expect(info.round).to.equal(block);
      expect(info.status).to.equal(STATUS.Pending);
      // a provider may submit several dag updates (participation counts its undecided ones)
      await submitDagUpdate(ledger, p[0], taskId, [a], h("c2"), cid("c2"), 77);
      expect(await ledger.participation(taskId, p[0].address)).to.deep.equal([true, 2n]);
    });

    it("bad parents: unknown, pending, rejected, duplicated, zero hash", async function () {
      const { ledger, taskId, p, init, a, r, q } = await loadFixture(dagWithHistory);
      const cases = [
        [[h("unknown")], h("unknown")],
        [[a, q], q],
        [[r], r],
        [[a, a], a],
        [[init, a, init], init],
        [[ethers.ZeroHash], ethers.ZeroHash],
      ];
      for (const [parents, bad] of cases) {
        await expect(submitDagUpdate(ledger, p[0], taskId, parents, h("c"), cid("c"), 1))
          .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidParent")
          .withArgs(taskId, bad);
      }
    });

    it("bad parents: none, or more than maxParents", async function () {
      const { ledger, taskId, p, init, a, b } = await loadFixture(dagWithHistory);
      await expect(submitDagUpdate(ledger, p[0], taskId, [], h("c"), cid("c"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerParentCount")
        .withArgs(taskId, 0, 3);
      await expect(submitDagUpdate(ledger, p[0], taskId, [init, a, b, h("x")], h("c"), cid("c"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerParentCount")
        .withArgs(taskId, 4, 3);
    });

    it("duplicate content (an existing update or the initial weights), invalid, not joined, wrong flow", async function () {
      const { ledger, taskId, p, init, a, consortium, admin, signers } = await loadFixture(dagWithHistory);
      await expect(submitDagUpdate(ledger, p[0], taskId, [a], a, cid("dup"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerDuplicateContent")
        .withArgs(taskId, a);
      await expect(submitDagUpdate(ledger, p[0], taskId, [a], init, cid("dup"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerReplayedModel")
        .withArgs(taskId, init);
      await expect(submitDagUpdate(ledger, p[0], taskId, [a], ethers.ZeroHash, cid("z"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidUpdate")
        .withArgs(taskId, ethers.ZeroHash, 1);
      await expect(submitDagUpdate(ledger, p[0], taskId, [a], h("c"), cid("c"), 0))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidUpdate")
        .withArgs(taskId, h("c"), 0);
      const fresh = signers[16];
      await consortium.connect(admin).grantRole(ROLE.PROVIDER, fresh.address);
      await expect(submitDagUpdate(ledger, fresh, taskId, [a], h("c"), cid("c"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerNotJoined")
        .withArgs(taskId, fresh.address);
      const fed = await federationTask();
      await expect(submitDagUpdate(fed.ledger, fed.p[0], fed.taskId, [fed.params.initialWeightsHash], h("c"), cid("c"), 1))
        .to.be.revertedWithCustomError(fed.ledger, "UpdateLedgerWrongFlow")
        .withArgs(fed.taskId, FLOW.FEDERATION);
    });

    it("each update has its own scoring deadline: submission block + scoreWindow", async function () {
      const { ledger, taskId, p, v, publisher, init } = await loadFixture(dagWithHistory);
      const t1 = await (await submitDagUpdate(ledger, p[0], taskId, [init], h("e1"), cid("e1"), 1)).wait();
      await mine(10);
      const t2 = await (await submitDagUpdate(ledger, p[1], taskId, [init], h("e2"), cid("e2"), 1)).wait();
      const d1 = t1.blockNumber + SCORE_WINDOW;
      const d2 = t2.blockNumber + SCORE_WINDOW;
      expect(await ledger.scoreDeadline(taskId, h("e1"))).to.equal(d1);
      expect(await ledger.scoreDeadline(taskId, h("e2"))).to.equal(d2);
      await ledger.connect(v[0]).submitScores(taskId, [h("e1"), h("e2")], [PASS, PASS]);
      await ledger.connect(v[1]).submitScores(taskId, [h("e1"), h("e2")], [PASS, PASS]);
      await ledger.connect(v[2]).submitScores(taskId, [h("e1"), h("e2")], [FAIL, FAIL]);
      await mineUpTo(d1 - 1);
      // e1 closed for scoring and settleable; e2 still open for both
      await expect(ledger.connect(v[3]).submitScore(taskId, h("e1"), PASS))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoringClosed")
        .withArgs(taskId, h("e1"), d1);
      await expect(ledger.connect(publisher).settleUpdates(taskId, [h("e2")]))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoringOpen")
        .withArgs(taskId, h("e2"), d2);
      await expect(ledger.connect(publisher).settleUpdates(taskId, [h("e1")]))
        .to.emit(ledger, "UpdateRejected")
        .withArgs(taskId, h("e1"), t1.blockNumber, 2, 3); // 2 pass: not more than f = 2
      await ledger.connect(v[3]).submitScore(taskId, h("e2"), FAIL);
      await mineUpTo(d2);
      await expect(ledger.connect(publisher).settleUpdates(taskId, [h("e2")]))
        .to.emit(ledger, "UpdateRejected")
        .withArgs(taskId, h("e2"), t2.blockNumber, 2, 4);
      // a settled-rejected update is not a valid parent
      await expect(submitDagUpdate(ledger, p[2], taskId, [h("e1")], h("e4"), cid("e4"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidParent")
        .withArgs(taskId, h("e1"));
    });

    it("an update becomes a valid parent when it is accepted, early or at its deadline", async function () {
      const ctx = await deployLedger();
      const { ledger, publisher, p, v } = ctx;
      // k = 2, f = 1 of 5: two approvals settle an update as accepted at its deadline
      const params = dagParams(v.slice(0, 5), { quorum: 2, maxFaultyValidators: 1 });
      const taskId = await publish(ledger, publisher, params);
      for (const a of p.slice(0, 3)) await ledger.connect(a).joinTask(taskId);
      const init = params.initialWeightsHash;
      const tx = await (await submitDagUpdate(ledger, p[0], taskId, [init], h("e"), cid("e"), 1)).wait();
      const child = () => submitDagUpdate(ledger, p[1], taskId, [h("e")], h("c"), cid("c"), 1);
      await expect(child()).to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidParent").withArgs(taskId, h("e"));
      await scoreAll(ledger, taskId, h("e"), v.slice(0, 2), [PASS, PASS]); // 2 of a majority of 3: pending
      await expect(child()).to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidParent").withArgs(taskId, h("e"));
      await mineUpTo(tx.blockNumber + SCORE_WINDOW - 1);
      await expect(ledger.connect(p[2]).settleUpdates(taskId, [h("e")]))
        .to.emit(ledger, "UpdateAccepted")
        .withArgs(taskId, h("e"), tx.blockNumber, 2, 2);
      await expect(child()).to.emit(ledger, "UpdateSubmitted");
      // early path: a majority of the committee approving accepts at once
      const g = submitDagUpdate(ledger, p[2], taskId, [h("e")], h("g"), cid("g"), 1);
      await expect(g).to.emit(ledger, "UpdateSubmitted");
      await scoreAll(ledger, taskId, h("g"), v.slice(0, 3), [PASS, PASS, PASS]);
      await expect(submitDagUpdate(ledger, p[0], taskId, [h("g"), h("e")], h("k"), cid("k"), 1)).to.emit(
        ledger,
        "UpdateSubmitted",
      );
      expect((await ledger.getUpdate(taskId, h("k"))).status).to.equal(STATUS.Pending);
    });

    it("the tips are derivable from the events alone", async function () {
      const { ledger, taskId, p, v, init, a, b, r, q } = await loadFixture(dagWithHistory);
      await submitDagUpdate(ledger, p[0], taskId, [a], h("c"), cid("c"), 1);
      await scoreAll(ledger, taskId, h("c"), v.slice(0, 3), [PASS, PASS, PASS]);
      await submitDagUpdate(ledger, p[1], taskId, [a, b], h("x"), cid("x"), 1); // rejected
      await scoreAll(ledger, taskId, h("x"), v.slice(0, 3), [FAIL, FAIL, FAIL]);
      const submitted = await ledger.queryFilter(ledger.filters.UpdateSubmitted(taskId));
      const accepted = await ledger.queryFilter(ledger.filters.UpdateAccepted(taskId));
      const parents = new Map(submitted.map((e) => [e.args.update, e.args.parents]));
      const acceptedSet = new Set(accepted.map((e) => e.args.update));
      const builtOn = new Set();
      for (const u of acceptedSet) for (const parent of parents.get(u)) builtOn.add(parent);
      const tips = [...acceptedSet].filter((u) => !builtOn.has(u));
      // b: accepted, built on only by the rejected x; c: accepted leaf; a: built on by c;
      // r rejected, q pending, the initial weights built on
      expect(tips).to.deep.equal([b, h("c")]);
      expect(builtOn.has(init)).to.equal(true);
      for (const u of [r, q, h("x")]) expect(acceptedSet.has(u)).to.equal(false);
      // storage agrees with the events on every status
      for (const u of [a, b, h("c")]) expect((await ledger.getUpdate(taskId, u)).status).to.equal(STATUS.Accepted);
      expect((await ledger.getUpdate(taskId, h("x"))).status).to.equal(STATUS.Rejected);
    });

    it("dag decisions do not touch rounds", async function () {
      const { ledger, taskId, a } = await loadFixture(dagWithHistory);
      expect((await ledger.getUpdate(taskId, a)).status).to.equal(STATUS.Accepted);
      const r = await ledger.getRound(taskId, 0);
      expect([r.pendingCount, r.acceptedCount, r.acceptedDigest]).to.deep.equal([0n, 0n, ethers.ZeroHash]);
    });
  });

  it("constants of the fixture are consistent with the contract's windows", async function () {
    const { ledger, taskId } = await loadFixture(federationTask);
    const t = await ledger.getTask(taskId);
    expect(t.roundLength).to.equal(ROUND_LENGTH);
    expect(t.scoreWindow).to.equal(SCORE_WINDOW);
  });
});
