// TaskRegistry: publication (direct and relayed with EIP-712), the policy checks (B5), closing.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const { anyValue } = require("@nomicfoundation/hardhat-chai-matchers/withArgs");
const {
  ROLE,
  FLOW,
  THRESHOLD,
  PUBLISH_TYPES,
  h,
  cid,
  taskParams,
  dagParams,
  domainOf,
  signPublish,
  deployLedger,
  publish,
  submitDagUpdate,
} = require("./helpers/fixtures");

/** The TaskParams tuple as the contract returns it inside an event, for deep comparison. */
const paramsTuple = (p) => [
  p.modelSpecHash,
  p.modelSpecCid,
  p.initialWeightsHash,
  p.initialWeightsCid,
  BigInt(p.flow),
  BigInt(p.metric),
  BigInt(p.thresholdMode),
  BigInt(p.threshold),
  BigInt(p.quorum),
  BigInt(p.maxFaultyValidators),
  BigInt(p.aggregationRule),
  BigInt(p.numByzantine),
  BigInt(p.roundLength),
  BigInt(p.scoreWindow),
  BigInt(p.maxRounds),
  BigInt(p.maxParents),
  BigInt(p.minUpdates),
  BigInt(p.roundExtension),
  BigInt(p.scoreExtension),
  BigInt(p.attestWindow),
  BigInt(p.maxPending),
  BigInt(p.drawSize),
  BigInt(p.commitWindow),
  BigInt(p.maxRejections),
  p.committee,
  p.fragmentHashes,
  p.fragmentCids,
];

async function committeeOf(n, ctx) {
  // n fresh validator addresses (they never send transactions, so no funds needed)
  const out = [];
  for (let i = 0; i < n; ++i) {
    const w = ethers.Wallet.createRandom();
    await ctx.consortium.connect(ctx.admin).grantRole(ROLE.VALIDATOR, w.address);
    out.push(w.address);
  }
  return out;
}

