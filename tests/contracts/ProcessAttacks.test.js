// THREATS I1-I5, I8 and issue 11's audit findings: attacks on the process, not on learning.
// No single account can freeze a round or a task, or take the credit for another's update.
// The ordering tests switch automine off and put the attacker's and the author's transactions in
// one block, the attacker paying the higher fee (Hardhat's mempool orders by fee).
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, mine, mineUpTo, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ROLE,
  STATUS,
  FLOW,
  PASS,
  FAIL,
  INT64_MIN,
  SALT,
  ROUND_LENGTH,
  SCORE_WINDOW,
  ATTEST_WINDOW,
  h,
  cid,
  taskParams,
  dagParams,
  publish,
  deployLedger,
  federationTask,
  scoreAll,
  commitFor,
  submitUpdate,
  submitDagUpdate,
  signPublish,
  blockNumber,
  nextTxAt,
} = require("./helpers/fixtures");

const GAS = { gasLimit: 1_000_000 };
const HIGH_FEE = { ...GAS, maxPriorityFeePerGas: ethers.parseUnits("50", "gwei"), maxFeePerGas: ethers.parseUnits("100", "gwei") };
const LOW_FEE = { ...GAS, maxPriorityFeePerGas: 1n, maxFeePerGas: ethers.parseUnits("100", "gwei") };

/** Sends every transaction of `sends` (functions returning a tx promise) into one block, in the
 * mempool's order (by fee), and returns their receipts in the order given (status 0: reverted). */
async function oneBlock(sends) {
  await ethers.provider.send("evm_setAutomine", [false]);
  const hashes = [];
  try {
    for (const send of sends) hashes.push((await send()).hash);
    await ethers.provider.send("evm_mine", []);
  } finally {
    await ethers.provider.send("evm_setAutomine", [true]);
  }
  const receipts = [];
  for (const hash of hashes) receipts.push(await ethers.provider.getTransactionReceipt(hash));
  const block = receipts[0].blockNumber;
  for (const r of receipts) expect(r.blockNumber).to.equal(block);
  return receipts;
}

/** The events `contract` emitted in `receipt`, by name. */
function eventsOf(contract, receipt, name) {
  return receipt.logs
    .map((l) => {
      try {
        return contract.interface.parseLog(l);
      } catch (e) {
        return null;
      }
    })
    .filter((e) => e && e.name === name);
}

/** Round 1 of a federation task with u0, u1 accepted (submissions closed, proposals open). */
async function acceptedRound(overrides = {}) {
  const ctx = await federationTask(overrides);
  const { ledger, taskId, p, v } = ctx;
  const [u0, u1] = ["u0", "u1"].map(h);
  await submitUpdate(ledger, p[0], taskId, 1, u0, cid("u0"), 10);
  await submitUpdate(ledger, p[1], taskId, 1, u1, cid("u1"), 10);
  await scoreAll(ledger, taskId, u0, v.slice(0, 3), [PASS, PASS, PASS]);
  await scoreAll(ledger, taskId, u1, v.slice(0, 3), [PASS, PASS, PASS]);
  await mineUpTo(ctx.submissionsClose);
  const [submissionsClose, scoringClose, extendedClose, attestationClose] = await ledger.roundDeadlines(taskId, 1);
  return {
    ...ctx,
    accepted: [u0, u1],
    right: h("right aggregate"),
    deadlines: { submissionsClose, scoringClose, extendedClose, attestationClose },
  };
}

/** acceptedRound with f = 1 (k = 3, n = 5). */
const acceptedRoundF1 = () => acceptedRound({ maxFaultyValidators: 1 });

