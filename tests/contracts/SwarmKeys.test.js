// The private swarm's key after a removal (THREATS K4): a member the council removed still holds
// the key (registered or not: its bundle carries it), so any remaining member posts a new one,
// encrypted to every registered participant; nobody can make the swarm rotate without a removal,
// leave a participant out, or hand the removed member a share.
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture } = require("@nomicfoundation/hardhat-network-helpers");
const { ROLE, ADMIN_DELAY, registerMember } = require("./helpers/fixtures");

const FOUNDING = ethers.id("founding key");
const NEW = ethers.id("new key");
const share = (i) => ethers.hexlify(ethers.toUtf8Bytes(String(i).padStart(129, "s"))); // 129 bytes

async function deploySwarm() {
  const [admin, a, b, c, unregistered, outsider] = await ethers.getSigners();
  const consortium = await (await ethers.getContractFactory("Consortium")).deploy(ADMIN_DELAY, admin.address, []);
  for (const who of [a, b, c, unregistered]) await consortium.connect(admin).grantRole(ROLE.PROVIDER, who.address);
  for (const [i, who] of [a, b, c].entries()) await registerMember(consortium, who, `/ip4/10.0.0.${i + 2}/tcp/4001`);
  const swarm = await (await ethers.getContractFactory("SwarmKeys")).deploy(await consortium.getAddress(), FOUNDING);
  return { consortium, swarm, admin, a, b, c, unregistered, outsider };
}

/** The registered participants, ascending (what a rotation must name). */
function ascending(...signers) {
  return signers.map((s) => s.address).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
}

