// Shared deployment fixtures and builders for the contract suites (also used by
// scripts/gas_report.js). Nothing here asserts: the suites do.
const { ethers } = require("hardhat");
const { mine, mineUpTo } = require("@nomicfoundation/hardhat-network-helpers");

const ADMIN_DELAY = 2 * 24 * 3600; // seconds between beginDefaultAdminTransfer and accept

const ROLE = {
  ADMIN: ethers.ZeroHash,
  PUBLISHER: ethers.id("PUBLISHER_ROLE"),
  PROVIDER: ethers.id("PROVIDER_ROLE"),
  VALIDATOR: ethers.id("VALIDATOR_ROLE"),
  NONE: ethers.ZeroHash, // what LedgerUnauthorizedAccount names when any participant role would do
};

const FLOW = { FEDERATION: 0, DAG: 1 };
const STATUS = { None: 0n, Pending: 1n, Accepted: 2n, Rejected: 3n, Expired: 4n };
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const THRESHOLD = 900_000n; // 0.9, fixed point with 6 decimals
const PASS = THRESHOLD + 12_345n;
const FAIL = THRESHOLD - 12_345n;
const ROUND_LENGTH = 30;
const SCORE_WINDOW = 30;
const ATTEST_WINDOW = 30;
/** The salt test providers commit with (the commitment also binds task, provider and content). */
const SALT = ethers.id("ledgerlearn test salt");

/** Content hash of a named blob (stands in for the sha256 of safetensors bytes). */
const h = (label) => ethers.sha256(ethers.toUtf8Bytes(String(label)));
/** A CIDv1-shaped string (59 characters, like a base32 raw sha256 CID) for a named blob. */
const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const cid = (label) =>
  "bafkrei" +
  Array.from(ethers.getBytes(ethers.id(String(label))))
    .concat(Array.from(ethers.getBytes(ethers.id(`${label}/2`))))
    .slice(0, 52)
    .map((b) => B32[b % 32])
    .join("");

/** keccak chain the RoundLedger keeps over accepted updates, in acceptance order. */
function acceptedDigest(updates) {
  const coder = ethers.AbiCoder.defaultAbiCoder();
  let digest = ethers.ZeroHash;
  for (const u of updates) digest = ethers.keccak256(coder.encode(["bytes32", "bytes32"], [digest, u]));
  return digest;
}

/** TaskParams with sane defaults: federation, committee as given, k = 3, f = 2. */
function taskParams(committee, overrides = {}) {
  const n = committee.length;
  const p = {
    modelSpecHash: h("spec"),
    modelSpecCid: cid("spec"),
    initialWeightsHash: h("initial"),
    initialWeightsCid: cid("initial"),
    flow: FLOW.FEDERATION,
    metric: 0,
    thresholdMode: 0,
    threshold: THRESHOLD,
    quorum: 3,
    maxFaultyValidators: 2,
    aggregationRule: 3,
    numByzantine: 1,
    roundLength: ROUND_LENGTH,
    scoreWindow: SCORE_WINDOW,
    maxRounds: 3,
    maxParents: 0,
    minUpdates: 0,
    roundExtension: 0,
    scoreExtension: 0,
    attestWindow: ATTEST_WINDOW,
    maxPending: 0,
    drawSize: 0,
    commitWindow: 0,
    maxRejections: 0,
    committee: committee.map((c) => (typeof c === "string" ? c : c.address)),
    fragmentHashes: Array.from({ length: n }, (_, i) => h(`fragment-${i}`)),
    fragmentCids: Array.from({ length: n }, (_, i) => cid(`fragment-${i}`)),
    ...overrides,
  };
  return p;
}

const dagParams = (committee, overrides = {}) =>
  taskParams(committee, { flow: FLOW.DAG, maxParents: 3, maxRounds: 1, maxPending: 8, ...overrides });

