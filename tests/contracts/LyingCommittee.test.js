// THREATS B1-B3: a committee of m = 5 with c = 2 members that always lie (k = 3).
// A seeded campaign over many federation rounds: every poisoned update is rejected, every good
// update accepted, every round closes on the honest aggregate although the liars propose and
// attest a wrong one. Honest scores sit close to the threshold on the correct side; the liars'
// scores are extreme (int64 max/min, 0) or just across the threshold.
const { expect } = require("chai");
const hre = require("hardhat");
const { ethers } = hre;
const { loadFixture, mineUpTo, setBalance } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ROLE,
  STATUS,
  INT64_MAX,
  INT64_MIN,
  h,
  cid,
  acceptedDigest,
  taskParams,
  publish,
  deployLedger,
  scoreAll,
  prng,
  submitUpdate,
  deployGovernedLedger,
  drawnParams,
  runDraw,
} = require("./helpers/fixtures");

const N = 5; // committee
const MAJORITY = 3; // of the whole committee: early decision
const PROVIDERS = 20; // updates per round: 10 good, 10 poisoned
const SEED = Number(process.env.LEDGERLEARN_SEED ?? 20240611);

/** Reference model of the early decision (majority of the whole committee). */
class DecisionModel {
  constructor(threshold) {
    this.threshold = threshold;
    this.state = new Map();
    this.acceptedOrder = [];
  }
  add(u) {
    this.state.set(u, { pass: 0, fail: 0, decided: null });
  }
  decided(u) {
    return this.state.get(u).decided;
  }
  score(u, s) {
    const st = this.state.get(u);
    if (st.decided) throw new Error(`model: ${u} already decided`);
    if (s >= this.threshold) st.pass += 1;
    else st.fail += 1;
    if (st.pass >= MAJORITY) {
      st.decided = "accepted";
      this.acceptedOrder.push(u);
    } else if (st.fail > N - MAJORITY) {
      st.decided = "rejected";
    }
  }
}

/** Liars' extreme values: approving a poisoned update, rejecting a good one. */
function liarValues(threshold) {
  const approve = [INT64_MAX, threshold, threshold + 1n];
  const reject = [INT64_MIN, threshold - 1n];
  if (0n >= threshold) approve.push(0n);
  else reject.push(0n);
  return { approve, reject };
}

/** PROVIDERS fresh funded accounts holding PROVIDER_ROLE. */
async function fundedProviders(consortium, admin) {
  const providers = [];
  for (let i = 0; i < PROVIDERS; ++i) {
    const w = ethers.Wallet.createRandom().connect(ethers.provider);
    await setBalance(w.address, ethers.parseEther("100"));
    await consortium.connect(admin).grantRole(ROLE.PROVIDER, w.address);
    providers.push(w);
  }
  return providers;
}

async function campaignFixture(threshold, thresholdMode, rounds) {
  const ctx = await deployLedger();
  const { consortium, ledger, admin, publisher, v } = ctx;
  const committee = v.slice(0, N);
  const providers = await fundedProviders(consortium, admin);
  const params = taskParams(committee, {
    threshold,
    thresholdMode,
    quorum: 3,
    maxFaultyValidators: 2,
    roundLength: 3 * PROVIDERS + 10, // a commit and a reveal per provider; round 1 also holds the joins
    scoreWindow: 60,
    maxRounds: rounds,
  });
  const taskId = await publish(ledger, publisher, params);
  for (const w of providers) await ledger.connect(w).joinTask(taskId);
  return { ...ctx, committee, providers, params, taskId };
}

