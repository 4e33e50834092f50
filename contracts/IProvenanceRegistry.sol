// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Provenance Ledger registry (v2): the one page an auditor needs.
/// @notice An append-only log of how ML models were trained. It registers models and DataNets
///         (versioned, content-addressed datasets with licence terms and contributors), checks and
///         stores the hash of every training-run record, and emits indexed events from which the
///         full lineage of any model version can be rebuilt with `eth_getLogs` alone.
/// @dev IDS AND ENCODINGS (all reproducible off-chain; Python: `sdk/provenance_ledger/core/canonical.py`)
///      - modelId   = keccak256(abi.encode(owner, name)); datanetId = keccak256(abi.encode(owner, name)).
///        Ids are scoped by owner: another account registering the same name gets a different id, so a
///        name cannot be squatted or front-run. `owner` is the registering account (msg.sender).
///      - modelVersionKey = keccak256(abi.encode(modelId, modelVersion)).
///      - recordId  = keccak256(abi.encode(run)) for a `TrainingRun run`. The registry accepts a run only in
///        its canonical ABI encoding (standard head offsets, zero padding, values in range; otherwise
///        NonCanonicalEncoding) and emits exactly those bytes as `record`, so recordId == keccak256(record).
///      - termsHash = keccak256(terms) (RFC 8785 JSON); contributorsHash = keccak256(abi.encode(contributors)).
///
///      DETAILS (`TrainingRun.details`): RFC 8785 canonical JSON valid against the versioned JSON Schema
///      shipped as `sdk/provenance_ledger/core/schemas/details-v2.schema.json` (the SDK validates on write
///      and on read; the contract cannot parse JSON and checks only the size). An object with keys:
///        "partitions"      (optional) array aligned with `datanets`: {"split": string, "selector": glob
///                          string, "fraction_ppm": integer 1..1000000, "seed": integer 0..2^53-1 (the
///                          largest integer RFC 8785 represents exactly)}; absent when every use is the
///                          whole version (split "", selector "", fraction_ppm 1000000, seed 0), and
///                          never present with only whole versions in it.
///        "relations"       (required when `parents` is non-empty) array aligned with `parents`, each one of
///                          "fine-tune", "adapter", "merge", "quantisation", "distillation",
///                          "continued-pretraining" (Hugging Face `base_model_relation` where they overlap:
///                          adapter, merge, quantized -> "quantisation", finetune -> "fine-tune").
///        "preprocessing"   (required, may be empty) array of {"op": non-empty string, "params": object
///                          (required, may be empty)}.
///        "hyperparameters" (required) object; "environment" (required) object.
///        "code"            (optional) {"repo": string, "commit": string, "dirty": boolean (optional),
///                          "diff_sha256": 64 lowercase hex (optional)}.
///        "started_at", "ended_at" (optional) integers, Unix seconds given by the caller (never a clock read).
///      No other keys. Integers are integers (no floats for weights or fractions). JSON numbers with a
///      fraction or exponent are allowed only inside "hyperparameters" and "params". A reader accepts a
///      record only if its details are exactly the canonical form the SDK writes from them (so `1.0` where
///      the canonical form has `1` is refused): one run, one byte string, one id.
///
///      ANCHORED BATCHES (`anchorRuns`): one storage slot per batch, the Merkle root of its record ids.
///      - leaf(recordId) = keccak256(bytes.concat(keccak256(abi.encode(recordId)))) (the OpenZeppelin
///        StandardMerkleTree leaf for a single bytes32 value);
///      - node(a, b)     = keccak256(abi.encode(min(a, b), max(a, b))) (sorted pair, OpenZeppelin MerkleProof);
///      - leaves are in batch order; the tree is built level by level, pairing (0,1), (2,3), ...; an odd
///        last node is carried up to the next level unchanged; a single leaf is its own root.
///      - OpenZeppelin's `MerkleProof.verify` checks our proofs, but `StandardMerkleTree.of` (which sorts
///        leaves and builds a complete tree) does NOT build our root: rebuild with the rule above.
///      The runs of a batch are emitted as RunRecorded events followed by one RunsAnchored(root, count);
///      the batch is the `count` RunRecorded events of this registry that precede it in the transaction.
///
///      REPEATS. Every write reverts AlreadyRecorded for a run recorded individually before, or earlier in
///      the same transaction, or proved anchored in the same transaction. The registry keeps no slot per
///      anchored run (invariant: lean), so it cannot know that a run was anchored in an EARLIER transaction
///      unless the caller proves it: the same record can be anchored again in another batch, or recorded
///      individually after being anchored. Readers MUST treat all RunRecorded events with one recordId as
///      one record: the earliest (lowest block, then log index) whose inclusion checks out is authoritative;
///      later ones are repeats, listed as such and never counted twice. The SDK never sends a record whose
///      id already has a RunRecorded event (it looks the id up by its indexed topic first).
///
///      PARENTS. A parent is a recordId recorded individually (recordBlock != 0), recorded earlier in the
///      same transaction, or anchored: an anchored parent is named by an AnchorProof (record id, the
///      anchored root, the Merkle proof) passed in `anchoredParents`, checked against the stored root.
///      Proofs are not part of the record, so the record id stays a pure function of the record.
///
///      SIGNED RECORDS (EIP-712). A trainer who holds no funds signs a record off-chain; anyone submits it.
///      Domain: {name: "ProvenanceRegistry", version: "2", chainId, verifyingContract: this registry}.
///      Struct: `RecordRun(bytes32 recordId)` (the id commits to every byte of the record). The signer must
///      be the model's owner or an authorised trainer at submission time; a contract wallet signs through
///      ERC-1271 `isValidSignature(digest, signature)`; an EOA with a 65-byte (r, s, v) signature, s in the
///      lower half order. The signer, not the submitter, is the run's `recorder`.
///
///      RETRACTIONS are append-only events: a DataNet owner retracts one of its versions, a model owner one
///      of its model versions, with a reason code (1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other) and a
///      note (the hash or URI of an explanation). Nothing is deleted or edited; records stay readable.
///
///      LIMITS (custom error TooLarge(field, size, limit)): name 128 bytes; modelVersion 64 bytes; details
///      16,384 bytes; datanets per run 64; parents per run 16; terms 16,384 bytes; contributors 256; note
///      1,024 bytes; runs per batch 256; anchored-parent proof depth 32. Each run's weights are > 0, sum to
///      1,000,000, with no duplicate (datanetId, version) use and no duplicate parent.
///
///      DEPLOYMENT. `deployedAt()` is the block of deployment (first block to scan for events). The runtime
///      code has no immutables: its keccak256 equals that of the `deployedBytecode` in the shipped artifact
///      `sdk/provenance_ledger/artifacts/ProvenanceRegistry.json` on every chain, which is how the SDK tells
///      this registry from a look-alike. EVM: Cancun or later (EIP-1153 transient storage: TSTORE/TLOAD);
///      compiled for Prague.
///      There is no owner, no admin and no upgrade path. Nothing recorded can be edited or deleted.
interface IProvenanceRegistry {
    // ---------------------------------------------------------------- types

