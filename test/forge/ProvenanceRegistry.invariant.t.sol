// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";
import {RegistryHandler} from "./handlers/RegistryHandler.sol";

/// @notice Stateful fuzzing through {RegistryHandler}: the registry is append-only.
contract ProvenanceRegistryInvariantTest is Test {
    /// @dev What Foundry reads from `targetSelectors()`.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    ProvenanceRegistry internal reg;
    RegistryHandler internal handler;

    function setUp() public {
        reg = new ProvenanceRegistry();
        handler = new RegistryHandler(reg);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = RegistryHandler.registerDatanet.selector;
        selectors[1] = RegistryHandler.publishVersion.selector;
        selectors[2] = RegistryHandler.toggleTrainer.selector;
        selectors[3] = RegistryHandler.recordRun.selector;
        selectors[4] = RegistryHandler.recordChain.selector;
        selectors[5] = RegistryHandler.anchorChain.selector;
        selectors[6] = RegistryHandler.reRecord.selector;
        selectors[7] = RegistryHandler.advanceBlocks.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// @dev The ghost count of recorded runs equals the number of ids the registry marks as recorded.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_recordedCountMatchesRecordBlock() public view {
        uint256 n = handler.seenCount();
        uint256 marked;
        for (uint256 i; i < n; ++i) {
            if (reg.recordBlock(handler.seenIds(i)) != 0) ++marked;
        }
        assertEq(marked, handler.ghostRecorded(), "ids with recordBlock != 0");
        assertEq(handler.recordedCount(), handler.ghostRecorded(), "recorded list");
    }

    /// @dev Once recorded, a record's block never changes.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_recordBlockNeverChanges() public view {
        uint256 n = handler.recordedCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.recordedIds(i);
            assertEq(reg.recordBlock(id), handler.ghostRecordBlock(id), "recordBlock changed");
        }
    }

    /// @dev A published DataNet version never changes, and version counts only grow by publishing.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_datanetVersionsNeverChange() public view {
        uint256 n = handler.publishedCount();
        for (uint256 i; i < n; ++i) {
            RegistryHandler.PublishedVersion memory p = handler.published(i);
            IProvenanceRegistry.DatanetVersion memory d = reg.datanetVersion(p.datanetId, p.version);
            assertEq(d.contentRoot, p.data.contentRoot, "contentRoot");
            assertEq(d.manifestHash, p.data.manifestHash, "manifestHash");
            assertEq(d.termsHash, p.data.termsHash, "termsHash");
            assertEq(d.contributorsHash, p.data.contributorsHash, "contributorsHash");
            assertEq(d.publishedBlock, p.data.publishedBlock, "publishedBlock");
        }
        uint256 m = handler.datanetCount();
        for (uint256 i; i < m; ++i) {
            bytes32 id = handler.datanets(i);
            (address o, uint64 count) = reg.datanet(id);
            assertEq(o, address(handler), "datanet owner");
            assertEq(count, handler.ghostVersionCount(id), "versionCount");
        }
    }

    /// @dev Every call behaved as specified: unauthorised callers, replays and bad parents were
    ///      rejected with the right error, valid runs were accepted, anchored roots match the reference.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_noSurprises() public view {
        assertEq(handler.ghostSurprises(), 0, handler.lastSurprise());
    }
}
