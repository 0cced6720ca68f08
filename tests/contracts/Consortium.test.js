// Consortium: membership registry, participant roles, two-step admin (THREATS E2, E3).
const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ADMIN_DELAY,
  ROLE,
  deployLedger,
  federationTask,
  h,
  cid,
  submitUpdate,
  memberKey,
  registerMember,
  commitFor,
  SALT,
} = require("./helpers/fixtures");

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
const PEER = "/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWQkB1Fc4s2Bm8aP3mCzWxN5nKx3tZ6vfe3FQK2CKYr9fN";

describe("Consortium", function () {
  describe("deployment", function () {
    it("names the roles and the admin, with the configured transfer delay", async function () {
      const { consortium, admin } = await loadFixture(deployLedger);
      expect(await consortium.PUBLISHER_ROLE()).to.equal(ROLE.PUBLISHER);
      expect(await consortium.PROVIDER_ROLE()).to.equal(ROLE.PROVIDER);
      expect(await consortium.VALIDATOR_ROLE()).to.equal(ROLE.VALIDATOR);
      expect(await consortium.defaultAdmin()).to.equal(admin.address);
      expect(await consortium.owner()).to.equal(admin.address);
      expect(await consortium.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await consortium.hasRole(ROLE.ADMIN, admin.address)).to.equal(true);
      for (const r of [ROLE.PUBLISHER, ROLE.PROVIDER, ROLE.VALIDATOR]) {
        expect(await consortium.getRoleAdmin(r)).to.equal(ROLE.ADMIN);
      }
    });

    it("refuses a zero initial admin", async function () {
      const Consortium = await ethers.getContractFactory("Consortium");
      await expect(Consortium.deploy(ADMIN_DELAY, ethers.ZeroAddress, []))
        .to.be.revertedWithCustomError(Consortium, "AccessControlInvalidDefaultAdmin")
        .withArgs(ethers.ZeroAddress);
    });

    it("supports the IAccessControl and IAccessControlDefaultAdminRules interfaces", async function () {
      const { consortium } = await loadFixture(deployLedger);
      expect(await consortium.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await consortium.supportsInterface("0x31498786")).to.equal(true); // IAccessControlDefaultAdminRules
      expect(await consortium.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await consortium.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("the ledger points at its consortium", async function () {
      const { consortium, ledger } = await loadFixture(deployLedger);
      expect(await ledger.consortium()).to.equal(await consortium.getAddress());
    });
  });

  describe("isParticipant", function () {
    it("is true for any of the three participant roles only", async function () {
      const { consortium, admin, publisher, p, v, dual, outsider } = await loadFixture(deployLedger);
      expect(await consortium.isParticipant(publisher.address)).to.equal(true);
      expect(await consortium.isParticipant(p[0].address)).to.equal(true);
      expect(await consortium.isParticipant(v[0].address)).to.equal(true);
      expect(await consortium.isParticipant(dual.address)).to.equal(true);
      expect(await consortium.isParticipant(admin.address)).to.equal(false);
      expect(await consortium.isParticipant(outsider.address)).to.equal(false);
    });

    it("drops when the last participant role is revoked", async function () {
      const { consortium, admin, dual } = await loadFixture(deployLedger);
      await consortium.connect(admin).revokeRole(ROLE.PROVIDER, dual.address);
      expect(await consortium.isParticipant(dual.address)).to.equal(true);
      await consortium.connect(admin).revokeRole(ROLE.VALIDATOR, dual.address);
      expect(await consortium.isParticipant(dual.address)).to.equal(false);
    });
  });

  describe("registerMember", function () {
    it("records peer address, key and block, and emits MemberRegistered", async function () {
      const { consortium, v } = await loadFixture(deployLedger);
      const { key, proof } = await memberKey(consortium, v[0]);
      const tx = consortium.connect(v[0]).registerMember(PEER, key, proof);
      await expect(tx).to.emit(consortium, "MemberRegistered").withArgs(v[0].address, PEER, key);
      const block = (await (await tx).wait()).blockNumber;
      const m = await consortium.memberOf(v[0].address);
      expect(m.peerAddress).to.equal(PEER);
      expect(m.encryptionKey).to.equal(key);
      expect(m.registeredBlock).to.equal(block);
      expect(await consortium.registeredMembers()).to.deep.equal([v[0].address]);
    });

    it("accepts the account's own key or a separate encryption key, each with its proof", async function () {
      const { consortium, publisher, p } = await loadFixture(deployLedger);
      const own = await memberKey(consortium, p[0], ethers.HDNodeWallet.fromPhrase(HARDHAT_MNEMONIC, undefined, "m/44'/60'/0'/0/3"));
      expect(ethers.computeAddress(own.key)).to.equal(p[0].address); // signer 3 is p[0]
      await consortium.connect(p[0]).registerMember(PEER, own.key, own.proof);
      await registerMember(consortium, publisher, PEER); // a fresh key, not the account's
      expect(await consortium.registeredMembers()).to.deep.equal([p[0].address, publisher.address]);
    });

    it("refuses another member's key: the proof must be signed by the key, for this account", async function () {
      const { consortium, p } = await loadFixture(deployLedger);
      const victim = await memberKey(consortium, p[0]);
      await consortium.connect(p[0]).registerMember(PEER, victim.key, victim.proof);
      const keyAddress = ethers.computeAddress(victim.key);
      // p[1] replays p[0]'s proof: it binds p[0]'s account, so it recovers another signer.
      const replayed = consortium.connect(p[1]).registerMember(PEER, victim.key, victim.proof);
      await expect(replayed).to.be.revertedWithCustomError(consortium, "ConsortiumInvalidKeyProof");
      // p[1] signs with its own key over its own account: not the key it names.
      const mine = await memberKey(consortium, p[1]);
      await expect(consortium.connect(p[1]).registerMember(PEER, victim.key, mine.proof))
        .to.be.revertedWithCustomError(consortium, "ConsortiumInvalidKeyProof")
        .withArgs(p[1].address, keyAddress, ethers.computeAddress(mine.key));
      // A proof made for another consortium (another contract address) is refused too.
      const Consortium = await ethers.getContractFactory("Consortium");
      const other = await Consortium.deploy(ADMIN_DELAY, p[1].address, []);
      const foreign = await memberKey(other, p[1], mine.wallet);
      await expect(consortium.connect(p[1]).registerMember(PEER, mine.key, foreign.proof)).to.be.revertedWithCustomError(
        consortium,
        "ConsortiumInvalidKeyProof"
      );
      await expect(consortium.connect(p[1]).registerMember(PEER, mine.key, "0x1234")).to.be.revertedWithCustomError(
        consortium,
        "ConsortiumInvalidKeyProof"
      );
    });

    it("an update replaces the record without listing the member twice", async function () {
      const { consortium, p } = await loadFixture(deployLedger);
      await registerMember(consortium, p[0], PEER);
      await registerMember(consortium, p[1], PEER);
      const second = await memberKey(consortium, p[0]);
      await consortium.connect(p[0]).registerMember("/dns4/p0.example/tcp/4001", second.key, second.proof);
      expect(await consortium.registeredMembers()).to.deep.equal([p[0].address, p[1].address]);
      const m = await consortium.memberOf(p[0].address);
      expect(m.peerAddress).to.equal("/dns4/p0.example/tcp/4001");
      expect(m.encryptionKey).to.equal(second.key);
    });

    it("memberOf is empty for an account that never registered", async function () {
      const { consortium, outsider } = await loadFixture(deployLedger);
      const m = await consortium.memberOf(outsider.address);
      expect(m.peerAddress).to.equal("");
      expect(m.encryptionKey).to.equal("0x");
      expect(m.registeredBlock).to.equal(0);
    });

    it("reverts for accounts without a participant role (admin, outsider, revoked)", async function () {
      const { consortium, admin, outsider, p } = await loadFixture(deployLedger);
      for (const a of [admin, outsider]) {
        await expect(registerMember(consortium, a, PEER))
          .to.be.revertedWithCustomError(consortium, "ConsortiumNotAParticipant")
          .withArgs(a.address);
      }
      await consortium.connect(admin).revokeRole(ROLE.PROVIDER, p[0].address);
      await expect(registerMember(consortium, p[0], PEER))
        .to.be.revertedWithCustomError(consortium, "ConsortiumNotAParticipant")
        .withArgs(p[0].address);
    });

    it("reverts on an empty or over-long peer address", async function () {
      const { consortium, p } = await loadFixture(deployLedger);
      await expect(registerMember(consortium, p[0], ""))
        .to.be.revertedWithCustomError(consortium, "ConsortiumInvalidPeerAddress")
        .withArgs(p[0].address, 0);
      await expect(registerMember(consortium, p[0], "x".repeat(513)))
        .to.be.revertedWithCustomError(consortium, "ConsortiumInvalidPeerAddress")
        .withArgs(p[0].address, 513);
      await expect(registerMember(consortium, p[0], "x".repeat(512))).to.emit(consortium, "MemberRegistered");
    });

    it("reverts on a key that is not an uncompressed secp256k1 public key", async function () {
      const { consortium, p } = await loadFixture(deployLedger);
      const { proof, wallet } = await memberKey(consortium, p[0]);
      const bad = [
        "0x",
        wallet.signingKey.compressedPublicKey, // 33 bytes: the address cannot be derived on chain
        "0x04" + "11".repeat(32), // 33 bytes with the uncompressed prefix
        "0x02" + "11".repeat(64), // 65 bytes with a compressed prefix
        "0x04" + "11".repeat(63), // 64 bytes
        "0x04" + "11".repeat(65), // 66 bytes
      ];
      for (const key of bad) {
        await expect(consortium.connect(p[0]).registerMember(PEER, key, proof))
          .to.be.revertedWithCustomError(consortium, "ConsortiumInvalidEncryptionKey")
          .withArgs(p[0].address, ethers.dataLength(key));
      }
    });
  });

  describe("roles", function () {
    it("only the admin grants and revokes participant roles", async function () {
      const { consortium, admin, publisher, outsider } = await loadFixture(deployLedger);
      await expect(consortium.connect(admin).grantRole(ROLE.PROVIDER, outsider.address))
        .to.emit(consortium, "RoleGranted")
        .withArgs(ROLE.PROVIDER, outsider.address, admin.address);
      await expect(consortium.connect(admin).revokeRole(ROLE.PROVIDER, outsider.address))
        .to.emit(consortium, "RoleRevoked")
        .withArgs(ROLE.PROVIDER, outsider.address, admin.address);
      await expect(consortium.connect(publisher).grantRole(ROLE.PUBLISHER, outsider.address))
        .to.be.revertedWithCustomError(consortium, "AccessControlUnauthorizedAccount")
        .withArgs(publisher.address, ROLE.ADMIN);
    });

    it("a member may renounce its own participant role, not someone else's", async function () {
      const { consortium, p } = await loadFixture(deployLedger);
      await expect(consortium.connect(p[0]).renounceRole(ROLE.PROVIDER, p[1].address)).to.be.revertedWithCustomError(
        consortium,
        "AccessControlBadConfirmation"
      ).withArgs();
      await consortium.connect(p[0]).renounceRole(ROLE.PROVIDER, p[0].address);
      expect(await consortium.hasRole(ROLE.PROVIDER, p[0].address)).to.equal(false);
    });

    it("E3: a revocation binds in the very next block (provider, validator, publisher)", async function () {
      const { consortium, ledger, admin, publisher, p, v, taskId, params } = await loadFixture(federationTask);
      await submitUpdate(ledger, p[1], taskId, 1, h("u1"), cid("u1"), 10);

      const revoke = async (role, who) => (await consortium.connect(admin).revokeRole(role, who.address)).wait();
      await commitFor(ledger, p[0], taskId, h("u0")); // committed while it held the role
      const r1 = await revoke(ROLE.PROVIDER, p[0]);
      const tx1 = submitUpdate(ledger, p[0], taskId, 1, h("u0"), cid("u0"), 10);
      await expect(tx1).to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount").withArgs(p[0].address, ROLE.PROVIDER);
      expect(await ethers.provider.getBlockNumber()).to.equal(r1.blockNumber + 1);

      const r2 = await revoke(ROLE.VALIDATOR, v[0]);
      await expect(ledger.connect(v[0]).submitScore(taskId, h("u1"), 1))
        .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
        .withArgs(v[0].address, ROLE.VALIDATOR);
      expect(await ethers.provider.getBlockNumber()).to.equal(r2.blockNumber + 1);

      const r3 = await revoke(ROLE.PUBLISHER, publisher);
      await expect(ledger.connect(publisher).publishTask(params))
        .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
        .withArgs(publisher.address, ROLE.PUBLISHER);
      expect(await ethers.provider.getBlockNumber()).to.equal(r3.blockNumber + 1);

      // ... and re-granting restores it just as fast
      await consortium.connect(admin).grantRole(ROLE.PROVIDER, p[0].address);
      await expect(submitUpdate(ledger, p[0], taskId, 1, h("u0"), cid("u0"), 10)).to.emit(ledger, "UpdateSubmitted");
    });

    it("E3: a revocation mined in the same block before the submission binds it too", async function () {
      const { consortium, ledger, admin, p, taskId } = await loadFixture(federationTask);
      await commitFor(ledger, p[0], taskId, h("u0"));
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        const revoke = await consortium.connect(admin).revokeRole(ROLE.PROVIDER, p[0].address, { gasLimit: 200_000 });
        const submit = await ledger
          .connect(p[0])
          .submitUpdate(taskId, 1, h("u0"), cid("u0"), 10, SALT, { gasLimit: 300_000, maxPriorityFeePerGas: 1n });
        await ethers.provider.send("evm_mine", []);
        const [rr, sr] = [await ethers.provider.getTransactionReceipt(revoke.hash), await ethers.provider.getTransactionReceipt(submit.hash)];
        expect(rr.status).to.equal(1);
        expect(sr.blockNumber).to.equal(rr.blockNumber);
        expect(sr.index).to.be.greaterThan(rr.index);
        expect(sr.status).to.equal(0);
        // the reason, replayed on the state the failed submission saw
        await expect(ledger.connect(p[0]).submitUpdate.staticCall(taskId, 1, h("u0"), cid("u0"), 10, SALT))
          .to.be.revertedWithCustomError(ledger, "LedgerUnauthorizedAccount")
          .withArgs(p[0].address, ROLE.PROVIDER);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      expect((await ledger.participation(taskId, p[0].address))[1]).to.equal(0);
    });
  });

  describe("E2: two-step admin transfer", function () {
    it("begin -> wait the delay -> accept; the old admin stays admin until the new one accepts", async function () {
      const { consortium, admin, signers } = await loadFixture(deployLedger);
      const next = signers[16];
      const tx = await consortium.connect(admin).beginDefaultAdminTransfer(next.address);
      const schedule = (await time.latest()) + ADMIN_DELAY;
      await expect(tx).to.emit(consortium, "DefaultAdminTransferScheduled").withArgs(next.address, schedule);
      const [pending, at] = await consortium.pendingDefaultAdmin();
      expect(pending).to.equal(next.address);
      expect(at).to.equal(schedule);

      // still the old admin: it can grant roles; the pending admin cannot
      await consortium.connect(admin).grantRole(ROLE.PROVIDER, signers[17].address);
      await expect(consortium.connect(next).grantRole(ROLE.PROVIDER, signers[18].address))
        .to.be.revertedWithCustomError(consortium, "AccessControlUnauthorizedAccount")
        .withArgs(next.address, ROLE.ADMIN);

      // too early
      await expect(consortium.connect(next).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(consortium, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      // someone else
      await time.increaseTo(schedule + 1);
      await expect(consortium.connect(admin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(consortium, "AccessControlInvalidDefaultAdmin")
        .withArgs(admin.address);

      await expect(consortium.connect(next).acceptDefaultAdminTransfer())
        .to.emit(consortium, "RoleRevoked")
        .withArgs(ROLE.ADMIN, admin.address, next.address);
      expect(await consortium.defaultAdmin()).to.equal(next.address);
      expect(await consortium.hasRole(ROLE.ADMIN, admin.address)).to.equal(false);
      await expect(consortium.connect(admin).grantRole(ROLE.PROVIDER, signers[18].address))
        .to.be.revertedWithCustomError(consortium, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, ROLE.ADMIN);
      await consortium.connect(next).grantRole(ROLE.PROVIDER, signers[18].address);
    });

    it("a mistaken transfer can be cancelled or overwritten before it is accepted", async function () {
      const { consortium, admin, signers } = await loadFixture(deployLedger);
      const wrong = signers[16];
      const right = signers[17];
      await consortium.connect(admin).beginDefaultAdminTransfer(wrong.address);
      await expect(consortium.connect(admin).cancelDefaultAdminTransfer()).to.emit(
        consortium,
        "DefaultAdminTransferCanceled"
      );
      await time.increase(ADMIN_DELAY + 1);
      await expect(consortium.connect(wrong).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(consortium, "AccessControlInvalidDefaultAdmin")
        .withArgs(wrong.address);

      await consortium.connect(admin).beginDefaultAdminTransfer(wrong.address);
      await consortium.connect(admin).beginDefaultAdminTransfer(right.address);
      await time.increase(ADMIN_DELAY + 1);
      await expect(consortium.connect(wrong).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(consortium, "AccessControlInvalidDefaultAdmin")
        .withArgs(wrong.address);
      await consortium.connect(right).acceptDefaultAdminTransfer();
      expect(await consortium.defaultAdmin()).to.equal(right.address);
    });

    it("no single transaction removes or duplicates the admin", async function () {
      const { consortium, admin, outsider } = await loadFixture(deployLedger);
      await expect(consortium.connect(admin).grantRole(ROLE.ADMIN, outsider.address)).to.be.revertedWithCustomError(
        consortium,
        "AccessControlEnforcedDefaultAdminRules"
      ).withArgs();
      await expect(consortium.connect(admin).revokeRole(ROLE.ADMIN, admin.address)).to.be.revertedWithCustomError(
        consortium,
        "AccessControlEnforcedDefaultAdminRules"
      ).withArgs();
      await expect(consortium.connect(admin).renounceRole(ROLE.ADMIN, admin.address))
        .to.be.revertedWithCustomError(consortium, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(0);
      expect(await consortium.defaultAdmin()).to.equal(admin.address);
    });

    it("renouncing the admin also takes two steps and the delay", async function () {
      const { consortium, admin } = await loadFixture(deployLedger);
      await consortium.connect(admin).beginDefaultAdminTransfer(ethers.ZeroAddress);
      const [, schedule] = await consortium.pendingDefaultAdmin();
      await expect(consortium.connect(admin).renounceRole(ROLE.ADMIN, admin.address))
        .to.be.revertedWithCustomError(consortium, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.increaseTo(schedule + 1n);
      await consortium.connect(admin).renounceRole(ROLE.ADMIN, admin.address);
      expect(await consortium.defaultAdmin()).to.equal(ethers.ZeroAddress);
    });
  });
});
