// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";

/// @notice The shared vectors (tests/vectors/records.json, written by scripts/make_vectors.py and
///         checked by pytest too): Solidity derives the same ids from the same canonical bytes.
contract VectorsTest is Test {
    uint256 internal constant COUNT = 3;
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
}