describe("TaskRegistry", function () {
  describe("publishTask", function () {
    it("stores the task, its committee and emits TaskPublished with the full parameters", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5), { metric: 2, thresholdMode: 1, threshold: -25_000n, maxRounds: 7 });
      expect(await ledger.taskCount()).to.equal(0);
      const tx = ledger.connect(publisher).publishTask(params);
      await expect(tx)
        .to.emit(ledger, "TaskPublished")
        .withArgs(1, publisher.address, publisher.address, (got) => {
          expect(got.toArray ? got.toArray(true) : got).to.deep.equal(paramsTuple(params));
          return true;
        });
      const block = (await (await tx).wait()).blockNumber;
      expect(await ledger.taskCount()).to.equal(1);
      const t = await ledger.getTask(1);
      expect(t.publisher).to.equal(publisher.address);
      expect(t.flow).to.equal(FLOW.FEDERATION);
      expect(t.metric).to.equal(2);
      expect(t.thresholdMode).to.equal(1);
      expect(t.quorum).to.equal(3);
      expect(t.maxFaultyValidators).to.equal(2);
      expect(t.committeeSize).to.equal(5);
      expect(t.aggregationRule).to.equal(params.aggregationRule);
      expect(t.maxParents).to.equal(0);
      expect(t.numByzantine).to.equal(params.numByzantine);
      expect(t.closed).to.equal(false);
      expect(t.threshold).to.equal(-25_000n);
      expect(t.roundLength).to.equal(params.roundLength);
      expect(t.scoreWindow).to.equal(params.scoreWindow);
      expect(t.maxRounds).to.equal(7);
      expect(t.currentRound).to.equal(1);
      expect(t.publishedBlock).to.equal(block);
      expect(t.modelSpecHash).to.equal(params.modelSpecHash);
      expect(t.initialWeightsHash).to.equal(params.initialWeightsHash);
      expect(t.globalModelHash).to.equal(params.initialWeightsHash);
      const [members, fragments] = await ledger.getCommittee(1);
      expect(members).to.deep.equal(params.committee);
      expect(fragments).to.deep.equal(params.fragmentHashes);
      const r = await ledger.getRound(1, 1);
      expect(r.startBlock).to.equal(block);
      expect(r.baseModelHash).to.equal(params.initialWeightsHash);
      expect(r.finalized).to.equal(false);
    });

    it("a dag task has no rounds and its global model is the initial weights", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const params = dagParams(v.slice(0, 3), { quorum: 2, maxFaultyValidators: 1, maxParents: 8 });
      const id = await publish(ledger, publisher, params);
      const t = await ledger.getTask(id);
      expect(t.flow).to.equal(FLOW.DAG);
      expect(t.currentRound).to.equal(0);
      expect(t.maxParents).to.equal(8);
      expect(t.globalModelHash).to.equal(params.initialWeightsHash);
      expect((await ledger.getRound(id, 1)).startBlock).to.equal(0);
    });

    it("task ids run from 1; unknown ids revert LedgerUnknownTask", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      expect(await publish(ledger, publisher, taskParams(v.slice(0, 5)))).to.equal(1);
      expect(await publish(ledger, publisher, taskParams(v.slice(0, 5)))).to.equal(2);
      for (const id of [0, 3]) {
        await expect(ledger.getTask(id)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(id);
        await expect(ledger.getCommittee(id)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(id);
        await expect(ledger.getRound(id, 1)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(id);
        await expect(ledger.closeTask(id)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(id);
      }
    });

    it("reverts for callers without PUBLISHER_ROLE", async function () {
      const { ledger, admin, p, v, outsider } = await loadFixture(deployLedger);
      for (const a of [admin, p[0], v[0], outsider]) {
        await expect(ledger.connect(a).publishTask(taskParams(v.slice(0, 5))))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(a.address, ROLE.PUBLISHER);
      }
    });
  });

  describe("B5: unsafe policy and invalid parameters are refused at publication", function () {
    it("f >= k", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const c = v.slice(0, 5);
      for (const [k, f] of [
        [2, 2],
        [1, 2],
        [0, 0],
        [1, 1],
      ]) {
        await expect(ledger.connect(publisher).publishTask(taskParams(c, { quorum: k, maxFaultyValidators: f })))
          .to.be.revertedWithCustomError(ledger, "TaskRegistryUnsafePolicy")
          .withArgs(5, k, f);
      }
    });

    it("k > n - f", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const c = v.slice(0, 5);
      for (const [k, f] of [
        [4, 2],
        [5, 1],
        [6, 0],
      ]) {
        await expect(ledger.connect(publisher).publishTask(taskParams(c, { quorum: k, maxFaultyValidators: f })))
          .to.be.revertedWithCustomError(ledger, "TaskRegistryUnsafePolicy")
          .withArgs(5, k, f);
      }
    });

    it("accepts every policy on the boundary f < k <= n - f", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const c = v.slice(0, 5);
      for (const [k, f] of [
        [2, 0],
        [5, 0],
        [2, 1],
        [4, 1],
        [3, 2],
      ]) {
        await expect(ledger.connect(publisher).publishTask(taskParams(c, { quorum: k, maxFaultyValidators: f }))).to.emit(
          ledger,
          "TaskPublished"
        );
      }
    });

    it("k = 1 only with one or two members: never one member deciding for three or more", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      for (const n of [3, 5]) {
        await expect(ledger.connect(publisher).publishTask(taskParams(v.slice(0, n), { quorum: 1, maxFaultyValidators: 0 })))
          .to.be.revertedWithCustomError(ledger, "TaskRegistryUnsafePolicy")
          .withArgs(n, 1, 0);
      }
      for (const n of [1, 2]) {
        await expect(
          ledger.connect(publisher).publishTask(taskParams(v.slice(0, n), { quorum: 1, maxFaultyValidators: 0 }))
        ).to.emit(ledger, "TaskPublished");
      }
    });

    it("committee of 0 (without a vetting contract nothing draws one) or more than 24 members; 24 is fine", async function () {
      const ctx = await loadFixture(deployLedger);
      const { ledger, publisher } = ctx;
      await expect(ledger.connect(publisher).publishTask(taskParams([], { quorum: 1, maxFaultyValidators: 0 })))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryCommitteeMode")
        .withArgs(false);
      const drawn = taskParams([], { quorum: 3, maxFaultyValidators: 1, drawSize: 5 });
      await expect(ledger.connect(publisher).publishTask(drawn))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryCommitteeMode")
        .withArgs(false);
      const big = await committeeOf(25, ctx);
      await expect(ledger.connect(publisher).publishTask(taskParams(big, { quorum: 13, maxFaultyValidators: 12 })))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryCommitteeSize")
        .withArgs(25, 24);
      const id = await publish(ledger, publisher, taskParams(big.slice(0, 24), { quorum: 12, maxFaultyValidators: 11 }));
      expect((await ledger.getTask(id)).committeeSize).to.equal(24);
      expect((await ledger.getCommittee(id))[0]).to.deep.equal(big.slice(0, 24));
      expect((await ledger.getTask(id)).stage).to.equal(0); // open at publication
    });

    it("commit-reveal needs a score commitments contract and a commit window shorter than scoring", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      await expect(ledger.connect(publisher).publishTask(taskParams(v.slice(0, 5), { commitWindow: 5 })))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidParameter")
        .withArgs("commitWindow", 5);
    });

    it("one fragment hash and one CID per committee member", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const c = v.slice(0, 5);
      const base = taskParams(c);
      await expect(ledger.connect(publisher).publishTask({ ...base, fragmentHashes: base.fragmentHashes.slice(0, 4) }))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryFragmentCount")
        .withArgs(5, 4, 5);
      await expect(ledger.connect(publisher).publishTask({ ...base, fragmentCids: [...base.fragmentCids, cid("x")] }))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryFragmentCount")
        .withArgs(5, 5, 6);
      await expect(ledger.connect(publisher).publishTask({ ...base, fragmentHashes: [], fragmentCids: [] }))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryFragmentCount")
        .withArgs(5, 0, 0);
    });

    it("a committee member twice, or without VALIDATOR_ROLE", async function () {
      const { ledger, publisher, v, p, outsider } = await loadFixture(deployLedger);
      await expect(ledger.connect(publisher).publishTask(taskParams([v[0], v[1], v[2], v[1], v[3]])))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryDuplicateCommitteeMember")
        .withArgs(v[1].address);
      for (const a of [p[0], outsider]) {
        await expect(ledger.connect(publisher).publishTask(taskParams([v[0], v[1], a, v[2], v[3]])))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(a.address, ROLE.VALIDATOR);
      }
    });

    it("each out-of-range field, named", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const c = v.slice(0, 5);
      const cases = [
        [{ modelSpecHash: ethers.ZeroHash }, "modelSpecHash", 0],
        [{ initialWeightsHash: ethers.ZeroHash }, "initialWeightsHash", 0],
        [{ flow: 2 }, "flow", 2],
        [{ metric: 3 }, "metric", 3],
        [{ thresholdMode: 3 }, "thresholdMode", 3],
        [{ roundLength: 0 }, "roundLength", 0],
        [{ scoreWindow: 0 }, "scoreWindow", 0],
        [{ maxRounds: 0 }, "maxRounds", 0],
        [{ flow: FLOW.DAG, maxParents: 0 }, "maxParents", 0],
        [{ flow: FLOW.DAG, maxParents: 9 }, "maxParents", 9],
        [{ fragmentHashes: [h("a"), h("b"), ethers.ZeroHash, h("d"), h("e")] }, "fragmentHashes", 2],
        // THREATS I: a NaN threshold once became int64 min; thresholds are bounded on chain
        [{ threshold: -(2n ** 63n) }, "threshold", -(2n ** 63n)],
        [{ threshold: 2n ** 63n - 1n }, "threshold", 2n ** 63n - 1n],
        [{ threshold: 1_000_000_001n * 1000n }, "threshold", 1_000_000_001n * 1000n],
        [{ aggregationRule: 11 }, "aggregationRule", 11],
        [{ aggregationRule: 255 }, "aggregationRule", 255],
        [{ numByzantine: 1001 }, "numByzantine", 1001],
        [{ attestWindow: 0 }, "attestWindow", 0],
        [{ flow: FLOW.DAG, maxParents: 2, maxPending: 0 }, "maxPending", 0],
      ];
      for (const [overrides, name, value] of cases) {
        await expect(ledger.connect(publisher).publishTask(taskParams(c, overrides)))
          .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidParameter")
          .withArgs(name, value);
      }
      // federation ignores maxParents and maxPending; the bounds themselves are legal
      expect(await ledger.MAX_ABS_THRESHOLD()).to.equal(1_000_000_000n);
      expect(await ledger.MAX_AGGREGATION_RULE()).to.equal(10);
      expect(await ledger.MAX_NUM_BYZANTINE()).to.equal(1000);
      for (const threshold of [-1_000_000_000n, 1_000_000_000n]) {
        await expect(
          ledger
            .connect(publisher)
            .publishTask(taskParams(c, { maxParents: 200, maxPending: 0, threshold, aggregationRule: 10, numByzantine: 1000 }))
        ).to.emit(ledger, "TaskPublished");
      }
    });
  });

  describe("publishTaskFor (EIP-712, F5)", function () {
    const deadlineIn = async (s) => BigInt((await time.latest()) + s);

    it("the contract's digest is the EIP-712 hash a client computes", async function () {
      const { ledger, publisher, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = 1_000_000_000_000n;
      const expected = ethers.TypedDataEncoder.hash(await domainOf(ledger), PUBLISH_TYPES, {
        publisher: publisher.address,
        params,
        nonce: 7n,
        deadline,
      });
      expect(await ledger.publishDigest(params, publisher.address, 7, deadline)).to.equal(expected);
      const domain = await ledger.eip712Domain();
      expect(domain.name).to.equal("ledgerlearn");
      expect(domain.version).to.equal("1");
      expect(domain.verifyingContract).to.equal(await ledger.getAddress());
    });

    it("anyone may relay a publisher's signature; the nonce advances", async function () {
      const { ledger, publisher, relayer, outsider, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      expect(await ledger.publishNonce(publisher.address)).to.equal(0);
      const deadline = await deadlineIn(3600);
      const sig = await signPublish(ledger, publisher, params, { deadline });
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig))
        .to.emit(ledger, "TaskPublished")
        .withArgs(1, publisher.address, relayer.address, anyValue);
      expect((await ledger.getTask(1)).publisher).to.equal(publisher.address);
      expect(await ledger.publishNonce(publisher.address)).to.equal(1);
      // second publication with the next nonce, relayed by another account
      const sig2 = await signPublish(ledger, publisher, params, { deadline });
      await expect(ledger.connect(outsider).publishTaskFor(params, publisher.address, deadline, sig2))
        .to.emit(ledger, "TaskPublished")
        .withArgs(2, publisher.address, outsider.address, anyValue);
      expect(await ledger.publishNonce(publisher.address)).to.equal(2);
    });

    it("F1: a replayed signature reverts TaskRegistryInvalidSigner (the nonce moved on)", async function () {
      const { ledger, publisher, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(3600);
      const sig = await signPublish(ledger, publisher, params, { deadline });
      await ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig);
      const recovered = ethers.recoverAddress(await ledger.publishDigest(params, publisher.address, 1, deadline), sig);
      expect(recovered).to.not.equal(publisher.address);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(recovered, publisher.address);
      expect(await ledger.taskCount()).to.equal(1);
    });

    it("F5: a signature for another chain id reverts TaskRegistryInvalidSigner", async function () {
      const { ledger, publisher, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(3600);
      const sig = await signPublish(ledger, publisher, params, { deadline, domain: { chainId: 1n } });
      const recovered = ethers.recoverAddress(await ledger.publishDigest(params, publisher.address, 0, deadline), sig);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(recovered, publisher.address);
    });

    it("F5: a signature for another contract reverts TaskRegistryInvalidSigner", async function () {
      const { ledger, consortium, publisher, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(3600);
      // a second ledger on the same chain: a signature for it must not work here, and vice versa
      const other = await (await ethers.getContractFactory("LearningLedger")).deploy(
        await consortium.getAddress(),
        ethers.ZeroAddress,
        ethers.ZeroAddress
      );
      const sig = await signPublish(ledger, publisher, params, {
        deadline,
        domain: { verifyingContract: await other.getAddress() },
      });
      const recovered = ethers.recoverAddress(await ledger.publishDigest(params, publisher.address, 0, deadline), sig);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(recovered, publisher.address);
      await expect(other.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig)).to.emit(
        other,
        "TaskPublished"
      );
    });

    it("a signature over other parameters, deadline or nonce reverts TaskRegistryInvalidSigner", async function () {
      const { ledger, publisher, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(3600);
      const sig = await signPublish(ledger, publisher, params, { deadline });
      const tampered = { ...params, threshold: THRESHOLD - 1n };
      let recovered = ethers.recoverAddress(await ledger.publishDigest(tampered, publisher.address, 0, deadline), sig);
      await expect(ledger.connect(relayer).publishTaskFor(tampered, publisher.address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(recovered, publisher.address);
      const tamperedCids = { ...params, fragmentCids: [...params.fragmentCids].reverse() };
      recovered = ethers.recoverAddress(await ledger.publishDigest(tamperedCids, publisher.address, 0, deadline), sig);
      await expect(ledger.connect(relayer).publishTaskFor(tamperedCids, publisher.address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(recovered, publisher.address);
      recovered = ethers.recoverAddress(await ledger.publishDigest(params, publisher.address, 0, deadline + 1n), sig);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline + 1n, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(recovered, publisher.address);
      const future = await signPublish(ledger, publisher, params, { deadline, nonce: 1n });
      recovered = ethers.recoverAddress(await ledger.publishDigest(params, publisher.address, 0, deadline), future);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, future))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(recovered, publisher.address);
    });

    it("signed by someone else, or malformed: TaskRegistryInvalidSigner naming the recovered signer", async function () {
      const { ledger, publisher, publisher2, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(3600);
      // publisher2 signs a message naming publisher
      const sig = await signPublish(ledger, publisher2, params, { deadline, publisher: publisher.address, nonce: 0n });
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(publisher2.address, publisher.address);
      for (const bad of ["0x", "0x1234", ethers.concat([ethers.ZeroHash, ethers.ZeroHash, "0x1b"])]) {
        await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, bad))
          .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
          .withArgs(ethers.ZeroAddress, publisher.address);
      }
    });

    it("a high-s (malleable) copy of a valid signature is refused", async function () {
      const { ledger, publisher, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(3600);
      const sig = ethers.Signature.from(await signPublish(ledger, publisher, params, { deadline }));
      const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const highS = ethers.concat([sig.r, ethers.toBeHex(N - BigInt(sig.s), 32), sig.v === 27 ? "0x1c" : "0x1b"]);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, highS))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryInvalidSigner")
        .withArgs(ethers.ZeroAddress, publisher.address);
      await ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig.serialized);
    });

    it("an expired deadline reverts TaskRegistryExpiredSignature(deadline, timestamp)", async function () {
      const { ledger, publisher, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(100);
      const sig = await signPublish(ledger, publisher, params, { deadline });
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryExpiredSignature")
        .withArgs(deadline, deadline + 1n);
      // the deadline itself is still valid
      const sig2 = await signPublish(ledger, publisher, params, { deadline: deadline + 10n });
      await time.setNextBlockTimestamp(deadline + 10n);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline + 10n, sig2)).to.emit(
        ledger,
        "TaskPublished"
      );
    });

    it("the signer needs PUBLISHER_ROLE, also when relayed; the policy checks apply", async function () {
      const { ledger, consortium, admin, publisher, p, relayer, v } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const deadline = await deadlineIn(3600);
      const sig = await signPublish(ledger, p[0], params, { deadline });
      await expect(ledger.connect(relayer).publishTaskFor(params, p[0].address, deadline, sig))
        .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
        .withArgs(p[0].address, ROLE.PUBLISHER);
      // revoked after signing: refused
      const sigPub = await signPublish(ledger, publisher, params, { deadline });
      await consortium.connect(admin).revokeRole(ROLE.PUBLISHER, publisher.address);
      await expect(ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sigPub))
        .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
        .withArgs(publisher.address, ROLE.PUBLISHER);
      await consortium.connect(admin).grantRole(ROLE.PUBLISHER, publisher.address);
      const unsafe = taskParams(v.slice(0, 5), { quorum: 2 });
      const sigUnsafe = await signPublish(ledger, publisher, unsafe, { deadline });
      await expect(ledger.connect(relayer).publishTaskFor(unsafe, publisher.address, deadline, sigUnsafe))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryUnsafePolicy")
        .withArgs(5, 2, 2);
      // a failed relay does not burn the nonce
      expect(await ledger.publishNonce(publisher.address)).to.equal(0);
      await ledger.connect(relayer).publishTaskFor(params, publisher.address, deadline, sigPub);
    });
  });

  describe("closeTask", function () {
    it("only the task's publisher closes it, once; TaskClosed names the global model", async function () {
      const { ledger, publisher, publisher2, admin, p, v, outsider } = await loadFixture(deployLedger);
      const params = taskParams(v.slice(0, 5));
      const id = await publish(ledger, publisher, params);
      for (const a of [publisher2, admin, p[0], v[0], outsider]) {
        await expect(ledger.connect(a).closeTask(id))
          .to.be.revertedWithCustomError(ledger, "TaskRegistryNotPublisher")
          .withArgs(id, a.address);
      }
      await expect(ledger.connect(publisher).closeTask(id))
        .to.emit(ledger, "TaskClosed")
        .withArgs(id, publisher.address, params.initialWeightsHash);
      expect((await ledger.getTask(id)).closed).to.equal(true);
      await expect(ledger.connect(publisher).closeTask(id))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(id);
      await expect(ledger.connect(p[0]).joinTask(id))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(id);
    });

    it("closes a dag task too", async function () {
      const { ledger, publisher, p, v } = await loadFixture(deployLedger);
      const params = dagParams(v.slice(0, 5));
      const id = await publish(ledger, publisher, params);
      await ledger.connect(p[0]).joinTask(id);
      await expect(ledger.connect(publisher).closeTask(id))
        .to.emit(ledger, "TaskClosed")
        .withArgs(id, publisher.address, params.initialWeightsHash);
      await expect(submitDagUpdate(ledger, p[0], id, [params.initialWeightsHash], h("d"), cid("d"), 1))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed")
        .withArgs(id);
    });
  });
});