/** Runs `rounds` rounds; returns per-kind counts, checked on chain as it goes. */
async function runCampaign(ctx, { seed, threshold, rounds }) {
  const { ledger, taskId, committee, providers, params } = ctx;
  const rng = prng(seed);
  const shuffled = rng.shuffle([0, 1, 2, 3, 4]).slice(0, 2);
  // a drawn committee: the liars sit wherever the draw put them
  const liarIdx = ctx.liars ? committee.map((m, i) => (ctx.liars.includes(m) ? i : -1)).filter((i) => i >= 0) : shuffled;
  const liars = new Set(liarIdx);
  const honestIdx = [0, 1, 2, 3, 4].filter((i) => !liars.has(i));
  const { approve, reject } = liarValues(threshold);
  const counts = { good: 0, poisoned: 0, goodAccepted: 0, poisonedRejected: 0, liarExtremes: 0 };
  let base = params.initialWeightsHash;

  for (let round = 1; round <= rounds; ++round) {
    const model = new DecisionModel(threshold);
    const kinds = rng.shuffle([...Array(PROVIDERS / 2).fill("good"), ...Array(PROVIDERS / 2).fill("poisoned")]);
    const updates = kinds.map((kind, i) => ({ u: h(`s${seed}-r${round}-p${i}-${kind}`), kind, provider: providers[i] }));
    for (const { u, provider } of updates) {
      await submitUpdate(ledger, provider, taskId, round, u, cid(u), 100 + rng.int(900));
      model.add(u);
    }

    // scores: per update a random order of the 5 members and a value per member
    const plan = new Map();
    for (const { u, kind } of updates) {
      const order = rng.shuffle([0, 1, 2, 3, 4]);
      const values = order.map((m) => {
        if (liars.has(m)) {
          const pool = kind === "poisoned" ? approve : reject;
          const s = rng.pick(pool);
          if (s === INT64_MAX || s === INT64_MIN || s === 0n) counts.liarExtremes += 1;
          return s;
        }
        const margin = BigInt(rng.int(50_000));
        return kind === "good" ? threshold + margin : threshold - 1n - margin;
      });
      plan.set(u, { order, values });
    }
    // phase j: each member submits, in one batch, its scores on the undecided updates it is j-th on
    const decisions = [];
    for (let phase = 0; phase < N; ++phase) {
      for (const m of rng.shuffle([0, 1, 2, 3, 4])) {
        const batch = [];
        const scores = [];
        for (const { u } of rng.shuffle(updates)) {
          const { order, values } = plan.get(u);
          if (order[phase] !== m || model.decided(u)) continue;
          batch.push(u);
          scores.push(values[phase]);
        }
        if (batch.length === 0) continue;
        const receipt = await (await ledger.connect(committee[m]).submitScores(taskId, batch, scores)).wait();
        batch.forEach((u, i) => model.score(u, scores[i]));
        for (const log of receipt.logs) {
          const ev = ledger.interface.parseLog(log);
          if (ev && (ev.name === "UpdateAccepted" || ev.name === "UpdateRejected")) decisions.push([ev.name, ev.args.update]);
        }
      }
    }

    // every update decided on chain, the right way, in the order the model predicts
    const expectedAccepted = updates.filter((x) => x.kind === "good").map((x) => x.u);
    for (const { u, kind } of updates) {
      const info = await ledger.getUpdate(taskId, u);
      counts[kind] += 1;
      if (kind === "good") {
        expect(info.status, `good update ${u} (round ${round})`).to.equal(STATUS.Accepted);
        counts.goodAccepted += 1;
      } else {
        expect(info.status, `poisoned update ${u} (round ${round})`).to.equal(STATUS.Rejected);
        counts.poisonedRejected += 1;
      }
    }
    const acceptedOnChain = decisions.filter(([n]) => n === "UpdateAccepted").map(([, u]) => u);
    expect(acceptedOnChain).to.deep.equal(model.acceptedOrder);
    expect([...acceptedOnChain].sort()).to.deep.equal([...expectedAccepted].sort());
    const r = await ledger.getRound(taskId, round);
    expect(r.pendingCount).to.equal(0);
    expect(r.acceptedCount).to.equal(PROVIDERS / 2);
    expect(r.baseModelHash).to.equal(base);

    // aggregation: the liars propose a wrong aggregate (and try to slip a poisoned update in)
    const closes = Number(r.startBlock) + Number(params.roundLength);
    if ((await ethers.provider.getBlockNumber()) < closes) await mineUpTo(closes);
    const included = model.acceptedOrder;
    const poisoned = updates.find((x) => x.kind === "poisoned").u;
    const smuggled = [...included.slice(0, 3), poisoned, ...included.slice(3)];
    const liar = committee[liarIdx[0]];
    await expect(ledger.connect(liar).proposeAggregate(taskId, round, smuggled, h(`bad-${round}`), cid("bad")))
      .to.be.revertedWithCustomError(ledger, "RoundLedgerIncludedMismatch")
      .withArgs(taskId, round, r.acceptedDigest, acceptedDigest(smuggled));
    const wrong = h(`wrong-aggregate-${seed}-${round}`);
    const right = h(`aggregate-${seed}-${round}`);
    await ledger.connect(liar).proposeAggregate(taskId, round, included, wrong, cid(wrong));
    await ledger.connect(committee[rng.pick(honestIdx)]).proposeAggregate(taskId, round, included, right, cid(right));
    const attesters = [...rng.shuffle([liarIdx[0], liarIdx[1], honestIdx[0], honestIdx[1]]), honestIdx[2]];
    for (let i = 0; i < attesters.length; ++i) {
      const m = attesters[i];
      const target = liars.has(m) ? wrong : right;
      const tx = ledger.connect(committee[m]).attestAggregate(taskId, round, target, "");
      if (i < attesters.length - 1) await expect(tx).to.not.emit(ledger, "RoundFinalized");
      else await expect(tx).to.emit(ledger, "RoundFinalized").withArgs(taskId, round, right, PROVIDERS / 2);
    }
    expect((await ledger.getProposal(taskId, round, wrong))[1]).to.equal(2);
    base = right;
    const t = await ledger.getTask(taskId);
    expect(t.globalModelHash).to.equal(right);
    expect(t.closed).to.equal(round === rounds);
  }
  return counts;
}

