// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {MockWallet} from "./utils/MockWallet.sol";
import {IProvenanceRegistry} from "../../contracts/IProvenanceRegistry.sol";
import {ProvenanceRegistry} from "../../contracts/ProvenanceRegistry.sol";

/// @notice EIP-712 signed records (EOA and ERC-1271 signers), the domain, and the no-immutables rule.
contract ProvenanceRegistrySignedTest is RegistryFixture {
    /// @dev secp256k1 group order.
    uint256 internal constant N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;

    address internal relayer;
    uint256 internal walletKey;
    MockWallet internal wallet;

    function setUp() public override {
        super.setUp();
        relayer = makeAddr("relayer");
        walletKey = uint256(keccak256("wallet key"));
        wallet = new MockWallet(vm.addr(walletKey));
        vm.prank(owner);
        reg.authorizeTrainer(modelId, address(wallet));
    }

    function _submit(IProvenanceRegistry.TrainingRun memory run, address signer, bytes memory sig)
        internal
        returns (bytes32)
    {
        vm.prank(relayer);
        return reg.recordRunSigned(run, _np(), signer, sig);
    }

    function _expectInvalid(address signer, bytes32 recordId) internal {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.InvalidSignature.selector, signer, recordId));
    }

    // ================================================================ domain

    function _expectedSeparator(uint256 chainId, address verifier) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("ProvenanceRegistry"),
                keccak256("2"),
                chainId,
                verifier
            )
        );
    }

    function test_domainSeparator_isEip712() public view {
        assertEq(reg.domainSeparator(), _expectedSeparator(block.chainid, address(reg)), "separator");
    }

    /// @dev Vectors from Python eth_account `encode_typed_data` (domain ProvenanceRegistry/2, the registry
    ///      at 0x…C0DE, RecordRun(recordId = 0x11…11)) on chains 1 and 31337.
    function test_domainSeparatorAndDigest_matchEthAccountVectors() public {
        address place = address(0xC0DE);
        vm.etch(place, address(reg).code);
        ProvenanceRegistry copy = ProvenanceRegistry(place);
        bytes32 recordId = bytes32(0x1111111111111111111111111111111111111111111111111111111111111111);
        vm.chainId(1);
        assertEq(
            copy.domainSeparator(), 0x5440177b1b0f32fe2a15f53c6fa00b84d8143095b67d83e8afae6205c24ef9a0, "separator, 1"
        );
        assertEq(
            copy.recordDigest(recordId), 0xb501bbe58baeff92f44587c21d9581fa274a6f63ca0d262073a79172e4eaa297, "digest, 1"
        );
        vm.chainId(31337);
        assertEq(
            copy.domainSeparator(),
            0x361e90804fe8996b5f85deeb2afb60f39ba3f955f9d10fca305bb9c3c901fd78,
            "separator, 31337"
        );
        assertEq(
            copy.recordDigest(recordId),
            0xe21760ea163b13750c67784aa2ed3cd68035dc3853b469f0be82994c3da7371a,
            "digest, 31337"
        );
    }

    /// @dev Computed per call: a chain id change (a fork) or another address gives another domain.
    function testFuzz_domainSeparator_followsChainIdAndAddress(uint64 chainId, address place) public {
        vm.assume(uint160(place) > 0x10000 && place.code.length == 0 && place != address(vm));
        vm.chainId(chainId);
        assertEq(reg.domainSeparator(), _expectedSeparator(chainId, address(reg)), "chain id");
        vm.etch(place, address(reg).code);
        assertEq(ProvenanceRegistry(place).domainSeparator(), _expectedSeparator(chainId, place), "address");
    }

    function testFuzz_recordDigest_isEip712(bytes32 recordId) public view {
        bytes32 structHash = keccak256(abi.encode(keccak256("RecordRun(bytes32 recordId)"), recordId));
        assertEq(
            reg.recordDigest(recordId),
            keccak256(abi.encodePacked("\x19\x01", reg.domainSeparator(), structHash)),
            "digest"
        );
    }

    // ========================================================= no immutables

    /// @dev The runtime code is the same on every chain, at every address and block: the SDK identifies the
    ///      registry by its hash. A copy placed elsewhere works on its own storage.
    function test_runtimeCode_isTheSameEverywhere() public {
        bytes32 codeHash = keccak256(address(reg).code);
        vm.chainId(8453);
        vm.roll(123_456);
        vm.prank(stranger);
        ProvenanceRegistry other = new ProvenanceRegistry();
        assertEq(keccak256(address(other).code), codeHash, "another chain, block and deployer");
        address place = address(0xBEEF);
        vm.etch(place, address(reg).code);
        ProvenanceRegistry copy = ProvenanceRegistry(place);
        assertEq(copy.deployedAt(), 0, "a copy has its own (empty) storage");
        vm.prank(stranger);
        bytes32 id = copy.registerModel("copy");
        assertEq(copy.modelOwner(id), stranger, "the copy works");
        assertEq(reg.modelOwner(id), address(0), "separate storage");
    }

    /// @dev foundry.toml compiles like scripts/compile.py (no metadata): the shipped artifact's runtime code
    ///      is exactly what this registry runs.
    function test_runtimeCode_isTheShippedArtifact() public view {
        string memory json = vm.readFile("sdk/provenance_ledger/artifacts/ProvenanceRegistry.json");
        bytes memory shipped = vm.parseJsonBytes(json, ".deployedBytecode");
        assertEq(keccak256(address(reg).code), keccak256(shipped), "artifact deployedBytecode (run scripts/compile.py)");
    }

    // ================================================================= EOA

    function test_recordRunSigned_byTrainerSubmittedByAnyone() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        assertFalse(reg.canRecord(modelId, relayer), "the relayer has no authority");
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.DatanetUsed(dn[0], modelId, id, 1, W);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunRecorded(modelId, _key(modelId, "1.0.0"), id, trainer, abi.encode(run));
        assertEq(_submit(run, trainer, _sign(trainerKey, id)), id, "recordId");
        assertEq(reg.recordBlock(id), block.number, "recordBlock");
    }

    function test_recordRunSigned_byOwner() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunRecorded(modelId, _key(modelId, "1.0.0"), id, owner, abi.encode(run));
        _submit(run, owner, _sign(ownerKey, id));
    }

    /// @dev The signer may also submit its own signed record; the result is the same.
    function test_recordRunSigned_submittedByTheSigner() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes memory sig = _sign(trainerKey, _id(run));
        vm.prank(trainer);
        bytes32 id = reg.recordRunSigned(run, _np(), trainer, sig);
        assertEq(reg.recordBlock(id), block.number, "recorded");
    }

    function testFuzz_recordRunSigned_anyAuthorisedKeyAnySubmitter(uint256 key, address submitter, uint256 salt)
        public
    {
        key = bound(key, 1, N - 1);
        address signer = vm.addr(key);
        vm.assume(signer != owner && signer != trainer);
        vm.prank(owner);
        reg.authorizeTrainer(modelId, signer);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(salt);
        bytes32 id = _id(run);
        bytes memory sig = _sign(key, id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunRecorded(modelId, _key(modelId, "1.0.0"), id, signer, abi.encode(run));
        vm.prank(submitter);
        reg.recordRunSigned(run, _np(), signer, sig);
        assertEq(reg.recordBlock(id), block.number, "recorded");
    }

    function test_recordRunSigned_revertsForUnauthorisedKey() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes memory sig = _sign(uint256(keccak256("stranger")), _id(run));
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, stranger));
        reg.recordRunSigned(run, _np(), stranger, sig);
        // Owning another model does not help.
        sig = _sign(uint256(keccak256("otherOwner")), _id(run));
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, otherOwner));
        reg.recordRunSigned(run, _np(), otherOwner, sig);
    }

    function testFuzz_recordRunSigned_revertsForUnauthorisedKey(uint256 key) public {
        key = bound(key, 1, N - 1);
        address signer = vm.addr(key);
        vm.assume(signer != owner && signer != trainer);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes memory sig = _sign(key, _id(run));
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, signer));
        reg.recordRunSigned(run, _np(), signer, sig);
    }

    /// @dev Authority is checked at submission: a signature made before revocation is worthless after it.
    function test_recordRunSigned_revertsForRevokedTrainer() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes memory sig = _sign(trainerKey, _id(run));
        vm.prank(owner);
        reg.revokeTrainer(modelId, trainer);
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, trainer));
        reg.recordRunSigned(run, _np(), trainer, sig);
    }

    function test_recordRunSigned_revertsOnUnknownModel() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 unknown = keccak256("nope");
        run.modelId = unknown;
        bytes memory sig = _sign(trainerKey, _id(run));
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownModel.selector, unknown));
        reg.recordRunSigned(run, _np(), trainer, sig);
    }

    /// @dev The signature is checked before authority: an unauthorised account learns nothing more.
    function test_recordRunSigned_checksSignatureBeforeAuthority() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes memory sig = _sign(trainerKey, _id(run));
        vm.prank(relayer);
        _expectInvalid(stranger, _id(run));
        reg.recordRunSigned(run, _np(), stranger, sig);
    }

    function test_recordRunSigned_revertsOnReplay() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes memory sig = _sign(trainerKey, _id(run));
        bytes32 id = _submit(run, trainer, sig);
        vm.prank(stranger);
        vm.expectRevert(_err(IProvenanceRegistry.AlreadyRecorded.selector, id));
        reg.recordRunSigned(run, _np(), trainer, sig);
    }

    function test_recordRunSigned_revertsOnInvalidSignature() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        bytes memory good = _sign(trainerKey, id);
        (bytes32 r, bytes32 s, uint8 v) = _split(good);

        // Another signer claimed.
        _expectInvalid(owner, id);
        _submit(run, owner, good);
        // A signature over another record.
        bytes memory another = _sign(trainerKey, _id(_simpleRun(2)));
        _expectInvalid(trainer, id);
        _submit(run, trainer, another);
        // The high-s twin of a valid signature (EIP-2).
        _expectInvalid(trainer, id);
        _submit(run, trainer, abi.encodePacked(r, bytes32(N - uint256(s)), v == 27 ? uint8(28) : uint8(27)));
        // v outside {27, 28}.
        _expectInvalid(trainer, id);
        _submit(run, trainer, abi.encodePacked(r, s, v - 27));
        _expectInvalid(trainer, id);
        _submit(run, trainer, abi.encodePacked(r, s, uint8(29)));
        // Wrong lengths: empty, 64 (EIP-2098 compact is not accepted), 66.
        _expectInvalid(trainer, id);
        _submit(run, trainer, "");
        _expectInvalid(trainer, id);
        _submit(run, trainer, abi.encodePacked(r, s));
        _expectInvalid(trainer, id);
        _submit(run, trainer, abi.encodePacked(good, uint8(0)));
        // The zero address, with a signature ecrecover fails on (it returns address 0).
        _expectInvalid(address(0), id);
        _submit(run, address(0), abi.encodePacked(bytes32(0), bytes32(0), uint8(27)));
        // The genuine one still works.
        assertEq(_submit(run, trainer, good), id, "genuine");
    }

    /// @dev A signature for this registry on another chain, or for another registry, is not valid here.
    function test_recordRunSigned_revertsOnAnotherDomain() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        ProvenanceRegistry other = new ProvenanceRegistry();
        bytes memory otherRegistry = _sign(trainerKey, other, id);
        uint256 chain = block.chainid;
        vm.chainId(chain + 1);
        bytes memory otherChain = _sign(trainerKey, id);
        vm.chainId(chain);
        _expectInvalid(trainer, id);
        _submit(run, trainer, otherRegistry);
        _expectInvalid(trainer, id);
        _submit(run, trainer, otherChain);
    }

    function testFuzz_recordRunSigned_revertsOnForeignSignature(bytes calldata sig) public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        vm.assume(keccak256(sig) != keccak256(_sign(trainerKey, id)));
        _expectInvalid(trainer, id);
        _submit(run, trainer, sig);
    }

    function testFuzz_recordRunSigned_revertsOnHighS(uint256 key, uint256 salt) public {
        key = bound(key, 1, N - 1);
        address signer = vm.addr(key);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(salt);
        bytes32 id = _id(run);
        (bytes32 r, bytes32 s, uint8 v) = _split(_sign(key, id));
        bytes memory twin = abi.encodePacked(r, bytes32(N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        assertEq(
            ecrecover(reg.recordDigest(id), v == 27 ? 28 : 27, r, bytes32(N - uint256(s))), signer, "twin recovers"
        );
        _expectInvalid(signer, id);
        _submit(run, signer, twin);
    }

    function _split(bytes memory sig) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
    }

    // ============================================================ ERC-1271

    function test_recordRunSigned_erc1271WalletAccepted() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunRecorded(modelId, _key(modelId, "1.0.0"), id, address(wallet), abi.encode(run));
        _submit(run, address(wallet), _sign(walletKey, id));
        assertEq(reg.recordBlock(id), block.number, "recorded");
    }

    function test_recordRunSigned_erc1271WalletRejected() public {
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        bytes32 id = _id(run);
        bytes memory sig = _sign(walletKey, id);
        // Honest wallet, signature by another key (here: a valid EOA signature of the trainer).
        bytes memory byTrainer = _sign(trainerKey, id);
        _expectInvalid(address(wallet), id);
        _submit(run, address(wallet), byTrainer);
        // Honest wallet, a non-65-byte signature.
        _expectInvalid(address(wallet), id);
        _submit(run, address(wallet), "");
        MockWallet.Mode[5] memory bad = [
            MockWallet.Mode.Reject,
            MockWallet.Mode.Revert,
            MockWallet.Mode.ShortReturn,
            MockWallet.Mode.DirtyMagic,
            MockWallet.Mode.WritesState
        ];
        for (uint256 i; i < bad.length; ++i) {
            wallet.setMode(bad[i]);
            _expectInvalid(address(wallet), id);
            _submit(run, address(wallet), sig);
        }
        assertEq(wallet.writes(), 0, "called with STATICCALL");
        wallet.setMode(MockWallet.Mode.Honest);
        assertEq(_submit(run, address(wallet), sig), id, "honest again");
    }

    /// @dev A wallet that says yes to anything still needs authority over the model.
    function test_recordRunSigned_erc1271WalletNeedsAuthority() public {
        MockWallet yes = new MockWallet(address(0));
        yes.setMode(MockWallet.Mode.AcceptAll);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(1);
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, address(yes)));
        reg.recordRunSigned(run, _np(), address(yes), "");
        vm.prank(owner);
        reg.revokeTrainer(modelId, address(wallet));
        bytes memory sig = _sign(walletKey, _id(run));
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.NotAuthorizedTrainer.selector, modelId, address(wallet)));
        reg.recordRunSigned(run, _np(), address(wallet), sig);
    }

    function testFuzz_recordRunSigned_erc1271(uint256 key, uint256 salt, bool sameKey) public {
        key = bound(key, 1, N - 1);
        vm.assume(key != walletKey);
        IProvenanceRegistry.TrainingRun memory run = _simpleRun(salt);
        bytes32 id = _id(run);
        if (sameKey) {
            _submit(run, address(wallet), _sign(walletKey, id));
            assertEq(reg.recordBlock(id), block.number, "accepted");
        } else {
            bytes memory sig = _sign(key, id);
            _expectInvalid(address(wallet), id);
            _submit(run, address(wallet), sig);
        }
    }

    // ========================================================= signed batches

    function _signedBatch(uint256 n, uint256 salt)
        internal
        view
        returns (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs)
    {
        runs = _batch(n, salt);
        signers = new address[](n);
        sigs = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            // Rotate: the trainer (EOA), the owner (EOA), the wallet (ERC-1271).
            uint256 k = i % 3;
            signers[i] = k == 0 ? trainer : k == 1 ? owner : address(wallet);
            sigs[i] = _sign(k == 0 ? trainerKey : k == 1 ? ownerKey : walletKey, _id(runs[i]));
        }
    }

    function test_recordRunsSigned_mixedSigners() public {
        (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs) =
            _signedBatch(5, 1);
        bytes32[] memory expected = _ids(runs);
        for (uint256 i; i < runs.length; ++i) {
            vm.expectEmit(true, true, true, true, address(reg));
            emit IProvenanceRegistry.RunRecorded(
                modelId, _key(modelId, "1.0.0"), expected[i], signers[i], abi.encode(runs[i])
            );
        }
        vm.prank(relayer);
        bytes32[] memory ids = reg.recordRunsSigned(runs, _np(), signers, sigs);
        assertEq(ids, expected, "ids");
        for (uint256 i; i < ids.length; ++i) {
            assertEq(reg.recordBlock(ids[i]), block.number, "recorded");
        }
    }

    function test_anchorRunsSigned_mixedSigners() public {
        (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs) =
            _signedBatch(5, 2);
        bytes32[] memory ids = _ids(runs);
        bytes32 expected = MerkleRef.root(ids);
        for (uint256 i; i < runs.length; ++i) {
            vm.expectEmit(true, true, true, true, address(reg));
            emit IProvenanceRegistry.RunRecorded(
                modelId, _key(modelId, "1.0.0"), ids[i], signers[i], abi.encode(runs[i])
            );
        }
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.RunsAnchored(expected, 5);
        vm.prank(relayer);
        bytes32 root = reg.anchorRunsSigned(runs, _np(), signers, sigs);
        assertEq(root, expected, "root");
        assertEq(reg.anchorBlock(root), block.number, "anchored");
        for (uint256 i; i < ids.length; ++i) {
            assertTrue(reg.verifyAnchored(root, ids[i], MerkleRef.proof(ids, i)), "proof");
            assertEq(reg.recordBlock(ids[i]), 0, "not in recordBlock");
        }
    }

    function testFuzz_signedBatches(uint256 n, uint256 salt, bool anchor) public {
        n = bound(n, 1, 12);
        (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs) =
            _signedBatch(n, salt);
        vm.prank(relayer);
        if (anchor) {
            assertEq(reg.anchorRunsSigned(runs, _np(), signers, sigs), MerkleRef.root(_ids(runs)), "root");
        } else {
            assertEq(reg.recordRunsSigned(runs, _np(), signers, sigs), _ids(runs), "ids");
        }
    }

    /// @dev A run may name an earlier run of the same signed batch as its parent.
    function test_recordRunsSigned_parentEarlierInBatch() public {
        IProvenanceRegistry.TrainingRun memory base = _simpleRun(1);
        IProvenanceRegistry.TrainingRun memory child = _childRun(2, _id(base));
        address[] memory signers = new address[](2);
        (signers[0], signers[1]) = (trainer, trainer);
        bytes[] memory sigs = new bytes[](2);
        (sigs[0], sigs[1]) = (_sign(trainerKey, _id(base)), _sign(trainerKey, _id(child)));
        vm.expectEmit(true, true, true, true, address(reg));
        emit IProvenanceRegistry.ParentUsed(_id(base), _id(child), modelId);
        vm.prank(relayer);
        reg.recordRunsSigned(_pair(base, child), _np(), signers, sigs);
    }

    /// @dev One bad signature rejects the whole batch.
    function test_signedBatches_areAllOrNothing() public {
        (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs) =
            _signedBatch(4, 3);
        sigs[2] = sigs[1];
        bytes32[] memory ids = _ids(runs);
        vm.prank(relayer);
        _expectInvalid(signers[2], ids[2]);
        reg.recordRunsSigned(runs, _np(), signers, sigs);
        vm.prank(relayer);
        _expectInvalid(signers[2], ids[2]);
        reg.anchorRunsSigned(runs, _np(), signers, sigs);
        assertEq(reg.recordBlock(ids[0]), 0, "nothing recorded");
        assertEq(reg.anchorBlock(MerkleRef.root(ids)), 0, "nothing anchored");
    }

    function test_signedBatches_revertOnLengthMismatch() public {
        (IProvenanceRegistry.TrainingRun[] memory runs, address[] memory signers, bytes[] memory sigs) =
            _signedBatch(3, 4);
        address[] memory twoSigners = new address[](2);
        bytes[] memory fourSigs = new bytes[](4);
        bytes memory err = abi.encodeWithSelector(IProvenanceRegistry.LengthMismatch.selector, 3, 2, 3);
        vm.expectRevert(err);
        reg.recordRunsSigned(runs, _np(), twoSigners, sigs);
        vm.expectRevert(err);
        reg.anchorRunsSigned(runs, _np(), twoSigners, sigs);
        err = abi.encodeWithSelector(IProvenanceRegistry.LengthMismatch.selector, 3, 3, 4);
        vm.expectRevert(err);
        reg.recordRunsSigned(runs, _np(), signers, fourSigs);
        vm.expectRevert(err);
        reg.anchorRunsSigned(runs, _np(), signers, fourSigs);
    }

    function testFuzz_signedBatches_revertOnLengthMismatch(uint256 n, uint256 nSigners, uint256 nSigs, bool anchor)
        public
    {
        n = bound(n, 1, 8);
        nSigners = bound(nSigners, 0, 10);
        nSigs = bound(nSigs, 0, 10);
        vm.assume(nSigners != n || nSigs != n);
        IProvenanceRegistry.TrainingRun[] memory runs = _batch(n, 5);
        address[] memory signers = new address[](nSigners);
        bytes[] memory sigs = new bytes[](nSigs);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceRegistry.LengthMismatch.selector, n, nSigners, nSigs));
        if (anchor) reg.anchorRunsSigned(runs, _np(), signers, sigs);
        else reg.recordRunsSigned(runs, _np(), signers, sigs);
    }

    function test_signedBatches_revertOnEmptyOrTooLargeBatch() public {
        IProvenanceRegistry.TrainingRun[] memory none = new IProvenanceRegistry.TrainingRun[](0);
        address[] memory noSigners = new address[](0);
        bytes[] memory noSigs = new bytes[](0);
        vm.expectRevert(IProvenanceRegistry.EmptyBatch.selector);
        reg.recordRunsSigned(none, _np(), noSigners, noSigs);
        vm.expectRevert(IProvenanceRegistry.EmptyBatch.selector);
        reg.anchorRunsSigned(none, _np(), noSigners, noSigs);
        IProvenanceRegistry.TrainingRun[] memory many = new IProvenanceRegistry.TrainingRun[](257);
        address[] memory signers = new address[](257);
        bytes[] memory sigs = new bytes[](257);
        vm.expectRevert(_tooLarge("runs", 257, 256));
        reg.recordRunsSigned(many, _np(), signers, sigs);
        vm.expectRevert(_tooLarge("runs", 257, 256));
        reg.anchorRunsSigned(many, _np(), signers, sigs);
    }

    /// @dev Signed variants take anchored-parent proofs too (checked before any run).
    /// forge-config: default.isolate = true
    function test_signedVariants_acceptAnchoredParents() public {
        IProvenanceRegistry.TrainingRun[] memory base = _batch(3, 6);
        vm.prank(owner);
        reg.anchorRuns(base, _np());
        bytes32[] memory ids = _ids(base);
        IProvenanceRegistry.AnchorProof[] memory ps = _proofs(_anchorProof(ids, 2));
        IProvenanceRegistry.TrainingRun memory child = _childRun(7, ids[2]);
        bytes memory sig = _sign(trainerKey, _id(child));
        vm.prank(relayer);
        vm.expectRevert(_err(IProvenanceRegistry.UnknownParent.selector, ids[2]));
        reg.recordRunSigned(child, _np(), trainer, sig);
        vm.prank(relayer);
        assertEq(reg.recordRunSigned(child, ps, trainer, sig), _id(child), "recordRunSigned");

        IProvenanceRegistry.TrainingRun[] memory kids = _single(_childRun(8, ids[2]));
        address[] memory signers = new address[](1);
        signers[0] = trainer;
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = _sign(trainerKey, _id(kids[0]));
        vm.prank(relayer);
        reg.recordRunsSigned(kids, ps, signers, sigs);
        kids = _single(_childRun(9, ids[2]));
        sigs[0] = _sign(trainerKey, _id(kids[0]));
        vm.prank(relayer);
        reg.anchorRunsSigned(kids, ps, signers, sigs);
        // A bad proof is rejected by every signed variant.
        ps[0].proof[0] ^= bytes32(uint256(1));
        kids = _single(_childRun(10, ids[2]));
        sigs[0] = _sign(trainerKey, _id(kids[0]));
        bytes memory bad = abi.encodeWithSelector(IProvenanceRegistry.InvalidAnchorProof.selector, ids[2], ps[0].root);
        vm.prank(relayer);
        vm.expectRevert(bad);
        reg.recordRunSigned(kids[0], ps, trainer, sigs[0]);
        vm.prank(relayer);
        vm.expectRevert(bad);
        reg.recordRunsSigned(kids, ps, signers, sigs);
        vm.prank(relayer);
        vm.expectRevert(bad);
        reg.anchorRunsSigned(kids, ps, signers, sigs);
    }
}
