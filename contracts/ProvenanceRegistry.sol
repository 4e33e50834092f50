// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProvenanceRegistry} from "./IProvenanceRegistry.sol";

/// @title ProvenanceRegistry
/// @notice Append-only registry of models, DataNet versions and training-run records.
/// @dev No owner, no admin, no upgrade path. Record bodies live in event data; each individually
///      recorded run costs one storage slot, each anchored batch one slot.
contract ProvenanceRegistry is IProvenanceRegistry {
    uint256 private constant _WEIGHT_TOTAL = 1_000_000;

    struct DatanetInfo {
        address owner;
        uint64 versionCount;
    }

    mapping(bytes32 modelId => address owner) private _modelOwner;
    mapping(bytes32 modelId => mapping(address trainer => bool authorized)) private _isTrainer;
    mapping(bytes32 datanetId => DatanetInfo info) private _datanets;
    mapping(bytes32 datanetId => mapping(uint64 version => DatanetVersion data)) private _versions;
    mapping(bytes32 recordId => uint256 blockNumber) private _recordBlock;
    mapping(bytes32 root => uint256 blockNumber) private _anchorBlock;

    /// @inheritdoc IProvenanceRegistry
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    // ------------------------------------------------------------------ models

    /// @inheritdoc IProvenanceRegistry
    function registerModel(string calldata name) external returns (bytes32 modelId) {
        if (bytes(name).length == 0) revert EmptyName();
        modelId = keccak256(bytes(name));
        if (_modelOwner[modelId] != address(0)) revert ModelAlreadyRegistered(modelId);
        _modelOwner[modelId] = msg.sender;
        emit ModelRegistered(modelId, msg.sender, name);
    }

    /// @inheritdoc IProvenanceRegistry
    function authorizeTrainer(bytes32 modelId, address trainer) external {
        _onlyModelOwner(modelId);
        if (_isTrainer[modelId][trainer]) revert TrainerStatusUnchanged(modelId, trainer);
        _isTrainer[modelId][trainer] = true;
        emit TrainerAuthorized(modelId, trainer);
    }

    /// @inheritdoc IProvenanceRegistry
    function revokeTrainer(bytes32 modelId, address trainer) external {
        _onlyModelOwner(modelId);
        if (!_isTrainer[modelId][trainer]) revert TrainerStatusUnchanged(modelId, trainer);
        _isTrainer[modelId][trainer] = false;
        emit TrainerRevoked(modelId, trainer);
    }

    // ---------------------------------------------------------------- datanets

    /// @inheritdoc IProvenanceRegistry
    function registerDatanet(string calldata name) external returns (bytes32 datanetId) {
        if (bytes(name).length == 0) revert EmptyName();
        datanetId = keccak256(bytes(name));
        if (_datanets[datanetId].owner != address(0)) revert DatanetAlreadyRegistered(datanetId);
        _datanets[datanetId].owner = msg.sender;
        emit DatanetRegistered(datanetId, msg.sender, name);
    }

    /// @inheritdoc IProvenanceRegistry
    function publishDatanetVersion(
        bytes32 datanetId,
        bytes32 contentRoot,
        bytes32 manifestHash,
        bytes calldata terms,
        Contributor[] calldata contributors
    ) external returns (uint64 newVersion) {
        DatanetInfo storage info = _datanets[datanetId];
        address owner = info.owner;
        if (owner == address(0)) revert UnknownDatanet(datanetId);
        if (owner != msg.sender) revert NotDatanetOwner(datanetId, msg.sender);
        if (contentRoot == bytes32(0)) revert EmptyContentRoot();
        newVersion = info.versionCount + 1;
        info.versionCount = newVersion;
        _versions[datanetId][newVersion] = DatanetVersion({
            contentRoot: contentRoot,
            manifestHash: manifestHash,
            termsHash: keccak256(terms),
            contributorsHash: keccak256(abi.encode(contributors)),
            publishedBlock: uint64(block.number)
        });
        emit DatanetVersionPublished(datanetId, contentRoot, newVersion, manifestHash, terms, contributors);
    }

    // ------------------------------------------------------------------ runs

    /// @inheritdoc IProvenanceRegistry
    function recordRun(TrainingRun calldata run) external returns (bytes32 recordId) {
        recordId = _record(run, false);
    }

    /// @inheritdoc IProvenanceRegistry
    function recordRuns(TrainingRun[] calldata runs) external returns (bytes32[] memory recordIds) {
        uint256 n = runs.length;
        if (n == 0) revert EmptyBatch();
        recordIds = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            recordIds[i] = _record(runs[i], false);
        }
    }

    /// @inheritdoc IProvenanceRegistry
    function anchorRuns(TrainingRun[] calldata runs) external returns (bytes32 root) {
        uint256 n = runs.length;
        if (n == 0) revert EmptyBatch();
        bytes32[] memory nodes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 id = _record(runs[i], true);
            nodes[i] = _leaf(id);
        }
        // Build the root in place: hash sorted pairs level by level; an odd node is carried up.
        while (n > 1) {
            uint256 half = n >> 1;
            for (uint256 i; i < half; ++i) {
                nodes[i] = _hashPair(nodes[2 * i], nodes[2 * i + 1]);
            }
            if (n & 1 == 1) {
                nodes[half] = nodes[n - 1];
                n = half + 1;
            } else {
                n = half;
            }
        }
        root = nodes[0];
        if (_anchorBlock[root] != 0) revert AlreadyAnchored(root);
        _anchorBlock[root] = block.number;
        emit RunsAnchored(root, runs.length);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IProvenanceRegistry
    function modelOwner(bytes32 modelId) external view returns (address) {
        return _modelOwner[modelId];
    }

    /// @inheritdoc IProvenanceRegistry
    function canRecord(bytes32 modelId, address account) public view returns (bool) {
        address owner = _modelOwner[modelId];
        return owner != address(0) && (owner == account || _isTrainer[modelId][account]);
    }

    /// @inheritdoc IProvenanceRegistry
    function datanet(bytes32 datanetId) external view returns (address owner, uint64 versionCount) {
        DatanetInfo storage info = _datanets[datanetId];
        return (info.owner, info.versionCount);
    }

    /// @inheritdoc IProvenanceRegistry
    /// @param datanetId The DataNet's id.
    /// @param v The 1-based version number (`version` in the interface; renamed so as not to shadow `version()`).
    function datanetVersion(bytes32 datanetId, uint64 v) external view returns (DatanetVersion memory) {
        if (v == 0 || v > _datanets[datanetId].versionCount) revert UnknownDatanetVersion(datanetId, v);
        return _versions[datanetId][v];
    }

    /// @inheritdoc IProvenanceRegistry
    function recordBlock(bytes32 recordId) external view returns (uint256) {
        return _recordBlock[recordId];
    }

    /// @inheritdoc IProvenanceRegistry
    function anchorBlock(bytes32 root) external view returns (uint256) {
        return _anchorBlock[root];
    }

    /// @inheritdoc IProvenanceRegistry
    function verifyAnchored(bytes32 root, bytes32 recordId, bytes32[] calldata proof) external view returns (bool) {
        if (_anchorBlock[root] == 0) return false;
        bytes32 node = _leaf(recordId);
        for (uint256 i; i < proof.length; ++i) {
            node = _hashPair(node, proof[i]);
        }
        return node == root;
    }

    /// @inheritdoc IProvenanceRegistry
    function computeRecordId(TrainingRun calldata run) external pure returns (bytes32) {
        return keccak256(abi.encode(run));
    }

    /// @inheritdoc IProvenanceRegistry
    function computeModelVersionKey(bytes32 modelId, string calldata modelVersion) external pure returns (bytes32) {
        return keccak256(abi.encode(modelId, modelVersion));
    }

    // --------------------------------------------------------------- internal

    function _onlyModelOwner(bytes32 modelId) private view {
        address owner = _modelOwner[modelId];
        if (owner == address(0)) revert UnknownModel(modelId);
        if (owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }

    /// @dev Checks `run`, derives its id and topics from it, marks it, and emits its events.
    ///      `anchored` runs are marked in transient storage only (the batch root is stored instead).
    function _record(TrainingRun calldata run, bool anchored) private returns (bytes32 recordId) {
        // Memory used here is scratch: release it on return so that a batch does not pay the
        // quadratic memory-expansion cost of every earlier record's encoding.
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        // The run's calldata, checked to be its canonical encoding, is abi.encode(run) already:
        // copy it once (0x20 head + tuple) instead of re-encoding field by field. Checked first, so
        // that no field is read through a non-canonical offset.
        bytes memory encoded = _canonicalCopy(run);
        bytes32 modelId = run.modelId;
        if (!canRecord(modelId, msg.sender)) {
            if (_modelOwner[modelId] == address(0)) revert UnknownModel(modelId);
            revert NotAuthorizedTrainer(modelId, msg.sender);
        }
        if (bytes(run.modelVersion).length == 0) revert EmptyModelVersion();

        recordId = keccak256(encoded);
        if (_recordBlock[recordId] != 0 || _tload(recordId)) revert AlreadyRecorded(recordId);

        uint256 nParents = run.parents.length;
        for (uint256 i; i < nParents; ++i) {
            bytes32 parent = run.parents[i];
            if (!_tload(parent) && _recordBlock[parent] == 0) revert UnknownParent(parent);
            emit ParentUsed(parent, recordId, modelId);
        }

        bytes32 versionKey = keccak256(abi.encode(modelId, run.modelVersion));
        uint256 nUses = run.datanets.length;
        if (nUses == 0) revert NoDatanets();
        uint256 total;
        for (uint256 i; i < nUses; ++i) {
            DatanetUse calldata use = run.datanets[i];
            bytes32 datanetId = use.datanetId;
            uint64 v = use.version;
            if (v == 0 || v > _datanets[datanetId].versionCount) revert UnknownDatanetVersion(datanetId, v);
            total += use.weightPpm;
            emit DatanetUsed(datanetId, modelId, recordId, v, use.weightPpm);
        }
        if (total != _WEIGHT_TOTAL) revert WeightsDoNotSum(total);

        if (anchored) {
            _tstore(recordId);
        } else {
            _recordBlock[recordId] = block.number;
        }
        emit RunRecorded(modelId, versionKey, recordId, msg.sender, encoded);
        assembly ("memory-safe") {
            mstore(0x40, freeMemory)
        }
    }

    /// @dev Returns abi.encode(run) by copying the run's tuple from calldata, after checking that the
    ///      calldata is the canonical encoding (every offset where canonical encoding puts it, zero
    ///      padding, uint64/uint32 fields in range). Reverts NonCanonicalEncoding otherwise.
    function _canonicalCopy(TrainingRun calldata run) private pure returns (bytes memory encoded) {
        assembly ("memory-safe") {
            function fail() {
                mstore(0x00, 0xb91b669d00000000000000000000000000000000000000000000000000000000)
                revert(0x00, 0x04)
            }
            function ceil32(x) -> y {
                y := and(add(x, 31), not(31))
            }
            // zero padding after a `n`-byte string whose data starts at calldata `at`
            function checkPadding(at, n) {
                let r := and(n, 31)
                if r {
                    if shl(mul(8, r), calldataload(add(at, sub(n, r)))) { fail() }
                }
            }
            let p := run
            if iszero(eq(calldataload(add(p, 0x20)), 0xc0)) { fail() }
            let vlen := calldataload(add(p, 0xc0))
            if gt(vlen, 0xffffff) { fail() }
            checkPadding(add(p, 0xe0), vlen)
            let offParents := add(0xe0, ceil32(vlen))
            if iszero(eq(calldataload(add(p, 0x60)), offParents)) { fail() }
            let np := calldataload(add(p, offParents))
            if gt(np, 0xffffff) { fail() }
            let offUses := add(offParents, add(0x20, shl(5, np)))
            if iszero(eq(calldataload(add(p, 0x80)), offUses)) { fail() }
            let nu := calldataload(add(p, offUses))
            if gt(nu, 0xffffff) { fail() }
            let offDetails := add(offUses, add(0x20, mul(nu, 0x60)))
            if iszero(eq(calldataload(add(p, 0xa0)), offDetails)) { fail() }
            for {
                let u := add(p, add(offUses, 0x20))
                let end := add(u, mul(nu, 0x60))
            } lt(u, end) { u := add(u, 0x60) } {
                if or(shr(64, calldataload(add(u, 0x20))), shr(32, calldataload(add(u, 0x40)))) { fail() }
            }
            let dlen := calldataload(add(p, offDetails))
            if gt(dlen, 0xffffff) { fail() }
            checkPadding(add(p, add(offDetails, 0x20)), dlen)
            let len := add(offDetails, add(0x20, ceil32(dlen)))
            if gt(add(p, len), calldatasize()) { fail() }
            encoded := mload(0x40)
            mstore(encoded, add(len, 0x20))
            mstore(add(encoded, 0x20), 0x20)
            calldatacopy(add(encoded, 0x40), p, len)
            mstore(0x40, add(add(encoded, 0x40), len))
        }
    }

    function _leaf(bytes32 recordId) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(recordId))));
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            switch lt(a, b)
            case 1 {
                mstore(0x00, a)
                mstore(0x20, b)
            }
            default {
                mstore(0x00, b)
                mstore(0x20, a)
            }
            h := keccak256(0x00, 0x40)
        }
    }

    function _tstore(bytes32 key) private {
        assembly ("memory-safe") {
            tstore(key, 1)
        }
    }

    function _tload(bytes32 key) private view returns (bool set) {
        assembly ("memory-safe") {
            set := tload(key)
        }
    }
}
