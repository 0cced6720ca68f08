// A governed ledger: committees drawn from the validators' pool by commit-reveal of seeds, tasks
// vetted by their drawn committee before they open (THREATS J2, J4).
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, mine, mineUpTo } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ROLE,
  LIMITS,
  h,
  cid,
  taskParams,
  deployGovernedLedger,
  drawnParams,
  runDraw,
  mineBefore,
  publish,
  prng,
} = require("./helpers/fixtures");

const STAGE = { Open: 0n, Drawing: 1n, Vetting: 2n, Rejected: 3n, Expired: 4n };
const coder = ethers.AbiCoder.defaultAbiCoder();

/** The draw as the contract defines it, from the revealed seeds and the eligible list. */
function rederive(taskId, seeds, eligible, size) {
  let mix = ethers.ZeroHash;
  for (const s of seeds) {
    mix = ethers.toBeHex(BigInt(mix) ^ BigInt(ethers.keccak256(coder.encode(["uint256", "bytes32"], [taskId, s]))), 32);
  }
  const seed = ethers.keccak256(coder.encode(["uint256", "bytes32"], [taskId, mix]));
  const list = [...eligible];
  const out = [];
  for (let i = 0; i < size; ++i) {
    const r = BigInt(ethers.keccak256(coder.encode(["bytes32", "uint256"], [seed, i])));
    const j = i + Number(r % BigInt(list.length - i));
    [list[i], list[j]] = [list[j], list[i]];
    out.push(list[i]);
  }
  return { seed, members: out };
}

async function drawnTask(overrides = {}) {
  const ctx = await deployGovernedLedger();
  const params = drawnParams(5, overrides);
  const taskId = await publish(ctx.ledger, ctx.publisher, params);
  return { ...ctx, params, taskId };
}

async function seatedTask() {
  const ctx = await drawnTask();
  const { committee } = await runDraw(ctx, ctx.taskId, ctx.v.slice(0, 3));
  return { ...ctx, committee };
}

const fragments = (n) => [
  Array.from({ length: n }, (_, i) => h(`fragment-${i}`)),
  Array.from({ length: n }, (_, i) => cid(`fragment-${i}`)),
];

