// THREATS E1/E4: every state-changing function x admin / publisher / provider / validator /
// outsider. Each cell starts from a state in which the call succeeds for an allowed role, so a
// denied cell fails on the role check and nothing else. The contracts check roles on their own.
const { expect } = require("chai");
const { loadFixture, mineUpTo, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ROLE,
  PASS,
  h,
  cid,
  taskParams,
  dagParams,
  signPublish,
  deployLedger,
  publish,
  submitUpdate,
  submitDagUpdate,
  registerMember,
  ATTEST_WINDOW,
} = require("./helpers/fixtures");

const PEER = "/ip4/127.0.0.1/tcp/4001";

/** Task A (federation, p[0] and p[1] joined, h("pending") by p[1]), task B (dag, p[0] joined),
 * task C (federation, nobody joined). */
async function base() {
  const ctx = await deployLedger();
  const { ledger, publisher, p, v } = ctx;
  const committee = v.slice(0, 5);
  const paramsA = taskParams(committee);
  const A = await publish(ledger, publisher, paramsA);
  const paramsB = dagParams(committee);
  const B = await publish(ledger, publisher, paramsB);
  const C = await publish(ledger, publisher, taskParams(committee));
  await ledger.connect(p[0]).joinTask(A);
  await ledger.connect(p[1]).joinTask(A);
  await ledger.connect(p[0]).joinTask(B);
  await submitUpdate(ledger, p[1], A, 1, h("pending"), cid("pending"), 10);
  const r = await ledger.getRound(A, 1);
  const close = Number(r.startBlock) + paramsA.roundLength;
  return { ...ctx, A, B, C, paramsA, paramsB, close, scoringClose: close + paramsA.scoreWindow };
}

async function settleable() {
  const ctx = await base();
  await mineUpTo(ctx.scoringClose);
  return ctx;
}

async function proposable() {
  const ctx = await base();
  for (const s of ctx.v.slice(0, 3)) await ctx.ledger.connect(s).submitScore(ctx.A, h("pending"), PASS);
  await mineUpTo(ctx.close);
  return ctx;
}

async function attestable() {
  const ctx = await proposable();
  await ctx.ledger.connect(ctx.p[1]).proposeAggregate(ctx.A, 1, [h("pending")], h("agg"), cid("agg"));
  return ctx;
}

async function closable() {
  const ctx = await attestable();
  const [, , , attestationClose] = await ctx.ledger.roundDeadlines(ctx.A, 1);
  await mineUpTo(attestationClose);
  return ctx;
}

async function transferPending() {
  const ctx = await base();
  ctx.pendingAdmin = ctx.signers[16];
  await ctx.consortium.connect(ctx.admin).beginDefaultAdminTransfer(ctx.pendingAdmin.address);
  await time.increase(3 * 24 * 3600);
  return ctx;
}

const ACTORS = {
  admin: (c) => c.admin,
  publisher: (c) => c.publisher,
  provider: (c) => c.p[0],
  validator: (c) => c.v[0],
  outsider: (c) => c.outsider,
};

const unauthorizedLedger = (role) => (c, a) => [c.ledger, "LedgerUnauthorizedAccount", [a.address, role]];
const unauthorizedAdmin = (c, a) => [c.consortium, "AccessControlUnauthorizedAccount", [a.address, ROLE.ADMIN]];

