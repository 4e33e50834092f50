// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProvenanceRegistry} from "./IProvenanceRegistry.sol";

/// @title ProvenanceRegistry (v2)
/// @notice Append-only registry of models, DataNet versions and training-run records.
/// @dev No owner, no admin, no upgrade path, no immutables (the runtime code is the same on every chain
///      and at every address: the SDK identifies the registry by its keccak256). Record bodies live in
///      event data; each individually recorded run costs one storage slot, each anchored batch one slot.
///      Transient storage (EIP-1153) holds, for the current transaction, the ids recorded or anchored so
///      far and the ids proved anchored by an AnchorProof: slot = the record id, value 1.
contract ProvenanceRegistry is IProvenanceRegistry {
    uint256 private constant _WEIGHT_TOTAL = 1_000_000;

    // Limits (LIMITS in the interface).
    uint256 private constant _MAX_NAME = 128;
    uint256 private constant _MAX_MODEL_VERSION = 64;
    uint256 private constant _MAX_DETAILS = 16_384;
    uint256 private constant _MAX_DATANETS = 64;
    uint256 private constant _MAX_PARENTS = 16;
    uint256 private constant _MAX_TERMS = 16_384;
    uint256 private constant _MAX_CONTRIBUTORS = 256;
    uint256 private constant _MAX_NOTE = 1_024;
    uint256 private constant _MAX_RUNS = 256;
    uint256 private constant _MAX_PROOF_DEPTH = 32;
    uint8 private constant _MAX_REASON = 5;

    // EIP-712 (constants are inlined in the code; the domain separator is computed per call).
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _NAME_HASH = keccak256("ProvenanceRegistry");
    bytes32 private constant _VERSION_HASH = keccak256("2");
    bytes32 private constant _RECORD_RUN_TYPEHASH = keccak256("RecordRun(bytes32 recordId)");
    /// @dev bytes4(keccak256("isValidSignature(bytes32,bytes)")), the ERC-1271 magic value.
    bytes4 private constant _ERC1271_MAGIC = 0x1626ba7e;
    /// @dev secp256k1 group order / 2: a valid `s` is at most this (EIP-2).
    uint256 private constant _HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    struct DatanetInfo {
        address owner;
        uint64 versionCount;
    }

    uint256 private _deployedAt;
    mapping(bytes32 modelId => address owner) private _modelOwner;
    mapping(bytes32 modelId => mapping(address trainer => bool authorized)) private _isTrainer;
    mapping(bytes32 datanetId => DatanetInfo info) private _datanets;
    mapping(bytes32 datanetId => mapping(uint64 version => DatanetVersion data)) private _versions;
    mapping(bytes32 recordId => uint256 blockNumber) private _recordBlock;
    mapping(bytes32 root => uint256 blockNumber) private _anchorBlock;

    constructor() {
        _deployedAt = block.number;
    }

    /// @inheritdoc IProvenanceRegistry
    function version() external pure returns (string memory) {
        return "2.0.0";
    }

    /// @inheritdoc IProvenanceRegistry
    function deployedAt() external view returns (uint256) {
        return _deployedAt;
    }

    // ------------------------------------------------------------------ models

    /// @inheritdoc IProvenanceRegistry
    function registerModel(string calldata name) external returns (bytes32 modelId) {
        modelId = _entityId(name);
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

    /// @inheritdoc IProvenanceRegistry
    function retractModelVersion(bytes32 modelId, string calldata modelVersion, uint8 reason, string calldata note)
        external
    {
        _onlyModelOwner(modelId);
        uint256 vlen = bytes(modelVersion).length;
        if (vlen == 0) revert EmptyModelVersion();
        if (vlen > _MAX_MODEL_VERSION) revert TooLarge("modelVersion", vlen, _MAX_MODEL_VERSION);
        _checkRetraction(reason, note);
        emit ModelVersionRetracted(
            modelId, keccak256(abi.encode(modelId, modelVersion)), msg.sender, modelVersion, reason, note
        );
    }

    // ---------------------------------------------------------------- datanets

    /// @inheritdoc IProvenanceRegistry
    function registerDatanet(string calldata name) external returns (bytes32 datanetId) {
        datanetId = _entityId(name);
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
        DatanetInfo storage info = _onlyDatanetOwner(datanetId);
        if (contentRoot == bytes32(0)) revert EmptyContentRoot();
        if (terms.length > _MAX_TERMS) revert TooLarge("terms", terms.length, _MAX_TERMS);
        if (contributors.length > _MAX_CONTRIBUTORS) {
            revert TooLarge("contributors", contributors.length, _MAX_CONTRIBUTORS);
        }
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

    /// @inheritdoc IProvenanceRegistry
    /// @param datanetId The DataNet's id.
    /// @param v The published version (`version` in the interface; renamed so as not to shadow `version()`).
    /// @param reason 1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other.
    /// @param note The hash or URI of an explanation (at most 1,024 bytes).
    function retractDatanetVersion(bytes32 datanetId, uint64 v, uint8 reason, string calldata note) external {
        DatanetInfo storage info = _onlyDatanetOwner(datanetId);
        if (v == 0 || v > info.versionCount) revert UnknownDatanetVersion(datanetId, v);
        _checkRetraction(reason, note);
        emit DatanetVersionRetracted(datanetId, msg.sender, v, reason, note);
    }

    // ------------------------------------------------------------------ runs

    /// @inheritdoc IProvenanceRegistry
    function recordRun(TrainingRun calldata run, AnchorProof[] calldata anchoredParents)
        external
        returns (bytes32 recordId)
    {
        if (anchoredParents.length != 0) _proveAnchored(anchoredParents);
        recordId = _record(run, false, false, address(0), msg.data[0:0]);
    }

    /// @inheritdoc IProvenanceRegistry
    function recordRuns(TrainingRun[] calldata runs, AnchorProof[] calldata anchoredParents)
        external
        returns (bytes32[] memory recordIds)
    {
        uint256 n = _batchSize(runs.length);
        if (anchoredParents.length != 0) _proveAnchored(anchoredParents);
        recordIds = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            recordIds[i] = _record(runs[i], false, false, address(0), msg.data[0:0]);
        }
    }

    /// @inheritdoc IProvenanceRegistry
    function anchorRuns(TrainingRun[] calldata runs, AnchorProof[] calldata anchoredParents)
        external
        returns (bytes32 root)
    {
        uint256 n = _batchSize(runs.length);
        if (anchoredParents.length != 0) _proveAnchored(anchoredParents);
        bytes32[] memory nodes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            nodes[i] = _leaf(_record(runs[i], true, false, address(0), msg.data[0:0]));
        }
        root = _storeRoot(nodes);
    }

    /// @inheritdoc IProvenanceRegistry
    function recordRunSigned(
        TrainingRun calldata run,
        AnchorProof[] calldata anchoredParents,
        address signer,
        bytes calldata signature
    ) external returns (bytes32 recordId) {
        if (anchoredParents.length != 0) _proveAnchored(anchoredParents);
        recordId = _record(run, false, true, signer, signature);
    }

    /// @inheritdoc IProvenanceRegistry
    function recordRunsSigned(
        TrainingRun[] calldata runs,
        AnchorProof[] calldata anchoredParents,
        address[] calldata signers,
        bytes[] calldata signatures
    ) external returns (bytes32[] memory recordIds) {
        uint256 n = _signedBatchSize(runs.length, signers.length, signatures.length);
        if (anchoredParents.length != 0) _proveAnchored(anchoredParents);
        recordIds = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            recordIds[i] = _record(runs[i], false, true, signers[i], signatures[i]);
        }
    }

    /// @inheritdoc IProvenanceRegistry
    function anchorRunsSigned(
        TrainingRun[] calldata runs,
        AnchorProof[] calldata anchoredParents,
        address[] calldata signers,
        bytes[] calldata signatures
    ) external returns (bytes32 root) {
        uint256 n = _signedBatchSize(runs.length, signers.length, signatures.length);
        if (anchoredParents.length != 0) _proveAnchored(anchoredParents);
        bytes32[] memory nodes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            nodes[i] = _leaf(_record(runs[i], true, true, signers[i], signatures[i]));
        }
        root = _storeRoot(nodes);
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
        return _anchorBlock[root] != 0 && _processProof(_leaf(recordId), proof) == root;
    }

    /// @inheritdoc IProvenanceRegistry
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @inheritdoc IProvenanceRegistry
    function recordDigest(bytes32 recordId) public view returns (bytes32 digest) {
        bytes32 separator = domainSeparator();
        bytes32 typehash = _RECORD_RUN_TYPEHASH;
        assembly ("memory-safe") {
            // keccak256(abi.encode(RECORD_RUN_TYPEHASH, recordId)) in scratch space
            mstore(0x00, typehash)
            mstore(0x20, recordId)
            let structHash := keccak256(0x00, 0x40)
            // keccak256("\x19\x01" || separator || structHash): 66 bytes from 0x1e; the free memory
            // pointer at 0x40 is overwritten and restored.
            let fmp := mload(0x40)
            mstore(0x00, 0x1901)
            mstore(0x20, separator)
            mstore(0x40, structHash)
            digest := keccak256(0x1e, 0x42)
            mstore(0x40, fmp)
        }
    }

    /// @inheritdoc IProvenanceRegistry
    function computeEntityId(address owner, string calldata name) external pure returns (bytes32) {
        return keccak256(abi.encode(owner, name));
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

    /// @dev The caller's id for `name` (1..128 bytes): keccak256(abi.encode(msg.sender, name)).
    function _entityId(string calldata name) private view returns (bytes32) {
        uint256 len = bytes(name).length;
        if (len == 0) revert EmptyName();
        if (len > _MAX_NAME) revert TooLarge("name", len, _MAX_NAME);
        return keccak256(abi.encode(msg.sender, name));
    }

    function _onlyModelOwner(bytes32 modelId) private view {
        address owner = _modelOwner[modelId];
        if (owner == address(0)) revert UnknownModel(modelId);
        if (owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }

    function _onlyDatanetOwner(bytes32 datanetId) private view returns (DatanetInfo storage info) {
        info = _datanets[datanetId];
        address owner = info.owner;
        if (owner == address(0)) revert UnknownDatanet(datanetId);
        if (owner != msg.sender) revert NotDatanetOwner(datanetId, msg.sender);
    }

    function _checkRetraction(uint8 reason, string calldata note) private pure {
        if (reason == 0 || reason > _MAX_REASON) revert InvalidReason(reason);
        if (bytes(note).length > _MAX_NOTE) revert TooLarge("note", bytes(note).length, _MAX_NOTE);
    }

    function _batchSize(uint256 n) private pure returns (uint256) {
        if (n == 0) revert EmptyBatch();
        if (n > _MAX_RUNS) revert TooLarge("runs", n, _MAX_RUNS);
        return n;
    }

    function _signedBatchSize(uint256 n, uint256 nSigners, uint256 nSignatures) private pure returns (uint256) {
        _batchSize(n);
        if (nSigners != n || nSignatures != n) revert LengthMismatch(n, nSigners, nSignatures);
        return n;
    }

    /// @dev Checks every proof against its stored root and marks each proved id in transient storage:
    ///      for the rest of the transaction it may be named as a parent, and recording it reverts.
    function _proveAnchored(AnchorProof[] calldata proofs) private {
        uint256 n = proofs.length;
        for (uint256 i; i < n; ++i) {
            AnchorProof calldata p = proofs[i];
            bytes32 recordId = p.recordId;
            bytes32 root = p.root;
            bytes32[] calldata path = p.proof;
            if (path.length > _MAX_PROOF_DEPTH) revert TooLarge("proof", path.length, _MAX_PROOF_DEPTH);
            if (_anchorBlock[root] == 0 || _processProof(_leaf(recordId), path) != root) {
                revert InvalidAnchorProof(recordId, root);
            }
            _tstore(recordId);
        }
    }

    /// @dev Checks `run`, derives its id and topics from it, marks it, and emits its events. The run's
    ///      authority is `signer`'s when `signed` (after checking `signature`), else the sender's.
    ///      `anchored` runs are marked in transient storage only (the batch root is stored instead).
    ///      Fields are read from the checked copy in memory (`t`, the run's tuple: abi.encode(run) without
    ///      its leading 0x20), whose offsets _canonicalCopy has proved to be the canonical ones.
    function _record(TrainingRun calldata run, bool anchored, bool signed, address signer, bytes calldata signature)
        private
        returns (bytes32 recordId)
    {
        // Memory used here is scratch: release it on return so that a batch does not pay the
        // quadratic memory-expansion cost of every earlier record's encoding.
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        // The run's calldata, checked to be its canonical encoding, is abi.encode(run) already: copy it
        // once, behind the head of RunRecorded's data. Checked first, so that no field is read through a
        // non-canonical offset.
        uint256 buf = _canonicalCopy(run);
        uint256 t = buf + 0x80;
        bytes32 modelId;
        assembly ("memory-safe") {
            recordId := keccak256(add(buf, 0x60), mload(add(buf, 0x40)))
            modelId := mload(t)
        }
        address recorder = msg.sender;
        if (signed) {
            _checkSignature(signer, recordId, signature);
            recorder = signer;
        }
        if (!canRecord(modelId, recorder)) {
            if (_modelOwner[modelId] == address(0)) revert UnknownModel(modelId);
            revert NotAuthorizedTrainer(modelId, recorder);
        }
        _checkSizes(t);
        if (_recordBlock[recordId] != 0 || _tload(recordId)) revert AlreadyRecorded(recordId);
        _useParents(t, recordId, modelId);
        _useDatanets(t, recordId, modelId);
        if (anchored) {
            _tstore(recordId);
        } else {
            _recordBlock[recordId] = block.number;
        }
        _emitRunRecorded(buf, modelId, recordId, recorder);
        assembly ("memory-safe") {
            mstore(0x40, freeMemory)
        }
    }

    /// @dev modelVersion 1..64 bytes, details at most 16,384 bytes.
    function _checkSizes(uint256 t) private pure {
        uint256 vlen;
        uint256 dlen;
        assembly ("memory-safe") {
            vlen := mload(add(t, 0xc0))
            dlen := mload(add(t, mload(add(t, 0xa0))))
        }
        if (vlen == 0) revert EmptyModelVersion();
        if (vlen > _MAX_MODEL_VERSION) revert TooLarge("modelVersion", vlen, _MAX_MODEL_VERSION);
        if (dlen > _MAX_DETAILS) revert TooLarge("details", dlen, _MAX_DETAILS);
    }

    /// @dev Checks the parents (at most 16, distinct, each recorded or proved anchored) and emits ParentUsed.
    function _useParents(uint256 t, bytes32 recordId, bytes32 modelId) private {
        uint256 list; // the parents array: length, then the ids
        uint256 n;
        assembly ("memory-safe") {
            list := add(t, mload(add(t, 0x60)))
            n := mload(list)
        }
        if (n > _MAX_PARENTS) revert TooLarge("parents", n, _MAX_PARENTS);
        for (uint256 i; i < n; ++i) {
            bytes32 parent;
            bool duplicate;
            assembly ("memory-safe") {
                let at := add(list, shl(5, add(i, 1)))
                parent := mload(at)
                for { let q := add(list, 0x20) } lt(q, at) { q := add(q, 0x20) } {
                    if eq(mload(q), parent) {
                        duplicate := 1
                        break
                    }
                }
            }
            if (duplicate) revert DuplicateParent(parent);
            if (!_tload(parent) && _recordBlock[parent] == 0) revert UnknownParent(parent);
            emit ParentUsed(parent, recordId, modelId);
        }
    }

    /// @dev Checks the DataNet uses (1..64, published, weight > 0, distinct, summing to 1,000,000) and
    ///      emits DatanetUsed.
    function _useDatanets(uint256 t, bytes32 recordId, bytes32 modelId) private {
        uint256 list; // the uses array: length, then (datanetId, version, weightPpm) triples
        uint256 n;
        assembly ("memory-safe") {
            list := add(t, mload(add(t, 0x80)))
            n := mload(list)
        }
        if (n == 0) revert NoDatanets();
        if (n > _MAX_DATANETS) revert TooLarge("datanets", n, _MAX_DATANETS);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            bytes32 datanetId;
            uint64 v;
            uint32 weight;
            bool duplicate;
            assembly ("memory-safe") {
                let at := add(add(list, 0x20), mul(i, 0x60))
                datanetId := mload(at)
                v := mload(add(at, 0x20))
                weight := mload(add(at, 0x40))
                for { let q := add(list, 0x20) } lt(q, at) { q := add(q, 0x60) } {
                    if and(eq(mload(q), datanetId), eq(mload(add(q, 0x20)), v)) {
                        duplicate := 1
                        break
                    }
                }
            }
            if (v == 0 || v > _datanets[datanetId].versionCount) revert UnknownDatanetVersion(datanetId, v);
            if (weight == 0) revert ZeroWeight(datanetId, v);
            if (duplicate) revert DuplicateDatanetUse(datanetId, v);
            total += weight;
            emit DatanetUsed(datanetId, modelId, recordId, v, weight);
        }
        if (total != _WEIGHT_TOTAL) revert WeightsDoNotSum(total);
    }

    /// @dev Emits RunRecorded from the buffer laid out by _canonicalCopy (recorder word filled in here).
    ///      modelVersionKey = keccak256(abi.encode(modelId, modelVersion)) is hashed in place: the two head
    ///      words before the version's length (offsets of datanets and details) are set to
    ///      (modelId, 0x40) for the hash and restored.
    function _emitRunRecorded(uint256 buf, bytes32 modelId, bytes32 recordId, address recorder) private {
        bytes32 topic0 = RunRecorded.selector;
        assembly ("memory-safe") {
            let t := add(buf, 0x80)
            let w4 := mload(add(t, 0x80))
            let w5 := mload(add(t, 0xa0))
            mstore(add(t, 0x80), modelId)
            mstore(add(t, 0xa0), 0x40)
            let versionKey := keccak256(add(t, 0x80), add(0x60, and(add(mload(add(t, 0xc0)), 31), not(31))))
            mstore(add(t, 0x80), w4)
            mstore(add(t, 0xa0), w5)
            mstore(buf, recorder)
            log4(buf, add(0x60, mload(add(buf, 0x40))), topic0, modelId, versionKey, recordId)
        }
    }

    /// @dev Reverts InvalidSignature unless `signature` is `signer`'s over recordDigest(recordId): a 65-byte
    ///      ECDSA (r, s, v) signature with s in the lower half order and v in {27, 28} recovering to
    ///      `signer` (never address 0), else, if `signer` has code, ERC-1271 isValidSignature. ECDSA is
    ///      tried first: an EOA signer then costs no EXTCODESIZE of a cold account (2,600 gas); only the
    ///      holder of `signer`'s key can pass it (an EIP-7702 account signs either way).
    function _checkSignature(address signer, bytes32 recordId, bytes calldata signature) private view {
        bytes32 digest = recordDigest(recordId);
        if (signature.length == 65 && signer != address(0)) {
            bytes32 r = bytes32(signature[0:32]);
            bytes32 s = bytes32(signature[32:64]);
            uint8 v = uint8(signature[64]);
            if (uint256(s) <= _HALF_ORDER && (v == 27 || v == 28) && ecrecover(digest, v, r, s) == signer) return;
        }
        if (signer.code.length == 0 || !_isValidERC1271(signer, digest, signature)) {
            revert InvalidSignature(signer, recordId);
        }
    }

    /// @dev isValidSignature(digest, signature) by static call; false if it reverts, returns fewer than 32
    ///      bytes or anything but the magic value.
    function _isValidERC1271(address signer, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool valid)
    {
        bytes4 magic = _ERC1271_MAGIC;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, magic)
            mstore(add(m, 0x04), digest)
            mstore(add(m, 0x24), 0x40)
            mstore(add(m, 0x44), signature.length)
            calldatacopy(add(m, 0x64), signature.offset, signature.length)
            mstore(add(add(m, 0x64), signature.length), 0) // zero padding
            let size := add(0x64, and(add(signature.length, 31), not(31)))
            mstore(0x00, 0)
            let ok := staticcall(gas(), signer, m, size, 0x00, 0x20)
            valid := and(and(ok, gt(returndatasize(), 0x1f)), eq(mload(0x00), magic))
        }
    }

    /// @dev Checks that the run's calldata is its canonical encoding (every offset where canonical encoding
    ///      puts it, zero padding, uint64/uint32 fields in range; NonCanonicalEncoding otherwise) and copies
    ///      it into fresh memory at `buf`, laid out as the data of RunRecorded:
    ///      [recorder (left for the caller)][0x40][record length][record = 0x20 ++ the run's tuple].
    ///      Only the run's own bytes are read, so any arguments may follow it in calldata.
    function _canonicalCopy(TrainingRun calldata run) private pure returns (uint256 buf) {
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
            buf := mload(0x40)
            mstore(add(buf, 0x20), 0x40)
            mstore(add(buf, 0x40), add(len, 0x20))
            mstore(add(buf, 0x60), 0x20)
            calldatacopy(add(buf, 0x80), p, len)
            mstore(0x40, add(add(buf, 0x80), len))
        }
    }

    /// @dev Builds the batch root from its leaves in place (sorted pairs level by level; an odd last node
    ///      is carried up), stores it and emits RunsAnchored.
    function _storeRoot(bytes32[] memory nodes) private returns (bytes32 root) {
        uint256 count = nodes.length;
        uint256 n = count;
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
        emit RunsAnchored(root, count);
    }

    function _processProof(bytes32 node, bytes32[] calldata proof) private pure returns (bytes32) {
        uint256 n = proof.length;
        for (uint256 i; i < n; ++i) {
            node = _hashPair(node, proof[i]);
        }
        return node;
    }

    /// @dev keccak256(bytes.concat(keccak256(abi.encode(recordId)))), in scratch space.
    function _leaf(bytes32 recordId) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, recordId)
            mstore(0x00, keccak256(0x00, 0x20))
            h := keccak256(0x00, 0x20)
        }
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
