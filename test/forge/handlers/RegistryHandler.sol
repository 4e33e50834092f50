// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../utils/Test.sol";
import {MerkleRef} from "../utils/MerkleRef.sol";
import {IProvenanceRegistry} from "../../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../../contracts/ProvenanceRegistry.sol";

/// @notice Drives the registry with bounded random actions and keeps ghost state to check it against.
///         The handler owns two models and every DataNet; a few actor addresses are authorised and
///         revoked as trainers at random. Every call predicts its outcome and counts surprises.
contract RegistryHandler is TestBase {
    uint32 internal constant W = 1_000_000;
    uint256 internal constant MAX_DATANETS = 4;
    uint256 internal constant N_ACTORS = 3;

    ProvenanceRegistry public immutable reg;
    bytes32[2] public models;
    address[N_ACTORS] public actors;

    // ------------------------------------------------------------ ghost state

    /// @dev Every distinct record id ever submitted (recorded, anchored or rejected).
    bytes32[] public seenIds;
    mapping(bytes32 => bool) internal _seen;
    /// @dev Ids recorded individually, with the block they were recorded in and their record bytes.
    bytes32[] public recordedIds;
    mapping(bytes32 => uint256) public ghostRecordBlock;
    mapping(bytes32 => bytes) internal _recordBytes;
    uint256 public ghostRecorded;
    uint256 public ghostAnchoredRuns;
    uint256 public ghostAnchoredBatches;
    uint256 public ghostRejected;
    /// @dev Outcomes that contradict the specification: must stay zero.
    uint256 public ghostSurprises;
    string public lastSurprise;

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
        models[0] = reg.registerModel("inv-model-a");
        models[1] = reg.registerModel("inv-model-b");
        for (uint256 i; i < N_ACTORS; ++i) {
            actors[i] = vm.addr(0xA11CE + i);
        }
        reg.authorizeTrainer(models[0], actors[0]);
        _registerDatanet();
        _publish(0, keccak256("genesis"), bytes32(0), "", 1);
    }

    // ---------------------------------------------------------------- actions

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

    function toggleTrainer(uint256 actorSeed, uint256 modelSeed) external {
        calls["toggleTrainer"]++;
        address a = actors[bound(actorSeed, 0, N_ACTORS - 1)];
        bytes32 m = models[modelSeed % 2];
        if (reg.canRecord(m, a)) reg.revokeTrainer(m, a);
        else reg.authorizeTrainer(m, a);
    }

    function recordRun(uint256 seed, uint256 senderSeed) external {
        calls["recordRun"]++;
        IProvenanceRegistry.TrainingRun memory run = _randomRun(seed, _randomParents(seed));
        address sender = _sender(senderSeed);
        bytes32 id = _track(run);
        bytes memory expected = _expectedErrorIn(run, sender, new bytes32[](0));
        vm.prank(sender);
        try reg.recordRun(run) returns (bytes32 got) {
            if (expected.length != 0) _surprise("recordRun accepted a run it must reject");
            if (got != id) _surprise("recordRun returned a different id");
            _markRecorded(id, abi.encode(run));
        } catch (bytes memory reason) {
            _expectError(reason, expected);
        }
    }

    /// @dev A chain of runs in one batch, each fine-tuning the previous one.
    function recordChain(uint256 seed, uint256 size, uint256 senderSeed) external {
        calls["recordChain"]++;
        IProvenanceRegistry.TrainingRun[] memory runs = _randomChain(seed, bound(size, 1, 4));
        address sender = _sender(senderSeed);
        for (uint256 i; i < runs.length; ++i) {
            _track(runs[i]);
        }
        bytes memory expected = _expectedBatchError(runs, sender);
        vm.prank(sender);
        try reg.recordRuns(runs) returns (bytes32[] memory got) {
            if (expected.length != 0) _surprise("recordRuns accepted a batch it must reject");
            for (uint256 i; i < runs.length; ++i) {
                if (got[i] != keccak256(abi.encode(runs[i]))) _surprise("recordRuns returned a different id");
                _markRecorded(got[i], abi.encode(runs[i]));
            }
        } catch (bytes memory reason) {
            _expectError(reason, expected);
        }
    }

    function anchorChain(uint256 seed, uint256 size, uint256 senderSeed) external {
        calls["anchorChain"]++;
        IProvenanceRegistry.TrainingRun[] memory runs = _randomChain(seed, bound(size, 1, 6));
        address sender = _sender(senderSeed);
        bytes32[] memory ids = new bytes32[](runs.length);
        for (uint256 i; i < runs.length; ++i) {
            ids[i] = _track(runs[i]);
        }
        bytes32 expectedRoot = MerkleRef.root(ids);
        bytes memory expected = _expectedBatchError(runs, sender);
        if (expected.length == 0 && reg.anchorBlock(expectedRoot) != 0) {
            expected = abi.encodeWithSelector(IProvenanceRegistry.AlreadyAnchored.selector, expectedRoot);
        }
        vm.prank(sender);
        try reg.anchorRuns(runs) returns (bytes32 root) {
            if (expected.length != 0) _surprise("anchorRuns accepted a batch it must reject");
            if (root != expectedRoot) _surprise("anchor root differs from the reference");
            if (reg.anchorBlock(root) != block.number) _surprise("anchorBlock not set");
            for (uint256 i; i < ids.length; ++i) {
                if (!reg.verifyAnchored(root, ids[i], MerkleRef.proof(ids, i))) _surprise("proof rejected");
                if (reg.recordBlock(ids[i]) != ghostRecordBlock[ids[i]]) _surprise("anchoring touched recordBlock");
            }
            ghostAnchoredRuns += runs.length;
            ghostAnchoredBatches++;
        } catch (bytes memory reason) {
            _expectError(reason, expected);
        }
    }

    /// @dev Replays an individually recorded run: always AlreadyRecorded.
    function reRecord(uint256 idx, uint256 senderSeed) external {
        calls["reRecord"]++;
        if (recordedIds.length == 0) return;
        bytes32 id = recordedIds[bound(idx, 0, recordedIds.length - 1)];
        IProvenanceRegistry.TrainingRun memory run = abi.decode(_recordBytes[id], (IProvenanceRegistry.TrainingRun));
        address sender = _sender(senderSeed);
        bytes memory expected = _expectedErrorIn(run, sender, new bytes32[](0));
        if (expected.length == 0) _surprise("replayed run predicted to be accepted");
        vm.prank(sender);
        try reg.recordRun(run) {
            _surprise("re-recording succeeded");
        } catch (bytes memory reason) {
            _expectError(reason, expected);
        }
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

    function publishedCount() external view returns (uint256) {
        return _published.length;
    }

    function published(uint256 i) external view returns (PublishedVersion memory) {
        return _published[i];
    }

    function datanetCount() external view returns (uint256) {
        return datanets.length;
    }

    // --------------------------------------------------------------- helpers

    function _registerDatanet() internal {
        bytes32 id = reg.registerDatanet(
            string.concat("inv-datanet-", string(abi.encodePacked(bytes1(uint8(65 + datanets.length)))))
        );
        datanets.push(id);
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

    /// @dev Half the time the handler (owner of both models), else one of the actors (authorised or not).
    function _sender(uint256 seed) internal view returns (address) {
        return seed % 2 == 0 ? address(this) : actors[(seed >> 1) % N_ACTORS];
    }

    /// @dev Small seed space on purpose, so that identical runs recur and must be rejected.
    function _randomRun(uint256 seed, bytes32[] memory parents)
        internal
        view
        returns (IProvenanceRegistry.TrainingRun memory run)
    {
        uint256 nUses = bound(seed >> 8, 1, 3);
        IProvenanceRegistry.DatanetUse[] memory uses = new IProvenanceRegistry.DatanetUse[](nUses);
        uint256 left = W;
        for (uint256 i; i < nUses; ++i) {
            bytes32 id = datanets[uint256(keccak256(abi.encode(seed, "dn", i))) % datanets.length];
            if (ghostVersionCount[id] == 0) id = datanets[0]; // registered, nothing published yet
            uint64 v = uint64(bound(uint256(keccak256(abi.encode(seed, "v", i))), 1, ghostVersionCount[id]));
            // `left` <= W, so the casts cannot truncate.
            uint256 w = i + 1 == nUses ? left : bound(uint256(keccak256(abi.encode(seed, "w", i))), 0, left);
            left -= w;
            // forge-lint: disable-next-line(unsafe-typecast)
            uses[i] = IProvenanceRegistry.DatanetUse({datanetId: id, version: v, weightPpm: uint32(w)});
        }
        run = IProvenanceRegistry.TrainingRun({
            modelId: models[(seed >> 4) % 2],
            modelVersion: string(abi.encodePacked(bytes1(uint8(48 + (seed >> 16) % 3)))),
            weightsDigest: bytes32(seed % 16),
            parents: parents,
            datanets: uses,
            details: bytes('{"lr":0.001}')
        });
    }

    function _randomParents(uint256 seed) internal view returns (bytes32[] memory parents) {
        if (recordedIds.length == 0 || seed % 3 == 0) return new bytes32[](0);
        parents = new bytes32[](1);
        parents[0] = recordedIds[uint256(keccak256(abi.encode(seed, "p"))) % recordedIds.length];
    }

    function _randomChain(uint256 seed, uint256 n)
        internal
        view
        returns (IProvenanceRegistry.TrainingRun[] memory runs)
    {
        runs = new IProvenanceRegistry.TrainingRun[](n);
        bytes32[] memory parents = _randomParents(seed);
        for (uint256 i; i < n; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, "chain", i)));
            runs[i] = _randomRun(s, parents);
            parents = new bytes32[](1);
            parents[0] = keccak256(abi.encode(runs[i]));
        }
    }

    /// @dev The error the registry must raise for `run` sent by `sender`, or "" if it must accept it.
    ///      Runs are built valid (published versions, weights summing to W, non-empty version), so
    ///      only authorisation, duplicates and parents can fail. `pending` holds the earlier ids of the batch.
    function _expectedErrorIn(IProvenanceRegistry.TrainingRun memory run, address sender, bytes32[] memory pending)
        internal
        view
        returns (bytes memory)
    {
        if (!reg.canRecord(run.modelId, sender)) {
            return abi.encodeWithSelector(IProvenanceRegistry.NotAuthorizedTrainer.selector, run.modelId, sender);
        }
        bytes32 id = keccak256(abi.encode(run));
        if (reg.recordBlock(id) != 0 || _contains(pending, id)) {
            return abi.encodeWithSelector(IProvenanceRegistry.AlreadyRecorded.selector, id);
        }
        for (uint256 i; i < run.parents.length; ++i) {
            if (reg.recordBlock(run.parents[i]) == 0 && !_contains(pending, run.parents[i])) {
                return abi.encodeWithSelector(IProvenanceRegistry.UnknownParent.selector, run.parents[i]);
            }
        }
        return "";
    }

    function _expectedBatchError(IProvenanceRegistry.TrainingRun[] memory runs, address sender)
        internal
        view
        returns (bytes memory)
    {
        bytes32[] memory pending = new bytes32[](runs.length);
        bytes32[] memory prefix;
        for (uint256 i; i < runs.length; ++i) {
            prefix = new bytes32[](i);
            for (uint256 j; j < i; ++j) {
                prefix[j] = pending[j];
            }
            bytes memory err = _expectedErrorIn(runs[i], sender, prefix);
            if (err.length != 0) return err;
            pending[i] = keccak256(abi.encode(runs[i]));
        }
        return "";
    }

    function _contains(bytes32[] memory xs, bytes32 x) internal pure returns (bool) {
        for (uint256 i; i < xs.length; ++i) {
            if (xs[i] == x) return true;
        }
        return false;
    }

    function _track(IProvenanceRegistry.TrainingRun memory run) internal returns (bytes32 id) {
        id = keccak256(abi.encode(run));
        if (!_seen[id]) {
            _seen[id] = true;
            seenIds.push(id);
        }
    }

    function _markRecorded(bytes32 id, bytes memory record) internal {
        if (!_seen[id]) {
            _seen[id] = true;
            seenIds.push(id);
        }
        if (ghostRecordBlock[id] != 0) _surprise("recorded the same id twice");
        if (reg.recordBlock(id) != block.number) _surprise("recordBlock is not the current block");
        ghostRecordBlock[id] = block.number;
        _recordBytes[id] = record;
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
}