describe("SwarmKeys (K4)", function () {
  it("records the founding key as epoch 0", async function () {
    const { swarm } = await loadFixture(deploySwarm);
    expect(await swarm.epoch()).to.equal(0n);
    expect(await swarm.keyHash(0)).to.equal(FOUNDING);
  });

  it("rotates only to cut off a registered member that lost its roles, once", async function () {
    const { consortium, swarm, admin, a, b, c } = await loadFixture(deploySwarm);
    const all = ascending(a, b, c);
    await expect(swarm.connect(a).rotate([c.address], NEW, all, all.map((_, i) => share(i))))
      .to.be.revertedWithCustomError(swarm, "SwarmKeysNothingToCutOff").withArgs(c.address); // c still a member
    await consortium.connect(admin).revokeRole(ROLE.PROVIDER, c.address);
    const left = ascending(a, b);
    await expect(swarm.connect(a).rotate([c.address], NEW, left, left.map((_, i) => share(i))))
      .to.emit(swarm, "SwarmKeyRotated").withArgs(1n, a.address, [c.address], NEW)
      .and.to.emit(swarm, "SwarmKeyShared").withArgs(1n, left[0], a.address, share(0));
    expect(await swarm.epoch()).to.equal(1n);
    expect(await swarm.keyHash(1)).to.equal(NEW);
    expect(await swarm.cutOff(c.address)).to.equal(true);
    await expect(swarm.connect(b).rotate([c.address], ethers.id("again"), left, left.map((_, i) => share(i))))
      .to.be.revertedWithCustomError(swarm, "SwarmKeysNothingToCutOff").withArgs(c.address); // done already
    await expect(swarm.connect(b).rotate([], ethers.id("again"), left, left.map((_, i) => share(i))))
      .to.be.revertedWithCustomError(swarm, "SwarmKeysNothingToCutOff");
  });

  it("a removed member that never registered is cut off too; an account never admitted is no reason", async function () {
    const { consortium, swarm, admin, a, b, c, unregistered, outsider } = await loadFixture(deploySwarm);
    const all = ascending(a, b, c);
    await expect(swarm.connect(a).rotate([outsider.address], NEW, all, all.map((_, i) => share(i))))
      .to.be.revertedWithCustomError(swarm, "SwarmKeysNothingToCutOff").withArgs(outsider.address);
    expect(await consortium.wasAdmitted(unregistered.address)).to.equal(true);
    expect(await consortium.wasAdmitted(outsider.address)).to.equal(false);
    await consortium.connect(admin).revokeRole(ROLE.PROVIDER, unregistered.address);
    expect(await consortium.wasAdmitted(unregistered.address)).to.equal(true); // it may hold its bundle's key
    await expect(swarm.connect(a).rotate([unregistered.address], NEW, all, all.map((_, i) => share(i))))
      .to.emit(swarm, "SwarmKeyRotated").withArgs(1n, a.address, [unregistered.address], NEW);
    expect(await swarm.cutOff(unregistered.address)).to.equal(true);
  });

  it("every remaining participant gets a share: none left out, none twice, not the removed one", async function () {
    const { consortium, swarm, admin, a, b, c } = await loadFixture(deploySwarm);
    await consortium.connect(admin).revokeRole(ROLE.PROVIDER, c.address);
    const [lo, hi] = ascending(a, b);
    const cases = [
      [[lo], 1n], // b or a left out
      [[lo, lo], 2n], // twice
      [[hi, lo], 2n], // not ascending
    ];
    for (const [members, given] of cases) {
      await expect(swarm.connect(a).rotate([c.address], NEW, members, members.map((_, i) => share(i))))
        .to.be.revertedWithCustomError(swarm, "SwarmKeysIncompleteShares").withArgs(given, 2n);
    }
    const withRemoved = ascending(a, c);
    await expect(swarm.connect(a).rotate([c.address], NEW, withRemoved, withRemoved.map((_, i) => share(i))))
      .to.be.revertedWithCustomError(swarm, "SwarmKeysNotAMember").withArgs(c.address);
    await expect(swarm.connect(a).rotate([c.address], NEW, [lo, hi], [share(0), "0x1234"]))
      .to.be.revertedWithCustomError(swarm, "SwarmKeysBadShare").withArgs(hi, 2n);
    await expect(swarm.connect(a).rotate([c.address], ethers.ZeroHash, [lo, hi], [share(0), share(1)]))
      .to.be.revertedWithCustomError(swarm, "SwarmKeysNoKeyHash");
  });

  it("only a registered participant rotates or shares, and only to one", async function () {
    const { consortium, swarm, admin, a, b, c, unregistered, outsider } = await loadFixture(deploySwarm);
    await consortium.connect(admin).revokeRole(ROLE.PROVIDER, c.address);
    const left = ascending(a, b);
    for (const who of [outsider, unregistered, c]) {
      await expect(swarm.connect(who).rotate([c.address], NEW, left, left.map((_, i) => share(i))))
        .to.be.revertedWithCustomError(swarm, "SwarmKeysNotAMember").withArgs(who.address);
      await expect(swarm.connect(who).share(a.address, share(0)))
        .to.be.revertedWithCustomError(swarm, "SwarmKeysNotAMember").withArgs(who.address);
    }
    await expect(swarm.connect(a).share(c.address, share(0))) // the removed member gets nothing
      .to.be.revertedWithCustomError(swarm, "SwarmKeysNotAMember").withArgs(c.address);
    await swarm.connect(a).rotate([c.address], NEW, left, left.map((_, i) => share(i)));
    // a member registered later gets the current key from anyone holding it
    await expect(swarm.connect(b).share(a.address, share(7)))
      .to.emit(swarm, "SwarmKeyShared").withArgs(1n, a.address, b.address, share(7));
  });

  it("a participant whose shares do not match asks for another; nobody else can ask", async function () {
    const { consortium, swarm, admin, a, b, c, unregistered, outsider } = await loadFixture(deploySwarm);
    await consortium.connect(admin).revokeRole(ROLE.PROVIDER, c.address);
    const left = ascending(a, b);
    await swarm.connect(a).rotate([c.address], NEW, left, left.map((_, i) => share(i)));
    await expect(swarm.connect(b).requestShare()).to.emit(swarm, "SwarmKeyShareRequested").withArgs(1n, b.address);
    for (const who of [outsider, unregistered, c]) {
      await expect(swarm.connect(who).requestShare())
        .to.be.revertedWithCustomError(swarm, "SwarmKeysNotAMember").withArgs(who.address);
    }
  });
});