const ABS_THRESHOLD = 900_000n; // accuracy 0.9
const REL_THRESHOLD = -10_000n; // relative: at most 0.01 worse than the global model
// `npx hardhat coverage` traces every opcode (~30x slower): there the campaigns shrink to a few
// rounds, enough for coverage; the full statistical campaign runs under `npx hardhat test`.
const UNDER_COVERAGE = Boolean(hre.__SOLIDITY_COVERAGE_RUNNING);
const ABS_ROUNDS = UNDER_COVERAGE ? 2 : 21; // 21 rounds: 210 good + 210 poisoned
const REL_ROUNDS = UNDER_COVERAGE ? 1 : 3;
const MIN_PER_KIND = UNDER_COVERAGE ? 20 : 200;
const absoluteCampaign = () => campaignFixture(ABS_THRESHOLD, 0, ABS_ROUNDS);
const DRAWN_ROUNDS = UNDER_COVERAGE ? 1 : 5;

/** The same campaign on a consortium ledger: the committee of 5 drawn from a pool of 5 (two of
 * them liars, seated wherever the draw puts them), vetted, then the task opened. */
async function drawnCampaign() {
  const ctx = await deployGovernedLedger();
  const { consortium, ledger, vetting, admin, publisher, v, dual } = ctx;
  for (const a of [v[5], dual]) await vetting.connect(a).leavePool();
  const providers = await fundedProviders(consortium, admin);
  const params = drawnParams(N, {
    threshold: ABS_THRESHOLD,
    quorum: 3,
    maxFaultyValidators: 2,
    roundLength: 3 * PROVIDERS + 10,
    scoreWindow: 60,
    maxRounds: DRAWN_ROUNDS,
  });
  const taskId = await publish(ledger, publisher, params);
  const { committee } = await runDraw(ctx, taskId, v.slice(0, 3));
  const n = committee.length;
  await ledger.connect(publisher).postFragments(
    taskId,
    committee.map((_, i) => h(`drawn-fragment-${i}`)),
    committee.map((_, i) => cid(`drawn-fragment-${i}`))
  );
  for (const m of committee.slice(0, 3)) await vetting.connect(m).vote(taskId, true, "within limits");
  expect(n).to.equal(N);
  for (const w of providers) await ledger.connect(w).joinTask(taskId);
  return { ...ctx, committee, providers, params, taskId, liars: [v[0], v[1]] };
}
const relativeCampaign = () => campaignFixture(REL_THRESHOLD, 1, REL_ROUNDS);

