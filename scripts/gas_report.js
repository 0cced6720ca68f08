// Gas used per ledger operation, on the in-process Hardhat network.
//   npx hardhat run scripts/gas_report.js
// Deploys the Consortium and the LearningLedger, hands out roles, then runs each operation in a
// realistic state (committee of 5, k = 3, f = 2) and prints the gasUsed of its receipt.
const hre = require("hardhat");
const { mineUpTo } = require("@nomicfoundation/hardhat-network-helpers");
const {
  deployLedger,
  taskParams,
  dagParams,
  publish,
  h,
  cid,
  PASS,
  FAIL,
  ROUND_LENGTH,
  SCORE_WINDOW,
  submitUpdate,
  submitDagUpdate,
  SALT,
  deployGovernedLedger,
  drawnParams,
  mineBefore,
  registerMember,
  deployCouncil,
  admitProposal,
  propose,
  VOTING_DELAY,
  VOTING_PERIOD,
  TIMELOCK_DELAY,
} = require("../tests/contracts/helpers/fixtures");
const { mine, time } = require("@nomicfoundation/hardhat-network-helpers");

// An update is committed, then revealed (issue 11): the reveal also marks the content used
// ledger-wide (one more cold write than the old single submission's 75k target).
const TARGETS = {
  "commit update": 60_000,
  "reveal update (first in round)": 105_000,
  "reveal update (later in round)": 105_000,
  "score (non-deciding)": 50_000,
};

async function gasOf(txPromise) {
  const receipt = await (await txPromise).wait();
  return receipt.gasUsed;
}