describe("TaskVetting (governed ledger)", function () {
  describe("publication", function () {
    it("refuses a named committee and needs a draw size; a drawn task starts Drawing and cannot be joined (J4)", async function () {
      const ctx = await loadFixture(deployGovernedLedger);
      const { ledger, publisher, v, p } = ctx;
      await expect(ledger.connect(publisher).publishTask(taskParams(v.slice(0, 5))))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryCommitteeMode")
        .withArgs(true);
      await expect(ledger.connect(publisher).publishTask(drawnParams(0)))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryCommitteeMode")
        .withArgs(true);
      await expect(ledger.connect(publisher).publishTask(drawnParams(5, { quorum: 2, maxFaultyValidators: 2 })))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryUnsafePolicy")
        .withArgs(5, 2, 2);
      const id = await publish(ledger, publisher, drawnParams(5));
      const t = await ledger.getTask(id);
      expect(t.stage).to.equal(STAGE.Drawing);
      expect(t.committeeSize).to.equal(5);
      expect((await ledger.getCommittee(id))[0]).to.deep.equal([]);
      await expect(ledger.connect(p[0]).joinTask(id))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryNotOpen")
        .withArgs(id, STAGE.Drawing);
    });
  });

  describe("the pool", function () {
    it("admits registered validators once; leaving moves the last member to the gap", async function () {
      const ctx = await loadFixture(deployGovernedLedger);
      const { vetting, consortium, v, dual, p, outsider, admin } = ctx;
      expect(await vetting.pool()).to.deep.equal([...v, dual].map((a) => a.address));
      await expect(vetting.connect(v[0]).joinPool()).to.be.revertedWithCustomError(vetting, "PoolAlreadyJoined").withArgs(v[0].address);
      await expect(vetting.connect(p[0]).joinPool()).to.be.revertedWithCustomError(vetting, "PoolNotValidator").withArgs(p[0].address);
      await consortium.connect(admin).grantRole(ROLE.VALIDATOR, outsider.address);
      await expect(vetting.connect(outsider).joinPool()).to.be.revertedWithCustomError(vetting, "PoolNotRegistered").withArgs(outsider.address);
      await expect(vetting.connect(v[1]).leavePool()).to.emit(vetting, "PoolLeft").withArgs(v[1].address);
      expect(await vetting.pool()).to.deep.equal([v[0], dual, v[2], v[3], v[4], v[5]].map((a) => a.address));
      expect(await vetting.inPool(v[1].address)).to.equal(false);
      await expect(vetting.connect(v[1]).leavePool()).to.be.revertedWithCustomError(vetting, "PoolNotJoined").withArgs(v[1].address);
    });
  });

  describe("the draw (J2)", function () {
    it("seeds are committed, then revealed, each in its window; mismatches and strangers refused", async function () {
      const { vetting, taskId, v, p } = await loadFixture(drawnTask);
      const seed = ethers.id("s0");
      const commitment = await vetting.seedCommitment(taskId, v[0].address, seed);
      await expect(vetting.connect(p[0]).commitSeed(taskId, commitment)).to.be.revertedWithCustomError(vetting, "VettingNotInPool").withArgs(p[0].address);
      await expect(vetting.connect(v[0]).commitSeed(taskId, commitment)).to.emit(vetting, "SeedCommitted").withArgs(taskId, v[0].address, commitment);
      await expect(vetting.connect(v[0]).commitSeed(taskId, commitment)).to.be.revertedWithCustomError(vetting, "VettingAlreadyCommitted").withArgs(taskId, v[0].address);
      const info = await vetting.vettingOf(taskId);
      await expect(vetting.connect(v[0]).revealSeed(taskId, seed))
        .to.be.revertedWithCustomError(vetting, "VettingOutsideWindow")
        .withArgs(taskId, info.commitEnd, info.revealEnd);
      await expect(vetting.draw(taskId)).to.be.revertedWithCustomError(vetting, "VettingOutsideWindow");
      await mineBefore(Number(info.commitEnd));
      const late = await vetting.seedCommitment(taskId, v[1].address, seed);
      await expect(vetting.connect(v[1]).commitSeed(taskId, late))
        .to.be.revertedWithCustomError(vetting, "VettingOutsideWindow")
        .withArgs(taskId, 0, info.commitEnd);
      const wrong = await vetting.seedCommitment(taskId, v[0].address, ethers.id("other"));
      await expect(vetting.connect(v[0]).revealSeed(taskId, ethers.id("other")))
        .to.be.revertedWithCustomError(vetting, "VettingSeedMismatch")
        .withArgs(taskId, commitment, wrong);
      await expect(vetting.connect(v[1]).revealSeed(taskId, seed)).to.be.revertedWithCustomError(vetting, "VettingNoCommitment").withArgs(taskId, v[1].address);
      await expect(vetting.connect(v[0]).revealSeed(taskId, seed)).to.emit(vetting, "SeedRevealed").withArgs(taskId, v[0].address, seed);
    });

    it("anyone re-derives the committee from the reveals and the eligible list; the publisher and withholders are never drawn", async function () {
      const ctx = await loadFixture(deployGovernedLedger);
      const { vetting, ledger, consortium, admin, v, dual, publisher } = ctx;
      await consortium.connect(admin).grantRole(ROLE.PUBLISHER, v[5].address); // in the pool too
      const taskId = await publish(ledger, v[5], drawnParams(3, { quorum: 2, maxFaultyValidators: 1 }));
      const seeds = [ethers.id("a"), ethers.id("b")];
      for (const [i, m] of [v[0], v[1]].entries()) {
        await vetting.connect(m).commitSeed(taskId, await vetting.seedCommitment(taskId, m.address, seeds[i]));
      }
      await vetting.connect(v[2]).commitSeed(taskId, await vetting.seedCommitment(taskId, v[2].address, ethers.id("c")));
      const info = await vetting.vettingOf(taskId);
      await mineBefore(Number(info.commitEnd));
      for (const [i, m] of [v[0], v[1]].entries()) await vetting.connect(m).revealSeed(taskId, seeds[i]);
      await mineBefore(Number(info.revealEnd)); // v[2] withholds its reveal
      const tx = await vetting.connect(publisher).draw(taskId);
      const eligible = [v[0], v[1], v[3], v[4], dual].map((a) => a.address); // pool order, minus v[2] and v[5]
      const expected = rederive(taskId, seeds, eligible, 3);
      await expect(tx).to.emit(vetting, "CommitteeDrawn").withArgs(taskId, expected.seed, eligible, expected.members);
      await expect(tx).to.emit(ledger, "CommitteeSeated").withArgs(taskId, expected.members);
      expect((await ledger.getCommittee(taskId))[0]).to.deep.equal(expected.members);
      expect((await ledger.getTask(taskId)).stage).to.equal(STAGE.Vetting);
      expect((await vetting.vettingOf(taskId)).seed).to.equal(expected.seed);
      await expect(vetting.draw(taskId)).to.be.revertedWithCustomError(vetting, "VettingWrongStage").withArgs(taskId, STAGE.Vetting);
    });

    it("no reveal, or fewer eligible members than seats: the task expires, closed, never open", async function () {
      const ctx = await loadFixture(deployGovernedLedger);
      const { vetting, ledger, publisher, v, p } = ctx;
      const silent = await publish(ledger, publisher, drawnParams(5));
      await mine(LIMITS.drawCommitBlocks + LIMITS.drawRevealBlocks);
      await expect(vetting.draw(silent)).to.emit(vetting, "VettingConcluded").withArgs(silent, STAGE.Expired);
      const t = await ledger.getTask(silent);
      expect(t.stage).to.equal(STAGE.Expired);
      expect(t.closed).to.equal(true);
      await expect(ledger.connect(p[0]).joinTask(silent)).to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed").withArgs(silent);
      const big = await publish(ledger, publisher, drawnParams(8, { quorum: 5, maxFaultyValidators: 3 }));
      await runDraw(ctx, big, [v[0]]); // 7 in the pool
      expect((await ledger.getTask(big)).stage).to.equal(STAGE.Expired);
    });

    it("over 300 draws each pool member's seat frequency matches drawSize / eligible (chi-square, p = 0.001)", async function () {
      this.timeout(600000);
      const ctx = await loadFixture(deployGovernedLedger);
      const { vetting, ledger, publisher, v, dual } = ctx;
      const pool = [...v, dual];
      const counts = new Map(pool.map((a) => [a.address, 0]));
      const draws = 300;
      const size = 3;
      const rand = prng(20261202);
      for (let k = 0; k < draws; ++k) {
        const taskId = await publish(ledger, publisher, drawnParams(size, { quorum: 2, maxFaultyValidators: 1 }));
        const m = pool[k % pool.length];
        const seed = ethers.toBeHex(BigInt(rand.int(2 ** 48)) * 2n ** 200n + BigInt(k), 32);
        await vetting.connect(m).commitSeed(taskId, await vetting.seedCommitment(taskId, m.address, seed));
        await mine(LIMITS.drawCommitBlocks);
        await vetting.connect(m).revealSeed(taskId, seed);
        await mine(LIMITS.drawRevealBlocks);
        await vetting.draw(taskId);
        for (const a of (await ledger.getCommittee(taskId))[0]) counts.set(a, counts.get(a) + 1);
      }
      const expected = (draws * size) / pool.length;
      const chi2 = [...counts.values()].reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
      expect([...counts.values()].reduce((a, b) => a + b, 0)).to.equal(draws * size);
      // 6 degrees of freedom: P(chi2 > 22.46) = 0.001 for a fair draw
      expect(chi2, `seat counts ${[...counts.values()]}, expected ${expected.toFixed(1)} each`).to.be.below(22.46);
      console.log(`      seats per member over ${draws} draws of ${size} from ${pool.length}: ${[...counts.values()].join(", ")} (expected ${expected.toFixed(1)}, chi2 ${chi2.toFixed(2)})`);
    });
  });

  describe("vetting (J4)", function () {
    it("k approvals and the fragments open the task (either order); round 1 starts at opening", async function () {
      const ctx = await loadFixture(seatedTask);
      const { vetting, ledger, publisher, taskId, committee, p, outsider } = ctx;
      await expect(vetting.connect(outsider).vote(taskId, true, "fine")).to.be.revertedWithCustomError(vetting, "VettingNotCommitteeMember").withArgs(taskId, outsider.address);
      await expect(vetting.connect(committee[0]).vote(taskId, true, "")).to.be.revertedWithCustomError(vetting, "VettingReasonLength").withArgs(0, 280);
      await expect(vetting.connect(committee[0]).vote(taskId, true, "x".repeat(281))).to.be.revertedWithCustomError(vetting, "VettingReasonLength").withArgs(281, 280);
      await expect(vetting.connect(committee[0]).vote(taskId, true, "within limits"))
        .to.emit(vetting, "VettingVoted")
        .withArgs(taskId, committee[0].address, true, "within limits");
      await expect(vetting.connect(committee[0]).vote(taskId, false, "changed my mind")).to.be.revertedWithCustomError(vetting, "VettingAlreadyVoted").withArgs(taskId, committee[0].address);
      await vetting.connect(committee[1]).vote(taskId, false, "too big for me");
      await vetting.connect(committee[2]).vote(taskId, true, "ok");
      await expect(vetting.connect(committee[3]).vote(taskId, true, "ok"))
        .to.emit(vetting, "VettingConcluded")
        .withArgs(taskId, STAGE.Open)
        .and.to.emit(ledger, "TaskStageChanged")
        .withArgs(taskId, STAGE.Vetting); // approved, fragments missing
      let t = await ledger.getTask(taskId);
      expect([t.stage, t.approved, t.fragmentsPosted]).to.deep.equal([STAGE.Vetting, true, false]);
      await expect(ledger.connect(p[0]).joinTask(taskId)).to.be.revertedWithCustomError(ledger, "TaskRegistryNotOpen").withArgs(taskId, STAGE.Vetting);
      const [hashes, cids] = fragments(5);
      await expect(ledger.connect(p[0]).postFragments(taskId, hashes, cids)).to.be.revertedWithCustomError(ledger, "TaskRegistryNotPublisher").withArgs(taskId, p[0].address);
      await expect(ledger.connect(publisher).postFragments(taskId, hashes.slice(1), cids.slice(1)))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryFragmentCount")
        .withArgs(5, 4, 4);
      const tx = ledger.connect(publisher).postFragments(taskId, hashes, cids);
      await expect(tx).to.emit(ledger, "FragmentsPosted").withArgs(taskId, hashes, cids);
      await expect(tx).to.emit(ledger, "TaskStageChanged").withArgs(taskId, STAGE.Open);
      const opened = (await (await tx).wait()).blockNumber;
      t = await ledger.getTask(taskId);
      expect(t.stage).to.equal(STAGE.Open);
      expect((await ledger.getRound(taskId, 1)).startBlock).to.equal(opened);
      expect((await ledger.getCommittee(taskId))[1]).to.deep.equal(hashes);
      await expect(ledger.connect(publisher).postFragments(taskId, hashes, cids)).to.be.revertedWithCustomError(ledger, "TaskRegistryWrongStage");
      await expect(ledger.connect(p[0]).joinTask(taskId)).to.emit(ledger, "ProviderJoined");
      // a late vote after the approval is recorded, nothing changes
      await expect(vetting.connect(committee[4]).vote(taskId, true, "late")).to.be.revertedWithCustomError(vetting, "VettingWrongStage").withArgs(taskId, STAGE.Open);
    });

    it("fragments first, then approval, opens at the deciding vote", async function () {
      const { vetting, ledger, publisher, taskId, committee } = await loadFixture(seatedTask);
      const [hashes, cids] = fragments(5);
      await expect(ledger.connect(publisher).postFragments(taskId, hashes, cids)).to.not.emit(ledger, "TaskStageChanged");
      for (const m of committee.slice(0, 2)) await vetting.connect(m).vote(taskId, true, "ok");
      await expect(vetting.connect(committee[2]).vote(taskId, true, "ok")).to.emit(ledger, "TaskStageChanged").withArgs(taskId, STAGE.Open);
    });

    it("rejected once approval can no longer happen: closed with the reasons on chain, never open", async function () {
      const { vetting, ledger, taskId, committee, p } = await loadFixture(seatedTask);
      await vetting.connect(committee[0]).vote(taskId, true, "ok");
      await vetting.connect(committee[1]).vote(taskId, false, "model over the 10,000 parameter limit");
      await vetting.connect(committee[2]).vote(taskId, false, "data kind not allowed");
      await expect(vetting.connect(committee[3]).vote(taskId, false, "too big"))
        .to.emit(vetting, "VettingConcluded")
        .withArgs(taskId, STAGE.Rejected)
        .and.to.emit(ledger, "TaskStageChanged")
        .withArgs(taskId, STAGE.Rejected);
      const t = await ledger.getTask(taskId);
      expect([t.stage, t.closed]).to.deep.equal([STAGE.Rejected, true]);
      await expect(ledger.connect(p[0]).joinTask(taskId)).to.be.revertedWithCustomError(ledger, "TaskRegistryTaskClosed");
      await expect(vetting.connect(committee[4]).vote(taskId, true, "ok")).to.be.revertedWithCustomError(vetting, "VettingWrongStage").withArgs(taskId, STAGE.Rejected);
    });

    it("a member's vote relayed with its EIP-712 signature counts once; another member's, vote or contract does not", async function () {
      const { vetting, taskId, committee, outsider, v } = await loadFixture(seatedTask);
      const [m0, m1] = committee;
      const { chainId } = await ethers.provider.getNetwork();
      const domain = { name: "ledgerlearn vetting", version: "1", chainId, verifyingContract: await vetting.getAddress() };
      const types = {
        Vote: [
          { name: "taskId", type: "uint256" },
          { name: "approve", type: "bool" },
          { name: "reason", type: "string" },
          { name: "member", type: "address" },
          { name: "deadline", type: "uint256" },
        ],
      };
      const deadline = BigInt((await ethers.provider.getBlock("latest")).timestamp) + 600n;
      const vote = { taskId, approve: false, reason: "the data kind is not declared", member: m0.address, deadline };
      const signature = await m0.signTypedData(domain, types, vote);
      const relay = (who, v_, sig) =>
        vetting.connect(who).voteFor(v_.taskId, v_.approve, v_.reason, v_.member, v_.deadline, sig);
      // another vote, another member, another contract's domain: refused
      await expect(relay(outsider, { ...vote, approve: true }, signature)).to.be.revertedWithCustomError(vetting, "VettingInvalidSigner");
      await expect(relay(outsider, { ...vote, member: m1.address }, signature)).to.be.revertedWithCustomError(vetting, "VettingInvalidSigner");
      const elsewhere = await m0.signTypedData({ ...domain, verifyingContract: outsider.address }, types, vote);
      await expect(relay(outsider, vote, elsewhere)).to.be.revertedWithCustomError(vetting, "VettingInvalidSigner");
      // the member's own: recorded as its vote (the relayer is nobody), once
      await expect(relay(outsider, vote, signature))
        .to.emit(vetting, "VettingVoted")
        .withArgs(taskId, m0.address, false, vote.reason);
      await expect(relay(outsider, vote, signature)).to.be.revertedWithCustomError(vetting, "VettingAlreadyVoted").withArgs(taskId, m0.address);
      expect((await vetting.vettingOf(taskId)).rejections).to.equal(1n);
      // a signature past its deadline; a signer not on the committee
      const late = { ...vote, member: m1.address, deadline: 1n };
      await expect(relay(outsider, late, await m1.signTypedData(domain, types, late)))
        .to.be.revertedWithCustomError(vetting, "VettingExpiredSignature");
      const stranger = v.find((a) => !committee.some((m) => m.address === a.address));
      const theirs = { ...vote, member: stranger.address };
      await expect(relay(outsider, theirs, await stranger.signTypedData(domain, types, theirs)))
        .to.be.revertedWithCustomError(vetting, "VettingNotCommitteeMember");
    });

    it("nobody decides: expires after the window, not before; a task nobody draws expires too", async function () {
      const ctx = await loadFixture(seatedTask);
      const { vetting, ledger, publisher, taskId, committee } = ctx;
      await vetting.connect(committee[0]).vote(taskId, true, "ok");
      const info = await vetting.vettingOf(taskId);
      await expect(vetting.expire(taskId)).to.be.revertedWithCustomError(vetting, "VettingOutsideWindow");
      await mineUpTo(Number(info.vetEnd) - 1);
      await expect(vetting.connect(committee[1]).vote(taskId, true, "ok"))
        .to.be.revertedWithCustomError(vetting, "VettingOutsideWindow")
        .withArgs(taskId, info.drawnBlock, info.vetEnd);
      await expect(vetting.expire(taskId)).to.emit(ledger, "TaskStageChanged").withArgs(taskId, STAGE.Expired);
      expect((await ledger.getTask(taskId)).closed).to.equal(true);
      const stuck = await publish(ledger, publisher, drawnParams(5));
      await mine(LIMITS.drawCommitBlocks + LIMITS.drawRevealBlocks + LIMITS.vetBlocks - 2);
      await expect(vetting.expire(stuck)).to.be.revertedWithCustomError(vetting, "VettingOutsideWindow");
      await mine(1);
      await expect(vetting.expire(stuck)).to.emit(vetting, "VettingConcluded").withArgs(stuck, STAGE.Expired);
    });

    it("only the vetting contract seats and concludes; only the publisher posts fragments, after the draw", async function () {
      const { vetting, ledger, publisher, taskId, v, outsider } = await loadFixture(drawnTask);
      await expect(ledger.connect(outsider).setCommittee(taskId, v.slice(0, 5).map((a) => a.address)))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryNotVetting")
        .withArgs(outsider.address);
      await expect(ledger.connect(publisher).concludeVetting(taskId, STAGE.Open))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryNotVetting")
        .withArgs(publisher.address);
      const [hashes, cids] = fragments(5);
      await expect(ledger.connect(publisher).postFragments(taskId, hashes, cids))
        .to.be.revertedWithCustomError(ledger, "TaskRegistryWrongStage")
        .withArgs(taskId, STAGE.Drawing, STAGE.Vetting);
      expect(await ledger.vetting()).to.equal(await vetting.getAddress());
      expect(await vetting.ledger()).to.equal(await ledger.getAddress());
    });

    it("the windows are the council's: only the consortium's admin changes them; zero refused", async function () {
      const { vetting, admin, publisher } = await loadFixture(deployGovernedLedger);
      await expect(vetting.connect(publisher).setLimits(LIMITS)).to.be.revertedWithCustomError(vetting, "VettingNotAdmin").withArgs(publisher.address);
      const zero = { ...LIMITS, vetBlocks: 0 };
      await expect(vetting.connect(admin).setLimits(zero)).to.be.revertedWithCustomError(vetting, "VettingInvalidLimits").withArgs(5, 5, 0);
      const next = { drawCommitBlocks: 7, drawRevealBlocks: 8, vetBlocks: 9 };
      await expect(vetting.connect(admin).setLimits(next)).to.emit(vetting, "LimitsChanged");
      expect((await vetting.limits()).toArray().map(Number)).to.deep.equal([7, 8, 9]);
    });
  });
});
