// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";
import {MerkleRef} from "../utils/MerkleRef.sol";
import {MockWallet} from "../utils/MockWallet.sol";
import {IProvenanceRegistry} from "../../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../../contracts/ProvenanceRegistry.sol";

/// @notice Drives the registry with bounded random actions and keeps ghost state to check it against.
///         The handler (the victim) owns two models and every DataNet; three EOA actors and an ERC-1271
///         wallet are authorised and revoked as trainers at random; a squatter registers the victim's
///         names under its own account and tries everything it must not be able to do. Runs are recorded
///         one by one, in batches, anchored, re-anchored (repeats), signed (EOA and ERC-1271) and named as
///         parents, anchored parents by proof. Every action makes at most one registry write (one
///         transaction), predicts its outcome from the ghost state and counts surprises.
contract RegistryHandler is TestBase {
    uint32 internal constant W = 1_000_000;
    uint256 internal constant MAX_DATANETS = 4;
    uint256 internal constant N_ACTORS = 3;
    uint256 internal constant ACTOR_KEY = 0xA11CE;
    uint256 internal constant WALLET_KEY = 0xB0B;
    uint256 internal constant SQUATTER_KEY = 0x5EED;

    ProvenanceRegistry public immutable reg;
    MockWallet public immutable wallet;
    address public immutable squatter;
    bytes32[2] public models;
    address[N_ACTORS] public actors;

    // ------------------------------------------------------------ ghost state

    /// @dev Every distinct record id ever submitted (recorded, anchored or rejected).
    bytes32[] public seenIds;
    mapping(bytes32 => bool) internal _seen;
    /// @dev Ids recorded individually, with the block they were recorded in.
    bytes32[] public recordedIds;
    mapping(bytes32 => uint256) public ghostRecordBlock;
    uint256 public ghostRecorded;
    /// @dev The record bytes of every id with a RunRecorded event.
    mapping(bytes32 => bytes) internal _recordBytes;
    /// @dev Anchored batches (their ids in order) and the distinct anchored ids with their first batch.
    bytes32[][] internal _batches;
    bytes32[] public batchRoots;
    mapping(bytes32 => uint256) public ghostAnchorBlock;
    bytes32[] public anchoredIds;
    mapping(bytes32 => uint256) internal _batchOf; // index + 1
    uint256 public ghostAnchoredRuns;
    uint256 public ghostAnchoredBatches;
    /// @dev RunRecorded events seen, distinct ids among them, and repeats (events for an id logged before).
    uint256 public ghostRunEvents;
    uint256 public ghostDistinctLogged;
    uint256 public ghostRepeats;
    mapping(bytes32 => bool) internal _everLogged;
    uint256 public ghostSigned;
    uint256 public ghostProvedParents;
    uint256 public ghostRetractions;
    uint256 public ghostSquatterAttempts;
    uint256 public ghostRejected;
    /// @dev Outcomes that contradict the specification: must stay zero.
    uint256 public ghostSurprises;
    string public lastSurprise;

    /// @dev The squatter's own ids for the victim's names (zero until registered).
    bytes32[2] public squatterModels;
    bytes32[MAX_DATANETS] public squatterDatanets;

    struct PublishedVersion {
        bytes32 datanetId;
        uint64 version;
        IProvenanceRegistry.DatanetVersion data;
    }

    bytes32[] public datanets;
    mapping(bytes32 => uint64) public ghostVersionCount;
    PublishedVersion[] internal _published;

    mapping(bytes32 => uint256) public calls;

    constructor(ProvenanceRegistry registry) {
        reg = registry;
        wallet = new MockWallet(vm.addr(WALLET_KEY));
        squatter = vm.addr(SQUATTER_KEY);
        models[0] = reg.registerModel(_modelName(0));
        models[1] = reg.registerModel(_modelName(1));
        for (uint256 i; i < N_ACTORS; ++i) {
            actors[i] = vm.addr(ACTOR_KEY + i);
        }
        reg.authorizeTrainer(models[0], actors[0]);
        reg.authorizeTrainer(models[1], address(wallet));
        _registerDatanet();
        _publish(0, keccak256("genesis"), bytes32(0), "", 1);
    }

    // ------------------------------------------------------- victim actions

    function registerDatanet() external {
        calls["registerDatanet"]++;
        if (datanets.length < MAX_DATANETS) _registerDatanet();
    }

    function publishVersion(uint256 dnSeed, bytes32 contentRoot, bytes32 manifestHash, bytes calldata terms, uint8 nc)
        external
    {
        calls["publishVersion"]++;
        uint256 i = bound(dnSeed, 0, datanets.length - 1);
        if (contentRoot == bytes32(0)) {
            IProvenanceRegistry.Contributor[] memory cs = _contributors(nc);
            try reg.publishDatanetVersion(datanets[i], contentRoot, manifestHash, terms, cs) {
                _surprise("published an empty content root");
            } catch (bytes memory reason) {
                _expectError(reason, abi.encodeWithSelector(IProvenanceRegistry.EmptyContentRoot.selector));
            }
            return;
        }
        _publish(i, contentRoot, manifestHash, terms, nc);
    }

    /// @dev Authorises or revokes an actor or the wallet.
    function toggleTrainer(uint256 accountSeed, uint256 modelSeed) external {
        calls["toggleTrainer"]++;
        uint256 k = bound(accountSeed, 0, N_ACTORS);
        address a = k == N_ACTORS ? address(wallet) : actors[k];
        bytes32 m = models[modelSeed % 2];
        if (reg.canRecord(m, a)) reg.revokeTrainer(m, a);
        else reg.authorizeTrainer(m, a);
    }

    // --------------------------------------------------------------- records

    /// @dev One run; its parents may be individually recorded or anchored (usually with a proof).
    function recordRun(uint256 seed, uint256 senderSeed) external {
        calls["recordRun"]++;
        (bytes32[] memory parents, IProvenanceRegistry.AnchorProof[] memory proofs) = _randomParents(seed);
        IProvenanceRegistry.TrainingRun[] memory runs = new IProvenanceRegistry.TrainingRun[](1);
        runs[0] = _randomRun(seed, parents);
        address sender = _sender(senderSeed);
        bytes memory expected = _predict(runs, _same(sender, 1), _allTrue(1), proofs);
        _track(runs);
        vm.recordLogs();
        vm.prank(sender);
        try reg.recordRun(runs[0], proofs) returns (bytes32 got) {
            if (expected.length != 0) _surprise("recordRun accepted a run it must reject");
            if (got != keccak256(abi.encode(runs[0]))) _surprise("recordRun returned a different id");
            _accepted(runs, _same(sender, 1), false, proofs.length);
        } catch (bytes memory reason) {
            _rejected(reason, expected);
        }
    }

    /// @dev A chain of runs in one batch, each fine-tuning the previous one.
    function recordChain(uint256 seed, uint256 size, uint256 senderSeed) external {
        calls["recordChain"]++;
        (IProvenanceRegistry.TrainingRun[] memory runs, IProvenanceRegistry.AnchorProof[] memory proofs) =
            _randomChain(seed, bound(size, 1, 4));
        address sender = _sender(senderSeed);
        bytes memory expected = _predict(runs, _same(sender, runs.length), _allTrue(runs.length), proofs);
        _track(runs);
        vm.recordLogs();
        vm.prank(sender);
        try reg.recordRuns(runs, proofs) returns (bytes32[] memory got) {
            if (expected.length != 0) _surprise("recordRuns accepted a batch it must reject");
            for (uint256 i; i < runs.length; ++i) {
                if (got[i] != keccak256(abi.encode(runs[i]))) _surprise("recordRuns returned a different id");
            }
            _accepted(runs, _same(sender, runs.length), false, proofs.length);
        } catch (bytes memory reason) {
            _rejected(reason, expected);
        }
    }

    function anchorChain(uint256 seed, uint256 size, uint256 senderSeed) external {
        calls["anchorChain"]++;
        (IProvenanceRegistry.TrainingRun[] memory runs, IProvenanceRegistry.AnchorProof[] memory proofs) =
            _randomChain(seed, bound(size, 1, 6));
        _anchor(runs, proofs, _sender(senderSeed));
    }

    /// @dev An anchored run seen again in a later transaction: anchored in another batch or recorded
    ///      individually (repeats, allowed by design), or proved anchored and submitted in the same call
    ///      (always AlreadyRecorded).
    function reAnchor(uint256 idx, uint256 mode, uint256 seed, uint256 senderSeed) external {
        calls["reAnchor"]++;
        if (anchoredIds.length == 0) return;
        bytes32 id = anchoredIds[bound(idx, 0, anchoredIds.length - 1)];
        IProvenanceRegistry.TrainingRun memory run = abi.decode(_recordBytes[id], (IProvenanceRegistry.TrainingRun));
        address sender = _sender(senderSeed);
        mode %= 3;
        // Proofs for its anchored parents (and, in mode 2, for itself).
        IProvenanceRegistry.AnchorProof[] memory proofs = _parentProofs(run.parents, mode == 2 ? id : bytes32(0));
        if (mode == 0) {
            // Again, beside a fresh run, in a new batch.
            IProvenanceRegistry.TrainingRun[] memory runs = new IProvenanceRegistry.TrainingRun[](2);
            runs[0] = run;
            runs[1] = _randomRun(seed, new bytes32[](0));
            _anchor(runs, proofs, sender);
        } else {
            IProvenanceRegistry.TrainingRun[] memory runs = new IProvenanceRegistry.TrainingRun[](1);
            runs[0] = run;
            bytes memory expected = _predict(runs, _same(sender, 1), _allTrue(1), proofs);
            if (mode == 2 && reg.canRecord(run.modelId, sender) && expected.length != 0) {
                bytes memory already = abi.encodeWithSelector(IProvenanceRegistry.AlreadyRecorded.selector, id);
                if (keccak256(expected) != keccak256(already)) _surprise("a proved run not predicted AlreadyRecorded");
            }
            vm.recordLogs();
            vm.prank(sender);
            try reg.recordRuns(runs, proofs) {
                if (expected.length != 0) _surprise("re-recording accepted a run it must reject");
                if (mode == 2) _surprise("a run proved anchored was recorded in the same transaction");
                _accepted(runs, _same(sender, 1), false, proofs.length);
            } catch (bytes memory reason) {
                _rejected(reason, expected);
            }
        }
    }

    /// @dev Replays an individually recorded run: always AlreadyRecorded.
    function reRecord(uint256 idx, uint256 senderSeed) external {
        calls["reRecord"]++;
        if (recordedIds.length == 0) return;
        bytes32 id = recordedIds[bound(idx, 0, recordedIds.length - 1)];
        IProvenanceRegistry.TrainingRun[] memory runs = new IProvenanceRegistry.TrainingRun[](1);
        runs[0] = abi.decode(_recordBytes[id], (IProvenanceRegistry.TrainingRun));
        address sender = _sender(senderSeed);
        IProvenanceRegistry.AnchorProof[] memory none = new IProvenanceRegistry.AnchorProof[](0);
        bytes memory expected = _predict(runs, _same(sender, 1), _allTrue(1), none);
        if (expected.length == 0) _surprise("replayed run predicted to be accepted");
        vm.recordLogs();
        vm.prank(sender);
        try reg.recordRun(runs[0], none) {
            _surprise("re-recording succeeded");
        } catch (bytes memory reason) {
            _rejected(reason, expected);
        }
    }

    /// @dev Runs signed off-chain (by an actor, the wallet's key or the squatter) and submitted by anyone:
    ///      one (recordRunSigned), a chain (recordRunsSigned) or an anchored chain (anchorRunsSigned);
    ///      sometimes the first signature is corrupted.
    function recordSigned(uint256 seed, uint256 signerSeed, uint256 relayerSeed, uint256 mode, bool corrupt) external {
        calls["recordSigned"]++;
        mode %= 3;
        (IProvenanceRegistry.TrainingRun[] memory runs, IProvenanceRegistry.AnchorProof[] memory proofs) =
            _randomChain(seed, mode == 0 ? 1 : bound(seed >> 32, 1, 3));
        (address signer, uint256 key) = _signer(signerSeed);
        address relayer = _sender(relayerSeed);
        bytes[] memory sigs = new bytes[](runs.length);
        for (uint256 i; i < runs.length; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, reg.recordDigest(keccak256(abi.encode(runs[i]))));
            sigs[i] = abi.encodePacked(r, s, v);
        }
        bool[] memory ok = _allTrue(runs.length);
        if (corrupt) {
            sigs[0][7] ^= 0x01; // r: recovers someone else, or nobody
            ok[0] = false;
        }
        address[] memory signers = _same(signer, runs.length);
        bytes memory expected = _predict(runs, signers, ok, proofs);
        _track(runs);
        if (mode == 2) {
            _anchorSigned(runs, proofs, signers, sigs, relayer, expected);
            return;
        }
        vm.recordLogs();
        vm.prank(relayer);
        if (mode == 0) {
            try reg.recordRunSigned(runs[0], proofs, signer, sigs[0]) {
                if (expected.length != 0) _surprise("recordRunSigned accepted a run it must reject");
                ghostSigned++;
                _accepted(runs, signers, false, proofs.length);
            } catch (bytes memory reason) {
                _rejected(reason, expected);
            }
        } else {
            try reg.recordRunsSigned(runs, proofs, signers, sigs) {
                if (expected.length != 0) _surprise("recordRunsSigned accepted a batch it must reject");
                ghostSigned += runs.length;
                _accepted(runs, signers, false, proofs.length);
            } catch (bytes memory reason) {
                _rejected(reason, expected);
            }
        }
    }

    // ------------------------------------------------------------ retractions

    /// @dev Retractions by the owner (sometimes with an invalid reason or version) or, refused, by the
    ///      squatter or a trainer.
    function retract(uint256 seed, uint8 reason, uint256 callerSeed, bool model) external {
        calls["retract"]++;
        uint256 c = callerSeed % 3;
        address caller = c == 0 ? address(this) : c == 1 ? squatter : actors[0];
        // forge-lint: disable-next-line(unsafe-typecast)
        string memory note = string(abi.encodePacked("ipfs://note-", bytes1(uint8(97 + seed % 26))));
        bytes memory expected;
        if (model) {
            bytes32 m = models[seed % 2];
            string memory modelVersion = _versionString(seed >> 8);
            if (caller != address(this)) {
                expected = abi.encodeWithSelector(IProvenanceRegistry.NotModelOwner.selector, m, caller);
            } else if (reason == 0 || reason > 5) {
                expected = abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, reason);
            }
            vm.prank(caller);
            try reg.retractModelVersion(m, modelVersion, reason, note) {
                if (expected.length != 0) _surprise("retractModelVersion accepted a call it must reject");
                ghostRetractions++;
            } catch (bytes memory err) {
                _expectError(err, expected);
            }
        } else {
            bytes32 id = datanets[seed % datanets.length];
            uint64 count = ghostVersionCount[id];
            uint64 v = uint64(bound(seed >> 8, 0, count + 1));
            if (caller != address(this)) {
                expected = abi.encodeWithSelector(IProvenanceRegistry.NotDatanetOwner.selector, id, caller);
            } else if (v == 0 || v > count) {
                expected = abi.encodeWithSelector(IProvenanceRegistry.UnknownDatanetVersion.selector, id, v);
            } else if (reason == 0 || reason > 5) {
                expected = abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, reason);
            }
            vm.prank(caller);
            try reg.retractDatanetVersion(id, v, reason, note) {
                if (expected.length != 0) _surprise("retractDatanetVersion accepted a call it must reject");
                ghostRetractions++;
            } catch (bytes memory err) {
                _expectError(err, expected);
            }
        }
    }

    // -------------------------------------------------------------- squatter

    /// @dev The squatter registers the victim's names (getting its own ids), records under its own model,
    ///      and tries to act on the victim's model and DataNets: every such attempt must fail.
    function squat(uint256 action, uint256 seed) external {
        calls["squat"]++;
        ghostSquatterAttempts++;
        action %= 8;
        uint256 mi = seed % 2;
        bytes32 m = models[mi];
        bytes32 d = datanets[seed % datanets.length];
        // forge-lint: disable-next-line(unsafe-typecast)
        IProvenanceRegistry.Contributor[] memory cs = _contributors(uint8(seed));
        vm.startPrank(squatter);
        if (action == 0) {
            bytes32 expectedId = keccak256(abi.encode(squatter, _modelName(mi)));
            try reg.registerModel(_modelName(mi)) returns (bytes32 id) {
                if (id == m || id != expectedId) _surprise("squatter got the victim's model id");
                if (squatterModels[mi] != bytes32(0)) _surprise("registered a model twice");
                squatterModels[mi] = id;
            } catch (bytes memory err) {
                _expectError(
                    err, abi.encodeWithSelector(IProvenanceRegistry.ModelAlreadyRegistered.selector, expectedId)
                );
            }
        } else if (action == 1) {
            uint256 di = seed % datanets.length;
            bytes32 expectedId = keccak256(abi.encode(squatter, _datanetName(di)));
            try reg.registerDatanet(_datanetName(di)) returns (bytes32 id) {
                if (id == d || id != expectedId) _surprise("squatter got the victim's DataNet id");
                if (squatterDatanets[di] != bytes32(0)) _surprise("registered a DataNet twice");
                squatterDatanets[di] = id;
            } catch (bytes memory err) {
                _expectError(
                    err, abi.encodeWithSelector(IProvenanceRegistry.DatanetAlreadyRegistered.selector, expectedId)
                );
            }
        } else if (action == 2) {
            try reg.authorizeTrainer(m, squatter) {
                _surprise("squatter authorised itself");
            } catch (bytes memory err) {
                _expectError(err, abi.encodeWithSelector(IProvenanceRegistry.NotModelOwner.selector, m, squatter));
            }
        } else if (action == 3) {
            try reg.revokeTrainer(m, actors[0]) {
                _surprise("squatter revoked a trainer");
            } catch (bytes memory err) {
                _expectError(err, abi.encodeWithSelector(IProvenanceRegistry.NotModelOwner.selector, m, squatter));
            }
        } else if (action == 4) {
            try reg.publishDatanetVersion(d, keccak256(abi.encode(seed)), bytes32(0), "", cs) {
                _surprise("squatter published to the victim's DataNet");
            } catch (bytes memory err) {
                _expectError(err, abi.encodeWithSelector(IProvenanceRegistry.NotDatanetOwner.selector, d, squatter));
            }
        } else if (action == 5) {
            IProvenanceRegistry.TrainingRun memory run = _randomRun(seed, new bytes32[](0));
            run.modelId = m;
            _trackOne(run);
            try reg.recordRun(run, new IProvenanceRegistry.AnchorProof[](0)) {
                _surprise("squatter recorded for the victim's model");
            } catch (bytes memory err) {
                _expectError(
                    err, abi.encodeWithSelector(IProvenanceRegistry.NotAuthorizedTrainer.selector, m, squatter)
                );
            }
        } else if (action == 6) {
            try reg.retractDatanetVersion(d, 1, 1, "") {
                _surprise("squatter retracted the victim's DataNet version");
            } catch (bytes memory err) {
                _expectError(err, abi.encodeWithSelector(IProvenanceRegistry.NotDatanetOwner.selector, d, squatter));
            }
        } else {
            // Under its own model (once registered), on the victim's DataNets: allowed, its own business.
            vm.stopPrank();
            bytes32 own = squatterModels[mi];
            if (own == bytes32(0)) return;
            IProvenanceRegistry.TrainingRun[] memory runs = new IProvenanceRegistry.TrainingRun[](1);
            runs[0] = _randomRun(seed, new bytes32[](0));
            runs[0].modelId = own;
            IProvenanceRegistry.AnchorProof[] memory none = new IProvenanceRegistry.AnchorProof[](0);
            bytes memory expected = _predict(runs, _same(squatter, 1), _allTrue(1), none);
            _track(runs);
            vm.recordLogs();
            vm.prank(squatter);
            try reg.recordRun(runs[0], none) {
                if (expected.length != 0) _surprise("squatter's own run accepted though it must be rejected");
                _accepted(runs, _same(squatter, 1), false, 0);
            } catch (bytes memory err) {
                _rejected(err, expected);
            }
            return;
        }
        vm.stopPrank();
    }

    function advanceBlocks(uint256 n) external {
        calls["advanceBlocks"]++;
        vm.roll(block.number + bound(n, 1, 1000));
    }

    // ------------------------------------------------------------ inspection

    function seenCount() external view returns (uint256) {
        return seenIds.length;
    }

    function recordedCount() external view returns (uint256) {
        return recordedIds.length;
    }

    function anchoredCount() external view returns (uint256) {
        return anchoredIds.length;
    }

    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function batch(uint256 i) external view returns (bytes32[] memory) {
        return _batches[i];
    }

    function publishedCount() external view returns (uint256) {
        return _published.length;
    }

    function published(uint256 i) external view returns (PublishedVersion memory) {
        return _published[i];
    }

    function datanetCount() external view returns (uint256) {
        return datanets.length;
    }

    // ------------------------------------------------------- anchor helpers

    function _anchor(
        IProvenanceRegistry.TrainingRun[] memory runs,
        IProvenanceRegistry.AnchorProof[] memory proofs,
        address sender
    ) internal {
        bytes32[] memory ids = _track(runs);
        bytes32 expectedRoot = MerkleRef.root(ids);
        bytes memory expected = _predict(runs, _same(sender, runs.length), _allTrue(runs.length), proofs);
        if (expected.length == 0 && reg.anchorBlock(expectedRoot) != 0) {
            expected = abi.encodeWithSelector(IProvenanceRegistry.AlreadyAnchored.selector, expectedRoot);
        }
        vm.recordLogs();
        vm.prank(sender);
        try reg.anchorRuns(runs, proofs) returns (bytes32 root) {
            if (expected.length != 0) _surprise("anchorRuns accepted a batch it must reject");
            _anchored(runs, ids, root, expectedRoot, _same(sender, runs.length), proofs.length);
        } catch (bytes memory reason) {
            _rejected(reason, expected);
        }
    }

    function _anchorSigned(
        IProvenanceRegistry.TrainingRun[] memory runs,
        IProvenanceRegistry.AnchorProof[] memory proofs,
        address[] memory signers,
        bytes[] memory sigs,
        address relayer,
        bytes memory expected
    ) internal {
        bytes32[] memory ids = _track(runs);
        bytes32 expectedRoot = MerkleRef.root(ids);
        if (expected.length == 0 && reg.anchorBlock(expectedRoot) != 0) {
            expected = abi.encodeWithSelector(IProvenanceRegistry.AlreadyAnchored.selector, expectedRoot);
        }
        vm.recordLogs();
        vm.prank(relayer);
        try reg.anchorRunsSigned(runs, proofs, signers, sigs) returns (bytes32 root) {
            if (expected.length != 0) _surprise("anchorRunsSigned accepted a batch it must reject");
            ghostSigned += runs.length;
            _anchored(runs, ids, root, expectedRoot, signers, proofs.length);
        } catch (bytes memory reason) {
            _rejected(reason, expected);
        }
    }

    function _anchored(
        IProvenanceRegistry.TrainingRun[] memory runs,
        bytes32[] memory ids,
        bytes32 root,
        bytes32 expectedRoot,
        address[] memory recorders,
        uint256 nProofs
    ) internal {
        if (root != expectedRoot) _surprise("anchor root differs from the reference");
        if (reg.anchorBlock(root) != block.number) _surprise("anchorBlock not set");
        _accepted(runs, recorders, true, nProofs);
        _batches.push(ids);
        batchRoots.push(root);
        ghostAnchorBlock[root] = block.number;
        for (uint256 i; i < ids.length; ++i) {
            if (!reg.verifyAnchored(root, ids[i], MerkleRef.proof(ids, i))) _surprise("proof rejected");
            if (reg.recordBlock(ids[i]) != ghostRecordBlock[ids[i]]) _surprise("anchoring touched recordBlock");
            if (_batchOf[ids[i]] == 0) {
                _batchOf[ids[i]] = _batches.length;
                anchoredIds.push(ids[i]);
            }
        }
        ghostAnchoredRuns += runs.length;
        ghostAnchoredBatches++;
    }

    /// @dev Proofs for the anchored ones among `parents`, plus one for `self` if non-zero.
    function _parentProofs(bytes32[] memory parents, bytes32 self)
        internal
        view
        returns (IProvenanceRegistry.AnchorProof[] memory proofs)
    {
        proofs = new IProvenanceRegistry.AnchorProof[](parents.length + 1);
        uint256 n;
        for (uint256 i; i < parents.length; ++i) {
            if (_batchOf[parents[i]] != 0) proofs[n++] = _proofOf(parents[i]);
        }
        if (self != bytes32(0)) proofs[n++] = _proofOf(self);
        assembly ("memory-safe") {
            mstore(proofs, n)
        }
    }

    function _proofOf(bytes32 id) internal view returns (IProvenanceRegistry.AnchorProof memory p) {
        bytes32[] memory ids = _batches[_batchOf[id] - 1];
        uint256 index;
        while (ids[index] != id) ++index;
        p = IProvenanceRegistry.AnchorProof({
            recordId: id, root: MerkleRef.root(ids), proof: MerkleRef.proof(ids, index)
        });
    }

    // ------------------------------------------------------------ prediction

    /// @dev The error the registry must raise, or "" if it must accept: the proofs first, then each run in
    ///      order (signature, authority, replay, parents). Runs are built valid otherwise (published
    ///      versions, distinct uses with positive weights summing to W, distinct parents, small sizes).
    function _predict(
        IProvenanceRegistry.TrainingRun[] memory runs,
        address[] memory recorders,
        bool[] memory sigOk,
        IProvenanceRegistry.AnchorProof[] memory proofs
    ) internal view returns (bytes memory) {
        bytes32[] memory proven = new bytes32[](proofs.length);
        for (uint256 i; i < proofs.length; ++i) {
            IProvenanceRegistry.AnchorProof memory p = proofs[i];
            if (reg.anchorBlock(p.root) == 0 || MerkleRef.processProof(MerkleRef.leaf(p.recordId), p.proof) != p.root) {
                return abi.encodeWithSelector(IProvenanceRegistry.InvalidAnchorProof.selector, p.recordId, p.root);
            }
            proven[i] = p.recordId;
        }
        bytes32[] memory pending = new bytes32[](runs.length);
        for (uint256 i; i < runs.length; ++i) {
            IProvenanceRegistry.TrainingRun memory run = runs[i];
            bytes32 id = keccak256(abi.encode(run));
            if (!sigOk[i]) {
                return abi.encodeWithSelector(IProvenanceRegistry.InvalidSignature.selector, recorders[i], id);
            }
            if (!reg.canRecord(run.modelId, recorders[i])) {
                return
                    abi.encodeWithSelector(IProvenanceRegistry.NotAuthorizedTrainer.selector, run.modelId, recorders[i]);
            }
            if (reg.recordBlock(id) != 0 || _contains(pending, i, id) || _contains(proven, proven.length, id)) {
                return abi.encodeWithSelector(IProvenanceRegistry.AlreadyRecorded.selector, id);
            }
            for (uint256 j; j < run.parents.length; ++j) {
                bytes32 p = run.parents[j];
                if (reg.recordBlock(p) == 0 && !_contains(pending, i, p) && !_contains(proven, proven.length, p)) {
                    return abi.encodeWithSelector(IProvenanceRegistry.UnknownParent.selector, p);
                }
            }
            pending[i] = id;
        }
        return "";
    }

    function _contains(bytes32[] memory xs, uint256 n, bytes32 x) internal pure returns (bool) {
        for (uint256 i; i < n; ++i) {
            if (xs[i] == x) return true;
        }
        return false;
    }

    // ------------------------------------------------------------- outcomes

    /// @dev Checks the RunRecorded events of an accepted call (one per run, in order, with its recorder
    ///      and exact bytes), counts repeats, and marks individually recorded runs.
    function _accepted(
        IProvenanceRegistry.TrainingRun[] memory runs,
        address[] memory recorders,
        bool anchored,
        uint256 nProofs
    ) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 k;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(reg) || l.topics[0] != IProvenanceRegistry.RunRecorded.selector) continue;
            bytes32 id = l.topics[3];
            (address recorder, bytes memory record) = abi.decode(l.data, (address, bytes));
            if (k >= runs.length || id != keccak256(abi.encode(runs[k]))) {
                _surprise("RunRecorded events do not match the runs");
                return;
            }
            if (recorder != recorders[k]) _surprise("wrong recorder");
            if (keccak256(record) != id) _surprise("record bytes do not hash to the id");
            if (ghostRecordBlock[id] != 0) _surprise("RunRecorded again for an individually recorded run");
            ghostRunEvents++;
            if (_everLogged[id]) {
                ghostRepeats++;
            } else {
                _everLogged[id] = true;
                ghostDistinctLogged++;
                _recordBytes[id] = record;
            }
            ++k;
        }
        if (k != runs.length) _surprise("missing RunRecorded events");
        if (!anchored) {
            for (uint256 i; i < runs.length; ++i) {
                _markRecorded(keccak256(abi.encode(runs[i])));
            }
        }
        ghostProvedParents += nProofs;
    }

    function _rejected(bytes memory reason, bytes memory expected) internal {
        vm.getRecordedLogs(); // drop the recording
        _expectError(reason, expected);
    }

    function _markRecorded(bytes32 id) internal {
        if (ghostRecordBlock[id] != 0) _surprise("recorded the same id twice");
        if (reg.recordBlock(id) != block.number) _surprise("recordBlock is not the current block");
        ghostRecordBlock[id] = block.number;
        recordedIds.push(id);
        ghostRecorded++;
    }

    function _expectError(bytes memory reason, bytes memory expected) internal {
        ghostRejected++;
        if (expected.length == 0) _surprise("rejected a valid call");
        else if (keccak256(reason) != keccak256(expected)) _surprise("wrong revert reason");
    }

    function _surprise(string memory what) internal {
        ghostSurprises++;
        lastSurprise = what;
    }

    // ------------------------------------------------------------- builders

    function _modelName(uint256 i) internal pure returns (string memory) {
        return i == 0 ? "inv-model-a" : "inv-model-b";
    }

    function _datanetName(uint256 i) internal pure returns (string memory) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return string.concat("inv-datanet-", string(abi.encodePacked(bytes1(uint8(65 + i)))));
    }

    function _versionString(uint256 seed) internal pure returns (string memory) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return string(abi.encodePacked(bytes1(uint8(48 + seed % 3))));
    }

    function _registerDatanet() internal {
        datanets.push(reg.registerDatanet(_datanetName(datanets.length)));
    }

    function _publish(uint256 i, bytes32 contentRoot, bytes32 manifestHash, bytes memory terms, uint8 nc) internal {
        bytes32 id = datanets[i];
        IProvenanceRegistry.Contributor[] memory cs = _contributors(nc);
        uint64 v = reg.publishDatanetVersion(id, contentRoot, manifestHash, terms, cs);
        if (v != ghostVersionCount[id] + 1) _surprise("version numbers not sequential");
        ghostVersionCount[id] = v;
        _published.push(
            PublishedVersion({
                datanetId: id,
                version: v,
                data: IProvenanceRegistry.DatanetVersion({
                    contentRoot: contentRoot,
                    manifestHash: manifestHash,
                    termsHash: keccak256(terms),
                    contributorsHash: keccak256(abi.encode(cs)),
                    publishedBlock: uint64(block.number)
                })
            })
        );
    }

    function _contributors(uint8 nc) internal pure returns (IProvenanceRegistry.Contributor[] memory cs) {
        cs = new IProvenanceRegistry.Contributor[](nc % 4);
        for (uint256 i; i < cs.length; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            cs[i] = IProvenanceRegistry.Contributor({account: address(uint160(0xC0 + i)), shares: uint64(i + nc)});
        }
    }

    /// @dev The handler (owner of both models), an actor, the wallet or the squatter.
    function _sender(uint256 seed) internal view returns (address) {
        uint256 k = seed % 6;
        if (k < 2) return address(this);
        if (k < 2 + N_ACTORS) return actors[k - 2];
        return (seed >> 8) % 2 == 0 ? address(wallet) : squatter;
    }

    /// @dev A signer and its key: an actor, the wallet (through its key holder) or the squatter.
    function _signer(uint256 seed) internal view returns (address signer, uint256 key) {
        uint256 k = seed % (N_ACTORS + 2);
        if (k < N_ACTORS) return (actors[k], ACTOR_KEY + k);
        if (k == N_ACTORS) return (address(wallet), WALLET_KEY);
        return (squatter, SQUATTER_KEY);
    }

    function _same(address a, uint256 n) internal pure returns (address[] memory xs) {
        xs = new address[](n);
        for (uint256 i; i < n; ++i) {
            xs[i] = a;
        }
    }

    function _allTrue(uint256 n) internal pure returns (bool[] memory xs) {
        xs = new bool[](n);
        for (uint256 i; i < n; ++i) {
            xs[i] = true;
        }
    }

    /// @dev Small seed space on purpose, so that identical runs recur and must be rejected (or repeat).
    ///      DataNet uses are distinct with positive weights summing to W.
    function _randomRun(uint256 seed, bytes32[] memory parents)
        internal
        view
        returns (IProvenanceRegistry.TrainingRun memory run)
    {
        uint256 m = datanets.length;
        uint256 want = bound(seed >> 8, 1, 3);
        IProvenanceRegistry.DatanetUse[] memory uses = new IProvenanceRegistry.DatanetUse[](want);
        uint256 k;
        uint256 start = uint256(keccak256(abi.encode(seed, "dn"))) % m;
        for (uint256 i; i < m && k < want; ++i) {
            bytes32 id = datanets[(start + i) % m];
            uint64 count = ghostVersionCount[id];
            if (count == 0) continue; // registered, nothing published yet
            uint64 v = uint64(bound(uint256(keccak256(abi.encode(seed, "v", i))), 1, count));
            uses[k++] = IProvenanceRegistry.DatanetUse({datanetId: id, version: v, weightPpm: 0});
        }
        assembly ("memory-safe") {
            mstore(uses, k) // datanets[0] always has a version: k >= 1
        }
        uint256 left = W;
        for (uint256 i; i < k; ++i) {
            uint256 w = i + 1 == k ? left : bound(uint256(keccak256(abi.encode(seed, "w", i))), 1, left - (k - 1 - i));
            left -= w;
            // forge-lint: disable-next-line(unsafe-typecast)
            uses[i].weightPpm = uint32(w); // w <= W
        }
        run = IProvenanceRegistry.TrainingRun({
            modelId: models[(seed >> 4) % 2],
            modelVersion: _versionString(seed >> 16),
            weightsDigest: bytes32(seed % 16),
            parents: parents,
            datanets: uses,
            details: bytes('{"lr":0.001}')
        });
    }

    /// @dev No parent (1 in 3), an individually recorded run, or an anchored run with its proof (usually;
    ///      1 in 8 without it, 1 in 8 with a corrupted one); sometimes both kinds.
    function _randomParents(uint256 seed)
        internal
        view
        returns (bytes32[] memory parents, IProvenanceRegistry.AnchorProof[] memory proofs)
    {
        parents = new bytes32[](2);
        proofs = new IProvenanceRegistry.AnchorProof[](1);
        uint256 np;
        uint256 nq;
        if (seed % 3 == 0) {
            assembly ("memory-safe") {
                mstore(parents, 0)
                mstore(proofs, 0)
            }
            return (parents, proofs);
        }
        if (recordedIds.length != 0 && (seed >> 40) % 2 == 0) {
            parents[np++] = recordedIds[uint256(keccak256(abi.encode(seed, "p"))) % recordedIds.length];
        }
        if (anchoredIds.length != 0 && (seed >> 41) % 2 == 0) {
            bytes32 a = anchoredIds[uint256(keccak256(abi.encode(seed, "a"))) % anchoredIds.length];
            if (np == 0 || parents[0] != a) {
                parents[np++] = a;
                uint256 mode = (seed >> 44) % 8;
                if (mode != 0) {
                    proofs[nq++] = _proofOf(a);
                    if (mode == 1) proofs[0].root ^= bytes32(uint256(1));
                }
            }
        }
        assembly ("memory-safe") {
            mstore(parents, np)
            mstore(proofs, nq)
        }
    }

    function _randomChain(uint256 seed, uint256 n)
        internal
        view
        returns (IProvenanceRegistry.TrainingRun[] memory runs, IProvenanceRegistry.AnchorProof[] memory proofs)
    {
        runs = new IProvenanceRegistry.TrainingRun[](n);
        bytes32[] memory parents;
        (parents, proofs) = _randomParents(seed);
        for (uint256 i; i < n; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, "chain", i)));
            runs[i] = _randomRun(s, parents);
            parents = new bytes32[](1);
            parents[0] = keccak256(abi.encode(runs[i]));
        }
    }

    function _track(IProvenanceRegistry.TrainingRun[] memory runs) internal returns (bytes32[] memory ids) {
        ids = new bytes32[](runs.length);
        for (uint256 i; i < runs.length; ++i) {
            ids[i] = _trackOne(runs[i]);
        }
    }

    function _trackOne(IProvenanceRegistry.TrainingRun memory run) internal returns (bytes32 id) {
        id = keccak256(abi.encode(run));
        if (!_seen[id]) {
            _seen[id] = true;
            seenIds.push(id);
        }
    }
}