describe("Lying committee (B1-B3): m = 5, c = 2, k = 3", function () {
  this.timeout(300_000);

  it(`B1+B2: ${ABS_ROUNDS * PROVIDERS} generated updates, absolute threshold: 0 poisoned accepted, 100% good accepted, every round closes`, async function () {
    const ctx = await loadFixture(absoluteCampaign);
    const counts = await runCampaign(ctx, { seed: SEED, threshold: ABS_THRESHOLD, rounds: ABS_ROUNDS });
    expect(counts.poisoned).to.be.at.least(MIN_PER_KIND);
    expect(counts.good).to.be.at.least(MIN_PER_KIND);
    expect(counts.poisonedRejected).to.equal(counts.poisoned);
    expect(counts.goodAccepted).to.equal(counts.good);
    expect(counts.liarExtremes).to.be.greaterThan(MIN_PER_KIND / 2);
    expect((await ctx.ledger.getTask(ctx.taskId)).closed).to.equal(true);
  });

  it(`B1+B2 with a drawn committee: ${DRAWN_ROUNDS * PROVIDERS} updates, the two liars seated by the draw`, async function () {
    const ctx = await loadFixture(drawnCampaign);
    expect(ctx.committee.filter((m) => ctx.liars.includes(m))).to.have.length(2);
    const counts = await runCampaign(ctx, { seed: SEED + 2, threshold: ABS_THRESHOLD, rounds: DRAWN_ROUNDS });
    expect(counts.poisonedRejected).to.equal(counts.poisoned);
    expect(counts.goodAccepted).to.equal(counts.good);
    expect(counts.poisoned).to.equal((DRAWN_ROUNDS * PROVIDERS) / 2);
    expect((await ctx.ledger.getTask(ctx.taskId)).closed).to.equal(true);
  });

  it("B1+B2: relative threshold below zero (liar score 0 approves), another seed", async function () {
    const ctx = await loadFixture(relativeCampaign);
    const counts = await runCampaign(ctx, { seed: SEED + 1, threshold: REL_THRESHOLD, rounds: REL_ROUNDS });
    expect(counts.poisonedRejected).to.equal(counts.poisoned);
    expect(counts.goodAccepted).to.equal(counts.good);
  });

  describe("B3: extreme liar scores never flip a decision of the full committee", function () {
    // every placement of the 2 liars among 5 ordered scorers, both attacks, all extreme values
    const placements = [];
    for (let a = 0; a < 5; ++a) for (let b = a + 1; b < 5; ++b) placements.push([a, b]);

    for (const [kind, honest, liarScores] of [
      ["good (honest exactly at the threshold)", ABS_THRESHOLD, [INT64_MIN, 0n, ABS_THRESHOLD - 1n]],
      ["poisoned (honest just below the threshold)", ABS_THRESHOLD - 1n, [INT64_MAX, ABS_THRESHOLD]],
    ]) {
      it(`${kind}: all ${placements.length} liar placements x ${liarScores.length} values`, async function () {
        const ctx = await loadFixture(deployLedger);
        const { ledger, publisher, p, v } = ctx;
        const accepted = honest >= ABS_THRESHOLD;
        const cases = [];
        for (const [a, b] of placements) for (const ls of liarScores) cases.push([a, b, ls]);
        // one update per provider and round: a fresh task for every 4 cases
        for (let i = 0; i < cases.length; i += 4) {
          const slice = cases.slice(i, i + 4);
          const id = await publish(ledger, publisher, taskParams(v.slice(0, 5), { roundLength: 50, scoreWindow: 50 }));
          for (let j = 0; j < slice.length; ++j) {
            const [a, b, ls] = slice[j];
            const u = h(`b3-${kind}-${a}-${b}-${ls}`);
            await ledger.connect(p[j]).joinTask(id);
            await submitUpdate(ledger, p[j], id, 1, u, cid(u), 1);
            const scores = [0, 1, 2, 3, 4].map((k) => (k === a || k === b ? ls : honest));
            let decidedAt = -1;
            for (let k = 0; k < 5 && decidedAt < 0; ++k) {
              const rc = await (await ledger.connect(v[k]).submitScore(id, u, scores[k])).wait();
              const decided = rc.logs.some((l) => {
                const ev = ledger.interface.parseLog(l);
                return ev && (ev.name === "UpdateAccepted" || ev.name === "UpdateRejected");
              });
              if (decided) decidedAt = k;
            }
            expect(decidedAt, `decided (liars at ${a},${b} scoring ${ls})`).to.be.within(2, 4);
            expect((await ledger.getUpdate(id, u)).status, `liars at ${a},${b} scoring ${ls}`).to.equal(
              accepted ? STATUS.Accepted : STATUS.Rejected
            );
          }
        }
      });
    }
  });

  describe("the deadline path with a partial quorum stays safe (> f passes needed)", function () {
    async function partial(scores) {
      const ctx = await deployLedger();
      const params = taskParams(ctx.v.slice(0, 5));
      const taskId = await publish(ctx.ledger, ctx.publisher, params);
      await ctx.ledger.connect(ctx.p[0]).joinTask(taskId);
      await submitUpdate(ctx.ledger, ctx.p[0], taskId, 1, h("x"), cid("x"), 1);
      await scoreAll(ctx.ledger, taskId, h("x"), ctx.v.slice(0, scores.length), scores);
      const r = await ctx.ledger.getRound(taskId, 1);
      await mineUpTo(Number(r.startBlock) + params.roundLength + params.scoreWindow);
      await ctx.ledger.connect(ctx.publisher).settleUpdates(taskId, [h("x")]);
      return (await ctx.ledger.getUpdate(taskId, h("x"))).status;
    }

    it("4 scores (one honest member silent): the lower median stays honest for a poisoned update", async function () {
      expect(await partial([INT64_MAX, ABS_THRESHOLD - 1n, INT64_MAX, ABS_THRESHOLD - 5n])).to.equal(STATUS.Rejected);
    });

    it("4 scores (one honest member silent): 2 low liars make a good update miss this round (safe, not live)", async function () {
      expect(await partial([INT64_MIN, ABS_THRESHOLD, 0n, ABS_THRESHOLD + 5n])).to.equal(STATUS.Rejected);
    });

    it("3 scores = k (two honest members silent): 2 liars approving a poisoned update cannot accept it", async function () {
      // The liars hold the median of 3, but only f = 2 scores clear the threshold: more than f
      // are needed, i.e. at least one honest approval.
      expect(await partial([INT64_MAX, ABS_THRESHOLD - 1n, INT64_MAX])).to.equal(STATUS.Rejected);
    });

    it("a committee member cannot join its own task as a provider (it could not score its own update)", async function () {
      const ctx = await deployLedger();
      const { ledger, publisher, v, dual } = ctx;
      const params = taskParams([v[0], v[1], v[2], v[3], dual]);
      const taskId = await publish(ledger, publisher, params);
      await expect(ledger.connect(dual).joinTask(taskId))
        .to.be.revertedWithCustomError(ledger, "UpdateLedgerCommitteeMember")
        .withArgs(taskId, dual.address);
    });
  });
});
