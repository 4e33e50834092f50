// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";

/// @notice The shared vectors (written by scripts/make_vectors.py and checked by pytest too):
///         - tests/vectors/records.json: Solidity derives the same record ids, model version keys and
///           owner-scoped entity ids from the same canonical bytes;
///         - tests/vectors/noncanonical.json: every non-canonical encoding of a run, sent as raw calldata
///           of recordRun(run, []), is refused with NonCanonicalEncoding (pytest checks that
///           core.canonical.parse_record refuses the same bytes).
contract VectorsTest is Test {
    /// @dev Entries in records.json and noncanonical.json (tests/test_vectors.py checks these counts).
    uint256 internal constant COUNT = 4;
    uint256 internal constant NEGATIVE_COUNT = 15;
    ProvenanceRegistry internal registry;

    function setUp() public {
        registry = new ProvenanceRegistry();
    }

    function _key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat("$[", vm.toString(i), "].", field);
    }

    function test_vectors_canonicalBytesHashToTheirIds() public view {
        string memory json = vm.readFile("tests/vectors/records.json");
        for (uint256 i; i < COUNT; ++i) {
            bytes memory canonical = vm.parseJsonBytes(json, _key(i, "canonical"));
            bytes32 id = vm.parseJsonBytes32(json, _key(i, "record_id"));
            assertEq(keccak256(canonical), id, "keccak256(canonical) != record_id");
            IProvenanceRegistry.TrainingRun memory run = abi.decode(canonical, (IProvenanceRegistry.TrainingRun));
            assertEq(abi.encode(run), canonical, "abi.encode(decode(canonical)) != canonical");
            assertEq(registry.computeRecordId(run), id, "computeRecordId != record_id");
            assertEq(
                registry.computeModelVersionKey(run.modelId, run.modelVersion),
                vm.parseJsonBytes32(json, _key(i, "model_version_key")),
                "model version key"
            );
            assertEq(run.modelVersion, vm.parseJsonString(json, _key(i, "model_version")), "model version");
        }
    }

    function test_vectors_entityIdsAreScopedByOwner() public view {
        string memory json = vm.readFile("tests/vectors/records.json");
        // vectors 0-2 name their model (owner, name); vector 3 uses a raw id
        for (uint256 i; i < 3; ++i) {
            address owner = address(bytes20(vm.parseJsonBytes(json, _key(i, "owner"))));
            string memory name = vm.parseJsonString(json, _key(i, "model_name"));
            bytes32 modelId = vm.parseJsonBytes32(json, _key(i, "model_id"));
            assertEq(registry.computeEntityId(owner, name), modelId, "computeEntityId != model_id");
            assertEq(keccak256(abi.encode(owner, name)), modelId, "keccak256(abi.encode(owner, name)) != model_id");
        }
        // "acme-base" under two owners: two ids
        assertNotEq(
            vm.parseJsonBytes32(json, _key(0, "model_id")), vm.parseJsonBytes32(json, _key(2, "model_id")), "squatted"
        );
    }

    function test_vectors_nonCanonicalEncodingsAreRefused() public {
        string memory json = vm.readFile("tests/vectors/noncanonical.json");
        // The control is the canonical encoding: past the encoding check, it fails on the unknown model.
        bytes memory control = vm.parseJsonBytes(json, _key(0, "calldata"));
        (bool ok, bytes memory ret) = address(registry).call(control);
        assertFalse(ok, "control: recorded on an empty registry");
        assertEq(bytes4(ret), IProvenanceRegistry.UnknownModel.selector, "control: not past the encoding check");
        for (uint256 i = 1; i < NEGATIVE_COUNT; ++i) {
            bytes memory data = vm.parseJsonBytes(json, _key(i, "calldata"));
            (ok, ret) = address(registry).call(data);
            string memory name = vm.parseJsonString(json, _key(i, "name"));
            assertFalse(ok, string.concat(name, ": accepted"));
            assertEq(ret.length, 4, string.concat(name, ": not a bare custom error"));
            assertEq(bytes4(ret), IProvenanceRegistry.NonCanonicalEncoding.selector, name);
        }
    }
}
