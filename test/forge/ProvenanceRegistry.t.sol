// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {Vm} from "./utils/Vm.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";

contract ProvenanceRegistryTest is RegistryFixture {
    // =================================================================== version

    function test_version() public view {
        assertEq(reg.version(), "2.0.0", "version");
    }

    // ================================================================ deployedAt

    function test_deployedAt_isTheDeploymentBlock() public {
        assertEq(reg.deployedAt(), block.number, "fixture registry");
        vm.roll(4242);
        ProvenanceRegistry later = new ProvenanceRegistry();
        assertEq(later.deployedAt(), 4242, "deployment block");
        vm.roll(5000);
        assertEq(later.deployedAt(), 4242, "does not move with the chain");
    }

    function testFuzz_deployedAt_isTheDeploymentBlock(uint64 blockNumber) public {
        vm.roll(blockNumber);
        assertEq(new ProvenanceRegistry().deployedAt(), blockNumber, "deployment block");
    }

    // ============================================================ registerModel

    function test_registerModel_returnsOwnerScopedIdAndSetsOwner() public {
        _assertRegisterModel("gpt-nano", stranger);
    }

    function testFuzz_registerModel_returnsOwnerScopedIdAndSetsOwner(string calldata name, address caller) public {
        vm.assume(bytes(name).length > 0 && bytes(name).length <= 128 && caller != address(0));
        vm.assume(_entity(caller, name) != modelId && _entity(caller, name) != otherModelId);
        _assertRegisterModel(name, caller);
    }

    function _assertRegisterModel(string memory name, address caller) internal {
        bytes32 expected = keccak256(abi.encode(caller, name));
        assertEq(reg.computeEntityId(caller, name), expected, "computeEntityId");
        assertEq(reg.modelOwner(expected), address(0), "unregistered");
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ModelRegistered(expected, caller, name);
        vm.prank(caller);
        bytes32 id = reg.registerModel(name);
        assertEq(id, expected, "modelId = keccak256(abi.encode(owner, name))");
        assertEq(reg.modelOwner(id), caller, "owner");
        assertTrue(reg.canRecord(id, caller), "owner can record");
    }

    function test_registerModel_acceptsNameOfMaximumLength() public {
        string memory name = string(_bytes(128, "m"));
        vm.prank(stranger);
        assertEq(reg.registerModel(name), _entity(stranger, name), "128 bytes");
    }

    function test_registerModel_revertsOnTooLongName() public {
        string memory name = string(_bytes(129, "m"));
        vm.prank(stranger);
        vm.expectRevert(_tooLarge("name", 129, 128));
        reg.registerModel(name);
    }

    function testFuzz_registerModel_revertsOnTooLongName(uint256 length) public {
        length = bound(length, 129, 4096);
        string memory name = string(_bytes(length, "x"));
        vm.prank(stranger);
        vm.expectRevert(_tooLarge("name", length, 128));
        reg.registerModel(name);
    }

    function test_registerModel_revertsOnEmptyName() public {
        vm.prank(stranger);
        vm.expectRevert(IProvenanceRegistry.EmptyName.selector);
        reg.registerModel("");
    }

    /// @dev Only the same owner can hit an existing id: it cannot register its own name twice.
    function test_registerModel_revertsWhenAlreadyRegistered() public {
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.ModelAlreadyRegistered.selector, modelId));
        reg.registerModel("llama-mini");
        assertEq(reg.modelOwner(modelId), owner, "owner unchanged");
    }

    function testFuzz_registerModel_revertsWhenAlreadyRegistered(string calldata name, address caller) public {
        vm.assume(bytes(name).length > 0 && bytes(name).length <= 128 && caller != address(0));
        vm.assume(_entity(caller, name) != modelId && _entity(caller, name) != otherModelId);
        vm.prank(caller);
        bytes32 id = reg.registerModel(name);
        vm.prank(caller);
        vm.expectRevert(_err(IProvenanceRegistry.ModelAlreadyRegistered.selector, id));
        reg.registerModel(name);
    }

    function test_computeEntityId() public view {
        assertEq(reg.computeEntityId(owner, "llama-mini"), modelId, "fixture model");
        assertEq(reg.computeEntityId(dataOwner, "wikipedia-en"), dn[0], "fixture DataNet");
        // Independent vector: Python eth_abi encode(["address","string"], [0x...01, "llama-mini"]).
        assertEq(
            reg.computeEntityId(address(1), "llama-mini"),
            0xd3161bd314f5e55df28b6a6b873c317d8bb32df9360d36bde0b1c544b1b325a3,
            "eth_abi vector"
        );
    }

    function testFuzz_computeEntityId(address who, string calldata name) public view {
        assertEq(reg.computeEntityId(who, name), keccak256(abi.encode(who, name)), "keccak256(abi.encode(owner, name))");
    }

    function test_modelOwner_isZeroForUnknownModel() public view {
        assertEq(reg.modelOwner(keccak256("nope")), address(0), "unknown model has no owner");
    }

    // ======================================================== authorizeTrainer

    function test_authorizeTrainer_letsTrainerRecord() public {
        address t = makeAddr("newTrainer");
        assertFalse(reg.canRecord(modelId, t), "before");
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.TrainerAuthorized(modelId, t);
        vm.prank(owner);
        reg.authorizeTrainer(modelId, t);
        assertTrue(reg.canRecord(modelId, t), "after");
        assertFalse(reg.canRecord(otherModelId, t), "only for that model");
        bytes32 id = _recordAs(t, _simpleRun(1));
        assertEq(reg.recordBlock(id), block.number, "trainer recorded");
    }

    function test_authorizeTrainer_revertsOnUnknownModel() public {
        bytes32 unknown = keccak256("nope");
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownModel.selector, unknown));
        reg.authorizeTrainer(unknown, trainer);
    }

    function test_authorizeTrainer_revertsForNonOwner() public {
        vm.prank(stranger);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, stranger));
        reg.authorizeTrainer(modelId, stranger);
        // A trainer cannot authorise others either.
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, trainer));
        reg.authorizeTrainer(modelId, stranger);
        // Owning another model does not help.
        vm.prank(otherOwner);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, otherOwner));
        reg.authorizeTrainer(modelId, otherOwner);
    }

    function test_authorizeTrainer_revertsWhenAlreadyAuthorized() public {
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.TrainerStatusUnchanged.selector, modelId, trainer));
        reg.authorizeTrainer(modelId, trainer);
    }

    // =========================================================== revokeTrainer

    function test_revokeTrainer_stopsNewRecordsButKeepsOldOnes() public {
        bytes32 before = _recordAs(trainer, _simpleRun(1));
        uint256 recordedAt = block.number;
        vm.roll(block.number + 10);

        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.TrainerRevoked(modelId, trainer);
        vm.prank(owner);
        reg.revokeTrainer(modelId, trainer);

        assertFalse(reg.canRecord(modelId, trainer), "revoked");
        assertEq(reg.recordBlock(before), recordedAt, "earlier record stays");
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(2);
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, trainer));
        reg.recordRun(run, _np());
    }

    function test_revokeTrainer_thenReauthorize() public {
        vm.startPrank(owner);
        reg.revokeTrainer(modelId, trainer);
        reg.authorizeTrainer(modelId, trainer);
        vm.stopPrank();
        assertTrue(reg.canRecord(modelId, trainer), "re-authorised");
    }

    function test_revokeTrainer_revertsOnUnknownModel() public {
        bytes32 unknown = keccak256("nope");
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownModel.selector, unknown));
        reg.revokeTrainer(unknown, trainer);
    }

    function test_revokeTrainer_revertsForNonOwner() public {
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, trainer));
        reg.revokeTrainer(modelId, trainer);
        vm.prank(stranger);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, stranger));
        reg.revokeTrainer(modelId, trainer);
    }

    function test_revokeTrainer_revertsWhenNotAuthorized() public {
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.TrainerStatusUnchanged.selector, modelId, stranger));
        reg.revokeTrainer(modelId, stranger);
        // Revoking twice.
        vm.prank(owner);
        reg.revokeTrainer(modelId, trainer);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.TrainerStatusUnchanged.selector, modelId, trainer));
        reg.revokeTrainer(modelId, trainer);
    }

    // =============================================================== canRecord

    function test_canRecord() public view {
        assertTrue(reg.canRecord(modelId, owner), "owner");
        assertTrue(reg.canRecord(modelId, trainer), "trainer");
        assertFalse(reg.canRecord(modelId, stranger), "stranger");
        assertFalse(reg.canRecord(modelId, otherOwner), "owner of another model");
        assertFalse(reg.canRecord(keccak256("nope"), address(0)), "unknown model, zero address");
        assertFalse(reg.canRecord(keccak256("nope"), owner), "unknown model");
    }

    // ========================================================= registerDatanet

    function test_registerDatanet_returnsOwnerScopedIdAndSetsOwner() public {
        _assertRegisterDatanet("laion-5b", stranger);
    }

    function testFuzz_registerDatanet_returnsOwnerScopedIdAndSetsOwner(string calldata name, address caller) public {
        vm.assume(bytes(name).length > 0 && bytes(name).length <= 128 && caller != address(0));
        for (uint256 i; i < N_DATANETS; ++i) {
            vm.assume(_entity(caller, name) != dn[i]);
        }
        _assertRegisterDatanet(name, caller);
    }

    function _assertRegisterDatanet(string memory name, address caller) internal {
        bytes32 expected = keccak256(abi.encode(caller, name));
        assertEq(reg.computeEntityId(caller, name), expected, "computeEntityId");
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetRegistered(expected, caller, name);
        vm.prank(caller);
        bytes32 id = reg.registerDatanet(name);
        assertEq(id, expected, "datanetId = keccak256(abi.encode(owner, name))");
        (address o, uint64 count) = reg.datanet(id);
        assertEq(o, caller, "owner");
        assertEq(count, 0, "no versions yet");
    }

    /// @dev Models and DataNets are separate name spaces: the same owner and name give the same id in
    ///      both, and neither registration touches the other.
    function test_registerDatanet_sameNameAsModelIsIndependent() public {
        vm.prank(owner);
        bytes32 id = reg.registerDatanet("llama-mini");
        assertEq(id, modelId, "same owner and name, same id");
        (address o,) = reg.datanet(id);
        assertEq(o, owner, "datanet owner");
        assertEq(reg.modelOwner(modelId), owner, "model owner untouched");
        vm.prank(stranger);
        bytes32 other = reg.registerDatanet("llama-mini");
        assertNotEq(other, modelId, "another owner, another id");
    }

    function test_registerDatanet_revertsOnTooLongName() public {
        string memory name = string(_bytes(129, "d"));
        vm.prank(stranger);
        vm.expectRevert(_tooLarge("name", 129, 128));
        reg.registerDatanet(name);
        name = string(_bytes(128, "d"));
        vm.prank(stranger);
        assertEq(reg.registerDatanet(name), _entity(stranger, name), "128 bytes");
    }

    function test_registerDatanet_revertsOnEmptyName() public {
        vm.prank(stranger);
        vm.expectRevert(IProvenanceRegistry.EmptyName.selector);
        reg.registerDatanet("");
    }

    function test_registerDatanet_revertsWhenAlreadyRegistered() public {
        vm.prank(dataOwner);
        vm.expectRevert(_err(IProvenanceRegistry.DatanetAlreadyRegistered.selector, dn[0]));
        reg.registerDatanet("wikipedia-en");
    }

    function test_datanet_isEmptyForUnknownDatanet() public view {
        (address o, uint64 count) = reg.datanet(keccak256("nope"));
        assertEq(o, address(0), "owner");
        assertEq(count, 0, "count");
    }

    // =================================================== publishDatanetVersion

    function test_publishDatanetVersion_storesAndEmits() public {
        vm.prank(stranger);
        bytes32 id = reg.registerDatanet("laion-5b");
        IProvenanceRegistry.Contributor[] memory cs = _contributors();
        bytes32 root = keccak256("content");
        bytes32 manifest = keccak256("manifest");
        vm.roll(1234);

        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetVersionPublished(id, root, 1, manifest, TERMS, cs);
        vm.prank(stranger);
        uint64 v = reg.publishDatanetVersion(id, root, manifest, TERMS, cs);
        assertEq(v, 1, "first version is 1");

        IProvenanceRegistry.DatanetVersion memory d = reg.datanetVersion(id, 1);
        assertEq(d.contentRoot, root, "contentRoot");
        assertEq(d.manifestHash, manifest, "manifestHash");
        assertEq(d.termsHash, keccak256(TERMS), "termsHash = keccak256(terms)");
        assertEq(d.contributorsHash, keccak256(abi.encode(cs)), "contributorsHash = keccak256(abi.encode(cs))");
        // Independent vector computed with Python eth_abi for [(0xA1, 3), (0xB2, 1)].
        assertEq(
            d.contributorsHash, 0x98f77af99eb5ece121a2ecdf120d8d06a95044a7cd5e47c39c24cb5ecb752e2b, "eth_abi vector"
        );
        assertEq(d.publishedBlock, 1234, "publishedBlock");
        (, uint64 count) = reg.datanet(id);
        assertEq(count, 1, "versionCount");
    }

    function test_publishDatanetVersion_numbersVersionsSequentially() public {
        IProvenanceRegistry.Contributor[] memory none = new IProvenanceRegistry.Contributor[](0);
        vm.startPrank(dataOwner);
        uint64 v3 = reg.publishDatanetVersion(dn[0], keccak256("v3"), bytes32(0), "", none);
        uint64 v4 = reg.publishDatanetVersion(dn[0], keccak256("v3"), bytes32(0), "", none);
        vm.stopPrank();
        assertEq(v3, 3, "third");
        assertEq(v4, 4, "fourth (same content may be republished)");
        (, uint64 count) = reg.datanet(dn[0]);
        assertEq(count, 4, "count");
        IProvenanceRegistry.DatanetVersion memory d = reg.datanetVersion(dn[0], 3);
        assertEq(d.termsHash, keccak256(""), "empty terms");
        assertEq(d.contributorsHash, keccak256(abi.encode(none)), "no contributors");
        // Earlier versions are untouched.
        assertEq(reg.datanetVersion(dn[0], 1).contentRoot, keccak256(abi.encode("root", 0, 1)), "v1 untouched");
    }

    function test_publishDatanetVersion_revertsOnUnknownDatanet() public {
        bytes32 unknown = keccak256("nope");
        IProvenanceRegistry.Contributor[] memory cs = _contributors();
        vm.prank(dataOwner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownDatanet.selector, unknown));
        reg.publishDatanetVersion(unknown, keccak256("c"), bytes32(0), TERMS, cs);
    }

    function test_publishDatanetVersion_revertsForNonOwner() public {
        IProvenanceRegistry.Contributor[] memory cs = _contributors();
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.NotDatanetOwner.selector, dn[1], owner));
        reg.publishDatanetVersion(dn[1], keccak256("c"), bytes32(0), TERMS, cs);
        (, uint64 count) = reg.datanet(dn[1]);
        assertEq(count, 1, "unchanged");
    }

    function test_publishDatanetVersion_revertsOnEmptyContentRoot() public {
        IProvenanceRegistry.Contributor[] memory cs = _contributors();
        vm.prank(dataOwner);
        vm.expectRevert(IProvenanceRegistry.EmptyContentRoot.selector);
        reg.publishDatanetVersion(dn[1], bytes32(0), keccak256("m"), TERMS, cs);
    }

    // ========================================================== datanetVersion

    function test_datanetVersion_revertsOnUnpublishedVersion() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.UnknownDatanetVersion.selector, dn[0], 0));
        reg.datanetVersion(dn[0], 0);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.UnknownDatanetVersion.selector, dn[0], 3));
        reg.datanetVersion(dn[0], 3);
        bytes32 unknown = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.UnknownDatanetVersion.selector, unknown, 1));
        reg.datanetVersion(unknown, 1);
    }

    // =============================================================== recordRun

    function test_recordRun_byOwner() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        vm.roll(77);
        bytes32 id = _recordAs(owner, run);
        assertEq(id, keccak256(abi.encode(run)), "recordId");
        assertEq(reg.recordBlock(id), 77, "recordBlock");
    }

    function test_recordRun_byTrainer() public {
        bytes32 id = _recordAs(trainer, _simpleRun(1));
        assertEq(reg.recordBlock(id), block.number, "recordBlock");
    }

    function test_recordRun_emitsParentUsedDatanetUsedRunRecorded() public {
        bytes32 parent = _recordAs(owner, _simpleRun(1));
        IProvenanceRegistry.TrainingRun memory run =
            _run(modelId, "2.0.0", keccak256("w2"), _one(parent), _uses(_use(0, 2, 600_000), _use(1, 1, 400_000)));
        bytes32 id = _id(run);
        bytes32 key = _key(modelId, "2.0.0");

        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(parent, id, modelId);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetUsed(dn[0], modelId, id, 2, 600_000);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetUsed(dn[1], modelId, id, 1, 400_000);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunRecorded(modelId, key, id, trainer, abi.encode(run));
        assertEq(_recordAs(trainer, run), id, "recordId");
    }

    function test_recordRun_eventRecordIsAbiEncodingOfRun() public {
        IProvenanceRegistry.TrainingRun memory run =
            _run(modelId, "1.0.0", keccak256("w"), _none(), _uses(_use(2, 1, 250_000), _use(3, 1, 750_000)));
        _assertRecordedBytes(run);
    }

    function _assertRecordedBytes(IProvenanceRegistry.TrainingRun memory run) internal {
        vm.recordLogs();
        bytes32 id = _recordAs(trainer, run);
        bytes memory record = _recordedBytes(vm.getRecordedLogs(), id);
        assertEq(keccak256(record), id, "recordId == keccak256(record)");
        assertEq(record, abi.encode(run), "record == abi.encode(run)");
        assertEq(id, reg.computeRecordId(run), "computeRecordId");
        IProvenanceRegistry.TrainingRun memory decoded = abi.decode(record, (IProvenanceRegistry.TrainingRun));
        assertEq(decoded.modelVersion, run.modelVersion, "decoded modelVersion");
        assertEq(decoded.details, run.details, "decoded details");
        assertEq(keccak256(abi.encode(decoded)), id, "round trip");
    }

    function test_recordRun_parentMayBeAnyRecordedRunOfAnyModel() public {
        bytes32 base = _recordAs(otherOwner, _run(otherModelId, "0.1", keccak256("b"), _none(), _uses(_use(4, 1, W))));
        bytes32 p2 = _recordAs(owner, _simpleRun(2));
        bytes32[] memory parents = new bytes32[](2);
        parents[0] = base;
        parents[1] = p2;
        IProvenanceRegistry.TrainingRun memory merged =
            _run(modelId, "3.0.0", keccak256("merged"), parents, _uses(_use(0, 1, W)));
        bytes32 id = _id(merged);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(base, id, modelId);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(p2, id, modelId);
        _recordAs(trainer, merged);
        assertEq(reg.recordBlock(id), block.number, "recorded");
    }

    function test_recordRun_sameTrainingDifferentVersionIsADistinctRecord() public {
        IProvenanceRegistry.TrainingRun memory a = _simpleRun(1);
        IProvenanceRegistry.TrainingRun memory b = _simpleRun(1);
        b.modelVersion = "1.0.1";
        assertNotEq(_recordAs(owner, a), _recordAs(owner, b), "distinct ids");
    }

    function test_recordRun_revertsOnUnknownModel() public {
        bytes32 unknown = keccak256("nope");
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.modelId = unknown;
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownModel.selector, unknown));
        reg.recordRun(run, _np());
    }

    function test_recordRun_revertsForUnauthorizedCaller() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        vm.prank(stranger);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, stranger));
        reg.recordRun(run, _np());
        // The owner of another model cannot record for this one.
        vm.prank(otherOwner);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, otherOwner));
        reg.recordRun(run, _np());
    }

    function test_recordRun_checksAuthorizationBeforeContent() public {
        // Empty version, no datanets, unknown parent: a stranger still only learns it is unauthorised.
        IProvenanceRegistry.TrainingRun memory run =
            _run(modelId, "", bytes32(0), _one(keccak256("ghost")), new IProvenanceRegistry.DatanetUse[](0));
        vm.prank(stranger);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, stranger));
        reg.recordRun(run, _np());
    }

    function test_recordRun_revertsOnEmptyModelVersion() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.modelVersion = "";
        vm.prank(owner);
        vm.expectRevert(IProvenanceRegistry.EmptyModelVersion.selector);
        reg.recordRun(run, _np());
    }

    function test_recordRun_revertsWhenAlreadyRecorded() public {
        _assertReRecordRejected(_simpleRun(1), 1);
    }

    function test_recordRun_revertsOnUnknownParent() public {
        bytes32 ghost = keccak256("ghost");
        IProvenanceRegistry.TrainingRun memory run = _childRun(1, ghost);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, ghost));
        reg.recordRun(run, _np());
    }

    function test_recordRun_revertsOnNoDatanets() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = new IProvenanceRegistry.DatanetUse[](0);
        vm.prank(owner);
        vm.expectRevert(IProvenanceRegistry.NoDatanets.selector);
        reg.recordRun(run, _np());
    }

    function test_recordRun_revertsOnUnpublishedDatanetVersion() public {
        _assertUnknownVersion(dn[0], 0);
        _assertUnknownVersion(dn[0], 3);
        _assertUnknownVersion(dn[1], 2);
        _assertUnknownVersion(keccak256("unregistered"), 1);
    }

    function _assertUnknownVersion(bytes32 datanetId, uint64 v) internal {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = _uses(_use(1, 1, 500_000), IProvenanceRegistry.DatanetUse(datanetId, v, 500_000));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.UnknownDatanetVersion.selector, datanetId, v));
        reg.recordRun(run, _np());
    }

    // ------------------------------------------------------------- weights

    function test_recordRun_acceptsWeightSplits() public {
        uint32[] memory w = new uint32[](1);
        w[0] = W;
        _assertSplitAccepted(w, 0);
        w = new uint32[](3);
        (w[0], w[1], w[2]) = (333_333, 333_333, 333_334);
        _assertSplitAccepted(w, 1);
        w = new uint32[](5);
        (w[0], w[1], w[2], w[3], w[4]) = (1, 1, 999_996, 1, 1);
        _assertSplitAccepted(w, 2);
    }

    function testFuzz_recordRun_acceptsWeightSplits(uint256 nSeed, uint256[4] calldata cuts, uint256 salt) public {
        uint256 n = bound(nSeed, 1, 5);
        uint32[] memory w = new uint32[](n);
        uint256 left = W;
        for (uint256 i; i + 1 < n; ++i) {
            // Every weight is at least 1: leave 1 for each later use.
            w[i] = uint32(bound(cuts[i], 1, left - (n - 1 - i)));
            left -= w[i];
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        w[n - 1] = uint32(left); // left <= W
        _assertSplitAccepted(w, salt);
    }

    function _assertSplitAccepted(uint32[] memory w, uint256 salt) internal {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(salt);
        run.datanets = _usesWeighted(w);
        bytes32 id = _recordAs(trainer, run);
        assertEq(reg.recordBlock(id), block.number, "recorded");
    }

    function test_recordRun_revertsWhenWeightsDoNotSum() public {
        uint32[] memory w = new uint32[](1);
        w[0] = W - 1;
        _assertWeightsRejected(w);
        w[0] = W + 1;
        _assertWeightsRejected(w);
        w = new uint32[](2);
        (w[0], w[1]) = (500_000, 499_999);
        _assertWeightsRejected(w);
        // The total is a uint256: five max uint32 weights neither wrap nor overflow.
        w = new uint32[](5);
        for (uint256 i; i < 5; ++i) {
            w[i] = type(uint32).max;
        }
        _assertWeightsRejected(w);
    }

    function testFuzz_recordRun_revertsWhenWeightsDoNotSum(uint256 nSeed, uint32[5] calldata weights) public {
        uint256 n = bound(nSeed, 1, 5);
        uint32[] memory w = new uint32[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            w[i] = uint32(bound(weights[i], 1, type(uint32).max)); // a zero weight is ZeroWeight
            total += w[i];
        }
        vm.assume(total != W);
        _assertWeightsRejected(w);
    }

    function _assertWeightsRejected(uint32[] memory w) internal {
        uint256 total;
        for (uint256 i; i < w.length; ++i) {
            total += w[i];
        }
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = _usesWeighted(w);
        vm.prank(trainer);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.WeightsDoNotSum.selector, total));
        reg.recordRun(run, _np());
    }

    // ------------------------------------------------------ record id fuzzing

    function test_recordRun_recordIdIsKeccakOfEncoding() public {
        _assertRecordIdOfFields("1.0.0", keccak256("w"), DETAILS, 600_000, 3);
    }

    function testFuzz_recordRun_recordIdIsKeccakOfEncoding(
        string calldata modelVersion,
        bytes32 digest,
        bytes calldata details,
        uint32 weight,
        uint256 parentCount
    ) public {
        vm.assume(bytes(modelVersion).length > 0 && bytes(modelVersion).length <= 64 && details.length <= 16_384);
        _assertRecordIdOfFields(
            modelVersion, digest, details, uint32(bound(weight, 1, W - 1)), bound(parentCount, 0, 3)
        );
    }

    function _assertRecordIdOfFields(
        string memory modelVersion,
        bytes32 digest,
        bytes memory details,
        uint32 weight,
        uint256 parentCount
    ) internal {
        bytes32[] memory parents = new bytes32[](parentCount);
        for (uint256 i; i < parentCount; ++i) {
            parents[i] = _recordAs(owner, _simpleRun(1000 + i));
        }
        IProvenanceRegistry.TrainingRun memory run =
            _run(modelId, modelVersion, digest, parents, _uses(_use(0, 2, weight), _use(1, 1, W - weight)));
        run.details = details;
        _assertRecordedBytes(run);
    }

    // ======================================================== re-recording

    function testFuzz_recordRun_revertsWhenAlreadyRecorded(string calldata modelVersion, bytes32 digest, uint256 rollBy)
        public
    {
        vm.assume(bytes(modelVersion).length > 0 && bytes(modelVersion).length <= 64);
        _assertReRecordRejected(
            _run(modelId, modelVersion, digest, _none(), _uses(_use(0, 1, W))), bound(rollBy, 0, 1e9)
        );
    }

    function _assertReRecordRejected(IProvenanceRegistry.TrainingRun memory run, uint256 rollBy) internal {
        bytes32 id = _recordAs(owner, run);
        uint256 recordedAt = block.number;
        vm.roll(block.number + rollBy);
        bytes memory err = _err(IProvenanceRegistry.AlreadyRecorded.selector, id);
        // By anyone allowed to record, through every entry point.
        vm.prank(owner);
        vm.expectRevert(err);
        reg.recordRun(run, _np());
        vm.prank(trainer);
        vm.expectRevert(err);
        reg.recordRun(run, _np());
        IProvenanceRegistry.TrainingRun[] memory one = _single(run);
        vm.prank(trainer);
        vm.expectRevert(err);
        reg.recordRuns(one, _np());
        vm.prank(trainer);
        vm.expectRevert(err);
        reg.anchorRuns(one, _np());
        assertEq(reg.recordBlock(id), recordedAt, "recordBlock unchanged");
    }

    // ===================================================== unauthorised callers

    function test_unauthorizedCallerRejected() public {
        _assertUnauthorized(stranger);
        _assertUnauthorized(otherOwner);
        _assertUnauthorized(dataOwner);
        _assertUnauthorized(address(0));
        vm.prank(owner);
        reg.revokeTrainer(modelId, trainer);
        _assertUnauthorized(trainer);
    }

    function testFuzz_unauthorizedCallerRejected(address caller) public {
        vm.assume(caller != owner && caller != trainer && caller != address(vm));
        _assertUnauthorized(caller);
    }

    function _assertUnauthorized(address caller) internal {
        assertFalse(reg.canRecord(modelId, caller), "canRecord");
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        IProvenanceRegistry.TrainingRun[] memory batch = _pair(_simpleRun(2), run);
        bytes memory notTrainer = _err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, caller);
        vm.prank(caller);
        vm.expectRevert(notTrainer);
        reg.recordRun(run, _np());
        vm.prank(caller);
        vm.expectRevert(notTrainer);
        reg.recordRuns(batch, _np());
        vm.prank(caller);
        vm.expectRevert(notTrainer);
        reg.anchorRuns(batch, _np());
        if (caller != trainer) {
            vm.prank(caller);
            vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, caller));
            reg.authorizeTrainer(modelId, caller);
            vm.prank(caller);
            vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, caller));
            reg.revokeTrainer(modelId, trainer);
        }
        if (caller != dataOwner) {
            IProvenanceRegistry.Contributor[] memory cs = _contributors();
            vm.prank(caller);
            vm.expectRevert(_err(IProvenanceRegistry.NotDatanetOwner.selector, dn[0], caller));
            reg.publishDatanetVersion(dn[0], keccak256("c"), bytes32(0), TERMS, cs);
        }
        assertEq(reg.recordBlock(_id(run)), 0, "nothing recorded");
    }

    // ============================================================== recordRuns

    function test_recordRuns_recordsAllInOrder() public {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(4, 1);
        bytes32[] memory expected = _ids(runs);
        for (uint256 i; i < runs.length; ++i) {
            vm.expectEmit(true, true, true, true, address(reg));
            emit IProvenanceRegistry.RunRecorded(
                modelId, _key(modelId, "1.0.0"), expected[i], trainer, abi.encode(runs[i])
            );
        }
        vm.prank(trainer);
        bytes32[] memory ids = reg.recordRuns(runs, _np());
        assertEq(ids, expected, "ids");
        for (uint256 i; i < ids.length; ++i) {
            assertEq(reg.recordBlock(ids[i]), block.number, "recorded");
        }
    }

    function test_recordRuns_parentEarlierInBatch() public {
        IProvenanceRegistry.TrainingRun memory base = _simpleRun(1);
        bytes32 baseId = _id(base);
        IProvenanceRegistry.TrainingRun memory child = _childRun(2, baseId);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(baseId, _id(child), modelId);
        vm.prank(owner);
        bytes32[] memory ids = reg.recordRuns(_pair(base, child), _np());
        assertEq(ids[0], baseId, "base");
        assertEq(reg.recordBlock(ids[1]), block.number, "child recorded");
    }

    function test_recordRuns_revertsOnParentLaterInBatch() public {
        IProvenanceRegistry.TrainingRun memory base = _simpleRun(1);
        bytes32 baseId = _id(base);
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(_childRun(2, baseId), base);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, baseId));
        reg.recordRuns(runs, _np());
    }

    function test_recordRuns_isAllOrNothing() public {
        IProvenanceRegistry.TrainingRun memory good = _simpleRun(1);
        IProvenanceRegistry.TrainingRun memory bad = _simpleRun(2);
        bad.datanets[0].weightPpm = W - 1;
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(good, bad);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.WeightsDoNotSum.selector, W - 1));
        reg.recordRuns(runs, _np());
        assertEq(reg.recordBlock(_id(good)), 0, "good run rolled back");
        // The good run alone is still recordable.
        bytes32 id = _recordAs(owner, good);
        assertEq(reg.recordBlock(id), block.number, "recorded afterwards");
    }

    function test_recordRuns_revertsOnDuplicateWithinBatch() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(run, run);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyRecorded.selector, _id(run)));
        reg.recordRuns(runs, _np());
    }

    function test_recordRuns_revertsWhenAnyRunIsForAnUnauthorizedModel() public {
        IProvenanceRegistry.TrainingRun memory foreign =
            _run(otherModelId, "1", keccak256("f"), _none(), _uses(_use(0, 1, W)));
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(_simpleRun(1), foreign);
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, otherModelId, trainer));
        reg.recordRuns(runs, _np());
    }

    function test_recordRuns_revertsOnEmptyBatch() public {
        IProvenanceRegistry.TrainingRun[] memory none = new IProvenanceRegistry.TrainingRun[](0);
        vm.prank(owner);
        vm.expectRevert(IProvenanceRegistry.EmptyBatch.selector);
        reg.recordRuns(none, _np());
    }

    // ============================================================== anchorRuns

    function test_anchorRuns_rootMatchesReferenceAndProofsVerify() public {
        for (uint256 n = 1; n <= 9; ++n) {
            _assertAnchoredBatch(n, n);
        }
    }

    function testFuzz_anchorRuns_rootMatchesReferenceAndProofsVerify(uint256 nSeed, uint256 salt) public {
        _assertAnchoredBatch(bound(nSeed, 1, 24), salt);
    }

    function _assertAnchoredBatch(uint256 n, uint256 salt) internal {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(n, salt);
        bytes32[] memory ids = _ids(runs);
        bytes32 expected = MerkleRef.root(ids);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunsAnchored(expected, n);
        vm.prank(trainer);
        bytes32 root = reg.anchorRuns(runs, _np());
        assertEq(root, expected, "root == reference root");
        assertEq(reg.anchorBlock(root), block.number, "anchorBlock");
        for (uint256 i; i < n; ++i) {
            bytes32[] memory proof = MerkleRef.proof(ids, i);
            assertEq(MerkleRef.processProof(MerkleRef.leaf(ids[i]), proof), root, "reference proof");
            assertTrue(reg.verifyAnchored(root, ids[i], proof), "verifyAnchored");
            assertEq(reg.recordBlock(ids[i]), 0, "anchored run not in recordBlock");
        }
    }

    function test_anchorRuns_singleRunRootIsItsLeaf() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        vm.prank(owner);
        bytes32 root = reg.anchorRuns(_single(run), _np());
        assertEq(root, keccak256(bytes.concat(keccak256(abi.encode(id)))), "root == leaf");
        assertTrue(reg.verifyAnchored(root, id, _none()), "empty proof");
    }

    function test_anchorRuns_emitsRunEventsThenRunsAnchored() public {
        bytes32 parent = _recordAs(owner, _simpleRun(1));
        IProvenanceRegistry.TrainingRun memory a = _simpleRun(2);
        IProvenanceRegistry.TrainingRun memory b = _childRun(3, parent);
        bytes32[] memory ids = new bytes32[](2);
        (ids[0], ids[1]) = (_id(a), _id(b));
        bytes32 root = MerkleRef.root(ids);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetUsed(dn[0], modelId, ids[0], 1, W);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunRecorded(modelId, _key(modelId, "1.0.0"), ids[0], trainer, abi.encode(a));
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(parent, ids[1], modelId);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetUsed(dn[0], modelId, ids[1], 1, W);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunRecorded(modelId, _key(modelId, "1.1.0"), ids[1], trainer, abi.encode(b));
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunsAnchored(root, 2);
        vm.prank(trainer);
        assertEq(reg.anchorRuns(_pair(a, b), _np()), root, "root");
    }

    function test_anchorRuns_parentInsideSameBatch() public {
        IProvenanceRegistry.TrainingRun memory base = _simpleRun(1);
        IProvenanceRegistry.TrainingRun memory child = _childRun(2, _id(base));
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(_id(base), _id(child), modelId);
        vm.prank(owner);
        bytes32 root = reg.anchorRuns(_pair(base, child), _np());
        assertEq(reg.anchorBlock(root), block.number, "anchored");
        assertEq(reg.recordBlock(_id(base)), 0, "base not in recordBlock");
    }

    function test_anchorRuns_revertsOnParentLaterInBatch() public {
        IProvenanceRegistry.TrainingRun memory base = _simpleRun(1);
        bytes32 baseId = _id(base);
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(_childRun(2, baseId), base);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, baseId));
        reg.anchorRuns(runs, _np());
    }

    function test_anchorRuns_revertsOnDuplicateWithinBatch() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        IProvenanceRegistry.TrainingRun[] memory runs = new IProvenanceRegistry.TrainingRun[](3);
        (runs[0], runs[1], runs[2]) = (run, _simpleRun(2), run);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyRecorded.selector, _id(run)));
        reg.anchorRuns(runs, _np());
    }

    function test_anchorRuns_revertsOnIndividuallyRecordedRun() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _recordAs(owner, run);
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(_simpleRun(2), run);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyRecorded.selector, id));
        reg.anchorRuns(runs, _np());
    }

    function test_anchorRuns_isAllOrNothing() public {
        IProvenanceRegistry.TrainingRun memory good = _simpleRun(1);
        IProvenanceRegistry.TrainingRun memory bad = _simpleRun(2);
        bad.modelVersion = "";
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(good, bad);
        vm.prank(owner);
        vm.expectRevert(IProvenanceRegistry.EmptyModelVersion.selector);
        reg.anchorRuns(runs, _np());
        bytes32[] memory ids = new bytes32[](2);
        (ids[0], ids[1]) = (_id(good), _id(bad));
        assertEq(reg.anchorBlock(MerkleRef.root(ids)), 0, "no root stored");
        // The transient mark of `good` was rolled back too: it can be recorded in this same transaction.
        bytes32 id = _recordAs(owner, good);
        assertEq(reg.recordBlock(id), block.number, "recorded afterwards");
    }

    function test_anchorRuns_revertsOnUnauthorizedOrUnknownModel() public {
        IProvenanceRegistry.TrainingRun memory foreign =
            _run(otherModelId, "1", keccak256("f"), _none(), _uses(_use(0, 1, W)));
        IProvenanceRegistry.TrainingRun[] memory runs = _pair(_simpleRun(1), foreign);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, otherModelId, owner));
        reg.anchorRuns(runs, _np());
        bytes32 unknown = keccak256("nope");
        runs[1].modelId = unknown;
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownModel.selector, unknown));
        reg.anchorRuns(runs, _np());
    }

    function test_anchorRuns_revertsOnEmptyBatch() public {
        IProvenanceRegistry.TrainingRun[] memory none = new IProvenanceRegistry.TrainingRun[](0);
        vm.prank(owner);
        vm.expectRevert(IProvenanceRegistry.EmptyBatch.selector);
        reg.anchorRuns(none, _np());
    }

    /// @dev Each top-level call is its own transaction here, as on a real chain: the batch's transient
    ///      marks are gone, so the runs pass their checks and the stored root is what rejects it.
    /// forge-config: default.isolate = true
    function test_anchorRuns_revertsWhenAlreadyAnchored() public {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(3, 7);
        vm.prank(owner);
        bytes32 root = reg.anchorRuns(runs, _np());
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyAnchored.selector, root));
        reg.anchorRuns(runs, _np());
        // Two leaves hash as a sorted pair, so the swapped batch has the same root.
        IProvenanceRegistry.TrainingRun[] memory two = _batch(2, 8);
        vm.prank(owner);
        bytes32 root2 = reg.anchorRuns(two, _np());
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyAnchored.selector, root2));
        reg.anchorRuns(_pair(two[1], two[0]), _np());
    }

    /// forge-config: default.isolate = true
    function test_anchorRuns_anchoredRunIsNotAParentInALaterTransaction() public {
        IProvenanceRegistry.TrainingRun memory base = _simpleRun(1);
        bytes32 baseId = _id(base);
        vm.prank(owner);
        reg.anchorRuns(_single(base), _np());
        IProvenanceRegistry.TrainingRun memory child = _childRun(2, baseId);
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, baseId));
        reg.recordRun(child, _np());
    }

    /// @dev Documents the designed limitation: anchoring stores only the root, so in a later transaction
    ///      the same run can still be recorded individually (or anchored in another batch).
    /// forge-config: default.isolate = true
    function test_anchorRuns_doesNotBlockLaterIndividualRecording() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        vm.prank(owner);
        reg.anchorRuns(_single(run), _np());
        bytes32 id = _recordAs(owner, run);
        assertEq(reg.recordBlock(id), block.number, "recorded individually");
    }

    /// @dev Within one transaction the transient marks of an anchored batch persist: re-anchoring it
    ///      is caught as AlreadyRecorded (of its first run) before the root is computed.
    function test_anchorRuns_sameTransactionReanchorHitsTransientMark() public {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(2, 9);
        vm.prank(owner);
        reg.anchorRuns(runs, _np());
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyRecorded.selector, _id(runs[0])));
        reg.anchorRuns(runs, _np());
    }

    // ========================================================== verifyAnchored

    function test_verifyAnchored_rejectsTamperedInputs() public {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(5, 3);
        bytes32[] memory ids = _ids(runs);
        vm.prank(owner);
        bytes32 root = reg.anchorRuns(runs, _np());
        bytes32[] memory proof = MerkleRef.proof(ids, 1);
        assertTrue(reg.verifyAnchored(root, ids[1], proof), "genuine");

        // Tampered proof element.
        bytes32[] memory bad = MerkleRef.proof(ids, 1);
        bad[0] ^= bytes32(uint256(1));
        assertFalse(reg.verifyAnchored(root, ids[1], bad), "tampered proof");
        // Proof of another leaf.
        assertFalse(reg.verifyAnchored(root, ids[1], MerkleRef.proof(ids, 2)), "wrong leaf's proof");
        // Tampered record: a run that is not in the batch, or a flipped id.
        assertFalse(reg.verifyAnchored(root, _id(_simpleRun(99)), proof), "record not in batch");
        assertFalse(reg.verifyAnchored(root, ids[1] ^ bytes32(uint256(1)), proof), "flipped id");
        // Truncated and extended proofs.
        bytes32[] memory shortProof = new bytes32[](proof.length - 1);
        for (uint256 i; i < shortProof.length; ++i) {
            shortProof[i] = proof[i];
        }
        assertFalse(reg.verifyAnchored(root, ids[1], shortProof), "truncated proof");
        bytes32[] memory longProof = new bytes32[](proof.length + 1);
        for (uint256 i; i < proof.length; ++i) {
            longProof[i] = proof[i];
        }
        assertFalse(reg.verifyAnchored(root, ids[1], longProof), "extended proof");
        // An inner node is not a leaf (leaves are double-hashed).
        bytes32 inner = MerkleRef.hashPair(MerkleRef.leaf(ids[0]), MerkleRef.leaf(ids[1]));
        bytes32[] memory upper = new bytes32[](proof.length - 1);
        for (uint256 i; i < upper.length; ++i) {
            upper[i] = proof[i + 1];
        }
        assertEq(MerkleRef.processProof(inner, upper), root, "inner node + upper path reaches root");
        assertFalse(reg.verifyAnchored(root, inner, upper), "inner node as record id");
    }

    function test_verifyAnchored_falseForUnknownRoot() public view {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(3, 4);
        bytes32[] memory ids = _ids(runs);
        bytes32 root = MerkleRef.root(ids);
        bytes32[] memory proof = MerkleRef.proof(ids, 0);
        assertEq(MerkleRef.processProof(MerkleRef.leaf(ids[0]), proof), root, "proof is correct");
        assertEq(reg.anchorBlock(root), 0, "not anchored");
        assertFalse(reg.verifyAnchored(root, ids[0], proof), "unknown root");
        // A single leaf is its own root, still not anchored.
        assertFalse(reg.verifyAnchored(MerkleRef.leaf(ids[0]), ids[0], _none()), "unanchored leaf root");
        assertFalse(reg.verifyAnchored(bytes32(0), bytes32(0), _none()), "zero root");
    }

    /// @dev Ties the reference tree to the real OpenZeppelin library: values computed with
    ///      the npm package openzeppelin merkle-tree 1.0.8 `StandardMerkleTree.of([[1],[2],[3],[4]], ["bytes32"])`.
    function test_merkleReference_matchesOpenZeppelinStandardMerkleTree() public pure {
        bytes32[] memory values = new bytes32[](4);
        for (uint256 i; i < 4; ++i) {
            values[i] = bytes32(i + 1);
        }
        bytes32[] memory ls = MerkleRef.leaves(values);
        assertEq(ls[0], 0xb5d9d894133a730aa651ef62d26b0ffa846233c74177a591a4a896adfda97d22, "leaf 1");
        assertEq(ls[1], 0x1ab0c6948a275349ae45a06aad66a8bd65ac18074615d53676c09b67809099e0, "leaf 2");
        assertEq(ls[2], 0x2584db4a68aa8b172f70bc04e2e74541617c003374de6eb4b295e823e5beab01, "leaf 3");
        assertEq(ls[3], 0xc167b0e3c82238f4f2d1a50a8b3a44f96311d77b148c30dc0ef863e1a060dcb6, "leaf 4");
        bytes32 ozRoot = 0x4c8ce3926f0293b1d281eac81d8f773dc2a9333e951e7b199adeebc7d7a2ed66;
        // OZ sorts leaves; with 4 leaves (no odd carry) the tree over sorted leaves is the same.
        bytes32[] memory sorted = new bytes32[](4);
        (sorted[0], sorted[1], sorted[2], sorted[3]) = (ls[1], ls[2], ls[0], ls[3]);
        for (uint256 i; i + 1 < 4; ++i) {
            assert(sorted[i] < sorted[i + 1]);
        }
        assertEq(MerkleRef.rootOfLeaves(sorted), ozRoot, "root");
        // An OZ proof (for value 1) verifies under the reference hashing.
        bytes32[] memory ozProof = new bytes32[](2);
        ozProof[0] = 0xc167b0e3c82238f4f2d1a50a8b3a44f96311d77b148c30dc0ef863e1a060dcb6;
        ozProof[1] = 0x673620737675e2755ce8269a99904022d15da8d5843f5aec205cd243ff80240a;
        assertEq(MerkleRef.processProof(ls[0], ozProof), ozRoot, "OZ proof");
    }

    // ============================================================ recordBlock / anchorBlock

    function test_recordBlockAndAnchorBlock_zeroWhenUnknown() public view {
        assertEq(reg.recordBlock(keccak256("x")), 0, "recordBlock");
        assertEq(reg.anchorBlock(keccak256("x")), 0, "anchorBlock");
    }

    // ========================================================== computeRecordId

    function test_computeRecordId_isKeccakOfAbiEncoding() public view {
        IProvenanceRegistry.TrainingRun memory run = _run(
            keccak256("llama-mini"),
            "1.0.0",
            keccak256("weights-v1"),
            _one(keccak256("parent")),
            _uses(
                IProvenanceRegistry.DatanetUse(keccak256("wikipedia-en"), 2, 600_000),
                IProvenanceRegistry.DatanetUse(keccak256("the-stack"), 1, 400_000)
            )
        );
        bytes32 id = reg.computeRecordId(run);
        assertEq(id, keccak256(abi.encode(run)), "keccak256(abi.encode(run))");
        // Independent vector: Python eth_abi encode of the same tuple.
        assertEq(id, 0xe35ccb15a4655c1fc11251f972e3b87eaa7b9a283c14fbbe813d15fedcf78827, "eth_abi vector");
    }

    function testFuzz_computeRecordId_isKeccakOfAbiEncoding(IProvenanceRegistry.TrainingRun calldata run) public view {
        assertEq(reg.computeRecordId(run), keccak256(abi.encode(run)), "keccak256(abi.encode(run))");
    }

    // =================================================== computeModelVersionKey

    function test_computeModelVersionKey() public view {
        bytes32 key = reg.computeModelVersionKey(keccak256("llama-mini"), "1.0.0");
        assertEq(key, keccak256(abi.encode(keccak256("llama-mini"), "1.0.0")), "keccak256(abi.encode(id, v))");
        // Independent vector: Python eth_abi encode(["bytes32","string"], ...).
        assertEq(key, 0xf930fecda93807cfc3f216751d4eecce8d89c2837a29d9405da7aab3fd3c2ba5, "eth_abi vector");
    }

    function testFuzz_computeModelVersionKey(bytes32 id, string calldata modelVersion) public view {
        assertEq(reg.computeModelVersionKey(id, modelVersion), keccak256(abi.encode(id, modelVersion)), "key");
    }

    // ================================================================ squatting

    /// @dev A squatter registering the victims' exact names gets ids of its own, and no authority over
    ///      the victims' model or DataNet through any entry point.
    function test_squatter_getsOwnIdsAndNoAuthorityOverTheVictims() public {
        vm.startPrank(squatter);
        bytes32 fakeModel = reg.registerModel("llama-mini");
        bytes32 fakeDatanet = reg.registerDatanet("wikipedia-en");
        vm.stopPrank();
        assertNotEq(fakeModel, modelId, "another model id");
        assertNotEq(fakeDatanet, dn[0], "another DataNet id");
        assertEq(fakeModel, _entity(squatter, "llama-mini"), "squatter's model id");
        assertEq(fakeDatanet, _entity(squatter, "wikipedia-en"), "squatter's DataNet id");
        assertEq(reg.modelOwner(modelId), owner, "victim still owns its model");
        (address o, uint64 count) = reg.datanet(dn[0]);
        assertEq(o, dataOwner, "victim still owns its DataNet");
        assertFalse(reg.canRecord(modelId, squatter), "no authority over the victim's model");

        // It cannot record for the victim's model, directly or by signing.
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        IProvenanceRegistry.TrainingRun[] memory runs = _single(run);
        bytes memory notTrainer = _err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, squatter);
        vm.prank(squatter);
        vm.expectRevert(notTrainer);
        reg.recordRun(run, _np());
        vm.prank(squatter);
        vm.expectRevert(notTrainer);
        reg.recordRuns(runs, _np());
        vm.prank(squatter);
        vm.expectRevert(notTrainer);
        reg.anchorRuns(runs, _np());
        bytes memory sig = _sign(uint256(keccak256("squatter")), _id(run));
        vm.prank(stranger);
        vm.expectRevert(notTrainer);
        reg.recordRunSigned(run, _np(), squatter, sig);
        // Nor make itself a trainer, or retract the victim's model version.
        vm.prank(squatter);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, squatter));
        reg.authorizeTrainer(modelId, squatter);
        vm.prank(squatter);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, squatter));
        reg.retractModelVersion(modelId, "1.0.0", 5, "");

        // It cannot publish to, or retract, the victim's DataNet.
        IProvenanceRegistry.Contributor[] memory cs = _contributors();
        vm.prank(squatter);
        vm.expectRevert(_err(IProvenanceRegistry.NotDatanetOwner.selector, dn[0], squatter));
        reg.publishDatanetVersion(dn[0], keccak256("poison"), bytes32(0), TERMS, cs);
        vm.prank(squatter);
        vm.expectRevert(_err(IProvenanceRegistry.NotDatanetOwner.selector, dn[0], squatter));
        reg.retractDatanetVersion(dn[0], 1, 1, "");

        // What it does under its own ids leaves the victims' untouched.
        vm.startPrank(squatter);
        reg.publishDatanetVersion(fakeDatanet, keccak256("poison"), bytes32(0), TERMS, cs);
        IProvenanceRegistry.TrainingRun memory own = _simpleRun(2);
        own.modelId = fakeModel;
        reg.recordRun(own, _np());
        vm.stopPrank();
        (, count) = reg.datanet(dn[0]);
        assertEq(count, 2, "victim's versions untouched");
        assertEq(reg.datanetVersion(dn[0], 1).contentRoot, keccak256(abi.encode("root", 0, 1)), "victim's v1");
        // The victim's trainer still records for the victim's model.
        assertEq(reg.recordBlock(_recordAs(trainer, run)), block.number, "victim records");
    }

    function testFuzz_squatter_getsAnotherIdForTheSameName(address claimant, string calldata name) public {
        vm.assume(claimant != owner && claimant != address(0));
        vm.assume(bytes(name).length > 0 && bytes(name).length <= 128);
        vm.assume(_entity(owner, name) != modelId && _entity(owner, name) != otherModelId);
        vm.assume(_entity(claimant, name) != modelId && _entity(claimant, name) != otherModelId);
        vm.prank(owner);
        bytes32 victim = reg.registerModel(name);
        vm.prank(claimant);
        bytes32 claimed = reg.registerModel(name);
        assertNotEq(claimed, victim, "distinct ids");
        assertEq(reg.modelOwner(victim), owner, "victim keeps its model");
        assertEq(reg.modelOwner(claimed), claimant, "claimant owns its own");
        assertFalse(reg.canRecord(victim, claimant), "no authority over the victim's model");
    }

    // ================================================================== limits

    function test_recordRun_modelVersionLimit() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.modelVersion = string(_bytes(64, "9"));
        assertEq(reg.recordBlock(_recordAs(owner, run)), block.number, "64 bytes");
        run.modelVersion = string(_bytes(65, "9"));
        vm.prank(owner);
        vm.expectRevert(_tooLarge("modelVersion", 65, 64));
        reg.recordRun(run, _np());
    }

    function testFuzz_recordRun_revertsOnTooLargeModelVersion(uint256 length) public {
        length = bound(length, 65, 2048);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.modelVersion = string(_bytes(length, "v"));
        vm.prank(owner);
        vm.expectRevert(_tooLarge("modelVersion", length, 64));
        reg.recordRun(run, _np());
    }

    function test_recordRun_detailsLimit() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.details = _bytes(16_384, " ");
        assertEq(reg.recordBlock(_recordAs(owner, run)), block.number, "16,384 bytes");
        run.details = _bytes(16_385, " ");
        vm.prank(owner);
        vm.expectRevert(_tooLarge("details", 16_385, 16_384));
        reg.recordRun(run, _np());
    }

    function testFuzz_recordRun_revertsOnTooLargeDetails(uint256 length) public {
        length = bound(length, 16_385, 20_000);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.details = _bytes(length, "d");
        vm.prank(owner);
        vm.expectRevert(_tooLarge("details", length, 16_384));
        reg.recordRun(run, _np());
    }

    function test_recordRun_parentsLimit() public {
        bytes32[] memory parents = new bytes32[](17);
        for (uint256 i; i < 17; ++i) {
            parents[i] = _recordAs(owner, _simpleRun(100 + i));
        }
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.parents = parents;
        vm.prank(owner);
        vm.expectRevert(_tooLarge("parents", 17, 16));
        reg.recordRun(run, _np());
        assembly ("memory-safe") {
            mstore(parents, 16)
        }
        run.parents = parents;
        assertEq(reg.recordBlock(_recordAs(owner, run)), block.number, "16 parents");
    }

    function test_recordRun_datanetsLimit() public {
        IProvenanceRegistry.Contributor[] memory none = new IProvenanceRegistry.Contributor[](0);
        vm.startPrank(dataOwner);
        for (uint64 v = 3; v <= 65; ++v) {
            reg.publishDatanetVersion(dn[0], keccak256(abi.encode(v)), bytes32(0), "", none);
        }
        vm.stopPrank();
        IProvenanceRegistry.DatanetUse[] memory uses = new IProvenanceRegistry.DatanetUse[](65);
        for (uint256 i; i < 65; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            uses[i] = _use(0, uint64(i + 1), 15_625); // 64 x 15,625 = 1,000,000
        }
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = uses;
        vm.prank(owner);
        vm.expectRevert(_tooLarge("datanets", 65, 64));
        reg.recordRun(run, _np());
        assembly ("memory-safe") {
            mstore(uses, 64)
        }
        run.datanets = uses;
        assertEq(reg.recordBlock(_recordAs(owner, run)), block.number, "64 DataNet versions");
    }

    function test_recordRuns_runsLimit() public {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(257, 1);
        vm.prank(owner);
        vm.expectRevert(_tooLarge("runs", 257, 256));
        reg.recordRuns(runs, _np());
        vm.prank(owner);
        vm.expectRevert(_tooLarge("runs", 257, 256));
        reg.anchorRuns(runs, _np());
    }

    function test_anchorRuns_acceptsTheMaximumBatch() public {
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(256, 2);
        vm.prank(owner);
        bytes32 root = reg.anchorRuns(runs, _np());
        assertEq(root, MerkleRef.root(_ids(runs)), "root of 256 runs");
    }

    function testFuzz_recordRuns_revertsOnTooManyRuns(uint256 n) public {
        n = bound(n, 257, 300);
        IProvenanceRegistry.TrainingRun[] memory runs = new IProvenanceRegistry.TrainingRun[](n);
        vm.prank(owner);
        vm.expectRevert(_tooLarge("runs", n, 256));
        reg.recordRuns(runs, _np());
    }

    function test_publishDatanetVersion_termsAndContributorsLimits() public {
        IProvenanceRegistry.Contributor[] memory cs = new IProvenanceRegistry.Contributor[](256);
        bytes memory terms = _bytes(16_384, "t");
        vm.startPrank(dataOwner);
        assertEq(reg.publishDatanetVersion(dn[1], keccak256("c"), bytes32(0), terms, cs), 2, "at the limits");
        vm.expectRevert(_tooLarge("terms", 16_385, 16_384));
        reg.publishDatanetVersion(dn[1], keccak256("c"), bytes32(0), _bytes(16_385, "t"), cs);
        IProvenanceRegistry.Contributor[] memory many = new IProvenanceRegistry.Contributor[](257);
        vm.expectRevert(_tooLarge("contributors", 257, 256));
        reg.publishDatanetVersion(dn[1], keccak256("c"), bytes32(0), TERMS, many);
        vm.stopPrank();
    }

    function testFuzz_publishDatanetVersion_revertsOverLimits(uint256 termsLength, uint256 nContributors) public {
        termsLength = bound(termsLength, 16_385, 20_000);
        nContributors = bound(nContributors, 257, 400);
        IProvenanceRegistry.Contributor[] memory cs = _contributors();
        vm.prank(dataOwner);
        vm.expectRevert(_tooLarge("terms", termsLength, 16_384));
        reg.publishDatanetVersion(dn[1], keccak256("c"), bytes32(0), _bytes(termsLength, "t"), cs);
        cs = new IProvenanceRegistry.Contributor[](nContributors);
        vm.prank(dataOwner);
        vm.expectRevert(_tooLarge("contributors", nContributors, 256));
        reg.publishDatanetVersion(dn[1], keccak256("c"), bytes32(0), TERMS, cs);
    }

    // ============================================== zero weights, duplicate uses

    function test_recordRun_revertsOnZeroWeight() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = _uses(_use(0, 1, W), _use(1, 1, 0));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.ZeroWeight.selector, dn[1], 1));
        reg.recordRun(run, _np());
        // A single zero-weight use is a ZeroWeight too (not a WeightsDoNotSum).
        run.datanets = _uses(_use(2, 1, 0));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.ZeroWeight.selector, dn[2], 1));
        reg.recordRun(run, _np());
    }

    function testFuzz_recordRun_revertsOnZeroWeight(uint256 nSeed, uint256 zeroAt) public {
        uint256 n = bound(nSeed, 1, 5);
        zeroAt = bound(zeroAt, 0, n - 1);
        uint32[] memory w = new uint32[](n);
        for (uint256 i; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            w[i] = i == zeroAt ? 0 : uint32(W / n);
        }
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = _usesWeighted(w);
        vm.prank(trainer);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.ZeroWeight.selector, dn[zeroAt], 1));
        reg.recordRun(run, _np());
    }

    function test_recordRun_revertsOnDuplicateDatanetUse() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = _uses(_use(0, 1, 500_000), _use(0, 1, 500_000));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.DuplicateDatanetUse.selector, dn[0], 1));
        reg.recordRun(run, _np());
        // Two versions of one DataNet are two uses.
        run.datanets = _uses(_use(0, 1, 500_000), _use(0, 2, 500_000));
        assertEq(reg.recordBlock(_recordAs(owner, run)), block.number, "v1 and v2 of one DataNet");
    }

    function testFuzz_recordRun_revertsOnDuplicateDatanetUse(uint256 nSeed, uint256 first, uint256 second) public {
        uint256 n = bound(nSeed, 2, 5);
        second = bound(second, 1, n - 1);
        first = bound(first, 0, second - 1);
        IProvenanceRegistry.DatanetUse[] memory uses = new IProvenanceRegistry.DatanetUse[](n);
        for (uint256 i; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            uses[i] = _use(i, 1, uint32(W / n));
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        uses[second] = _use(first, 1, uint32(W / n));
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = uses;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.DuplicateDatanetUse.selector, dn[first], 1));
        reg.recordRun(run, _np());
    }

    function test_recordRun_revertsOnDuplicateParent() public {
        bytes32 p = _recordAs(owner, _simpleRun(100));
        bytes32 q = _recordAs(owner, _simpleRun(101));
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32[] memory parents = new bytes32[](2);
        (parents[0], parents[1]) = (p, p);
        run.parents = parents;
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.DuplicateParent.selector, p));
        reg.recordRun(run, _np());
        parents = new bytes32[](3);
        (parents[0], parents[1], parents[2]) = (q, p, q);
        run.parents = parents;
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.DuplicateParent.selector, q));
        reg.recordRun(run, _np());
    }

    function testFuzz_recordRun_revertsOnDuplicateParent(uint256 nSeed, uint256 first, uint256 second) public {
        uint256 n = bound(nSeed, 2, 16);
        second = bound(second, 1, n - 1);
        first = bound(first, 0, second - 1);
        bytes32[] memory parents = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            parents[i] = _recordAs(owner, _simpleRun(1000 + i));
        }
        parents[second] = parents[first];
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.parents = parents;
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.DuplicateParent.selector, parents[first]));
        reg.recordRun(run, _np());
    }

    // ============================================================ retractions

    function test_retractDatanetVersion_emitsAndStoresNothing() public {
        IProvenanceRegistry.DatanetVersion memory before = reg.datanetVersion(dn[0], 2);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetVersionRetracted(dn[0], dataOwner, 2, 1, "ipfs://why");
        vm.prank(dataOwner);
        reg.retractDatanetVersion(dn[0], 2, 1, "ipfs://why");
        IProvenanceRegistry.DatanetVersion memory afterwards = reg.datanetVersion(dn[0], 2);
        assertEq(abi.encode(afterwards), abi.encode(before), "version unchanged");
        (, uint64 count) = reg.datanet(dn[0]);
        assertEq(count, 2, "count unchanged");
        // Append-only: it may be retracted again (another reason), and runs may still name it.
        vm.prank(dataOwner);
        reg.retractDatanetVersion(dn[0], 2, 4, "");
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.datanets = _uses(_use(0, 2, W));
        assertEq(reg.recordBlock(_recordAs(owner, run)), block.number, "still usable");
    }

    function testFuzz_retractDatanetVersion(uint256 versionSeed, uint8 reason, string calldata note) public {
        uint64 v = uint64(bound(versionSeed, 1, 2));
        reason = uint8(bound(reason, 1, 5));
        vm.assume(bytes(note).length <= 1024);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetVersionRetracted(dn[0], dataOwner, v, reason, note);
        vm.prank(dataOwner);
        reg.retractDatanetVersion(dn[0], v, reason, note);
    }

    function test_retractDatanetVersion_reverts() public {
        bytes32 unknown = keccak256("nope");
        vm.prank(dataOwner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownDatanet.selector, unknown));
        reg.retractDatanetVersion(unknown, 1, 1, "");
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.NotDatanetOwner.selector, dn[0], owner));
        reg.retractDatanetVersion(dn[0], 1, 1, "");
        vm.prank(dataOwner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownDatanetVersion.selector, dn[0], 0));
        reg.retractDatanetVersion(dn[0], 0, 1, "");
        vm.prank(dataOwner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownDatanetVersion.selector, dn[0], 3));
        reg.retractDatanetVersion(dn[0], 3, 1, "");
        vm.prank(dataOwner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, 0));
        reg.retractDatanetVersion(dn[0], 1, 0, "");
        vm.prank(dataOwner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, 6));
        reg.retractDatanetVersion(dn[0], 1, 6, "");
        string memory longNote = string(_bytes(1025, "n"));
        vm.prank(dataOwner);
        vm.expectRevert(_tooLarge("note", 1025, 1024));
        reg.retractDatanetVersion(dn[0], 1, 1, longNote);
        vm.prank(dataOwner);
        reg.retractDatanetVersion(dn[0], 1, 5, string(_bytes(1024, "n"))); // at the limit
    }

    function testFuzz_retractDatanetVersion_revertsOnInvalidReason(uint8 reason) public {
        vm.assume(reason == 0 || reason > 5);
        vm.prank(dataOwner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, reason));
        reg.retractDatanetVersion(dn[0], 1, reason, "");
    }

    function testFuzz_retractDatanetVersion_revertsForNonOwner(address caller) public {
        vm.assume(caller != dataOwner);
        vm.prank(caller);
        vm.expectRevert(_err(IProvenanceRegistry.NotDatanetOwner.selector, dn[0], caller));
        reg.retractDatanetVersion(dn[0], 1, 1, "");
    }

    function test_retractModelVersion_emits() public {
        _recordAs(trainer, _simpleRun(1));
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ModelVersionRetracted(modelId, _key(modelId, "1.0.0"), owner, "1.0.0", 2, "sha256:ab");
        vm.prank(owner);
        reg.retractModelVersion(modelId, "1.0.0", 2, "sha256:ab");
        // Records stay: the run is still recorded and still blocks a replay.
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyRecorded.selector, _id(_simpleRun(1))));
        reg.recordRun(_simpleRun(1), _np());
    }

    function testFuzz_retractModelVersion(string calldata modelVersion, uint8 reason, string calldata note) public {
        vm.assume(bytes(modelVersion).length > 0 && bytes(modelVersion).length <= 64 && bytes(note).length <= 1024);
        reason = uint8(bound(reason, 1, 5));
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ModelVersionRetracted(
            modelId, _key(modelId, modelVersion), owner, modelVersion, reason, note
        );
        vm.prank(owner);
        reg.retractModelVersion(modelId, modelVersion, reason, note);
    }

    function test_retractModelVersion_reverts() public {
        bytes32 unknown = keccak256("nope");
        vm.prank(owner);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownModel.selector, unknown));
        reg.retractModelVersion(unknown, "1.0.0", 1, "");
        // A trainer is not the owner.
        vm.prank(trainer);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, trainer));
        reg.retractModelVersion(modelId, "1.0.0", 1, "");
        vm.prank(owner);
        vm.expectRevert(IProvenanceRegistry.EmptyModelVersion.selector);
        reg.retractModelVersion(modelId, "", 1, "");
        string memory longVersion = string(_bytes(65, "9"));
        vm.prank(owner);
        vm.expectRevert(_tooLarge("modelVersion", 65, 64));
        reg.retractModelVersion(modelId, longVersion, 1, "");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, 0));
        reg.retractModelVersion(modelId, "1.0.0", 0, "");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, 6));
        reg.retractModelVersion(modelId, "1.0.0", 6, "");
        string memory longNote = string(_bytes(1025, "n"));
        vm.prank(owner);
        vm.expectRevert(_tooLarge("note", 1025, 1024));
        reg.retractModelVersion(modelId, "1.0.0", 1, longNote);
    }

    function testFuzz_retractModelVersion_revertsOnInvalidReason(uint8 reason) public {
        vm.assume(reason == 0 || reason > 5);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.InvalidReason.selector, reason));
        reg.retractModelVersion(modelId, "1.0.0", reason, "");
    }

    function testFuzz_retractModelVersion_revertsForNonOwner(address caller) public {
        vm.assume(caller != owner);
        vm.prank(caller);
        vm.expectRevert(_err(IProvenanceRegistry.NotModelOwner.selector, modelId, caller));
        reg.retractModelVersion(modelId, "1.0.0", 1, "");
    }

    function testFuzz_retract_revertsOnTooLongNote(uint256 length) public {
        length = bound(length, 1025, 4096);
        string memory note = string(_bytes(length, "n"));
        vm.prank(owner);
        vm.expectRevert(_tooLarge("note", length, 1024));
        reg.retractModelVersion(modelId, "1.0.0", 3, note);
        vm.prank(dataOwner);
        vm.expectRevert(_tooLarge("note", length, 1024));
        reg.retractDatanetVersion(dn[0], 1, 3, note);
    }

    // ====================================================== canonical encoding

    /// @dev The head word offsets of the run's tuple inside abi.encodeCall(recordRun, (run, proofs)):
    ///      the selector (4) and two head words (0x40) precede it.
    uint256 internal constant RUN_AT = 4 + 0x40;

    function _recordCall(IProvenanceRegistry.TrainingRun memory run, IProvenanceRegistry.AnchorProof[] memory ps)
        internal
        view
        returns (bytes memory)
    {
        return abi.encodeCall(reg.recordRun, (run, ps));
    }

    function _callAs(address who, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(who);
        (ok, ret) = address(reg).call(data);
    }

    function _word(bytes memory data, uint256 offset) internal pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := mload(add(add(data, 0x20), offset))
        }
    }

    function _setWord(bytes memory data, uint256 offset, uint256 w) internal pure {
        assembly ("memory-safe") {
            mstore(add(add(data, 0x20), offset), w)
        }
    }

    function _assertNonCanonical(bytes memory data) internal {
        (bool ok, bytes memory ret) = _callAs(owner, data);
        assertFalse(ok, "rejected");
        assertEq(ret, abi.encodeWithSelector(IProvenanceRegistry.NonCanonicalEncoding.selector), "NonCanonicalEncoding");
    }

    /// @dev Every tampering of a canonical encoding is caught, with arguments following the run.
    function test_recordRun_revertsOnNonCanonicalEncoding() public {
        bytes32 p = _recordAs(owner, _simpleRun(50));
        IProvenanceRegistry.TrainingRun memory run = _childRun(1, p);
        run.modelVersion = "1.0.0-rc"; // 8 bytes: padding follows
        run.details = bytes("{}"); // 2 bytes: padding follows
        bytes memory good = _recordCall(run, _np());
        // Layout of the tuple: 6 head words, modelVersion (0xc0), parents (0x100), uses (0x140), details.
        uint256 t = RUN_AT;
        assertEq(_word(good, t + 0x20), 0xc0, "modelVersion offset");
        uint256 usesAt = t + _word(good, t + 0x80);
        uint256 detailsAt = t + _word(good, t + 0xa0);

        bytes memory bad = bytes.concat(good);
        _setWord(bad, t + 0x20, 0xe0); // modelVersion offset moved
        _assertNonCanonical(bad);
        bad = bytes.concat(good);
        _setWord(bad, t + 0xe0, _word(good, t + 0xe0) | 1); // dirty padding after modelVersion
        _assertNonCanonical(bad);
        bad = bytes.concat(good);
        _setWord(bad, t + 0x60, _word(good, t + 0x60) + 0x20); // parents offset
        _assertNonCanonical(bad);
        bad = bytes.concat(good);
        _setWord(bad, usesAt + 0x40, (1 << 64) | 1); // version above uint64
        _assertNonCanonical(bad);
        bad = bytes.concat(good);
        _setWord(bad, usesAt + 0x60, (1 << 32) | W); // weight above uint32
        _assertNonCanonical(bad);
        bad = bytes.concat(good);
        _setWord(bad, detailsAt + 0x20, _word(good, detailsAt + 0x20) | 1); // dirty padding after details
        _assertNonCanonical(bad);
        bad = bytes.concat(good);
        _setWord(bad, t + 0xa0, _word(good, t + 0xa0) + 0x20); // details offset
        _assertNonCanonical(bad);

        (bool ok,) = _callAs(owner, good);
        assertTrue(ok, "the canonical encoding is accepted");
    }

    /// @dev The run's bytes are read from its own tuple wherever it sits: arguments may follow it (proofs,
    ///      signer, signature) or precede it in calldata, and the record is still exactly abi.encode(run).
    function test_recordRun_canonicalRunWithOtherArgumentsAround() public {
        IProvenanceRegistry.TrainingRun[] memory base = _batch(3, 77);
        vm.prank(owner);
        reg.anchorRuns(base, _np());
        bytes32[] memory ids = _ids(base);
        IProvenanceRegistry.TrainingRun memory run = _childRun(1, ids[1]);
        bytes memory data = _recordCall(run, _proofs(_anchorProof(ids, 1)));
        vm.recordLogs();
        (bool ok,) = _callAs(trainer, data);
        assertTrue(ok, "proofs after the run");
        assertEq(_recordedBytes(vm.getRecordedLogs(), _id(run)), abi.encode(run), "record bytes");

        // The same call with the proofs' tail placed before the run's.
        IProvenanceRegistry.TrainingRun memory run2 = _childRun(2, ids[1]);
        bytes memory ps = abi.encode(_proofs(_anchorProof(ids, 1))); // 0x20 ++ array
        bytes memory tuple = abi.encode(run2); // 0x20 ++ tuple
        bytes memory psTail = _slice(ps, 0x20, ps.length);
        bytes memory runTail = _slice(tuple, 0x20, tuple.length);
        bytes memory swapped = bytes.concat(
            reg.recordRun.selector, bytes32(0x40 + psTail.length), bytes32(uint256(0x40)), psTail, runTail
        );
        vm.recordLogs();
        (ok,) = _callAs(trainer, swapped);
        assertTrue(ok, "proofs before the run");
        assertEq(_recordedBytes(vm.getRecordedLogs(), _id(run2)), abi.encode(run2), "record bytes");
    }

    function testFuzz_recordRun_rejectsAnyDirtyPadding(uint256 garbage, uint256 which) public {
        garbage = bound(garbage, 1, type(uint256).max);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        run.modelVersion = "1.0.0"; // 5 bytes: 27 bytes of padding
        run.details = bytes("{}"); // 2 bytes: 30 bytes of padding
        bytes memory data = _recordCall(run, _np());
        uint256 t = RUN_AT;
        bool inVersion = which % 2 == 0;
        uint256 where = inVersion ? t + 0xe0 : t + _word(data, t + 0xa0) + 0x20;
        uint256 used = inVersion ? 5 : 2;
        uint256 mask = type(uint256).max >> (8 * used); // the padding bytes of that word
        vm.assume(garbage & mask != 0);
        _setWord(data, where, _word(data, where) | (garbage & mask));
        _assertNonCanonical(data);
    }

    function _slice(bytes memory b, uint256 from, uint256 to) internal pure returns (bytes memory out) {
        out = new bytes(to - from);
        for (uint256 i; i < out.length; ++i) {
            out[i] = b[from + i];
        }
    }
}