    /// @notice One DataNet version used by a training run, with its mixture weight. (Its partition
    ///         (split, selector, fraction, seed) is described in the run's `details`.)
    struct DatanetUse {
        /// @dev keccak256(abi.encode(owner, name)) of the DataNet.
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
        /// @dev Record ids of the runs that produced the models this run started from; each one's relation
        ///      (fine-tune, adapter, merge, ...) is in `details.relations`, in the same order.
        bytes32[] parents;
        /// @dev The DataNet versions trained on.
        DatanetUse[] datanets;
        /// @dev RFC 8785 canonical JSON valid against the details schema (see DETAILS above).
        bytes details;
    }

    /// @notice Proof that `recordId` was anchored under the stored root `root` (see ANCHORED BATCHES).
    struct AnchorProof {
        bytes32 recordId;
        bytes32 root;
        /// @dev Sibling hashes from the leaf up to the root.
        bytes32[] proof;
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
    /// @param recorder The account whose authority the record carries: the sender, or the EIP-712 signer.
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

    /// @notice The owner of `datanetId` retracted its version `version` (the version stays readable).
    /// @param reason 1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other.
    /// @param note The hash or URI of an explanation (untrusted text: escape it when shown).
    event DatanetVersionRetracted(
        bytes32 indexed datanetId, address indexed owner, uint64 version, uint8 reason, string note
    );

