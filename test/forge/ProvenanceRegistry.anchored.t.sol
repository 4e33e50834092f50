// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";

/// @notice Makes several registry calls in one transaction (an authorised trainer contract).
contract Batcher {
    function run(address registry, bytes[] calldata calls) external {
        for (uint256 i; i < calls.length; ++i) {
            (bool ok, bytes memory ret) = registry.call(calls[i]);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
    }
}

/// @notice Anchored parents named by AnchorProof, and anchored runs seen again (repeats). Every test
///         runs isolated: each top-level call is its own transaction, so the transient marks of an
///         anchoring are gone by the next call, as on a chain.
contract ProvenanceRegistryAnchoredTest is RegistryFixture {
    bytes32[] internal ids;
    bytes32 internal root;

    /// @dev Anchors a batch of 5 runs (in setUp's own transaction).
    function setUp() public override {
        super.setUp();
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(5, 42);
        vm.prank(owner);
        root = reg.anchorRuns(runs, _np());
        ids = _ids(runs);
    }

    /// @dev The anchored batch's runs.
    function _base() internal view returns (IProvenanceRegistry.TrainingRun[] memory) {
        return _batch(5, 42);
    }

    function _invalid(bytes32 recordId, bytes32 r) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IProvenanceRegistry.InvalidAnchorProof.selector, recordId, r);
    }

    /// forge-config: default.isolate = true
    function test_recordRun_anchoredParentWithValidProof() public {
        IProvenanceRegistry.TrainingRun memory child = _childRun(1, ids[3]);
        bytes32 childId = _id(child);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(ids[3], childId, modelId);
        vm.prank(trainer);
        assertEq(reg.recordRun(child, _proofs(_anchorProof(ids, 3))), childId, "recorded");
        assertEq(reg.recordBlock(childId), block.number, "child recorded");
        assertEq(reg.recordBlock(ids[3]), 0, "the parent stays anchored only");
    }

    /// forge-config: default.isolate = true
    function test_recordRun_anchoredParentWithoutProofIsUnknown() public {
        IProvenanceRegistry.TrainingRun memory child = _childRun(1, ids[3]);
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, ids[3]));
        reg.recordRun(child, _np());
        // A proof of another member of the batch does not stand for this one.
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, ids[3]));
        reg.recordRun(child, _proofs(_anchorProof(ids, 2)));
    }

    /// forge-config: default.isolate = true
    function test_recordRun_revertsOnBadAnchorProof() public {
        IProvenanceRegistry.TrainingRun memory child = _childRun(1, ids[3]);
        IProvenanceRegistry.AnchorProof memory good = _anchorProof(ids, 3);

        // A tampered sibling.
        IProvenanceRegistry.AnchorProof memory p = _anchorProof(ids, 3);
        p.proof[1] ^= bytes32(uint256(1) << 7);
        _assertRejected(child, p, _invalid(ids[3], root));
        // The proof of another leaf.
        p = _anchorProof(ids, 3);
        p.proof = MerkleRef.proof(ids, 4);
        _assertRejected(child, p, _invalid(ids[3], root));
        // A truncated proof.
        p = _anchorProof(ids, 3);
        bytes32[] memory path = p.proof;
        assembly ("memory-safe") {
            mstore(path, sub(mload(path), 1))
        }
        _assertRejected(child, p, _invalid(ids[3], root));
        // An id that is not in the batch.
        p = _anchorProof(ids, 3);
        p.recordId = keccak256("not anchored");
        _assertRejected(child, p, _invalid(p.recordId, root));
        // A correct proof under a root that was never anchored.
        bytes32[] memory other = _ids(_batch(4, 43));
        p = _anchorProof(other, 1);
        assertEq(reg.anchorBlock(p.root), 0, "not anchored");
        _assertRejected(child, p, _invalid(other[1], p.root));
        // An inner node passed as a record id (leaves are double-hashed: it is not a leaf).
        bytes32 inner = MerkleRef.hashPair(MerkleRef.leaf(ids[0]), MerkleRef.leaf(ids[1]));
        bytes32[] memory upper = MerkleRef.proof(ids, 0);
        bytes32[] memory rest = new bytes32[](upper.length - 1);
        for (uint256 i; i < rest.length; ++i) {
            rest[i] = upper[i + 1];
        }
        assertEq(MerkleRef.processProof(inner, rest), root, "inner node + upper path reaches the root");
        _assertRejected(
            child, IProvenanceRegistry.AnchorProof({recordId: inner, root: root, proof: rest}), _invalid(inner, root)
        );
        // A good proof after a bad one does not save the call.
        IProvenanceRegistry.AnchorProof[] memory two = new IProvenanceRegistry.AnchorProof[](2);
        two[0] = p;
        two[1] = good;
        vm.prank(trainer);
        vm.expectRevert(_invalid(other[1], p.root));
        reg.recordRun(child, two);
        // And the genuine proof still works.
        vm.prank(trainer);
        reg.recordRun(child, _proofs(good));
    }

    function _assertRejected(
        IProvenanceRegistry.TrainingRun memory child,
        IProvenanceRegistry.AnchorProof memory p,
        bytes memory err
    ) internal {
        IProvenanceRegistry.AnchorProof[] memory ps = _proofs(p);
        IProvenanceRegistry.TrainingRun[] memory one = _single(child);
        vm.prank(trainer);
        vm.expectRevert(err);
        reg.recordRun(child, ps);
        vm.prank(trainer);
        vm.expectRevert(err);
        reg.recordRuns(one, ps);
        vm.prank(trainer);
        vm.expectRevert(err);
        reg.anchorRuns(one, ps);
    }

    /// @dev Proofs are checked first, even when no run needs them, and their depth is limited to 32.
    /// forge-config: default.isolate = true
    function test_anchorProof_depthLimit() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        IProvenanceRegistry.AnchorProof memory p = _anchorProof(ids, 0);
        p.proof = new bytes32[](33);
        vm.prank(owner);
        vm.expectRevert(_tooLarge("proof", 33, 32));
        reg.recordRun(run, _proofs(p));
        p.proof = new bytes32[](32);
        vm.prank(owner);
        vm.expectRevert(_invalid(ids[0], root));
        reg.recordRun(run, _proofs(p));
    }

    function testFuzz_anchorProof_revertsOnTooDeepProof(uint256 depth) public {
        depth = bound(depth, 33, 200);
        IProvenanceRegistry.AnchorProof memory p = _anchorProof(ids, 0);
        p.proof = new bytes32[](depth);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        vm.prank(owner);
        vm.expectRevert(_tooLarge("proof", depth, 32));
        reg.recordRun(run, _proofs(p));
    }

    /// @dev A run proved anchored in this transaction cannot be recorded again in it.
    /// forge-config: default.isolate = true
    function test_provedRunCannotBeRecordedInTheSameTransaction() public {
        IProvenanceRegistry.AnchorProof[] memory ps = _proofs(_anchorProof(ids, 2));
        IProvenanceRegistry.TrainingRun memory run = _base()[2];
        bytes memory err = _err(IProvenanceRegistry.AlreadyRecorded.selector, ids[2]);
        vm.prank(owner);
        vm.expectRevert(err);
        reg.recordRun(run, ps);
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(_simpleRun(1), run);
        vm.prank(owner);
        vm.expectRevert(err);
        reg.recordRuns(runs, ps);
        vm.prank(owner);
        vm.expectRevert(err);
        reg.anchorRuns(runs, ps);
        // Without the proof the registry cannot tell: recording it is a repeat, allowed by design.
        vm.prank(owner);
        reg.recordRun(run, _np());
        assertEq(reg.recordBlock(ids[2]), block.number, "recorded individually after being anchored");
    }

    /// @dev Re-anchoring in a later transaction is a repeat, allowed by design (readers keep the earliest).
    /// forge-config: default.isolate = true
    function test_anchorRuns_reanchoringInALaterTransactionIsARepeat() public {
        IProvenanceRegistry.TrainingRun[] memory again = _pair(_base()[0], _simpleRun(1));
        vm.prank(trainer);
        bytes32 root2 = reg.anchorRuns(again, _np());
        assertNotEq(root2, root, "another batch, another root");
        assertTrue(reg.verifyAnchored(root, ids[0], MerkleRef.proof(ids, 0)), "first anchoring");
        bytes32[] memory ids2 = _ids(again);
        assertTrue(reg.verifyAnchored(root2, ids[0], MerkleRef.proof(ids2, 0)), "repeat");
        // The same batch again is rejected by its stored root.
        IProvenanceRegistry.TrainingRun[] memory same = _base();
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyAnchored.selector, root));
        reg.anchorRuns(same, _np());
    }

    /// @dev The proof's mark lasts for the whole transaction: a later call in it may name the parent
    ///      without repeating the proof.
    /// forge-config: default.isolate = true
    function test_provedParentStaysKnownForTheRestOfTheTransaction() public {
        Batcher batcher = new Batcher();
        vm.prank(owner);
        reg.authorizeTrainer(modelId, address(batcher));
        IProvenanceRegistry.TrainingRun memory a = _childRun(1, ids[4]);
        IProvenanceRegistry.TrainingRun memory b = _childRun(2, ids[4]);
        bytes[] memory calls = new bytes[](2);
        calls[0] = abi.encodeCall(reg.recordRun, (a, _proofs(_anchorProof(ids, 4))));
        calls[1] = abi.encodeCall(reg.recordRun, (b, _np()));
        batcher.run(address(reg), calls);
        assertEq(reg.recordBlock(_id(b)), block.number, "second child recorded without a proof");
        // In a fresh transaction the mark is gone.
        IProvenanceRegistry.TrainingRun memory c = _childRun(3, ids[4]);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, ids[4]));
        reg.recordRun(c, _np());
    }

    /// @dev recordRuns and anchorRuns accept proofs for their runs' anchored parents; a batch may mix
    ///      anchored, individually recorded and same-batch parents.
    /// forge-config: default.isolate = true
    function test_batches_acceptAnchoredParents() public {
        bytes32 individual = _recordAs(owner, _simpleRun(500));
        IProvenanceRegistry.TrainingRun memory first = _childRun(1, ids[0]);
        IProvenanceRegistry.TrainingRun memory second = _simpleRun(2);
        bytes32[] memory parents = new bytes32[](3);
        (parents[0], parents[1], parents[2]) = (ids[1], individual, _id(first));
        second.parents = parents;
        IProvenanceRegistry.AnchorProof[] memory ps = new IProvenanceRegistry.AnchorProof[](2);
        ps[0] = _anchorProof(ids, 0);
        ps[1] = _anchorProof(ids, 1);
        vm.prank(trainer);
        reg.recordRuns(_pair(first, second), ps);
        assertEq(reg.recordBlock(_id(second)), block.number, "recordRuns");

        IProvenanceRegistry.TrainingRun memory third = _childRun(3, ids[0]);
        vm.prank(trainer);
        bytes32 r = reg.anchorRuns(_single(third), ps);
        assertEq(r, MerkleRef.leaf(_id(third)), "anchorRuns");
    }

    /// forge-config: default.isolate = true
    function testFuzz_recordRun_anchoredParent(uint256 nSeed, uint256 index, uint256 salt) public {
        uint256 n = bound(nSeed, 1, 40);
        index = bound(index, 0, n - 1);
        // Hashed, so that no (n, salt) rebuilds setUp's batch (which is already anchored).
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(n, uint256(keccak256(abi.encode("fuzz", salt))));
        bytes32[] memory batchIds = _ids(runs);
        vm.prank(owner);
        bytes32 r = reg.anchorRuns(runs, _np());
        IProvenanceRegistry.AnchorProof memory p = _anchorProof(batchIds, index);
        assertEq(p.root, r, "reference root");
        assertTrue(reg.verifyAnchored(r, batchIds[index], p.proof), "verifyAnchored");
        IProvenanceRegistry.TrainingRun memory child =
            _childRun(uint256(keccak256(abi.encode(salt, "c"))), batchIds[index]);
        vm.prank(trainer);
        reg.recordRun(child, _proofs(p));
        assertEq(reg.recordBlock(_id(child)), block.number, "child recorded");
    }

    /// forge-config: default.isolate = true
    function testFuzz_recordRun_rejectsTamperedProof(uint256 index, uint256 which, uint8 bit) public {
        index = bound(index, 0, ids.length - 1);
        IProvenanceRegistry.AnchorProof memory p = _anchorProof(ids, index);
        bytes32 flip = bytes32(uint256(1) << bit);
        uint256 w = bound(which, 0, p.proof.length + 1);
        if (w == 0) p.recordId ^= flip;
        else if (w == 1) p.root ^= flip;
        else p.proof[w - 2] ^= flip;
        IProvenanceRegistry.TrainingRun memory child = _childRun(1, ids[index]);
        vm.prank(trainer);
        vm.expectRevert(_invalid(p.recordId, p.root));
        reg.recordRun(child, _proofs(p));
    }
}
