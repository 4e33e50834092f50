// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./Test.sol";
import {Vm} from "./Vm.sol";
import {MerkleRef} from "./MerkleRef.sol";
import {IProvenanceRegistry} from "../../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../../contracts/ProvenanceRegistry.sol";

/// @notice Shared fixture: one model with an owner and a trainer, a second model with another owner,
///         and five DataNets (the first with two published versions, the others with one).
abstract contract RegistryFixture is Test {
    uint32 internal constant W = 1_000_000;
    uint256 internal constant N_DATANETS = 5;

    ProvenanceRegistry internal reg;

    address internal owner;
    address internal trainer;
    address internal otherOwner;
    address internal dataOwner;
    address internal stranger;
    /// @dev Registers the victims' names under its own account (owner-scoped ids make that harmless).
    address internal squatter;
    uint256 internal ownerKey;
    uint256 internal trainerKey;

    bytes32 internal modelId;
    bytes32 internal otherModelId;
    bytes32[N_DATANETS] internal dn;

    bytes internal constant TERMS = bytes('{"license":"CC-BY-4.0"}');
    bytes internal constant DETAILS = bytes('{"epochs":3,"lr":0.001}');

    function setUp() public virtual {
        reg = new ProvenanceRegistry();
        vm.label(address(reg), "ProvenanceRegistry");
        owner = makeAddr("owner");
        trainer = makeAddr("trainer");
        otherOwner = makeAddr("otherOwner");
        dataOwner = makeAddr("dataOwner");
        stranger = makeAddr("stranger");
        squatter = makeAddr("squatter");
        // makeAddr(name) is vm.addr(uint256(keccak256(name))): the keys sign EIP-712 records.
        ownerKey = uint256(keccak256("owner"));
        trainerKey = uint256(keccak256("trainer"));

        vm.startPrank(owner);
        modelId = reg.registerModel("llama-mini");
        reg.authorizeTrainer(modelId, trainer);
        vm.stopPrank();
        vm.prank(otherOwner);
        otherModelId = reg.registerModel("bert-tiny");

        string[N_DATANETS] memory names = ["wikipedia-en", "the-stack", "arxiv", "books", "c4"];
        vm.startPrank(dataOwner);
        for (uint256 i; i < N_DATANETS; ++i) {
            dn[i] = reg.registerDatanet(names[i]);
            reg.publishDatanetVersion(dn[i], keccak256(abi.encode("root", i, 1)), bytes32(i), TERMS, _contributors());
        }
        reg.publishDatanetVersion(dn[0], keccak256(abi.encode("root", 0, 2)), bytes32(0), TERMS, _contributors());
        vm.stopPrank();
    }

    // ------------------------------------------------------------- builders

    function _contributors() internal pure returns (IProvenanceRegistry.Contributor[] memory cs) {
        cs = new IProvenanceRegistry.Contributor[](2);
        cs[0] = IProvenanceRegistry.Contributor({account: address(0xA1), shares: 3});
        cs[1] = IProvenanceRegistry.Contributor({account: address(0xB2), shares: 1});
    }

    function _use(uint256 i, uint64 v, uint32 w) internal view returns (IProvenanceRegistry.DatanetUse memory) {
        return IProvenanceRegistry.DatanetUse({datanetId: dn[i], version: v, weightPpm: w});
    }

    function _uses(IProvenanceRegistry.DatanetUse memory a)
        internal
        pure
        returns (IProvenanceRegistry.DatanetUse[] memory us)
    {
        us = new IProvenanceRegistry.DatanetUse[](1);
        us[0] = a;
    }

    function _uses(IProvenanceRegistry.DatanetUse memory a, IProvenanceRegistry.DatanetUse memory b)
        internal
        pure
        returns (IProvenanceRegistry.DatanetUse[] memory us)
    {
        us = new IProvenanceRegistry.DatanetUse[](2);
        us[0] = a;
        us[1] = b;
    }

    /// @dev Uses dn[0..n) at version 1 with the given weights.
    function _usesWeighted(uint32[] memory w) internal view returns (IProvenanceRegistry.DatanetUse[] memory us) {
        us = new IProvenanceRegistry.DatanetUse[](w.length);
        for (uint256 i; i < w.length; ++i) {
            us[i] = _use(i, 1, w[i]);
        }
    }

    function _none() internal pure returns (bytes32[] memory) {
        return new bytes32[](0);
    }

    function _one(bytes32 x) internal pure returns (bytes32[] memory a) {
        a = new bytes32[](1);
        a[0] = x;
    }

    function _run(
        bytes32 model,
        string memory modelVersion,
        bytes32 digest,
        bytes32[] memory parents,
        IProvenanceRegistry.DatanetUse[] memory uses
    ) internal pure returns (IProvenanceRegistry.TrainingRun memory) {
        return IProvenanceRegistry.TrainingRun({
            modelId: model,
            modelVersion: modelVersion,
            weightsDigest: digest,
            parents: parents,
            datanets: uses,
            details: DETAILS
        });
    }

    /// @dev A valid run of `modelId` on wikipedia-en v1, distinct per `salt`.
    function _simpleRun(uint256 salt) internal view returns (IProvenanceRegistry.TrainingRun memory) {
        return _run(modelId, "1.0.0", keccak256(abi.encode("weights", salt)), _none(), _uses(_use(0, 1, W)));
    }

    function _childRun(uint256 salt, bytes32 parent) internal view returns (IProvenanceRegistry.TrainingRun memory r) {
        r = _simpleRun(salt);
        r.modelVersion = "1.1.0";
        r.parents = _one(parent);
    }

    function _batch(uint256 n, uint256 salt) internal view returns (IProvenanceRegistry.TrainingRun[] memory runs) {
        runs = new IProvenanceRegistry.TrainingRun[](n);
        for (uint256 i; i < n; ++i) {
            runs[i] = _simpleRun(uint256(keccak256(abi.encode(salt, i))));
        }
    }

    function _pair(IProvenanceRegistry.TrainingRun memory a, IProvenanceRegistry.TrainingRun memory b)
        internal
        pure
        returns (IProvenanceRegistry.TrainingRun[] memory runs)
    {
        runs = new IProvenanceRegistry.TrainingRun[](2);
        runs[0] = a;
        runs[1] = b;
    }

    function _single(IProvenanceRegistry.TrainingRun memory a)
        internal
        pure
        returns (IProvenanceRegistry.TrainingRun[] memory runs)
    {
        runs = new IProvenanceRegistry.TrainingRun[](1);
        runs[0] = a;
    }

    function _id(IProvenanceRegistry.TrainingRun memory run) internal pure returns (bytes32) {
        return keccak256(abi.encode(run));
    }

    function _ids(IProvenanceRegistry.TrainingRun[] memory runs) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](runs.length);
        for (uint256 i; i < runs.length; ++i) {
            ids[i] = _id(runs[i]);
        }
    }

    function _key(bytes32 model, string memory modelVersion) internal pure returns (bytes32) {
        return keccak256(abi.encode(model, modelVersion));
    }

    function _recordAs(address who, IProvenanceRegistry.TrainingRun memory run) internal returns (bytes32) {
        vm.prank(who);
        return reg.recordRun(run, _np());
    }

    /// @dev No anchored-parent proofs.
    function _np() internal pure returns (IProvenanceRegistry.AnchorProof[] memory) {
        return new IProvenanceRegistry.AnchorProof[](0);
    }

    function _proofs(IProvenanceRegistry.AnchorProof memory a)
        internal
        pure
        returns (IProvenanceRegistry.AnchorProof[] memory ps)
    {
        ps = new IProvenanceRegistry.AnchorProof[](1);
        ps[0] = a;
    }

    /// @dev The proof that `ids[index]` is in the batch `ids` (anchored as one batch, in this order).
    function _anchorProof(bytes32[] memory ids, uint256 index)
        internal
        pure
        returns (IProvenanceRegistry.AnchorProof memory)
    {
        return IProvenanceRegistry.AnchorProof({
            recordId: ids[index], root: MerkleRef.root(ids), proof: MerkleRef.proof(ids, index)
        });
    }

    /// @dev The owner-scoped id `who` gets for `name`.
    function _entity(address who, string memory name) internal pure returns (bytes32) {
        return keccak256(abi.encode(who, name));
    }

    /// @dev A 65-byte (r, s, v) signature by `key` over the record's EIP-712 digest on `registry`.
    function _sign(uint256 key, ProvenanceRegistry registry, bytes32 recordId) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, registry.recordDigest(recordId));
        return abi.encodePacked(r, s, v);
    }

    function _sign(uint256 key, bytes32 recordId) internal view returns (bytes memory) {
        return _sign(key, reg, recordId);
    }

    function _err(bytes4 selector, bytes32 a, uint256 b) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, b);
    }

    function _tooLarge(bytes32 field, uint256 size, uint256 limit) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IProvenanceRegistry.TooLarge.selector, field, size, limit);
    }

    function _bytes(uint256 n, bytes1 fill) internal pure returns (bytes memory b) {
        b = new bytes(n);
        for (uint256 i; i < n; ++i) {
            b[i] = fill;
        }
    }

    function _err(bytes4 selector, bytes32 a) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a);
    }

    function _err(bytes4 selector, bytes32 a, address b) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a, b);
    }

    /// @dev The `record` bytes of the single RunRecorded event among `logs` for `recordId`.
    function _recordedBytes(Vm.Log[] memory logs, bytes32 recordId) internal view returns (bytes memory record) {
        uint256 found;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(reg) || l.topics[0] != IProvenanceRegistry.RunRecorded.selector) continue;
            if (l.topics[3] != recordId) continue;
            (, record) = abi.decode(l.data, (address, bytes));
            ++found;
        }
        assertEq(found, 1, "exactly one RunRecorded for the record id");
    }
}