    /// @notice The owner of `modelId` retracted its version `modelVersion` (records stay readable).
    /// @param reason 1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other.
    /// @param note The hash or URI of an explanation (untrusted text: escape it when shown).
    event ModelVersionRetracted(
        bytes32 indexed modelId,
        bytes32 indexed modelVersionKey,
        address indexed owner,
        string modelVersion,
        uint8 reason,
        string note
    );

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
    /// @dev A DataNet use has weight 0 (every use must carry weight).
    error ZeroWeight(bytes32 datanetId, uint64 version);
    /// @dev The run names the same DataNet version twice.
    error DuplicateDatanetUse(bytes32 datanetId, uint64 version);
    /// @dev The run names the same parent twice.
    error DuplicateParent(bytes32 recordId);
    /// @dev A field is over its documented limit (`field` is its name as a short string, e.g. "details").
    error TooLarge(bytes32 field, uint256 size, uint256 limit);
    /// @dev An anchored-parent proof does not reach the stored root `root` (or `root` is not anchored).
    error InvalidAnchorProof(bytes32 recordId, bytes32 root);
    /// @dev The signature is not `signer`'s over the record's EIP-712 digest.
    error InvalidSignature(address signer, bytes32 recordId);
    /// @dev Batch arrays of runs, signers and signatures differ in length.
    error LengthMismatch(uint256 runs, uint256 signers, uint256 signatures);
    /// @dev A retraction reason code outside 1..5.
    error InvalidReason(uint8 reason);

    // ------------------------------------------------------------ functions

    /// @notice Semantic version of this registry's ABI.
    /// @return The version string: "2.0.0".
    function version() external view returns (string memory);

    /// @notice The block this registry was deployed in: the first block to scan for its events.
    /// @return The block number.
    function deployedAt() external view returns (uint256);

    /// @notice Register a model under the caller's name space; the caller becomes its owner.
    /// @param name The model's name (1..128 bytes).
    /// @return modelId keccak256(abi.encode(msg.sender, name)).
    function registerModel(string calldata name) external returns (bytes32 modelId);

    /// @notice Let `trainer` record runs for `modelId`. Only the model's owner.
    /// @param modelId The model's id.
    /// @param trainer The account to authorise.
    function authorizeTrainer(bytes32 modelId, address trainer) external;

    /// @notice Stop `trainer` from recording new runs for `modelId`. Only the model's owner.
    /// @param modelId The model's id.
    /// @param trainer The authorised account to revoke.
    function revokeTrainer(bytes32 modelId, address trainer) external;

    /// @notice Register a DataNet under the caller's name space; the caller becomes its owner.
    /// @param name The DataNet's name (1..128 bytes).
    /// @return datanetId keccak256(abi.encode(msg.sender, name)).
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

    /// @notice Record one training run: checks it, stores its id, emits RunRecorded (recorder: the
    ///         sender), DatanetUsed and ParentUsed.
    /// @param run The run, in canonical ABI encoding (NonCanonicalEncoding otherwise).
    /// @param anchoredParents Proofs for the run's parents that were anchored (empty if none).
    /// @return recordId keccak256(abi.encode(run)).
    function recordRun(TrainingRun calldata run, AnchorProof[] calldata anchoredParents)
        external
        returns (bytes32 recordId);

    /// @notice Record several runs in one transaction (all or nothing), one slot each. A run may name an
    ///         earlier run of the same batch as its parent.
    /// @param runs The runs, in order; 1..256.
    /// @param anchoredParents Proofs for parents that were anchored in earlier transactions.
    /// @return recordIds The id of each run, in the same order.
    function recordRuns(TrainingRun[] calldata runs, AnchorProof[] calldata anchoredParents)
        external
        returns (bytes32[] memory recordIds);

