// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";
import {RegistryHandler} from "./handlers/RegistryHandler.sol";

/// @notice Stateful fuzzing through {RegistryHandler}: the registry is append-only, repeats of anchored
///         runs are the only repeats, and a squatter never gains authority over the victim's names.
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
        bytes4[] memory selectors = new bytes4[](12);
        selectors[0] = RegistryHandler.registerDatanet.selector;
        selectors[1] = RegistryHandler.publishVersion.selector;
        selectors[2] = RegistryHandler.toggleTrainer.selector;
        selectors[3] = RegistryHandler.recordRun.selector;
        selectors[4] = RegistryHandler.recordChain.selector;
        selectors[5] = RegistryHandler.anchorChain.selector;
        selectors[6] = RegistryHandler.reAnchor.selector;
        selectors[7] = RegistryHandler.reRecord.selector;
        selectors[8] = RegistryHandler.recordSigned.selector;
        selectors[9] = RegistryHandler.retract.selector;
        selectors[10] = RegistryHandler.squat.selector;
        selectors[11] = RegistryHandler.advanceBlocks.selector;
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

    /// @dev Once recorded, a record's block never changes; once anchored, a root's block never changes.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_recordBlockNeverChanges() public view {
        uint256 n = handler.recordedCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.recordedIds(i);
            assertEq(reg.recordBlock(id), handler.ghostRecordBlock(id), "recordBlock changed");
        }
        n = handler.batchCount();
        for (uint256 i; i < n; ++i) {
            bytes32 root = handler.batchRoots(i);
            assertEq(reg.anchorBlock(root), handler.ghostAnchorBlock(root), "anchorBlock changed");
        }
    }

    /// @dev Every anchored run stays provable under its batch's root, whatever happened since.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_anchoredRunsStayProvable() public view {
        uint256 n = handler.batchCount();
        for (uint256 i; i < n; ++i) {
            bytes32[] memory ids = handler.batch(i);
            bytes32 root = handler.batchRoots(i);
            for (uint256 j; j < ids.length; ++j) {
                assertTrue(reg.verifyAnchored(root, ids[j], MerkleRef.proof(ids, j)), "anchored run provable");
            }
        }
    }

    /// @dev RunRecorded events: each is the first for its id or a repeat; repeats happen only for runs that
    ///      were anchored (an individually recorded run is never logged again: see the handler's surprises).
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_repeatsAreAccounted() public view {
        assertEq(
            handler.ghostRunEvents(), handler.ghostDistinctLogged() + handler.ghostRepeats(), "events = first + repeats"
        );
        assertTrue(handler.ghostRepeats() == 0 || handler.anchoredCount() != 0, "repeats need an anchored run");
        assertTrue(handler.ghostDistinctLogged() <= handler.seenCount(), "logged ids were submitted");
    }

    /// @dev The squatter never owns, records for or publishes to the victim's model or DataNets, whatever
    ///      names it registered; its own ids are never the victim's.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_squatterNeverGainsAuthority() public view {
        address squatter = handler.squatter();
        for (uint256 i; i < 2; ++i) {
            bytes32 m = handler.models(i);
            assertEq(reg.modelOwner(m), address(handler), "victim owns its model");
            assertFalse(reg.canRecord(m, squatter), "squatter cannot record for the victim");
            bytes32 own = handler.squatterModels(i);
            if (own != bytes32(0)) {
                assertTrue(own != m, "squatter's model id is its own");
                assertEq(reg.modelOwner(own), squatter, "squatter owns only its own model");
            }
        }
        uint256 n = handler.datanetCount();
        for (uint256 i; i < n; ++i) {
            bytes32 d = handler.datanets(i);
            (address o,) = reg.datanet(d);
            assertEq(o, address(handler), "victim owns its DataNet");
            bytes32 own = handler.squatterDatanets(i);
            if (own != bytes32(0)) {
                assertTrue(own != d, "squatter's DataNet id is its own");
                (address so,) = reg.datanet(own);
                assertEq(so, squatter, "squatter owns only its own DataNet");
            }
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
            (, uint64 count) = reg.datanet(id);
            assertEq(count, handler.ghostVersionCount(id), "versionCount");
        }
    }

    /// @dev Every call behaved as specified: unauthorised callers and signers, replays, bad parents and
    ///      proofs were rejected with the right error, valid runs were accepted with the right recorder,
    ///      anchored roots match the reference.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_noSurprises() public view {
        assertEq(handler.ghostSurprises(), 0, handler.lastSurprise());
    }
}
