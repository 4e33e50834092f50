// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Vm.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";

/// @notice Transaction gas per record, mode by mode, against v1 for the very same records.
/// @dev Per record = the transaction's gas / runs in the transaction. Every test runs isolated, so each
///      registry call is its own transaction (cold storage, fresh transient storage, as on a chain) and
///      `vm.lastCallGas` reports its full gas: 21,000 + calldata (EIP-7623 rules) + execution.
///      The V1_* constants were measured by this file's v1 twin (the same setUp and records through the
///      v1 ABI: `recordRun(run)`, `recordRuns(runs)`, `anchorRuns(runs)`, no signed tests) against the v1
///      registry of commit 7412d6d: a v2 record may not cost more in any mode, and a signed single record
///      at most SIGNED_ALLOWANCE more than v1's single record. `forge test --mt test_gas -vv` prints them.
contract ProvenanceRegistryGasTest is Test {
    event log_named_uint(string key, uint256 val);

    // v1, gas per record (same records, same method).
    uint256 internal constant V1_RECORD_RUN = 85_210;
    uint256 internal constant V1_RECORD_RUN_WITH_PARENT = 90_562;
    uint256 internal constant V1_RECORD_RUNS_8 = 59_658;
    uint256 internal constant V1_ANCHOR_RUNS_8 = 43_495;
    uint256 internal constant V1_ANCHOR_RUNS_64 = 37_624;
    /// @dev Signed single records may cost at most this much more than v1's unsigned single record.
    uint256 internal constant SIGNED_ALLOWANCE = 8_000;

    /// @dev ~420 bytes of canonical details JSON: two partitions, two preprocessing steps, code, hyper-parameters.
    bytes internal constant DETAILS = bytes(
        '{"code":{"commit":"0a1b2c3","repo":"github.com/acme/train"},"environment":{"python":"3.12.3",'
        '"torch":"2.3.1"},"hyperparameters":{"epochs":3,"lr":0.0003},"partitions":[{"fraction_ppm":1000000,'
        '"seed":0,"selector":"","split":"train"},{"fraction_ppm":250000,"seed":7,"selector":"en/*.jsonl",'
        '"split":"train"}],"preprocessing":[{"op":"dedupe","params":{"method":"minhash","threshold":0.85}},'
        '{"op":"length_filter","params":{"min_chars":200}}]}'
    );

    ProvenanceRegistry internal reg;
    address internal owner;
    uint256 internal trainerKey;
    address internal trainer;
    bytes32 internal modelId;
    bytes32 internal dnA;
    bytes32 internal dnB;
    bytes32 internal parentId;
    bytes32[] internal anchoredIds;
    bytes32 internal anchoredRoot;

    function setUp() public {
        reg = new ProvenanceRegistry();
        owner = makeAddr("owner");
        trainerKey = uint256(keccak256("bench trainer"));
        trainer = vm.addr(trainerKey);
        IProvenanceRegistry.Contributor[] memory cs = new IProvenanceRegistry.Contributor[](0);
        vm.startPrank(owner);
        modelId = reg.registerModel("bench-model");
        reg.authorizeTrainer(modelId, trainer);
        dnA = reg.registerDatanet("bench-a");
        dnB = reg.registerDatanet("bench-b");
        reg.publishDatanetVersion(dnA, keccak256("a"), keccak256("ma"), "{}", cs);
        reg.publishDatanetVersion(dnB, keccak256("b"), keccak256("mb"), "{}", cs);
        parentId = reg.recordRun(_run(1_000_000, new bytes32[](0)), _noProofs());
        IProvenanceRegistry.TrainingRun[] memory batch = _batch(2_000_000, 64);
        anchoredRoot = reg.anchorRuns(batch, _noProofs());
        vm.stopPrank();
        for (uint256 i; i < batch.length; ++i) {
            anchoredIds.push(keccak256(abi.encode(batch[i])));
        }
    }

    // ------------------------------------------------------------- unsigned

    /// forge-config: default.isolate = true
    function test_gas_recordRun() public {
        bytes memory data = abi.encodeCall(reg.recordRun, (_run(1, new bytes32[](0)), _noProofs()));
        _check("recordRun", _send(trainer, data), 1, V1_RECORD_RUN);
    }

    /// forge-config: default.isolate = true
    function test_gas_recordRun_withParent() public {
        bytes32[] memory parents = new bytes32[](1);
        parents[0] = parentId;
        bytes memory data = abi.encodeCall(reg.recordRun, (_run(1, parents), _noProofs()));
        _check("recordRun, one parent", _send(trainer, data), 1, V1_RECORD_RUN_WITH_PARENT);
    }

    /// forge-config: default.isolate = true
    function test_gas_recordRuns_8() public {
        bytes memory data = abi.encodeCall(reg.recordRuns, (_batch(1, 8), _noProofs()));
        _check("recordRuns x8", _send(trainer, data), 8, V1_RECORD_RUNS_8);
    }

    /// forge-config: default.isolate = true
    function test_gas_anchorRuns_8() public {
        bytes memory data = abi.encodeCall(reg.anchorRuns, (_batch(1, 8), _noProofs()));
        _check("anchorRuns x8", _send(trainer, data), 8, V1_ANCHOR_RUNS_8);
    }

    /// forge-config: default.isolate = true
    function test_gas_anchorRuns_64() public {
        bytes memory data = abi.encodeCall(reg.anchorRuns, (_batch(1, 64), _noProofs()));
        _check("anchorRuns x64", _send(trainer, data), 64, V1_ANCHOR_RUNS_64);
    }

    /// @dev v2 only (no v1 equivalent): a child of a run anchored in a batch of 64 (proof depth 6).
    /// forge-config: default.isolate = true
    function test_gas_recordRun_anchoredParent() public {
        bytes32[] memory parents = new bytes32[](1);
        parents[0] = anchoredIds[5];
        IProvenanceRegistry.AnchorProof[] memory proofs = new IProvenanceRegistry.AnchorProof[](1);
        proofs[0] = IProvenanceRegistry.AnchorProof(anchoredIds[5], anchoredRoot, MerkleRef.proof(anchoredIds, 5));
        bytes memory data = abi.encodeCall(reg.recordRun, (_run(1, parents), proofs));
        _check("recordRun, one anchored parent", _send(trainer, data), 1, type(uint256).max);
    }

    // --------------------------------------------------------------- signed

    /// forge-config: default.isolate = true
    function test_gas_recordRunSigned() public {
        IProvenanceRegistry.TrainingRun memory run = _run(1, new bytes32[](0));
        bytes memory data =
            abi.encodeCall(reg.recordRunSigned, (run, _noProofs(), trainer, _sign(keccak256(abi.encode(run)))));
        _check("recordRunSigned", _send(makeAddr("relayer"), data), 1, V1_RECORD_RUN + SIGNED_ALLOWANCE);
    }

    /// forge-config: default.isolate = true
    function test_gas_recordRunsSigned_8() public {
        (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs) = _signed(8);
        bytes memory data = abi.encodeCall(reg.recordRunsSigned, (runs, _noProofs(), signers, sigs));
        _check("recordRunsSigned x8", _send(makeAddr("relayer"), data), 8, V1_RECORD_RUNS_8 + SIGNED_ALLOWANCE);
    }

    /// forge-config: default.isolate = true
    function test_gas_anchorRunsSigned_8() public {
        (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs) = _signed(8);
        bytes memory data = abi.encodeCall(reg.anchorRunsSigned, (runs, _noProofs(), signers, sigs));
        _check("anchorRunsSigned x8", _send(makeAddr("relayer"), data), 8, V1_ANCHOR_RUNS_8 + SIGNED_ALLOWANCE);
    }

    // -------------------------------------------------------------- helpers

    function _run(uint256 i, bytes32[] memory parents) internal view returns (IProvenanceRegistry.TrainingRun memory) {
        IProvenanceRegistry.DatanetUse[] memory uses = new IProvenanceRegistry.DatanetUse[](2);
        uses[0] = IProvenanceRegistry.DatanetUse(dnA, 1, 600_000);
        uses[1] = IProvenanceRegistry.DatanetUse(dnB, 1, 400_000);
        return IProvenanceRegistry.TrainingRun({
            modelId: modelId,
            modelVersion: string.concat("1.", vm.toString(i)),
            weightsDigest: keccak256(abi.encode("weights", i)),
            parents: parents,
            datanets: uses,
            details: DETAILS
        });
    }

    function _batch(uint256 first, uint256 n) internal view returns (IProvenanceRegistry.TrainingRun[] memory runs) {
        runs = new IProvenanceRegistry.TrainingRun[](n);
        for (uint256 i; i < n; ++i) {
            runs[i] = _run(first + i, new bytes32[](0));
        }
    }

    function _signed(uint256 n)
        internal
        view
        returns (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs)
    {
        runs = _batch(1, n);
        signers = new address[](n);
        sigs = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            signers[i] = trainer;
            sigs[i] = _sign(keccak256(abi.encode(runs[i])));
        }
    }

    function _sign(bytes32 recordId) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(trainerKey, reg.recordDigest(recordId));
        return abi.encodePacked(r, s, v);
    }

    function _noProofs() internal pure returns (IProvenanceRegistry.AnchorProof[] memory) {
        return new IProvenanceRegistry.AnchorProof[](0);
    }

    /// @dev Sends `data` to the registry from `from` as its own transaction (isolation) and returns the
    ///      transaction's gas: 21,000 + calldata (EIP-7623 floor included) + execution.
    function _send(address from, bytes memory data) internal returns (uint256) {
        vm.prank(from);
        (bool ok,) = address(reg).call(data);
        assertTrue(ok, "call succeeded");
        return vm.lastCallGas().gasTotalUsed;
    }

    function _check(string memory mode, uint256 txGas, uint256 runs, uint256 v1PerRecord) internal {
        uint256 perRecord = txGas / runs;
        emit log_named_uint(string.concat(mode, ": gas per record"), perRecord);
        if (v1PerRecord != 0 && v1PerRecord != type(uint256).max) {
            emit log_named_uint(string.concat(mode, ": v1 (limit)"), v1PerRecord);
            assertLe(perRecord, v1PerRecord, string.concat(mode, ": costs more than v1"));
        }
    }
}