    /// @notice Record many runs under one stored Merkle root instead of one slot each (see ANCHORED
    ///         BATCHES). Checked like `recordRuns`; duplicates within the batch are rejected.
    /// @param runs The runs, in order (the order of the Merkle leaves); 1..256.
    /// @param anchoredParents Proofs for parents that were anchored in earlier transactions.
    /// @return root The Merkle root of the batch's record ids.
    function anchorRuns(TrainingRun[] calldata runs, AnchorProof[] calldata anchoredParents)
        external
        returns (bytes32 root);

    /// @notice `recordRun` for a run signed by `signer` (EIP-712, see SIGNED RECORDS); any account may
    ///         submit it. `signer` must be allowed to record for the run's model and is its recorder.
    /// @param run The run, in canonical ABI encoding.
    /// @param anchoredParents Proofs for anchored parents (empty if none).
    /// @param signer The trainer who signed (an EOA or an ERC-1271 contract wallet).
    /// @param signature The signature over `recordDigest(recordId)`.
    /// @return recordId keccak256(abi.encode(run)).
    function recordRunSigned(
        TrainingRun calldata run,
        AnchorProof[] calldata anchoredParents,
        address signer,
        bytes calldata signature
    ) external returns (bytes32 recordId);

    /// @notice `recordRuns` for runs each signed by its trainer.
    /// @param runs The runs, in order; 1..256.
    /// @param anchoredParents Proofs for anchored parents.
    /// @param signers The signer of each run.
    /// @param signatures The signature of each run, over its `recordDigest`.
    /// @return recordIds The id of each run, in the same order.
    function recordRunsSigned(
        TrainingRun[] calldata runs,
        AnchorProof[] calldata anchoredParents,
        address[] calldata signers,
        bytes[] calldata signatures
    ) external returns (bytes32[] memory recordIds);

    /// @notice `anchorRuns` for runs each signed by its trainer.
    /// @param runs The runs, in order; 1..256.
    /// @param anchoredParents Proofs for anchored parents.
    /// @param signers The signer of each run.
    /// @param signatures The signature of each run, over its `recordDigest`.
    /// @return root The Merkle root of the batch's record ids.
    function anchorRunsSigned(
        TrainingRun[] calldata runs,
        AnchorProof[] calldata anchoredParents,
        address[] calldata signers,
        bytes[] calldata signatures
    ) external returns (bytes32 root);

    /// @notice Retract a published version of a DataNet. Only the DataNet's owner. Append-only.
    /// @param datanetId The DataNet's id.
    /// @param version The published version.
    /// @param reason 1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other.
    /// @param note The hash or URI of an explanation (at most 1,024 bytes).
    function retractDatanetVersion(bytes32 datanetId, uint64 version, uint8 reason, string calldata note) external;

    /// @notice Retract a model version. Only the model's owner. Append-only.
    /// @param modelId The model's id.
    /// @param modelVersion The model version string (1..64 bytes).
    /// @param reason 1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other.
    /// @param note The hash or URI of an explanation (at most 1,024 bytes).
    function retractModelVersion(bytes32 modelId, string calldata modelVersion, uint8 reason, string calldata note)
        external;

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

    /// @notice The EIP-712 domain separator of this registry on this chain.
    /// @return keccak256(abi.encode(EIP712Domain typehash, "ProvenanceRegistry", "2", chainid, this)).
    function domainSeparator() external view returns (bytes32);

    /// @notice The EIP-712 digest a trainer signs for `recordId`.
    /// @param recordId The record's id.
    /// @return keccak256("\x19\x01" || domainSeparator || keccak256(abi.encode(RECORD_RUN_TYPEHASH, recordId))).
    function recordDigest(bytes32 recordId) external view returns (bytes32);

    /// @notice keccak256(abi.encode(owner, name)): the id `owner` gets for a model or DataNet named `name`.
    /// @param owner The registering account.
    /// @param name The name.
    /// @return The entity id.
    function computeEntityId(address owner, string calldata name) external pure returns (bytes32);

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
