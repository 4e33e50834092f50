// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Reference Merkle tree over record ids, written independently of the registry:
///         OpenZeppelin StandardMerkleTree leaves (leaf type bytes32), sorted-pair nodes, and an odd
///         node at the end of a level carried up unchanged. Builds explicit levels (the registry hashes
///         in place) and also produces proofs.
library MerkleRef {
    function leaf(bytes32 recordId) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(recordId))));
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function leaves(bytes32[] memory recordIds) internal pure returns (bytes32[] memory level) {
        level = new bytes32[](recordIds.length);
        for (uint256 i; i < recordIds.length; ++i) {
            level[i] = leaf(recordIds[i]);
        }
    }

    function parentLevel(bytes32[] memory level) internal pure returns (bytes32[] memory up) {
        up = new bytes32[]((level.length + 1) / 2);
        for (uint256 i; i < up.length; ++i) {
            uint256 left = 2 * i;
            up[i] = left + 1 < level.length ? hashPair(level[left], level[left + 1]) : level[left];
        }
    }

    /// @dev Root over already-hashed leaves.
    function rootOfLeaves(bytes32[] memory level) internal pure returns (bytes32) {
        require(level.length > 0, "MerkleRef: empty");
        while (level.length > 1) {
            level = parentLevel(level);
        }
        return level[0];
    }

    function root(bytes32[] memory recordIds) internal pure returns (bytes32) {
        return rootOfLeaves(leaves(recordIds));
    }

    /// @dev Sibling path of leaf `index`; a carried-up node has no sibling at that level.
    function proof(bytes32[] memory recordIds, uint256 index) internal pure returns (bytes32[] memory path) {
        bytes32[] memory level = leaves(recordIds);
        bytes32[] memory buf = new bytes32[](256);
        uint256 depth;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) buf[depth++] = level[sibling];
            level = parentLevel(level);
            index >>= 1;
        }
        path = new bytes32[](depth);
        for (uint256 i; i < depth; ++i) {
            path[i] = buf[i];
        }
    }

    function processProof(bytes32 node, bytes32[] memory path) internal pure returns (bytes32) {
        for (uint256 i; i < path.length; ++i) {
            node = hashPair(node, path[i]);
        }
        return node;
    }
}
