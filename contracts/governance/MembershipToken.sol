// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMembershipToken} from "../interfaces/IMembershipToken.sol";

/// @title MembershipToken — a non-transferable ERC721Votes: one organisation, one vote
/// @notice Votes are counted at block numbers (the token's clock), each token self-delegated
/// when minted.
contract MembershipToken is ERC721Votes, Ownable, IMembershipToken {
    address[] private _members;
    mapping(address organisation => uint256) private _slot; // index + 1

    /// @param owner_ who admits and removes (the council's timelock)
    /// @param founders the founding organisations
    constructor(address owner_, address[] memory founders)
        ERC721("ledgerlearn council membership", "LLCM")
        EIP712("ledgerlearn council membership", "1")
        Ownable(owner_)
    {
        for (uint256 i = 0; i < founders.length; ++i) {
            _admit(founders[i]);
        }
    }

    /// @inheritdoc IMembershipToken
    function admit(address organisation) external onlyOwner {
        _admit(organisation);
    }

    /// @inheritdoc IMembershipToken
    function remove(address organisation) external onlyOwner {
        _burn(uint256(uint160(organisation)));
        uint256 slot = _slot[organisation];
        address last = _members[_members.length - 1];
        _members[slot - 1] = last;
        _slot[last] = slot;
        _members.pop();
        delete _slot[organisation];
        emit MemberRemoved(organisation);
    }

    /// @inheritdoc IMembershipToken
    function isMember(address organisation) external view returns (bool) {
        return _slot[organisation] != 0;
    }

    /// @inheritdoc IMembershipToken
    function members() external view returns (address[] memory) {
        return _members;
    }

    function _admit(address organisation) private {
        _mint(organisation, uint256(uint160(organisation))); // reverts for a member (the id exists)
        _delegate(organisation, organisation);
        _members.push(organisation);
        _slot[organisation] = _members.length;
        emit MemberAdmitted(organisation);
    }

    /// @dev Mints and burns only.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0)) revert MembershipNotTransferable(tokenId);
    }

    /// @dev Only to oneself (done at admission): a vote is not lent to another organisation.
    function _delegate(address account, address delegatee) internal override {
        if (delegatee != account) revert MembershipSelfDelegationOnly(account, delegatee);
        super._delegate(account, delegatee);
    }
}