async function main() {
  const { ethers } = hre;
  const rows = [];
  const record = (op, gas, note = "") => rows.push({ op, gas, note });

  const ctx = await deployLedger();
  const { ledger, publisher, v, signers } = ctx;
  const committee = v.slice(0, 5);
  // 14 providers: 12 for the federation round, 2 for the dag.
  const providers = signers.slice(3, 7).concat(signers.slice(16, 20));
  for (const a of signers.slice(16, 20)) await ctx.consortium.connect(ctx.admin).grantRole(ethers.id("PROVIDER_ROLE"), a.address);
  const extra = [];
  for (let i = 0; i < 6; ++i) {
    const w = ethers.Wallet.createRandom().connect(ethers.provider);
    await ctx.admin.sendTransaction({ to: w.address, value: ethers.parseEther("10") });
    await ctx.consortium.connect(ctx.admin).grantRole(ethers.id("PROVIDER_ROLE"), w.address);
    extra.push(w);
  }
  const fed = providers.concat(extra); // 14 providers

  // --- federation: publish (committee 5), join --------------------------------------------------
  const params = taskParams(committee, { roundLength: 200, scoreWindow: 200, maxRounds: 2 });
  const pubReceipt = await (await ledger.connect(publisher).publishTask(params)).wait();
  record("publish task (federation, committee 5)", pubReceipt.gasUsed);
  const taskId = await ledger.taskCount();
  const joins = [];
  for (const a of fed) joins.push(await gasOf(ledger.connect(a).joinTask(taskId)));
  record("join task", joins[0]);

  // --- submit updates: first in the round, later ones -------------------------------------------
  const updates = fed.map((_, i) => h(`fed-update-${i}`));
  const submits = [];
  const commits = [];
  for (let i = 0; i < fed.length; ++i) {
    const commitment = await ledger.updateCommitment(taskId, fed[i].address, updates[i], SALT);
    commits.push(await gasOf(ledger.connect(fed[i]).commitUpdate(taskId, commitment)));
    submits.push(await gasOf(submitUpdate(ledger, fed[i], taskId, 1, updates[i], cid(`fed-update-${i}`), 600)));
  }
  record("commit update", commits[0]);
  record("reveal update (first in round)", submits[0]);
  record("reveal update (later in round)", submits[1], `max over ${fed.length - 1} later: ${Math.max(...submits.slice(1).map(Number))}`);

  // --- scores on updates[0]: first, non-deciding, deciding (3rd pass of 5 accepts) ---------------
  record("score (first)", await gasOf(ledger.connect(v[0]).submitScore(taskId, updates[0], PASS)));
  record("score (non-deciding)", await gasOf(ledger.connect(v[1]).submitScore(taskId, updates[0], PASS)), "2nd pass of 5");
  record("score (deciding, accepts)", await gasOf(ledger.connect(v[2]).submitScore(taskId, updates[0], PASS)), "3rd pass: accepted, digest extended");
  // updates[1]: decided by rejection
  await ledger.connect(v[0]).submitScore(taskId, updates[1], FAIL);
  await ledger.connect(v[1]).submitScore(taskId, updates[1], FAIL);
  record("score (deciding, rejects)", await gasOf(ledger.connect(v[2]).submitScore(taskId, updates[1], FAIL)), "3rd fail: rejected");

  // --- batch of 10 scores: v0 scores updates[2..11] (all non-deciding) ---------------------------
  const batch = updates.slice(2, 12);
  const batchGas = await gasOf(ledger.connect(v[0]).submitScores(taskId, batch, batch.map(() => PASS)));
  record("submitScores (batch of 10, non-deciding)", batchGas, `${(batchGas / 10n).toString()} per score`);
  // accept updates[2..11] with v1, v2 in batches (v2's batch decides all 10)
  await ledger.connect(v[1]).submitScores(taskId, batch, batch.map(() => PASS));
  const decidingBatch = await gasOf(ledger.connect(v[2]).submitScores(taskId, batch, batch.map(() => PASS)));
  record("submitScores (batch of 10, all deciding)", decidingBatch, `${(decidingBatch / 10n).toString()} per score`);

  // --- settle: updates[12], [13] pending past the scoring deadline, one with 3 scores ------------
  await ledger.connect(v[0]).submitScore(taskId, updates[12], PASS);
  await ledger.connect(v[1]).submitScore(taskId, updates[12], PASS);
  await ledger.connect(v[3]).submitScore(taskId, updates[12], FAIL);
  const round = await ledger.getRound(taskId, 1);
  await mineUpTo(Number(round.startBlock) + 200 + 200);
  record("settle (1 update)", await gasOf(ledger.connect(publisher).settleUpdates(taskId, [updates[12]])), "3 scores, 2 pass: rejected (needs > f passes)");
  record("settle (1 update, no quorum)", await gasOf(ledger.connect(publisher).settleUpdates(taskId, [updates[13]])), "0 scores: expired");

  // --- propose, attest ---------------------------------------------------------------------------
  const accepted = [updates[0], ...batch];
  record(
    `propose aggregate (${accepted.length} updates)`,
    await gasOf(ledger.connect(publisher).proposeAggregate(taskId, 1, accepted, h("aggregate-1"), cid("aggregate-1")))
  );
  record(
    "add a CID to a proposed result",
    await gasOf(ledger.connect(fed[0]).proposeAggregate(taskId, 1, accepted, h("aggregate-1"), cid("aggregate-1 copy")))
  );
  const served = cid("aggregate-1 served");
  record("attest (non-final)", await gasOf(ledger.connect(v[0]).attestAggregate(taskId, 1, h("aggregate-1"), served)), "1st of k = 3, names its CID");
  await ledger.connect(v[1]).attestAggregate(taskId, 1, h("aggregate-1"), served);
  record("attest (finalizing)", await gasOf(ledger.connect(v[2]).attestAggregate(taskId, 1, h("aggregate-1"), served)), "opens round 2");

  // --- round 2 closed at its attestation deadline (one attestation: base model kept) -------------
  const u2 = h("round-2 update");
  await submitUpdate(ledger, fed[0], taskId, 2, u2, cid("round-2 update"), 600);
  for (const s of v.slice(0, 3)) await ledger.connect(s).submitScore(taskId, u2, PASS);
  const [, , , attestationClose] = await ledger.roundDeadlines(taskId, 2);
  await mineUpTo(attestationClose);
  await ledger.connect(publisher).proposeAggregate(taskId, 2, [u2], h("aggregate-2"), cid("aggregate-2"));
  record("close round at the attestation deadline", await gasOf(ledger.connect(publisher).closeRound(taskId, 2, h("aggregate-2"))), "no attestation: base model kept, task closes");

  // --- dag: submit with 2 parents ---------------------------------------------------------------
  const dparams = dagParams(committee, { scoreWindow: SCORE_WINDOW, roundLength: ROUND_LENGTH });
  const dagId = await publish(ledger, publisher, dparams);
  for (const a of fed.slice(0, 3)) await ledger.connect(a).joinTask(dagId);
  const d = [h("dag-a"), h("dag-b"), h("dag-c")];
  record(
    "submit dag update (1 parent: initial weights)",
    await gasOf(submitDagUpdate(ledger, fed[0], dagId, [dparams.initialWeightsHash], d[0], cid("dag-a"), 500))
  );
  await submitDagUpdate(ledger, fed[1], dagId, [dparams.initialWeightsHash], d[1], cid("dag-b"), 500);
  for (const u of [d[0], d[1]]) for (const s of v.slice(0, 3)) await ledger.connect(s).submitScore(dagId, u, PASS);
  record(
    "submit dag update (2 parents)",
    await gasOf(submitDagUpdate(ledger, fed[2], dagId, [d[0], d[1]], d[2], cid("dag-c"), 500))
  );
  record("score (dag, non-deciding)", await gasOf(ledger.connect(v[0]).submitScore(dagId, d[2], PASS)));

  // --- a governed ledger: the pool, the draw, vetting, commit-reveal of scores ----------------------
  const g = await deployGovernedLedger({ commitments: true });
  const lone = g.signers[16];
  await g.consortium.connect(g.admin).grantRole(ethers.id("VALIDATOR_ROLE"), lone.address);
  await registerMember(g.consortium, lone, "/ip4/127.0.0.1/tcp/4100");
  record("join the validators' pool", await gasOf(g.vetting.connect(lone).joinPool()), "8th member");
  const drawnPub = await (await g.ledger.connect(g.publisher).publishTask(drawnParams(5, { commitWindow: 10 }))).wait();
  record("publish task (drawn committee of 5)", drawnPub.gasUsed, "no committee, no fragments yet");
  const gid = await g.ledger.taskCount();
  const seeds = g.v.slice(0, 3).map((_, i) => ethers.id(`gas-seed-${i}`));
  for (const [i, m] of g.v.slice(0, 3).entries()) {
    const c = await g.vetting.seedCommitment(gid, m.address, seeds[i]);
    record(`commit a draw seed${i ? "" : " (first)"}`, await gasOf(g.vetting.connect(m).commitSeed(gid, c)));
  }
  let vinfo = await g.vetting.vettingOf(gid);
  await mineBefore(Number(vinfo.commitEnd));
  for (const [i, m] of g.v.slice(0, 3).entries()) {
    record("reveal a draw seed", await gasOf(g.vetting.connect(m).revealSeed(gid, seeds[i])));
  }
  vinfo = await g.vetting.vettingOf(gid);
  await mineBefore(Number(vinfo.revealEnd));
  record("draw a committee of 5 (pool of 8)", await gasOf(g.vetting.draw(gid)), "seats it on the ledger");
  const [drawn] = await g.ledger.getCommittee(gid);
  const bySigner = new Map(g.signers.map((a) => [a.address, a]));
  const members = drawn.map((a) => bySigner.get(a));
  record("post 5 validation fragments", await gasOf(g.ledger.connect(g.publisher).postFragments(
    gid, members.map((_, i) => h(`gf-${i}`)), members.map((_, i) => cid(`gf-${i}`)))));
  const reason = "within limits: 2,410 parameters, 2,368 MACs per sample, layers Linear, ReLU, data kind handwritten-digits";
  record("vetting vote (approve, 104-byte reason)", await gasOf(g.vetting.connect(members[0]).vote(gid, true, reason)));
  {
    // members[1]'s vote relayed by someone else (a gateway) with the member's EIP-712 signature
    const { chainId } = await ethers.provider.getNetwork();
    const domain = { name: "ledgerlearn vetting", version: "1", chainId, verifyingContract: await g.vetting.getAddress() };
    const types = { Vote: [
      { name: "taskId", type: "uint256" }, { name: "approve", type: "bool" }, { name: "reason", type: "string" },
      { name: "member", type: "address" }, { name: "deadline", type: "uint256" },
    ] };
    const vote = { taskId: gid, approve: true, reason, member: members[1].address, deadline: 2n ** 40n };
    const signature = await members[1].signTypedData(domain, types, vote);
    record("vetting vote relayed (voteFor, EIP-712)", await gasOf(g.vetting.connect(g.outsider).voteFor(
      gid, true, reason, members[1].address, vote.deadline, signature)), "the relayer pays; same reason");
  }
  record("vetting vote (deciding: opens the task)", await gasOf(g.vetting.connect(members[2]).vote(gid, true, reason)));
  for (const a of g.p.slice(0, 2)) await g.ledger.connect(a).joinTask(gid);
  const cu = [h("cr-a"), h("cr-b")];
  await submitUpdate(g.ledger, g.p[0], gid, 1, cu[0], cid("cr-a"), 100);
  await submitUpdate(g.ledger, g.p[1], gid, 1, cu[1], cid("cr-b"), 100);
  const saltOf = (m, u) => ethers.id(`gas-salt-${m.address}-${u}`);
  const commitment = (m, u, score) => g.scoreCommitments.scoreCommitment(gid, u, m.address, score, saltOf(m, u));
  record("commit a score", await gasOf(g.scoreCommitments.connect(members[0]).commitScore(gid, cu[0], await commitment(members[0], cu[0], PASS))));
  for (const m of members.slice(1)) await g.scoreCommitments.connect(m).commitScore(gid, cu[0], await commitment(m, cu[0], PASS));
  record("commit a score (batch call, 1 update)", await gasOf(g.scoreCommitments.connect(members[0]).commitScores(
    gid, [cu[1]], [await commitment(members[0], cu[1], PASS)])));
  await mineBefore(Number(await g.ledger.commitDeadline(gid, cu[0])));
  record("reveal a score (non-deciding)", await gasOf(g.scoreCommitments.connect(members[0]).revealScore(gid, cu[0], PASS, saltOf(members[0], cu[0]))));
  await g.scoreCommitments.connect(members[1]).revealScore(gid, cu[0], PASS, saltOf(members[1], cu[0]));
  record("reveal a score (deciding, accepts)", await gasOf(g.scoreCommitments.connect(members[2]).revealScore(gid, cu[0], PASS, saltOf(members[2], cu[0]))));
  record("reveal a score (after the decision, credited)", await gasOf(g.scoreCommitments.connect(members[3]).revealScore(gid, cu[0], PASS, saltOf(members[3], cu[0]))),
    "the first such reveal of the task; checked and credited by the commitments contract");

  // --- the council: admit an organisation with a role ------------------------------------------------
  const c = await deployCouncil();
  const admit = await admitProposal(c);
  record("council: propose (admit + grant role)", await gasOf(c.council.connect(c.f0).propose(admit.targets, admit.values, admit.calldatas, admit.description)));
  const pid = await c.council.latestProposalId();
  await mine(VOTING_DELAY + 1);
  record("council: vote (first)", await gasOf(c.council.connect(c.f0).castVote(pid, 1)));
  record("council: vote (reaching the majority)", await gasOf(c.council.connect(c.f1).castVote(pid, 1)));
  await mine(VOTING_PERIOD);
  record("council: queue in the timelock", await gasOf(c.council["queue(uint256)"](pid)));
  await time.increase(TIMELOCK_DELAY);
  record("council: execute (mint + grant)", await gasOf(c.council["execute(uint256)"](pid)));

  // --- rewards: escrow at publication, withdraw after close ----------------------------------------
  const escrow = await (await ethers.getContractFactory("RewardEscrow")).deploy(await ledger.getAddress());
  const token = await (await ethers.getContractFactory("TestToken")).deploy(ctx.admin.address);
  await token.connect(ctx.admin).mint(publisher.address, 1_000_000n);
  await token.connect(publisher).approve(await escrow.getAddress(), 1_000_000n);
  record("reward: fund (ERC-20 transferFrom)", await gasOf(escrow.connect(publisher).fund(dagId, await token.getAddress(), 1_000_000n, 7000, 1000)));
  await ledger.connect(publisher).closeTask(dagId);
  record("reward: withdraw (provider)", await gasOf(escrow.connect(fed[0]).withdraw(dagId)));
  record("reward: withdraw (validator)", await gasOf(escrow.connect(v[0]).withdraw(dagId)));

  // --- the swarm key after a removal: 16 registered organisations, one removed -------------------
  {
    const orgs = signers.slice(0, 16);
    const members = await (await ethers.getContractFactory("Consortium")).deploy(2 * 24 * 3600, ctx.admin.address, []);
    const provider = ethers.id("PROVIDER_ROLE");
    for (const [i, o] of orgs.entries()) {
      await members.connect(ctx.admin).grantRole(provider, o.address);
      await registerMember(members, o, `/ip4/10.231.0.${i + 2}/tcp/4001/p2p/Qm${"x".repeat(44)}`);
    }
    const swarm = await (await ethers.getContractFactory("SwarmKeys")).deploy(await members.getAddress(), ethers.id("founding"));
    const removed = orgs[15];
    await members.connect(ctx.admin).revokeRole(provider, removed.address);
    const left = orgs.slice(0, 15).map((o) => o.address).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    const sealed = left.map(() => ethers.hexlify(ethers.randomBytes(129)));
    record("swarm key: rotate (sealed to 15 members)", await gasOf(swarm.connect(orgs[0]).rotate([removed.address], ethers.id("new"), left, sealed)),
      "after the council removed the 16th; the shares are in the events");
    record("swarm key: share with one member", await gasOf(swarm.connect(orgs[0]).share(orgs[1].address, sealed[0])));
    record("swarm key: ask for another share", await gasOf(swarm.connect(orgs[1]).requestShare()));
  }

  // --- print -------------------------------------------------------------------------------------
  const width = Math.max(...rows.map((r) => r.op.length));
  const lines = [];
  lines.push(`${"operation".padEnd(width)}  ${"gas used".padStart(9)}  ${"target".padStart(7)}  note`);
  lines.push(`${"-".repeat(width)}  ${"-".repeat(9)}  ${"-".repeat(7)}  ----`);
  let missed = 0;
  for (const r of rows) {
    const target = TARGETS[r.op];
    let note = r.note;
    if (target !== undefined && Number(r.gas) > target) {
      missed += 1;
      note = `MISSED by ${Number(r.gas) - target}. ${note}`;
    }
    lines.push(
      `${r.op.padEnd(width)}  ${r.gas.toString().padStart(9)}  ${(target === undefined ? "" : String(target)).padStart(7)}  ${note}`
    );
  }
  console.log(lines.join("\n"));
  console.log(missed === 0 ? "\nall gas targets met" : `\n${missed} gas target(s) missed`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