describe("Attacks on the process (THREATS I)", function () {
  describe("I1: a dead CID proposed first, or a flood of proposals, cannot freeze a round", function () {
    it("anyone may add a CID to a proposed result; members attest the hash and the round finalizes", async function () {
      const { ledger, taskId, p, v, publisher, accepted, right } = await loadFixture(acceptedRound);
      const dead = "bafkreideadcidthatpointstonothing0000000000000000000000000";
      // the attacker (a participant outside the task) front-runs the keeper with the right hash
      const [attack, honest] = await oneBlock([
        () => ledger.connect(p[3]).proposeAggregate(taskId, 1, accepted, right, dead, HIGH_FEE),
        () => ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, right, cid("right"), LOW_FEE),
      ]);
      expect(attack.index).to.be.lessThan(honest.index);
      expect([attack.status, honest.status]).to.deep.equal([1, 1]); // the keeper's proposal does not revert
      expect(eventsOf(ledger, attack, "AggregateProposed")[0].args.cid).to.equal(dead);
      expect(eventsOf(ledger, honest, "AggregateCidAdded")[0].args.cid).to.equal(cid("right"));
      // members fetched from the live CID, attest the hash, naming where they serve it
      for (const m of v.slice(0, 2)) await ledger.connect(m).attestAggregate(taskId, 1, right, cid("right"));
      await expect(ledger.connect(v[2]).attestAggregate(taskId, 1, right, cid("right")))
        .to.emit(ledger, "RoundFinalized")
        .withArgs(taskId, 1, right, 2);
    });

    it("a flood is bounded: one proposal per account and round, and wrong results never block the right one", async function () {
      const { ledger, taskId, p, v, dual, publisher, accepted, right } = await loadFixture(acceptedRound);
      const attackers = [p[2], p[3], dual, v[5]];
      for (const [i, a] of attackers.entries()) {
        await ledger.connect(a).proposeAggregate(taskId, 1, accepted, h(`junk-${i}`), `dead-${i}`);
        await expect(ledger.connect(a).proposeAggregate(taskId, 1, accepted, h(`junk-${i}-2`), `dead-${i}-2`))
          .to.be.revertedWithCustomError(ledger, "RoundLedgerAlreadyProposed")
          .withArgs(taskId, 1, a.address);
      }
      await ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, right, cid("right"));
      for (const m of v.slice(0, 2)) await ledger.connect(m).attestAggregate(taskId, 1, right, "");
      await expect(ledger.connect(v[2]).attestAggregate(taskId, 1, right, "")).to.emit(ledger, "RoundFinalized");
    });

    it("nobody attests: after the attestation deadline the round closes on its base model", async function () {
      const { ledger, taskId, p, params, accepted, deadlines, start } = await loadFixture(acceptedRound);
      await ledger.connect(p[3]).proposeAggregate(taskId, 1, accepted, h("right"), "bafkreidead");
      await nextTxAt(Number(deadlines.attestationClose) - 1);
      await expect(ledger.connect(p[2]).closeRound(taskId, 1, h("right")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerAttestationOpen")
        .withArgs(taskId, 1, deadlines.attestationClose);
      const tx = ledger.connect(p[2]).closeRound(taskId, 1, h("right"));
      await expect(tx)
        .to.emit(ledger, "RoundClosedAtDeadline")
        .withArgs(taskId, 1, params.initialWeightsHash, 0, true);
      await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, 1, params.initialWeightsHash, 2);
      const closedAt = (await (await tx).wait()).blockNumber;
      // the bound: roundLength + roundExtension + scoreWindow + scoreExtension + attestWindow
      expect(closedAt - start).to.equal(ROUND_LENGTH + SCORE_WINDOW + ATTEST_WINDOW);
      const t = await ledger.getTask(taskId);
      expect([t.currentRound, t.globalModelHash]).to.deep.equal([2n, params.initialWeightsHash]);
      expect((await ledger.getUpdate(taskId, accepted[0])).status).to.equal(STATUS.Accepted); // credit kept
    });

    it("nobody even proposes or settles: the round still closes once the pending updates are settled", async function () {
      const ctx = await loadFixture(federationTask);
      const { ledger, taskId, p, v, params } = ctx;
      await submitUpdate(ledger, p[0], taskId, 1, h("lonely"), cid("lonely"), 10);
      await scoreAll(ledger, taskId, h("lonely"), v.slice(0, 3), [PASS, PASS, FAIL]); // still pending (2 of 3 needed)
      const [, , , attestationClose] = await ledger.roundDeadlines(taskId, 1);
      await mineUpTo(attestationClose);
      await expect(ledger.connect(p[1]).closeRound(taskId, 1, ethers.ZeroHash))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerPendingUpdates")
        .withArgs(taskId, 1, 1);
      await ledger.connect(p[1]).settleUpdates(taskId, [h("lonely")]);
      await expect(ledger.connect(p[1]).closeRound(taskId, 1, ethers.ZeroHash))
        .to.emit(ledger, "RoundFinalized")
        .withArgs(taskId, 1, params.initialWeightsHash, 0);
    });
  });

  describe("I2: split attestations, liars plus an offline member, revoked members", function () {
    it("a 2/2 split between two encodings (f = 1): closed with a leading proposal, never a trailing one", async function () {
      const { ledger, taskId, publisher, p, v, accepted, deadlines } = await loadFixture(acceptedRoundF1);
      const [a, b] = [h("encoding A"), h("encoding B")];
      await ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, a, cid("a"));
      await ledger.connect(p[0]).proposeAggregate(taskId, 1, accepted, b, cid("b"));
      await ledger.connect(v[0]).attestAggregate(taskId, 1, a, "");
      await ledger.connect(v[1]).attestAggregate(taskId, 1, b, "");
      await ledger.connect(v[2]).attestAggregate(taskId, 1, a, "");
      await ledger.connect(v[3]).attestAggregate(taskId, 1, b, ""); // v[4] is offline
      await ledger.connect(p[2]).proposeAggregate(taskId, 1, accepted, h("c"), cid("c"));
      await mineUpTo(deadlines.attestationClose);
      await expect(ledger.connect(p[1]).closeRound(taskId, 1, h("c")))
        .to.be.revertedWithCustomError(ledger, "RoundLedgerNotLeading")
        .withArgs(taskId, 1, h("c"), 0, 2);
      await expect(ledger.connect(p[1]).closeRound(taskId, 1, b))
        .to.emit(ledger, "RoundClosedAtDeadline")
        .withArgs(taskId, 1, b, 2, false);
      expect((await ledger.getTask(taskId)).globalModelHash).to.equal(b);
    });

    it("f liars plus one offline honest member (k = n - f): the liars' result never wins; base model kept", async function () {
      const { ledger, taskId, publisher, p, v, params, accepted, deadlines } = await loadFixture(acceptedRound); // k 3, f 2
      const [wrong, right] = [h("liars' result"), h("right")];
      await ledger.connect(v[0]).proposeAggregate(taskId, 1, accepted, wrong, cid("wrong"));
      await ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, right, cid("right"));
      await ledger.connect(v[0]).attestAggregate(taskId, 1, wrong, ""); // liars
      await ledger.connect(v[1]).attestAggregate(taskId, 1, wrong, "");
      await ledger.connect(v[2]).attestAggregate(taskId, 1, right, ""); // honest; v[4] offline
      await ledger.connect(v[3]).attestAggregate(taskId, 1, right, "");
      await mineUpTo(deadlines.attestationClose);
      for (const claim of [wrong, right]) {
        await expect(ledger.connect(p[0]).closeRound.staticCall(taskId, 1, claim)).not.to.be.reverted;
      }
      await expect(ledger.connect(p[0]).closeRound(taskId, 1, wrong))
        .to.emit(ledger, "RoundClosedAtDeadline")
        .withArgs(taskId, 1, params.initialWeightsHash, 2, true);
      expect((await ledger.getTask(taskId)).globalModelHash).to.equal(params.initialWeightsHash);
    });

    it("n - k + 1 members revoked mid-round: no quorum can form, the round still closes", async function () {
      const { consortium, ledger, admin, taskId, publisher, p, v, params, accepted, deadlines } =
        await loadFixture(acceptedRoundF1);
      await ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, h("right"), cid("right"));
      for (const m of v.slice(0, 3)) await consortium.connect(admin).revokeRole(ROLE.VALIDATOR, m.address);
      await expect(ledger.connect(v[0]).attestAggregate(taskId, 1, h("right"), ""))
        .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
        .withArgs(v[0].address, ROLE.VALIDATOR);
      await ledger.connect(v[3]).attestAggregate(taskId, 1, h("right"), "");
      await ledger.connect(v[4]).attestAggregate(taskId, 1, h("right"), "");
      expect((await ledger.getRound(taskId, 1)).finalized).to.equal(false);
      await mineUpTo(deadlines.attestationClose);
      // two attestations > f = 1: an honest member recomputed it
      await expect(ledger.connect(p[0]).closeRound(taskId, 1, h("right")))
        .to.emit(ledger, "RoundFinalized")
        .withArgs(taskId, 1, h("right"), 2);
      expect(params.initialWeightsHash).to.not.equal(h("right"));
    });

    it("an attestation and closeRound in one block: either order finalizes the round exactly once", async function () {
      for (const attestFirst of [true, false]) {
        const { ledger, taskId, publisher, p, v, accepted, deadlines } = await acceptedRoundF1();
        const right = h("right");
        await ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, right, cid("right"));
        await ledger.connect(v[0]).attestAggregate(taskId, 1, right, "");
        await ledger.connect(v[1]).attestAggregate(taskId, 1, right, "");
        await mineUpTo(deadlines.attestationClose);
        const attest = (fee) => () => ledger.connect(v[2]).attestAggregate(taskId, 1, right, "", fee);
        const close = (fee) => () => ledger.connect(p[0]).closeRound(taskId, 1, right, fee);
        const receipts = await oneBlock(attestFirst ? [attest(HIGH_FEE), close(LOW_FEE)] : [close(HIGH_FEE), attest(LOW_FEE)]);
        const finalized = receipts.flatMap((r) => eventsOf(ledger, r, "RoundFinalized"));
        expect(finalized.length).to.equal(1);
        expect(finalized[0].args.resultHash).to.equal(right);
        expect(receipts.map((r) => r.status)).to.deep.equal([1, 0]); // the later one finds the round finalized
      }
    });
  });

  describe("I3: credit goes to the author, whatever fee a copier pays", function () {
    it("federation: a copier who sees the reveal cannot reveal the same content first", async function () {
      const { ledger, taskId, p } = await loadFixture(federationTask);
      const u = h("author's update");
      await commitFor(ledger, p[0], taskId, u); // the author's commitment, an earlier block
      const copierSalt = ethers.id("copier");
      const copierCommitment = await ledger.updateCommitment(taskId, p[1].address, u, copierSalt);
      const [copyCommit, copyReveal, copyWithAuthorSalt, author] = await oneBlock([
        () => ledger.connect(p[1]).commitUpdate(taskId, copierCommitment, HIGH_FEE),
        () => ledger.connect(p[1]).submitUpdate(taskId, 1, u, cid("copy"), 10, copierSalt, HIGH_FEE),
        () => ledger.connect(p[2]).submitUpdate(taskId, 1, u, cid("copy2"), 10, SALT, HIGH_FEE),
        () => ledger.connect(p[0]).submitUpdate(taskId, 1, u, cid("author"), 10, SALT, LOW_FEE),
      ]);
      expect(author.index).to.be.greaterThan(copyReveal.index);
      expect([copyCommit.status, copyReveal.status, copyWithAuthorSalt.status, author.status]).to.deep.equal([1, 0, 0, 1]);
      // why the copies failed, replayed on the state they saw
      expect((await ledger.getUpdate(taskId, u)).provider).to.equal(p[0].address);
      await expect(ledger.connect(p[1]).submitUpdate(taskId, 1, u, cid("copy"), 10, copierSalt))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerDuplicateContent")
        .withArgs(taskId, u);
      const theirs = await ledger.updateCommitment(taskId, p[2].address, u, SALT);
      await expect(ledger.connect(p[2]).submitUpdate(taskId, 1, u, cid("copy2"), 10, SALT))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerNotCommitted")
        .withArgs(taskId, p[2].address, theirs);
    });

    it("a reveal in the block of its own commitment is refused (so commit and reveal cannot be copied together)", async function () {
      const { ledger, taskId, p } = await loadFixture(federationTask);
      const u = h("hasty");
      const commitment = await ledger.updateCommitment(taskId, p[0].address, u, SALT);
      const [commit, reveal] = await oneBlock([
        () => ledger.connect(p[0]).commitUpdate(taskId, commitment, HIGH_FEE),
        () => ledger.connect(p[0]).submitUpdate(taskId, 1, u, cid("hasty"), 10, SALT, LOW_FEE),
      ]);
      expect([commit.status, reveal.status]).to.deep.equal([1, 0]);
      expect(await ledger.commitmentBlock(p[0].address, commitment)).to.equal(commit.blockNumber);
      await expect(ledger.connect(p[0]).submitUpdate(taskId, 1, u, cid("hasty"), 10, SALT)).to.emit(ledger, "UpdateSubmitted");
      expect(await ledger.commitmentBlock(p[0].address, commitment)).to.equal(0); // consumed
      await expect(ledger.connect(p[0]).commitUpdate(taskId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidCommitment")
        .withArgs(taskId, ethers.ZeroHash);
    });

    it("commitments are per provider: nobody pre-empts or resets another's", async function () {
      const { ledger, taskId, p } = await loadFixture(federationTask);
      const u = h("griefed");
      const commitment = await ledger.updateCommitment(taskId, p[0].address, u, SALT);
      // a griefer sends the same commitment value first, with a higher fee: both land
      const [griefer, author] = await oneBlock([
        () => ledger.connect(p[1]).commitUpdate(taskId, commitment, HIGH_FEE),
        () => ledger.connect(p[0]).commitUpdate(taskId, commitment, LOW_FEE),
      ]);
      expect([griefer.status, author.status]).to.deep.equal([1, 1]);
      expect(await ledger.commitmentBlock(p[0].address, commitment)).to.equal(author.blockNumber);
      // the griefer cannot reset the author's block by committing the value again later
      await expect(ledger.connect(p[0]).commitUpdate(taskId, commitment))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerInvalidCommitment")
        .withArgs(taskId, commitment);
      await expect(ledger.connect(p[0]).submitUpdate(taskId, 1, u, cid("griefed"), 10, SALT)).to.emit(
        ledger,
        "UpdateSubmitted"
      );
    });

    it("dag: the same, for an update built on the initial weights", async function () {
      const { ledger, taskId, p, params } = await loadFixture(dagFixture);
      const u = h("dag author");
      const init = params.initialWeightsHash;
      await commitFor(ledger, p[0], taskId, u);
      const salt = ethers.id("copier");
      const [, copy, author] = await oneBlock([
        () => ledger.connect(p[1]).commitUpdate(taskId, ethers.keccak256(ethers.toUtf8Bytes("x")), HIGH_FEE),
        () => ledger.connect(p[1]).submitDagUpdate(taskId, [init], u, cid("copy"), 10, salt, HIGH_FEE),
        () => ledger.connect(p[0]).submitDagUpdate(taskId, [init], u, cid("author"), 10, SALT, LOW_FEE),
      ]);
      expect([copy.status, author.status]).to.deep.equal([0, 1]);
      expect((await ledger.getUpdate(taskId, u)).provider).to.equal(p[0].address);
    });

    it("proposals carry no credit: a copied proposal only adds a CID, the author's transaction still lands", async function () {
      const { ledger, taskId, publisher, p, accepted, right } = await loadFixture(acceptedRound);
      const [copy, author] = await oneBlock([
        () => ledger.connect(p[3]).proposeAggregate(taskId, 1, accepted, right, cid("copied"), HIGH_FEE),
        () => ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, right, cid("right"), LOW_FEE),
      ]);
      expect([copy.status, author.status]).to.deep.equal([1, 1]);
      expect(eventsOf(ledger, author, "AggregateCidAdded")[0].args.account).to.equal(publisher.address);
    });
  });

  describe("I4: replayed models are refused on chain", function () {
    it("federation: the round's base model (round 1: initial weights; round 2: the last result)", async function () {
      const { ledger, taskId, p, v, publisher, params, accepted, right } = await loadFixture(acceptedRound);
      await ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, right, cid("right"));
      for (const m of v.slice(0, 3)) await ledger.connect(m).attestAggregate(taskId, 1, right, "");
      for (const [round, replay] of [
        [2, right],
        [2, params.initialWeightsHash],
      ]) {
        await expect(submitUpdate(ledger, p[2], taskId, round, replay, cid("replay"), 10))
          .to.be.revertedWithCustomError(ledger, "UpdateLedgerReplayedModel")
          .withArgs(taskId, replay);
      }
      expect(await ledger.contentUsed(right)).to.equal(true);
    });

    it("an update of another task (accepted or not) and another task's result", async function () {
      const { ledger, taskId, p, v, publisher, accepted, right } = await loadFixture(acceptedRound);
      const other = await publish(ledger, publisher, taskParams(v.slice(0, 5), { initialWeightsHash: h("other initial") }));
      await ledger.connect(p[2]).joinTask(other);
      for (const replay of [accepted[0], accepted[1]]) {
        await expect(submitUpdate(ledger, p[2], other, 1, replay, cid("replay"), 10))
          .to.be.revertedWithCustomError(ledger, "UpdateLedgerReplayedModel")
          .withArgs(other, replay);
      }
      await ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, right, cid("right"));
      for (const m of v.slice(0, 3)) await ledger.connect(m).attestAggregate(taskId, 1, right, "");
      await expect(submitUpdate(ledger, p[2], other, 1, right, cid("replay"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerReplayedModel")
        .withArgs(other, right);
    });
  });

  describe("I5: dag flooding is bounded by the policy's maxPending", function () {
    it("a provider holds at most maxPending undecided updates; a decision frees a place", async function () {
      const { ledger, taskId, p, v, params } = await loadFixture(dagFixture); // maxPending 2
      const init = params.initialWeightsHash;
      await submitDagUpdate(ledger, p[0], taskId, [init], h("f1"), cid("f1"), 1);
      await submitDagUpdate(ledger, p[0], taskId, [init], h("f2"), cid("f2"), 1);
      await expect(submitDagUpdate(ledger, p[0], taskId, [init], h("f3"), cid("f3"), 1))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerTooManyPending")
        .withArgs(taskId, p[0].address, 2, 2);
      // another provider is not affected
      await submitDagUpdate(ledger, p[1], taskId, [init], h("g1"), cid("g1"), 1);
      await scoreAll(ledger, taskId, h("f1"), v.slice(0, 3), [FAIL, FAIL, FAIL]);
      expect(await ledger.participation(taskId, p[0].address)).to.deep.equal([true, 1n]);
      await expect(submitDagUpdate(ledger, p[0], taskId, [init], h("f3"), cid("f3"), 1)).to.emit(ledger, "UpdateSubmitted");
    });
  });

  describe("I8: a closed task never changes; it can be closed without its publisher", function () {
    it("after closeTask every write reverts TaskRegistryTaskClosed and the state stays the same", async function () {
      const ctx = await loadFixture(federationTask);
      const { ledger, taskId, p, v, publisher } = ctx;
      const u = h("pending at close");
      await submitUpdate(ledger, p[0], taskId, 1, u, cid("u"), 10);
      await ledger.connect(v[0]).submitScore(taskId, u, PASS);
      await commitFor(ledger, p[1], taskId, h("late"));
      await ledger.connect(publisher).closeTask(taskId);
      const before = [await ledger.getTask(taskId), await ledger.getUpdate(taskId, u), await ledger.getRound(taskId, 1)];
      await mineUpTo(ctx.scoringCloses + ATTEST_WINDOW + 1);
      const writes = [
        () => ledger.connect(v[1]).submitScore(taskId, u, PASS),
        () => ledger.connect(v[1]).submitScores(taskId, [u], [PASS]),
        () => ledger.connect(p[0]).settleUpdates(taskId, [u]),
        () => ledger.connect(p[2]).joinTask(taskId),
        () => ledger.connect(p[1]).commitUpdate(taskId, h("c")),
        () => ledger.connect(p[1]).submitUpdate(taskId, 1, h("late"), cid("late"), 10, SALT),
        () => ledger.connect(p[0]).proposeAggregate(taskId, 1, [], h("x"), cid("x")),
        () => ledger.connect(v[0]).attestAggregate(taskId, 1, h("x"), ""),
        () => ledger.connect(p[0]).closeRound(taskId, 1, h("x")),
        () => ledger.connect(publisher).closeTask(taskId),
      ];
      for (const write of writes) {
        await expect(write()).to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed").withArgs(taskId);
      }
      const after = [await ledger.getTask(taskId), await ledger.getUpdate(taskId, u), await ledger.getRound(taskId, 1)];
      expect(after.map((x) => x.toArray(true))).to.deep.equal(before.map((x) => x.toArray(true)));
    });

    it("a task whose publisher lost its role is closed by a committee member, by nobody else", async function () {
      const { consortium, ledger, admin, taskId, publisher, p, v } = await loadFixture(federationTask);
      await expect(ledger.connect(v[0]).closeTask(taskId))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryNotPublisher")
        .withArgs(taskId, v[0].address);
      await consortium.connect(admin).revokeRole(ROLE.PUBLISHER, publisher.address);
      await expect(ledger.connect(publisher).closeTask(taskId))
        .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
        .withArgs(publisher.address, ROLE.PUBLISHER);
      for (const a of [p[0], v[5]]) {
        await expect(ledger.connect(a).closeTask(taskId))
          .to.be.revertedWithCustomError(ledger, "TaskRegistryNotPublisher")
          .withArgs(taskId, a.address);
      }
      await expect(ledger.connect(v[3]).closeTask(taskId)).to.emit(ledger, "TaskClosed");
    });
  });

  describe("audit: low findings", function () {
    it("a revoked provider's pending update is not accepted (early path and deadline path)", async function () {
      const ctx = await loadFixture(federationTask);
      const { consortium, ledger, admin, taskId, p, v, publisher } = ctx;
      await submitUpdate(ledger, p[0], taskId, 1, h("early"), cid("early"), 10);
      await submitUpdate(ledger, p[1], taskId, 1, h("late"), cid("late"), 10);
      await scoreAll(ledger, taskId, h("late"), v.slice(0, 3), [PASS, PASS, FAIL]);
      for (const a of [p[0], p[1]]) await consortium.connect(admin).revokeRole(ROLE.PROVIDER, a.address);
      await ledger.connect(v[0]).submitScore(taskId, h("early"), PASS);
      await ledger.connect(v[1]).submitScore(taskId, h("early"), PASS);
      await expect(ledger.connect(v[2]).submitScore(taskId, h("early"), PASS))
        .to.emit(ledger, "UpdateRejected")
        .withArgs(taskId, h("early"), 1, 3, 3);
      await mineUpTo(ctx.scoringCloses);
      await expect(ledger.connect(publisher).settleUpdates(taskId, [h("late")]))
        .to.emit(ledger, "UpdateRejected")
        .withArgs(taskId, h("late"), 1, 2, 3);
      expect((await ledger.getRound(taskId, 1)).acceptedCount).to.equal(0);
    });

    it("the invalid score never passes, even against the lowest threshold", async function () {
      const { ledger, publisher, p, v } = await loadFixture(deployLedger);
      const taskId = await publish(ledger, publisher, taskParams(v.slice(0, 5), { threshold: -1_000_000_000n }));
      await ledger.connect(p[0]).joinTask(taskId);
      await submitUpdate(ledger, p[0], taskId, 1, h("broken"), cid("broken"), 10);
      await scoreAll(ledger, taskId, h("broken"), v.slice(0, 2), [INT64_MIN, INT64_MIN]);
      await expect(ledger.connect(v[2]).submitScore(taskId, h("broken"), INT64_MIN))
        .to.emit(ledger, "UpdateRejected")
        .withArgs(taskId, h("broken"), 1, 0, 3);
    });

    it("a signed PublishTask can be cancelled before it is relayed", async function () {
      const { ledger, publisher, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = BigInt((await time.latest()) + 3600);
      const signature = await signPublish(ledger, publisher, params, { deadline });
      await expect(ledger.connect(publisher).cancelPublishNonce())
        .to.emit(ledger, "PublishNonceCancelled")
        .withArgs(publisher.address, 0);
      expect(await ledger.publishNonce(publisher.address)).to.equal(1);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, signature)).to.be.revertedWithCustomError(
        ledger,
        "TaskRegistryInvalidSigner"
      );
    });

    it("block numbers beyond 2^32 do not wrap (dag submission block and deadline)", async function () {
      const { ledger, taskId, p, v, params } = await loadFixture(dagFixture);
      await mine(2n ** 32n + 10n);
      const tx = await submitDagUpdate(ledger, p[0], taskId, [params.initialWeightsHash], h("far"), cid("far"), 1);
      const block = BigInt((await tx.wait()).blockNumber);
      expect(block > 2n ** 32n).to.equal(true);
      const info = await ledger.getUpdate(taskId, h("far"));
      expect(info.round).to.equal(block);
      expect(await ledger.scoreDeadline(taskId, h("far"))).to.equal(block + BigInt(SCORE_WINDOW));
      await scoreAll(ledger, taskId, h("far"), v.slice(0, 3), [PASS, PASS, PASS]);
      expect((await ledger.getUpdate(taskId, h("far"))).status).to.equal(STATUS.Accepted);
    });
  });

  describe("rounds wait for honest work (issue 11 section 3)", function () {
    async function waitingTask() {
      return federationTask({ minUpdates: 3, roundExtension: 20, scoreExtension: 10 });
    }

    it("fewer than minUpdates at roundLength: the window extends until the minUpdates-th update", async function () {
      const ctx = await loadFixture(waitingTask);
      const { ledger, taskId, p, start } = ctx;
      const base = start + ROUND_LENGTH;
      await submitUpdate(ledger, p[0], taskId, 1, h("a"), cid("a"), 10);
      for (const [who, u] of [[p[1], "b"], [p[2], "c"], [p[3], "d"]]) await commitFor(ledger, who, taskId, h(u));
      expect((await ledger.roundDeadlines(taskId, 1))[0]).to.equal(base + 20); // waiting
      await nextTxAt(base + 4);
      await submitUpdate(ledger, p[1], taskId, 1, h("b"), cid("b"), 10);
      await submitUpdate(ledger, p[2], taskId, 1, h("c"), cid("c"), 10); // the 3rd, at base + 5
      const [submissions, scoring, extended, attestation] = await ledger.roundDeadlines(taskId, 1);
      expect(submissions).to.equal(base + 6);
      expect([scoring, extended, attestation]).to.deep.equal([
        BigInt(base + 6 + SCORE_WINDOW),
        BigInt(base + 6 + SCORE_WINDOW + 10),
        BigInt(base + 6 + SCORE_WINDOW + 10 + ATTEST_WINDOW),
      ]);
      await expect(submitUpdate(ledger, p[3], taskId, 1, h("d"), cid("d"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerSubmissionClosed")
        .withArgs(taskId, 1, base + 6);
      expect((await ledger.getRound(taskId, 1)).submittedCount).to.equal(3);
    });

    it("minUpdates never reached: the window closes after the extension; reached early: at roundLength", async function () {
      const ctx = await loadFixture(waitingTask);
      const { ledger, taskId, p, start } = ctx;
      await submitUpdate(ledger, p[0], taskId, 1, h("a"), cid("a"), 10);
      await commitFor(ledger, p[1], taskId, h("b"));
      await nextTxAt(start + ROUND_LENGTH + 20);
      await expect(submitUpdate(ledger, p[1], taskId, 1, h("b"), cid("b"), 10))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerSubmissionClosed")
        .withArgs(taskId, 1, start + ROUND_LENGTH + 20);

      const early = await waitingTask();
      for (const [i, who] of early.p.slice(0, 3).entries()) {
        await submitUpdate(early.ledger, who, early.taskId, 1, h(`e${i}`), cid(`e${i}`), 10);
      }
      expect((await early.ledger.roundDeadlines(early.taskId, 1))[0]).to.equal(early.start + ROUND_LENGTH);
    });

    it("an update short of a quorum at the deadline can still be scored; it expires only after the extension", async function () {
      const ctx = await loadFixture(waitingTask);
      const { ledger, taskId, p, v, publisher, start } = ctx;
      for (const [i, who] of p.slice(0, 3).entries()) {
        await submitUpdate(ledger, who, taskId, 1, h(`s${i}`), cid(`s${i}`), 10);
      }
      const [s0, s1, s2] = [0, 1, 2].map((i) => h(`s${i}`));
      await scoreAll(ledger, taskId, s0, v.slice(0, 2), [PASS, PASS]); // 2 < k = 3
      await scoreAll(ledger, taskId, s1, v.slice(0, 3), [PASS, PASS, FAIL]); // quorum, pending
      const [, scoring, extended] = (await ledger.roundDeadlines(taskId, 1)).map(Number);
      expect(scoring).to.equal(start + ROUND_LENGTH + SCORE_WINDOW);
      await mineUpTo(scoring);
      // s1 has its quorum: closed for scores, settleable now
      await expect(ledger.connect(v[3]).submitScore(taskId, s1, PASS))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoringClosed")
        .withArgs(taskId, s1, scoring);
      // s0 lacks one: not settleable before the extension ends, but a late member may score it
      await expect(ledger.connect(publisher).settleUpdates(taskId, [s0]))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoringOpen")
        .withArgs(taskId, s0, extended);
      await expect(ledger.connect(v[2]).submitScore(taskId, s0, PASS)).to.emit(ledger, "UpdateAccepted");
      await ledger.connect(publisher).settleUpdates(taskId, [s1]); // 2 pass = f: rejected
      // s2 got no score at all: expired at the end of the extension, not rejected
      await nextTxAt(extended - 1);
      await expect(ledger.connect(v[4]).submitScore(taskId, s2, FAIL)).to.emit(ledger, "ScoreSubmitted"); // late, allowed
      await expect(ledger.connect(v[0]).submitScore(taskId, s2, FAIL))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerScoringClosed")
        .withArgs(taskId, s2, extended);
      await expect(ledger.connect(publisher).settleUpdates(taskId, [s2]))
        .to.emit(ledger, "UpdateExpired")
        .withArgs(taskId, s2, 1, 1);
    });

    it("settling and a late score in one block: either order decides the update once, no batch reverts", async function () {
      for (const scoreFirst of [true, false]) {
        const ctx = await waitingTask();
        const { ledger, taskId, p, v, publisher } = ctx;
        for (const [i, who] of p.slice(0, 3).entries()) {
          await submitUpdate(ledger, who, taskId, 1, h(`r${i}`), cid(`r${i}`), 10);
        }
        const [r0, r1] = [h("r0"), h("r1")];
        await scoreAll(ledger, taskId, r0, v.slice(0, 3), [PASS, PASS, FAIL]);
        await scoreAll(ledger, taskId, r1, v.slice(0, 3), [PASS, FAIL, PASS]);
        const [, scoring] = (await ledger.roundDeadlines(taskId, 1)).map(Number);
        await mineUpTo(scoring - 2);
        const score = (fee) => () => ledger.connect(v[3]).submitScores(taskId, [r0, r1], [PASS, PASS], fee);
        await mineUpTo(scoring - 1);
        const settle = (fee) => () => ledger.connect(publisher).settleUpdates(taskId, [r0], fee);
        // the block is `scoring`: scores of updates with a quorum are late, settling is open
        const receipts = await oneBlock(scoreFirst ? [score(HIGH_FEE), settle(LOW_FEE)] : [settle(HIGH_FEE), score(LOW_FEE)]);
        const decided = receipts.flatMap((r) => [
          ...eventsOf(ledger, r, "UpdateAccepted"),
          ...eventsOf(ledger, r, "UpdateRejected"),
        ]);
        expect(decided.filter((e) => e.args.update === r0).length).to.equal(1);
        expect((await ledger.getUpdate(taskId, r0)).status).to.not.equal(STATUS.Pending);
      }
    });
  });
});

/** Dag task with maxPending = 2, committee v[0..4], providers p[0..3] joined. */
async function dagFixture() {
  const ctx = await deployLedger();
  const committee = ctx.v.slice(0, 5);
  const params = dagParams(committee, { maxPending: 2 });
  const taskId = await publish(ctx.ledger, ctx.publisher, params);
  for (const a of ctx.p) await ctx.ledger.connect(a).joinTask(taskId);
  return { ...ctx, committee, params, taskId, flow: FLOW.DAG };
}
