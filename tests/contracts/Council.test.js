// The council (THREATS J1): membership and roles change only by a majority of the member
// organisations' votes, after the timelock's delay; the deployer holds no power once deployed.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, mine, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ROLE,
  ADMIN_DELAY,
  VOTING_DELAY,
  VOTING_PERIOD,
  TIMELOCK_DELAY,
  deployCouncil,
  admitProposal,
  propose,
  voteAndClose,
} = require("./helpers/fixtures");

const STATE = { Pending: 0n, Active: 1n, Canceled: 2n, Defeated: 3n, Succeeded: 4n, Queued: 5n, Expired: 6n, Executed: 7n };
const VOTE = { Against: 0, For: 1, Abstain: 2 };

describe("Council (J1)", function () {
  it("after bootstrap the deployer holds no power anywhere", async function () {
    const { deployer, timelock, token, council, consortium } = await loadFixture(deployCouncil);
    const t = await timelock.getAddress();
    expect(await consortium.defaultAdmin()).to.equal(t);
    expect(await consortium.hasRole(ROLE.ADMIN, deployer.address)).to.equal(false);
    for (const role of [ROLE.PUBLISHER, ROLE.PROVIDER, ROLE.VALIDATOR]) {
      expect(await consortium.hasRole(role, deployer.address)).to.equal(false);
    }
    for (const role of ["DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "CANCELLER_ROLE"]) {
      expect(await timelock.hasRole(await timelock[role](), deployer.address)).to.equal(false);
    }
    expect(await timelock.hasRole(await timelock.DEFAULT_ADMIN_ROLE(), t)).to.equal(true); // self-administered
    expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), await council.getAddress())).to.equal(true);
    expect(await token.owner()).to.equal(t);
    expect(await token.isMember(deployer.address)).to.equal(false);
    expect(await council.timelock()).to.equal(t);
  });

  it("no single key changes membership or roles: not a founder, not the deployer", async function () {
    const { deployer, f0, candidate, token, consortium, timelock } = await loadFixture(deployCouncil);
    for (const who of [deployer, f0]) {
      await expect(consortium.connect(who).grantRole(ROLE.PROVIDER, candidate.address))
        .to.be.revertedWithCustomError(consortium, "AccessControlUnauthorizedAccount")
        .withArgs(who.address, ROLE.ADMIN);
      await expect(token.connect(who).admit(candidate.address))
        .to.be.revertedWithCustomError(token, "OwnableUnauthorizedAccount")
        .withArgs(who.address);
      await expect(timelock.connect(who).schedule(await token.getAddress(), 0, "0x", ethers.ZeroHash, ethers.ZeroHash, TIMELOCK_DELAY))
        .to.be.revertedWithCustomError(timelock, "AccessControlUnauthorizedAccount");
    }
  });

  it("one organisation, one vote: the token cannot be transferred or its vote lent", async function () {
    const { f0, f1, candidate, token } = await loadFixture(deployCouncil);
    expect(await token.getVotes(f0.address)).to.equal(1);
    const id = BigInt(f0.address);
    await expect(token.connect(f0).transferFrom(f0.address, candidate.address, id))
      .to.be.revertedWithCustomError(token, "MembershipNotTransferable")
      .withArgs(id);
    await expect(token.connect(f0).delegate(f1.address))
      .to.be.revertedWithCustomError(token, "MembershipSelfDelegationOnly")
      .withArgs(f0.address, f1.address);
  });

  it("a majority of all members must vote For: 1 of 3 (or 1 For, 2 abstain) is defeated, 2 of 3 passes", async function () {
    const ctx = await loadFixture(deployCouncil);
    const { f0, f1, f2, council, outsider } = ctx;
    await expect(propose(ctx, outsider, await admitProposal(ctx)))
      .to.be.revertedWithCustomError(council, "GovernorInsufficientProposerVotes");
    const lone = await propose(ctx, f0, await admitProposal(ctx));
    expect(lone).to.equal(1n); // sequential ids
    expect(await council.quorum((await ethers.provider.getBlockNumber()) - 1)).to.equal(2);
    await voteAndClose(ctx, lone, [[f0, VOTE.For]]);
    expect(await council.state(lone)).to.equal(STATE.Defeated);
    const p2 = await admitProposal(ctx);
    p2.description += " (again)";
    const abstained = await propose(ctx, f0, p2);
    await voteAndClose(ctx, abstained, [[f0, VOTE.For], [f1, VOTE.Abstain], [f2, VOTE.Abstain]]);
    expect(await council.state(abstained)).to.equal(STATE.Defeated);
    const p3 = await admitProposal(ctx);
    p3.description += " (third)";
    const passed = await propose(ctx, f1, p3);
    await voteAndClose(ctx, passed, [[f0, VOTE.For], [f1, VOTE.For], [f2, VOTE.Against]]);
    expect(await council.state(passed)).to.equal(STATE.Succeeded);
    expect(await council.proposalCount()).to.equal(3);
  });

  it("executed only after the timelock's delay, and only once: the candidate is admitted with its role", async function () {
    const ctx = await loadFixture(deployCouncil);
    const { f0, f1, candidate, council, token, consortium, timelock, outsider } = ctx;
    const id = await propose(ctx, f0, await admitProposal(ctx));
    await voteAndClose(ctx, id, [[f0, VOTE.For], [f1, VOTE.For]]);
    await expect(council.connect(outsider)["execute(uint256)"](id))
      .to.be.revertedWithCustomError(council, "GovernorUnexpectedProposalState");
    await expect(council.connect(outsider)["queue(uint256)"](id)).to.emit(council, "ProposalQueued");
    expect(await council.state(id)).to.equal(STATE.Queued);
    await expect(council.connect(outsider)["execute(uint256)"](id))
      .to.be.revertedWithCustomError(timelock, "TimelockUnexpectedOperationState");
    await time.increase(TIMELOCK_DELAY);
    await expect(council.connect(outsider)["execute(uint256)"](id))
      .to.emit(token, "MemberAdmitted")
      .withArgs(candidate.address)
      .and.to.emit(consortium, "RoleGranted")
      .withArgs(ROLE.PROVIDER, candidate.address, await timelock.getAddress());
    expect(await token.isMember(candidate.address)).to.equal(true);
    expect(await consortium.hasRole(ROLE.PROVIDER, candidate.address)).to.equal(true);
    await expect(council.connect(outsider)["execute(uint256)"](id))
      .to.be.revertedWithCustomError(council, "GovernorUnexpectedProposalState");
  });

  it("a member removed by vote loses its roles and its vote on later proposals", async function () {
    const ctx = await loadFixture(deployCouncil);
    const { f0, f1, f2, council, token, consortium, outsider } = ctx;
    const p = {
      targets: [await token.getAddress(), await consortium.getAddress()],
      values: [0, 0],
      calldatas: [
        token.interface.encodeFunctionData("remove", [f2.address]),
        consortium.interface.encodeFunctionData("revokeRole", [ROLE.VALIDATOR, f2.address]),
      ],
      description: `remove ${f2.address}`,
    };
    const id = await propose(ctx, f0, p);
    await voteAndClose(ctx, id, [[f0, VOTE.For], [f1, VOTE.For], [f2, VOTE.Against]]);
    await council.connect(outsider)["queue(uint256)"](id);
    await time.increase(TIMELOCK_DELAY);
    await expect(council.connect(outsider)["execute(uint256)"](id)).to.emit(token, "MemberRemoved").withArgs(f2.address);
    expect(await consortium.hasRole(ROLE.VALIDATOR, f2.address)).to.equal(false);
    expect(await token.members()).to.deep.equal([f0.address, f1.address]);
    await mine(1);
    await expect(propose(ctx, f2, await admitProposal(ctx)))
      .to.be.revertedWithCustomError(council, "GovernorInsufficientProposerVotes");
    const next = await propose(ctx, f0, await admitProposal(ctx));
    await mine(VOTING_DELAY + 1);
    await council.connect(f2).castVote(next, VOTE.For); // counted with weight 0
    const [, forVotes] = await council.proposalVotes(next);
    expect(forVotes).to.equal(0);
    expect(await council.quorum(await council.proposalSnapshot(next))).to.equal(2); // 2 members: both
  });

  it("a founder's role must be a participant role; the deployer can seed founders but not the admin role", async function () {
    const { timelock, deployer } = await loadFixture(deployCouncil);
    const Consortium = await ethers.getContractFactory("Consortium");
    await expect(Consortium.deploy(ADMIN_DELAY, await timelock.getAddress(), [{ role: ROLE.ADMIN, account: deployer.address }]))
      .to.be.revertedWithCustomError(Consortium, "ConsortiumNotAParticipantRole")
      .withArgs(ROLE.ADMIN);
  });
});
