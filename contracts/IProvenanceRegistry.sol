// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Provenance Ledger registry: the one page an auditor needs.
/// @notice An append-only log of how ML models were trained. It registers models and DataNets
///         (versioned, content-addressed datasets with license terms and contributors), checks and
///         stores the hash of every training-run record, and emits indexed events from which the
///         full lineage of any model version can be rebuilt with `eth_getLogs` alone.
/// @dev Ids and encodings (all reproducible off-chain, see `sdk/provenance_ledger/core/canonical.py`):
///      - modelId   = keccak256(bytes(name)); datanetId = keccak256(bytes(name)). First come, first owned.
///      - modelVersionKey = keccak256(abi.encode(modelId, modelVersion)).
///      - recordId  = keccak256(abi.encode(run)) for a `TrainingRun run`; the emitted `record` bytes are
///                    exactly abi.encode(run), so recordId == keccak256(record).
///      - termsHash = keccak256(terms) (RFC 8785 JSON); contributorsHash = keccak256(abi.encode(contributors)).
///      - Anchored batches: leaf = keccak256(bytes.concat(keccak256(abi.encode(recordId)))) (OpenZeppelin
///        StandardMerkleTree, leaf type bytes32); nodes hash sorted pairs; an odd node is carried up unchanged.
///      There is no owner, no admin and no upgrade path. Nothing recorded can be edited or deleted.
interface IProvenanceRegistry {
    // ---------------------------------------------------------------- types

    /// @notice One DataNet version used by a training run, with its mixture weight. (Its partition
    ///         (split, selector, fraction, seed) is described in the run's `details`.)
    struct DatanetUse {
        /// @dev keccak256 of the DataNet's name.
        bytes32 datanetId;
        /// @dev 1-based version number; must be published.
        uint64 version;
        /// @dev Share of the training mixture in parts per million; all uses of a run sum to 1,000,000.
        uint32 weightPpm;
    }

    /// @notice A training-run record. Its ABI encoding is its canonical form; its keccak256 is its id.
    struct TrainingRun {
        /// @dev The produced model.
        bytes32 modelId;
        /// @dev The produced model version, e.g. "1.2.0"; non-empty.
        string modelVersion;
        /// @dev Digest of the produced weights (content root of the weight files).
        bytes32 weightsDigest;
        /// @dev Record ids of the runs that produced the models this run started from (fine-tunes).
        bytes32[] parents;
        /// @dev The DataNet versions trained on.
        DatanetUse[] datanets;
        /// @dev RFC 8785 canonical JSON: the partition of each DataNet use ("partitions", in the order
        ///      of `datanets`), preprocessing steps and parameters, code reference, hyperparameters,
        ///      environment, start and end timestamps.
        bytes details;
    }

    /// @notice A contributor of a DataNet version and its integer share.
    struct Contributor {
        address account;
        uint64 shares;
    }

    /// @notice What the registry stores for a DataNet version.
    struct DatanetVersion {
        bytes32 contentRoot;
        bytes32 manifestHash;
        bytes32 termsHash;
        bytes32 contributorsHash;
        uint64 publishedBlock;
    }

    // --------------------------------------------------------------- events

    /// @notice A model name was claimed; `owner` may now authorise trainers.
    event ModelRegistered(bytes32 indexed modelId, address indexed owner, string name);

    /// @notice `trainer` may now record runs for `modelId`.
    event TrainerAuthorized(bytes32 indexed modelId, address indexed trainer);

    /// @notice `trainer` may no longer record runs for `modelId` (earlier records stay valid).
    event TrainerRevoked(bytes32 indexed modelId, address indexed trainer);

    /// @notice A DataNet name was claimed; `owner` may now publish versions.
    event DatanetRegistered(bytes32 indexed datanetId, address indexed owner, string name);

    /// @notice An immutable DataNet version was published.
    /// @param terms RFC 8785 JSON of the license terms (termsHash = keccak256(terms)).
    /// @param contributors Contributor addresses and integer shares.
    event DatanetVersionPublished(
        bytes32 indexed datanetId,
        bytes32 indexed contentRoot,
        uint64 version,
        bytes32 manifestHash,
        bytes terms,
        Contributor[] contributors
    );