const TASK_PARAMS_FIELDS = [
  { name: "modelSpecHash", type: "bytes32" },
  { name: "modelSpecCid", type: "string" },
  { name: "initialWeightsHash", type: "bytes32" },
  { name: "initialWeightsCid", type: "string" },
  { name: "flow", type: "uint8" },
  { name: "metric", type: "uint8" },
  { name: "thresholdMode", type: "uint8" },
  { name: "threshold", type: "int64" },
  { name: "quorum", type: "uint8" },
  { name: "maxFaultyValidators", type: "uint8" },
  { name: "aggregationRule", type: "uint8" },
  { name: "numByzantine", type: "uint16" },
  { name: "roundLength", type: "uint32" },
  { name: "scoreWindow", type: "uint32" },
  { name: "maxRounds", type: "uint32" },
  { name: "maxParents", type: "uint8" },
  { name: "minUpdates", type: "uint16" },
  { name: "roundExtension", type: "uint32" },
  { name: "scoreExtension", type: "uint32" },
  { name: "attestWindow", type: "uint32" },
  { name: "maxPending", type: "uint16" },
  { name: "drawSize", type: "uint8" },
  { name: "commitWindow", type: "uint32" },
  { name: "maxRejections", type: "uint16" },
  { name: "committee", type: "address[]" },
  { name: "fragmentHashes", type: "bytes32[]" },
  { name: "fragmentCids", type: "string[]" },
];