// Each row: the call, the fixture, which actors may call, the revert for the others, and
// extra actors (name -> [actor, expected revert or null for success]).
const ROWS = [
  {
    fn: "registerMember",
    fixture: base,
    call: (c, a) => registerMember(c.consortium, a, PEER),
    event: (c) => [c.consortium, "MemberRegistered"],
    allowed: ["publisher", "provider", "validator"],
    denied: (c, a) => [c.consortium, "ConsortiumNotAParticipant", [a.address]],
  },
  {
    fn: "grantRole",
    fixture: base,
    call: (c, a) => c.consortium.connect(a).grantRole(ROLE.PROVIDER, c.signers[17].address),
    event: (c) => [c.consortium, "RoleGranted"],
    allowed: ["admin"],
    denied: unauthorizedAdmin,
  },
  {
    fn: "revokeRole",
    fixture: base,
    call: (c, a) => c.consortium.connect(a).revokeRole(ROLE.PROVIDER, c.p[1].address),
    event: (c) => [c.consortium, "RoleRevoked"],
    allowed: ["admin"],
    denied: unauthorizedAdmin,
  },
  {
    fn: "beginDefaultAdminTransfer",
    fixture: base,
    call: (c, a) => c.consortium.connect(a).beginDefaultAdminTransfer(c.signers[17].address),
    event: (c) => [c.consortium, "DefaultAdminTransferScheduled"],
    allowed: ["admin"],
    denied: unauthorizedAdmin,
  },
  {
    fn: "acceptDefaultAdminTransfer",
    fixture: transferPending,
    call: (c, a) => c.consortium.connect(a).acceptDefaultAdminTransfer(),
    event: (c) => [c.consortium, "RoleGranted"],
    allowed: [],
    denied: (c, a) => [c.consortium, "AccessControlInvalidDefaultAdmin", [a.address]],
    extra: { "pending admin": [(c) => c.pendingAdmin, null] },
  },
  {
    fn: "publishTask",
    fixture: base,
    call: (c, a) => c.ledger.connect(a).publishTask(c.paramsA),
    event: (c) => [c.ledger, "TaskPublished"],
    allowed: ["publisher"],
    denied: unauthorizedLedger(ROLE.PUBLISHER),
  },
  {
    fn: "publishTaskFor (actor signs, an outsider relays)",
    fixture: base,
    call: async (c, a) => {
      const deadline = BigInt((await time.latest()) + 600);
      const sig = await signPublish(c.ledger, a, c.paramsA, { deadline });
      return c.ledger.connect(c.relayer).publishTaskFor(c.paramsA, a.address, deadline, sig);
    },
    event: (c) => [c.ledger, "TaskPublished"],
    allowed: ["publisher"],
    denied: unauthorizedLedger(ROLE.PUBLISHER),
  },
  {
    fn: "publishTaskFor (the publisher signs, actor relays)",
    fixture: base,
    call: async (c, a) => {
      const deadline = BigInt((await time.latest()) + 600);
      const sig = await signPublish(c.ledger, c.publisher, c.paramsA, { deadline });
      return c.ledger.connect(a).publishTaskFor(c.paramsA, c.publisher.address, deadline, sig);
    },
    event: (c) => [c.ledger, "TaskPublished"],
    allowed: ["admin", "publisher", "provider", "validator", "outsider"],
    denied: null,
  },
  {
    fn: "closeTask",
    fixture: base,
    call: (c, a) => c.ledger.connect(a).closeTask(c.A),
    event: (c) => [c.ledger, "TaskClosed"],
    allowed: ["publisher"],
    denied: (c, a) => [c.ledger, "TaskRegistryNotPublisher", [c.A, a.address]],
    extra: { "another publisher": [(c) => c.publisher2, (c, a) => [c.ledger, "TaskRegistryNotPublisher", [c.A, a.address]]] },
  },
  {
    fn: "joinTask",
    fixture: base,
    call: (c, a) => c.ledger.connect(a).joinTask(c.C),
    event: (c) => [c.ledger, "ProviderJoined"],
    allowed: ["provider"],
    denied: unauthorizedLedger(ROLE.PROVIDER),
  },
  {
    fn: "commitUpdate",
    fixture: base,
    call: (c, a) => c.ledger.connect(a).commitUpdate(c.A, h(`commitment-${a.address}`)),
    event: (c) => [c.ledger, "UpdateCommitted"],
    allowed: ["provider"],
    denied: unauthorizedLedger(ROLE.PROVIDER),
  },
  {
    fn: "cancelPublishNonce",
    fixture: base,
    call: (c, a) => c.ledger.connect(a).cancelPublishNonce(),
    event: (c) => [c.ledger, "PublishNonceCancelled"],
    allowed: ["admin", "publisher", "provider", "validator", "outsider"], // only ever one's own nonce
    denied: null,
  },
  {
    fn: "closeRound",
    fixture: closable,
    call: (c, a) => c.ledger.connect(a).closeRound(c.A, 1, h("agg")),
    event: (c) => [c.ledger, "RoundClosedAtDeadline"],
    allowed: ["publisher", "provider", "validator"],
    denied: unauthorizedLedger(ROLE.NONE),
  },
  {
    fn: "submitUpdate",
    fixture: base,
    call: (c, a) => submitUpdate(c.ledger, a, c.A, 1, h("new"), cid("new"), 10),
    event: (c) => [c.ledger, "UpdateSubmitted"],
    allowed: ["provider"],
    denied: unauthorizedLedger(ROLE.PROVIDER),
  },
  {
    fn: "submitDagUpdate",
    fixture: base,
    call: (c, a) => submitDagUpdate(c.ledger, a, c.B, [c.paramsB.initialWeightsHash], h("new"), cid("new"), 10),
    event: (c) => [c.ledger, "UpdateSubmitted"],
    allowed: ["provider"],
    denied: unauthorizedLedger(ROLE.PROVIDER),
  },
  {
    fn: "submitScore",
    fixture: base,
    call: (c, a) => c.ledger.connect(a).submitScore(c.A, h("pending"), PASS),
    event: (c) => [c.ledger, "ScoreSubmitted"],
    allowed: ["validator"],
    denied: unauthorizedLedger(ROLE.VALIDATOR),
    extra: { "validator off the committee": [(c) => c.v[5], (c, a) => [c.ledger, "LedgerNotCommitteeMember", [c.A, a.address]]] },
  },
  {
    fn: "submitScores",
    fixture: base,
    call: (c, a) => c.ledger.connect(a).submitScores(c.A, [h("pending")], [PASS]),
    event: (c) => [c.ledger, "ScoreSubmitted"],
    allowed: ["validator"],
    denied: unauthorizedLedger(ROLE.VALIDATOR),
    extra: { "validator off the committee": [(c) => c.v[5], (c, a) => [c.ledger, "LedgerNotCommitteeMember", [c.A, a.address]]] },
  },
  {
    fn: "settleUpdates",
    fixture: settleable,
    call: (c, a) => c.ledger.connect(a).settleUpdates(c.A, [h("pending")]),
    event: (c) => [c.ledger, "UpdateExpired"], // no score at all: nobody judged it
    allowed: ["publisher", "provider", "validator"],
    denied: unauthorizedLedger(ROLE.NONE),
  },
  {
    fn: "proposeAggregate",
    fixture: proposable,
    call: (c, a) => c.ledger.connect(a).proposeAggregate(c.A, 1, [h("pending")], h("agg"), cid("agg")),
    event: (c) => [c.ledger, "AggregateProposed"],
    allowed: ["publisher", "provider", "validator"],
    denied: unauthorizedLedger(ROLE.NONE),
  },
  {
    fn: "attestAggregate",
    fixture: attestable,
    call: (c, a) => c.ledger.connect(a).attestAggregate(c.A, 1, h("agg"), ""),
    event: (c) => [c.ledger, "AggregateAttested"],
    allowed: ["validator"],
    denied: unauthorizedLedger(ROLE.VALIDATOR),
    extra: { "validator off the committee": [(c) => c.v[5], (c, a) => [c.ledger, "LedgerNotCommitteeMember", [c.A, a.address]]] },
  },
];

