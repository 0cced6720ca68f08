// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Vm — the few forge cheatcodes the invariant suite uses
/// @dev Forge answers calls to the HEVM address (address(bytes20(uint160(uint256(keccak256("hevm cheat code"))))))
/// with its cheatcodes; this interface declares only what tests/forge needs. Written here rather
/// than taken from forge-std, which is installed with git and is not reachable offline (the npm
/// package `forge-std` 1.1.2 is an old unofficial copy whose Test.sol imports a ds-test it does
/// not ship).
interface Vm {
    /// @notice A secp256k1 key pair (forge-std's layout).
    struct Wallet {
        address addr;
        uint256 publicKeyX;
        uint256 publicKeyY;
        uint256 privateKey;
    }

    /// @notice Sets block.number.
    function roll(uint256 newHeight) external;
    /// @notice Makes the next call come from `msgSender`.
    function prank(address msgSender) external;
    /// @notice Names an address in traces.
    function label(address account, string calldata newLabel) external;
    /// @notice Deploys the compiled artifact `artifactPath` ("File.sol:Contract") with ABI-encoded arguments.
    function deployCode(string calldata artifactPath, bytes calldata constructorArgs) external returns (address);
    /// @notice An environment variable read as a bool, or `defaultValue` when unset.
    function envOr(string calldata name, bool defaultValue) external view returns (bool);
    /// @notice The key pair of a secp256k1 private key (its uncompressed public key as x, y).
    function createWallet(uint256 privateKey) external returns (Wallet memory wallet);
    /// @notice Signs a 32-byte digest with a secp256k1 private key.
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
}

/// @title CheatCodes — gives a contract the `vm` handle
abstract contract CheatCodes {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    /// @dev Forge prints calls to this address as console.log lines (shown with -vv).
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    /// @dev console.log(string, uint256)
    function _log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok; // the console never fails, and a log must not change the outcome
    }
}