    /// @notice A training run was recorded. `record` is abi.encode(run); recordId == keccak256(record).
    event RunRecorded(
        bytes32 indexed modelId,
        bytes32 indexed modelVersionKey,
        bytes32 indexed recordId,
        address recorder,
        bytes record
    );

    /// @notice Run `recordId` trained on `datanetId` version `version` with weight `weightPpm`.
    event DatanetUsed(
        bytes32 indexed datanetId, bytes32 indexed modelId, bytes32 indexed recordId, uint64 version, uint32 weightPpm
    );

    /// @notice Run `recordId` (of model `modelId`) fine-tuned the model produced by `parentRecordId`.
    /// @dev Lets "which models descend from this run" be a single log filter.
    event ParentUsed(bytes32 indexed parentRecordId, bytes32 indexed recordId, bytes32 indexed modelId);

    /// @notice The `count` runs recorded before this event in the same transaction were anchored
    ///         under the Merkle root `root` (one storage slot for the whole batch).
    event RunsAnchored(bytes32 indexed root, uint256 count);

    // --------------------------------------------------------------- errors

    /// @dev A name was empty.
    error EmptyName();
    /// @dev The model name is already registered.
    error ModelAlreadyRegistered(bytes32 modelId);
    /// @dev No model with this id is registered.
    error UnknownModel(bytes32 modelId);
    /// @dev Only the model's owner may do this.
    error NotModelOwner(bytes32 modelId, address caller);
    /// @dev The trainer is already authorised (authorize) or is not (revoke).
    error TrainerStatusUnchanged(bytes32 modelId, address trainer);
    /// @dev The DataNet name is already registered.
    error DatanetAlreadyRegistered(bytes32 datanetId);
    /// @dev No DataNet with this id is registered.
    error UnknownDatanet(bytes32 datanetId);
    /// @dev Only the DataNet's owner may do this.
    error NotDatanetOwner(bytes32 datanetId, address caller);
    /// @dev A DataNet version must have a non-zero content root.
    error EmptyContentRoot();
    /// @dev The run names a DataNet version that is not published.
    error UnknownDatanetVersion(bytes32 datanetId, uint64 version);
    /// @dev The run names a parent record that is not recorded.
    error UnknownParent(bytes32 recordId);
    /// @dev The caller is neither the model's owner nor an authorised trainer.
    error NotAuthorizedTrainer(bytes32 modelId, address caller);
    /// @dev This exact record is already recorded (records are write-once).
    error AlreadyRecorded(bytes32 recordId);
    /// @dev The run names no DataNet version.
    error NoDatanets();
    /// @dev The DataNet weights do not sum to 1,000,000 parts per million.
    error WeightsDoNotSum(uint256 total);
    /// @dev The model version string is empty.
    error EmptyModelVersion();
    /// @dev A batch must contain at least one run.
    error EmptyBatch();
    /// @dev The run is not in canonical ABI encoding (offsets, padding or value ranges), so its bytes
    ///      would not hash to its one id.
    error NonCanonicalEncoding();
    /// @dev This Merkle root is already anchored.
    error AlreadyAnchored(bytes32 root);

    // ------------------------------------------------------------ functions

    /// @notice Semantic version of this registry's ABI.
    /// @return The version string, e.g. "1.0.0".
    function version() external view returns (string memory);

    /// @notice Claim a model name; the caller becomes its owner.
    /// @param name The model's name; its keccak256 is the model id.
    /// @return modelId keccak256(bytes(name)).
    function registerModel(string calldata name) external returns (bytes32 modelId);

    /// @notice Let `trainer` record runs for `modelId`. Only the model's owner.
    /// @param modelId The model's id.
    /// @param trainer The account to authorise.
    function authorizeTrainer(bytes32 modelId, address trainer) external;

    /// @notice Stop `trainer` from recording new runs for `modelId`. Only the model's owner.
    /// @param modelId The model's id.
    /// @param trainer The authorised account to revoke.
    function revokeTrainer(bytes32 modelId, address trainer) external;

    /// @notice Claim a DataNet name; the caller becomes its owner.
    /// @param name The DataNet's name; its keccak256 is the DataNet id.
    /// @return datanetId keccak256(bytes(name)).
    function registerDatanet(string calldata name) external returns (bytes32 datanetId);

