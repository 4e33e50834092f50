// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A tiny ERC-1271 contract wallet for tests. Honest, it accepts exactly its key holder's 65-byte
///         ECDSA signatures over the digest; the other modes misbehave in the ways a verifier must survive.
contract MockWallet {
    enum Mode {
        Honest,
        Reject, // returns a wrong value
        Revert, // reverts
        ShortReturn, // returns only the 4 magic bytes
        DirtyMagic, // returns the magic value with non-zero low-order bytes
        WritesState, // writes storage: fails under STATICCALL
        AcceptAll // returns the magic value for anything
    }

    bytes4 internal constant MAGIC = 0x1626ba7e;

    address public immutable keyHolder;
    Mode public mode;
    uint256 public writes;

    constructor(address keyHolder_) {
        keyHolder = keyHolder_;
    }

    function setMode(Mode m) external {
        mode = m;
    }

    /// @dev Deliberately not `view`: the WritesState mode writes, which a STATICCALL turns into a revert.
    function isValidSignature(bytes32 digest, bytes calldata signature) external returns (bytes4) {
        Mode m = mode;
        if (m == Mode.Revert) revert("MockWallet: no");
        if (m == Mode.ShortReturn) {
            assembly ("memory-safe") {
                mstore(0x00, MAGIC)
                return(0x00, 0x04)
            }
        }
        if (m == Mode.DirtyMagic) {
            assembly ("memory-safe") {
                mstore(0x00, or(MAGIC, 1))
                return(0x00, 0x20)
            }
        }
        if (m == Mode.WritesState) {
            ++writes;
            return MAGIC;
        }
        if (m == Mode.AcceptAll) return MAGIC;
        if (m == Mode.Reject || signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        address recovered = ecrecover(digest, v, r, s);
        return recovered != address(0) && recovered == keyHolder ? MAGIC : bytes4(0xffffffff);
    }
}