/** EIP-712 types of publishTaskFor, as a client (ethers signTypedData) writes them. */
const PUBLISH_TYPES = {
  PublishTask: [
    { name: "publisher", type: "address" },
    { name: "params", type: "TaskParams" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
  TaskParams: TASK_PARAMS_FIELDS,
};

async function domainOf(ledger, overrides = {}) {
  const { chainId } = await ethers.provider.getNetwork();
  return {
    name: "ledgerlearn",
    version: "1",
    chainId,
    verifyingContract: await ledger.getAddress(),
    ...overrides,
  };
}

/** Signs the PublishTask message with `signer`; `domain` overrides e.g. chainId. */
async function signPublish(ledger, signer, params, { publisher, nonce, deadline, domain = {} } = {}) {
  const pub = publisher ?? signer.address;
  const n = nonce ?? (await ledger.publishNonce(pub));
  const message = { publisher: pub, params, nonce: n, deadline };
  return signer.signTypedData(await domainOf(ledger, domain), PUBLISH_TYPES, message);
}

/** The fixtures' accounts: admin, publisher, publisher2, providers p[0..3], validators v[0..5],
 * dual, outsider, relayer (and every signer). */
async function castSigners() {
  const s = await ethers.getSigners();
  const [admin, publisher, publisher2] = s;
  return {
    signers: s,
    admin,
    publisher,
    publisher2,
    p: s.slice(3, 7),
    v: s.slice(7, 13),
    dual: s[13],
    outsider: s[14],
    relayer: s[15],
  };
}

/** The fixtures' roles: two publishers, providers p, validators v, and dual (both). */
async function grantCastRoles(consortium, admin, { publisher, publisher2, p, v, dual }) {
  const grants = [
    [ROLE.PUBLISHER, publisher],
    [ROLE.PUBLISHER, publisher2],
    ...p.map((a) => [ROLE.PROVIDER, a]),
    ...v.map((a) => [ROLE.VALIDATOR, a]),
    [ROLE.PROVIDER, dual],
    [ROLE.VALIDATOR, dual],
  ];
  for (const [role, acct] of grants) await consortium.connect(admin).grantRole(role, acct.address);
}

/** Deploys Consortium + LearningLedger and hands out roles.
 *
 * accounts: admin (DEFAULT_ADMIN only), publisher, publisher2, providers p[0..3], validators
 * v[0..5] (v[0..4] form the usual committee, v[5] is a validator outside it), dual (PROVIDER and
 * VALIDATOR), outsider (no role), relayer (no role).
 */
async function deployLedger() {
  const { signers: s, admin, publisher, publisher2, p, v, dual, outsider, relayer } = await castSigners();
  const Consortium = await ethers.getContractFactory("Consortium");
  const consortium = await Consortium.deploy(ADMIN_DELAY, admin.address, []);
  const Ledger = await ethers.getContractFactory("LearningLedger");
  const ledger = await Ledger.deploy(await consortium.getAddress(), ethers.ZeroAddress, ethers.ZeroAddress);
  await grantCastRoles(consortium, admin, { publisher, publisher2, p, v, dual });
  return { consortium, ledger, admin, publisher, publisher2, p, v, dual, outsider, relayer, signers: s };
}

/** Windows of the vetting contract in the governed fixture (blocks). */
const LIMITS = { drawCommitBlocks: 5, drawRevealBlocks: 5, vetBlocks: 20 };

/** Deploys Consortium, TaskVetting (unless `vetting` is false: tasks name their committee) and,
 * with `commitments`, ScoreCommitments at the ledger's predicted address, then the
 * LearningLedger naming them; the same accounts and roles as deployLedger; with vetting, v[0..5]
 * and dual register their keys and join the pool. */
async function deployGovernedLedger({ vetting: withVetting = true, commitments = false } = {}) {
  const { signers: s, admin, publisher, publisher2, p, v, dual, outsider, relayer } = await castSigners();
  const consortium = await (await ethers.getContractFactory("Consortium")).deploy(ADMIN_DELAY, admin.address, []);
  const nonce = await admin.getNonce();
  const satellites = (withVetting ? 1 : 0) + (commitments ? 1 : 0);
  const ledgerAddress = ethers.getCreateAddress({ from: admin.address, nonce: nonce + satellites });
  const vetting = withVetting
    ? await (await ethers.getContractFactory("TaskVetting")).deploy(ledgerAddress, LIMITS)
    : null;
  const scoreCommitments = commitments
    ? await (await ethers.getContractFactory("ScoreCommitments")).deploy(ledgerAddress)
    : null;
  const ledger = await (await ethers.getContractFactory("LearningLedger")).deploy(
    await consortium.getAddress(),
    vetting ? await vetting.getAddress() : ethers.ZeroAddress,
    scoreCommitments ? await scoreCommitments.getAddress() : ethers.ZeroAddress
  );
  if ((await ledger.getAddress()) !== ledgerAddress) throw new Error("the ledger is not at its predicted address");
  await grantCastRoles(consortium, admin, { publisher, publisher2, p, v, dual });
  for (const [i, a] of (vetting ? [...v, dual] : []).entries()) {
    await registerMember(consortium, a, `/ip4/127.0.0.1/tcp/${4001 + i}`);
    await vetting.connect(a).joinPool();
  }
  return {
    consortium,
    ledger,
    vetting,
    scoreCommitments,
    admin,
    publisher,
    publisher2,
    p,
    v,
    dual,
    outsider,
    relayer,
    signers: s,
  };
}

/** TaskParams of a drawn task: no committee, `drawSize` members drawn (k = 3, f = 1 for 5). */
function drawnParams(drawSize = 5, overrides = {}) {
  return taskParams([], { drawSize, quorum: 3, maxFaultyValidators: 1, ...overrides });
}

/** Runs a task's draw: each of `revealers` commits a seed and reveals it, then the draw.
 * Returns the drawn committee (signers) in committee order and the draw's receipt. */
async function runDraw(ctx, taskId, revealers, seedOf = (i) => ethers.id(`seed-${taskId}-${i}`)) {
  const { vetting, ledger, signers } = ctx;
  for (const [i, m] of revealers.entries()) {
    await vetting.connect(m).commitSeed(taskId, await vetting.seedCommitment(taskId, m.address, seedOf(i)));
  }
  let info = await vetting.vettingOf(taskId);
  await mineBefore(Number(info.commitEnd));
  for (const [i, m] of revealers.entries()) await vetting.connect(m).revealSeed(taskId, seedOf(i));
  info = await vetting.vettingOf(taskId);
  await mineBefore(Number(info.revealEnd));
  const receipt = await (await vetting.draw(taskId)).wait();
  const [members] = await ledger.getCommittee(taskId);
  const bySigner = new Map(signers.map((a) => [a.address, a]));
  return { committee: members.map((a) => bySigner.get(a)), receipt };
}

// --- the council ---------------------------------------------------------------------------------
const VOTING_DELAY = 1;
const VOTING_PERIOD = 10;
const TIMELOCK_DELAY = 3600;

/** A council deployment: timelock, membership token (founders f0..f2), Council, the deployer's
 * timelock admin renounced, the Consortium administered by the timelock with the founders' roles. */
async function deployCouncil() {
  const s = await ethers.getSigners();
  const [deployer, f0, f1, f2, candidate, outsider] = s;
  const founders = [f0, f1, f2];
  const timelock = await (await ethers.getContractFactory("CouncilTimelock")).deploy(
    TIMELOCK_DELAY, [], [ethers.ZeroAddress], deployer.address
  );
  const token = await (await ethers.getContractFactory("MembershipToken")).deploy(
    await timelock.getAddress(), founders.map((f) => f.address)
  );
  const council = await (await ethers.getContractFactory("Council")).deploy(
    await token.getAddress(), await timelock.getAddress(), VOTING_DELAY, VOTING_PERIOD
  );
  await timelock.grantRole(await timelock.PROPOSER_ROLE(), await council.getAddress());
  await timelock.grantRole(await timelock.CANCELLER_ROLE(), await council.getAddress());
  await timelock.renounceRole(await timelock.DEFAULT_ADMIN_ROLE(), deployer.address);
  const consortium = await (await ethers.getContractFactory("Consortium")).deploy(ADMIN_DELAY, await timelock.getAddress(), [
    { role: ROLE.PUBLISHER, account: f0.address },
    { role: ROLE.VALIDATOR, account: f1.address },
    { role: ROLE.VALIDATOR, account: f2.address },
  ]);
  await mine(1); // the founders' votes are checkpointed before any proposal's snapshot
  return { deployer, founders, f0, f1, f2, candidate, outsider, timelock, token, council, consortium };
}

/** The admit proposal: mint the candidate's token and grant it PROVIDER_ROLE. */
async function admitProposal(ctx, who = ctx.candidate) {
  const targets = [await ctx.token.getAddress(), await ctx.consortium.getAddress()];
  const calldatas = [
    ctx.token.interface.encodeFunctionData("admit", [who.address]),
    ctx.consortium.interface.encodeFunctionData("grantRole", [ROLE.PROVIDER, who.address]),
  ];
  return { targets, values: [0, 0], calldatas, description: `admit ${who.address} as a provider` };
}

async function propose(ctx, proposer, p) {
  const receipt = await (await ctx.council.connect(proposer).propose(p.targets, p.values, p.calldatas, p.description)).wait();
  const event = receipt.logs.map((l) => ctx.council.interface.parseLog(l)).find((e) => e && e.name === "ProposalCreated");
  return event.args.proposalId;
}

async function voteAndClose(ctx, id, votes) {
  await mine(VOTING_DELAY + 1);
  for (const [voter, support] of votes) await ctx.council.connect(voter).castVote(id, support);
  await mine(VOTING_PERIOD);
}


/** Mines so that the next transaction lands in block `block` or later. */
async function mineBefore(block) {
  const latest = await ethers.provider.getBlockNumber();
  if (latest < block - 1) await mineUpTo(block - 1);
}

/** Publishes `params` as `signer`; returns the task id. */
async function publish(ledger, signer, params) {
  const tx = await ledger.connect(signer).publishTask(params);
  const receipt = await tx.wait();
  const ev = receipt.logs.map((l) => ledger.interface.parseLog(l)).find((e) => e && e.name === "TaskPublished");
  return ev.args.taskId;
}

/** Federation task with committee v[0..4] (k = 3, f = 2) and providers p[0..3] + dual joined. */
async function federationTask(overrides = {}) {
  const ctx = await deployLedger();
  const committee = ctx.v.slice(0, 5);
  const params = taskParams(committee, overrides);
  const taskId = await publish(ctx.ledger, ctx.publisher, params);
  for (const a of [...ctx.p, ctx.dual]) await ctx.ledger.connect(a).joinTask(taskId);
  const round = await ctx.ledger.getRound(taskId, 1);
  return {
    ...ctx,
    committee,
    params,
    taskId,
    start: Number(round.startBlock),
    submissionsClose: Number(round.startBlock) + ROUND_LENGTH,
    scoringCloses: Number(round.startBlock) + ROUND_LENGTH + SCORE_WINDOW,
  };
}

/** Same committee with the dual account on it (as v[4]'s replacement) for self-score tests. */
async function federationTaskWithDual() {
  const ctx = await deployLedger();
  const committee = [...ctx.v.slice(0, 4), ctx.dual];
  const params = taskParams(committee);
  const taskId = await publish(ctx.ledger, ctx.publisher, params);
  for (const a of ctx.p) await ctx.ledger.connect(a).joinTask(taskId); // dual is on the committee
  return { ...ctx, committee, params, taskId };
}

/** Dag task (maxParents 3) with committee v[0..4] and providers p[0..3] joined. */
async function dagTask() {
  const ctx = await deployLedger();
  const committee = ctx.v.slice(0, 5);
  const params = dagParams(committee);
  const taskId = await publish(ctx.ledger, ctx.publisher, params);
  for (const a of ctx.p) await ctx.ledger.connect(a).joinTask(taskId);
  return { ...ctx, committee, params, taskId };
}

/** Commits `signer` to `update` in task `taskId` (once; a commit that reverts is left for the
 * reveal to report: role, task, membership). */
async function commitFor(ledger, signer, taskId, update, salt = SALT) {
  const commitment = await ledger.updateCommitment(taskId, signer.address, update, salt);
  if ((await ledger.commitmentBlock(signer.address, commitment)) !== 0n) return;
  try {
    await (await ledger.connect(signer).commitUpdate(taskId, commitment)).wait();
  } catch (e) {
    // the reveal reverts with the reason
  }
}

/** Commits (one block earlier) then reveals a federation update; resolves to the reveal's tx. */
async function submitUpdate(ledger, signer, taskId, round, update, cidStr, numSamples, overrides) {
  await commitFor(ledger, signer, taskId, update);
  const l = ledger.connect(signer);
  return overrides
    ? l.submitUpdate(taskId, round, update, cidStr, numSamples, SALT, overrides)
    : l.submitUpdate(taskId, round, update, cidStr, numSamples, SALT);
}

/** Commits (one block earlier) then reveals a dag update; resolves to the reveal's tx. */
async function submitDagUpdate(ledger, signer, taskId, parents, update, cidStr, numSamples, overrides) {
  await commitFor(ledger, signer, taskId, update);
  const l = ledger.connect(signer);
  return overrides
    ? l.submitDagUpdate(taskId, parents, update, cidStr, numSamples, SALT, overrides)
    : l.submitDagUpdate(taskId, parents, update, cidStr, numSamples, SALT);
}

/** A fresh encryption key with its proof of possession for `account` on `consortium`. */
async function memberKey(consortium, account, wallet = ethers.Wallet.createRandom()) {
  const message = await consortium.keyProofMessage(typeof account === "string" ? account : account.address);
  const proof = await wallet.signMessage(ethers.getBytes(message));
  return { key: wallet.signingKey.publicKey, proof, wallet };
}

/** Registers `signer` with `peer` and a fresh key (proven). */
async function registerMember(consortium, signer, peer) {
  const { key, proof } = await memberKey(consortium, signer);
  return consortium.connect(signer).registerMember(peer, key, proof);
}

/** Each of `scorers` scores `update` with the matching entry of `scores`. */
async function scoreAll(ledger, taskId, update, scorers, scores) {
  for (let i = 0; i < scorers.length; ++i) {
    await ledger.connect(scorers[i]).submitScore(taskId, update, scores[i]);
  }
}

const blockNumber = () => ethers.provider.getBlockNumber();

/** Mines until the next transaction lands in block `target` (the latest block is target - 1). */
async function nextTxAt(target) {
  const latest = await blockNumber();
  if (latest > target - 1) throw new Error(`already at block ${latest}, wanted next tx at ${target}`);
  if (latest < target - 1) await mineUpTo(target - 1);
}

/** Deterministic PRNG (mulberry32). */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n); // 0..n-1
  const pick = (arr) => arr[int(arr.length)];
  const shuffle = (arr) => {
    const out = [...arr];
    for (let i = out.length - 1; i > 0; --i) {
      const j = int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  return { next, int, pick, shuffle };
}

module.exports = {
  VOTING_DELAY,
  VOTING_PERIOD,
  TIMELOCK_DELAY,
  deployCouncil,
  admitProposal,
  propose,
  voteAndClose,
  ADMIN_DELAY,
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
  ATTEST_WINDOW,
  SALT,
  PUBLISH_TYPES,
  h,
  cid,
  acceptedDigest,
  taskParams,
  dagParams,
  domainOf,
  signPublish,
  deployLedger,
  deployGovernedLedger,
  drawnParams,
  runDraw,
  mineBefore,
  LIMITS,
  publish,
  federationTask,
  federationTaskWithDual,
  dagTask,
  scoreAll,
  commitFor,
  submitUpdate,
  submitDagUpdate,
  memberKey,
  registerMember,
  blockNumber,
  nextTxAt,
  mine,
  mineUpTo,
  prng,
};