    /// @notice Publish the next immutable version of a DataNet. Only the DataNet's owner.
    /// @param datanetId The DataNet's id.
    /// @param contentRoot Merkle root over the version's files (non-zero).
    /// @param manifestHash Hash of the version's canonical manifest.
    /// @param terms RFC 8785 JSON of the version's license terms.
    /// @param contributors Contributor addresses and integer shares.
    /// @return version The new 1-based version number.
    function publishDatanetVersion(
        bytes32 datanetId,
        bytes32 contentRoot,
        bytes32 manifestHash,
        bytes calldata terms,
        Contributor[] calldata contributors
    ) external returns (uint64 version);

    /// @notice Record one training run: checks it, stores its id, emits RunRecorded and DatanetUsed.
    /// @param run The run, in canonical ABI encoding (NonCanonicalEncoding otherwise).
    /// @return recordId keccak256(abi.encode(run)).
    function recordRun(TrainingRun calldata run) external returns (bytes32 recordId);

    /// @notice Record several runs in one transaction (all or nothing). A run may name an earlier run
    ///         of the same batch as its parent.
    /// @param runs The runs, in order; at least one.
    /// @return recordIds The id of each run, in the same order.
    function recordRuns(TrainingRun[] calldata runs) external returns (bytes32[] memory recordIds);

    /// @notice Record many runs under one stored Merkle root instead of one slot each. The runs are
    ///         checked like `recordRuns`, except that a parent may be any recorded run, or an earlier
    ///         run of the same batch; duplicates within the batch are rejected. A run anchored here
    ///         is not marked in `recordBlock` (use `verifyAnchored`).
    /// @param runs The runs, in order (the order of the Merkle leaves); at least one.
    /// @return root The Merkle root of the batch's record ids.
    function anchorRuns(TrainingRun[] calldata runs) external returns (bytes32 root);

    /// @notice Owner of `modelId` (zero if unregistered).
    /// @param modelId The model's id.
    /// @return The owner's address.
    function modelOwner(bytes32 modelId) external view returns (address);

    /// @notice Whether `account` may record runs for `modelId` (owner or authorised trainer).
    /// @param modelId The model's id.
    /// @param account The account to check.
    /// @return True if `account` is the model's owner or an authorised trainer.
    function canRecord(bytes32 modelId, address account) external view returns (bool);

    /// @notice Owner and number of published versions of a DataNet.
    /// @param datanetId The DataNet's id.
    /// @return owner The DataNet's owner (zero if unregistered).
    /// @return versionCount The number of published versions (the latest version number).
    function datanet(bytes32 datanetId) external view returns (address owner, uint64 versionCount);

    /// @notice A published DataNet version (reverts UnknownDatanetVersion if absent).
    /// @param datanetId The DataNet's id.
    /// @param version The 1-based version number.
    /// @return The stored hashes and publication block of that version.
    function datanetVersion(bytes32 datanetId, uint64 version) external view returns (DatanetVersion memory);

    /// @notice Block in which `recordId` was recorded individually, or 0 if it was not.
    /// @param recordId The record's id.
    /// @return The block number, or 0.
    function recordBlock(bytes32 recordId) external view returns (uint256);

    /// @notice Block in which Merkle root `root` was anchored, or 0 if it was not.
    /// @param root The batch's Merkle root.
    /// @return The block number, or 0.
    function anchorBlock(bytes32 root) external view returns (uint256);

    /// @notice Whether `recordId` is included under the anchored root `root` by `proof`.
    /// @param root An anchored Merkle root (false if it was never anchored).
    /// @param recordId The record's id.
    /// @param proof Sibling hashes from the leaf up to the root.
    /// @return True if the proof is valid and `root` is anchored.
    function verifyAnchored(bytes32 root, bytes32 recordId, bytes32[] calldata proof) external view returns (bool);

    /// @notice The id the registry derives for `run`: keccak256(abi.encode(run)).
    /// @param run The run.
    /// @return The record id.
    function computeRecordId(TrainingRun calldata run) external pure returns (bytes32);

    /// @notice keccak256(abi.encode(modelId, modelVersion)).
    /// @param modelId The model's id.
    /// @param modelVersion The model version string.
    /// @return The model version key (the `modelVersionKey` topic of RunRecorded).
    function computeModelVersionKey(bytes32 modelId, string calldata modelVersion) external pure returns (bytes32);
}