describe("Role matrix (E1)", function () {
  for (const row of ROWS) {
    describe(row.fn, function () {
      const cells = Object.entries(ACTORS).map(([name, pick]) => [
        name,
        pick,
        row.allowed.includes(name) ? null : row.denied,
      ]);
      for (const [name, [pick, denied]] of Object.entries(row.extra ?? {})) cells.push([name, pick, denied]);
      for (const [name, pick, denied] of cells) {
        it(`${name}: ${denied ? "reverts" : "succeeds"}`, async function () {
          const c = await loadFixture(row.fixture);
          const actor = pick(c);
          if (denied) {
            const [contract, error, args] = denied(c, actor);
            await expect(row.call(c, actor))
              .to.be.revertedWithCustomError(contract, error)
              .withArgs(...args);
          } else {
            const [contract, event] = row.event(c);
            await expect(row.call(c, actor)).to.emit(contract, event);
          }
        });
      }
    });
  }

  it("covers every state-changing function of both contracts' ABIs", async function () {
    const { consortium, ledger } = await loadFixture(base);
    const mutating = (iface) =>
      iface.fragments.filter((f) => f.type === "function" && !["view", "pure"].includes(f.stateMutability)).map((f) => f.name);
    const tested = new Set(ROWS.map((r) => r.fn.split(" ")[0]));
    // OpenZeppelin admin plumbing tested in Consortium.test.js (E2), not role-specific here
    const elsewhere = new Set(["renounceRole", "cancelDefaultAdminTransfer", "changeDefaultAdminDelay", "rollbackDefaultAdminDelay"]);
    // Callable only by the ledger's satellites (vetting, score commitments) or on a drawn task:
    // their role matrices are in the governed ledger's suites (Vetting.test.js, ScoreCommitments.test.js).
    for (const fn of ["setCommittee", "postFragments", "concludeVetting", "submitScoreFor"]) elsewhere.add(fn);
    const missing = [...mutating(ledger.interface), ...mutating(consortium.interface)].filter(
      (n) => !tested.has(n) && !elsewhere.has(n)
    );
    expect(missing).to.deep.equal([]);
  });

  it("admin-only plumbing (cancel, change/rollback delay) rejects every non-admin", async function () {
    const c = await loadFixture(base);
    for (const a of [c.publisher, c.p[0], c.v[0], c.outsider]) {
      for (const call of [
        () => c.consortium.connect(a).cancelDefaultAdminTransfer(),
        () => c.consortium.connect(a).changeDefaultAdminDelay(10),
        () => c.consortium.connect(a).rollbackDefaultAdminDelay(),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(c.consortium, "AccessControlUnauthorizedAccount")
          .withArgs(a.address, ROLE.ADMIN);
      }
    }
  });
});
