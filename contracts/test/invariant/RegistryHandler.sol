// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Test} from "forge-std/Test.sol";
import {AttestationRegistry} from "../../src/AttestationRegistry.sol";
import {IERCZKMLRegistry} from "../../src/interfaces/IERCZKMLRegistry.sol";
import {InstanceLayout} from "../../src/libraries/InstanceLayout.sol";
import {OutputCodec} from "../../src/libraries/OutputCodec.sol";
import {ProofCodec} from "../../src/libraries/ProofCodec.sol";

/// @notice Drives the registry with random actors and keeps an independent model of what the
/// state must be. Every call is attempted by a random actor, owner or not; the handler only
/// updates its model on calls that were allowed, and flags any success that was not.
contract RegistryHandler is Test {
    AttestationRegistry public immutable registry;
    uint256 public immutable accLimbs;
    uint256 public immutable maxOutputs;
    bytes4 internal constant HALO2 = bytes4(keccak256("halo2-kzg-bn254-shplonk-v1"));

    address[] internal actors;

    // Expected model state.
    uint256[] public modelIds;
    mapping(uint256 => address) public ghostOwner;
    mapping(uint256 => address) public ghostPending;
    mapping(uint256 => bool) public ghostDeprecated;
    mapping(uint256 => bytes32) public ghostCommitment; // keccak of the abi-encoded commitment
    mapping(uint256 => uint256) public ghostCount;
    mapping(uint256 => uint256) public countAtDeprecation;

    // Stored records as first seen.
    bytes32[] public storedIds;
    mapping(bytes32 => bytes32) public recordHash;

    // Set if the registry allowed something it must not.
    bool public unauthorizedMutation;
    bool public deprecatedGainedRecord;
    bool public mismatchedClaimStored;

    constructor(AttestationRegistry registry_) {
        registry = registry_;
        accLimbs = registry_.accumulatorLimbs();
        maxOutputs = registry_.maxOutputs();
        for (uint256 i = 0; i < 4; ++i) {
            actors.push(makeAddr(string.concat("actor", vm.toString(i))));
        }
    }

    function modelCount() external view returns (uint256) {
        return modelIds.length;
    }

    function storedCount() external view returns (uint256) {
        return storedIds.length;
    }

    // ------------------------------------------------------------------ actions

    function registerModel(uint256 actorSeed, uint256 vkSeed, uint8 scale) external {
        address actor = _actor(actorSeed);
        IERCZKMLRegistry.ModelCommitment memory c = _commitment(_vk(vkSeed), "ipfs://a");
        vm.prank(actor);
        uint256 id = registry.registerModelWithOutputScale(c, scale % 16);
        modelIds.push(id);
        ghostOwner[id] = actor;
        ghostCommitment[id] = keccak256(abi.encode(c));
    }

    function updateModel(uint256 actorSeed, uint256 modelSeed, uint256 uriSeed) external {
        if (modelIds.length == 0) return;
        uint256 id = _model(modelSeed);
        address actor = _actorOr(actorSeed, ghostOwner[id]);
        (IERCZKMLRegistry.ModelCommitment memory c,,) = registry.getModel(id);
        c.uri = string.concat("ipfs://", vm.toString(uriSeed % 1000));
        vm.prank(actor);
        try registry.updateModel(id, c) {
            if (actor != ghostOwner[id] || ghostDeprecated[id]) unauthorizedMutation = true;
            ghostCommitment[id] = keccak256(abi.encode(c));
        } catch {}
    }

    function deprecateModel(uint256 actorSeed, uint256 modelSeed) external {
        if (modelIds.length == 0) return;
        uint256 id = _model(modelSeed);
        address actor = _actorOr(actorSeed, ghostOwner[id]);
        vm.prank(actor);
        try registry.deprecateModel(id) {
            if (actor != ghostOwner[id] || ghostDeprecated[id]) unauthorizedMutation = true;
            ghostDeprecated[id] = true;
            countAtDeprecation[id] = ghostCount[id];
        } catch {}
    }

    function transferOwnership(uint256 actorSeed, uint256 modelSeed, uint256 nomineeSeed) external {
        if (modelIds.length == 0) return;
        uint256 id = _model(modelSeed);
        address actor = _actorOr(actorSeed, ghostOwner[id]);
        address nominee = _actor(nomineeSeed);
        vm.prank(actor);
        try registry.transferModelOwnership(id, nominee) {
            if (actor != ghostOwner[id]) unauthorizedMutation = true;
            ghostPending[id] = nominee;
        } catch {}
    }

    function acceptOwnership(uint256 actorSeed, uint256 modelSeed) external {
        if (modelIds.length == 0) return;
        uint256 id = _model(modelSeed);
        address actor = _actorOr(actorSeed, ghostPending[id]);
        vm.prank(actor);
        try registry.acceptModelOwnership(id) {
            if (actor != ghostPending[id] || actor == address(0)) unauthorizedMutation = true;
            ghostOwner[id] = actor;
            ghostPending[id] = address(0);
        } catch {}
    }

    /// @dev A consistent claim (the verifier stand-in accepts all): must succeed iff the model
    /// is live, or return the existing id when it is a replay.
    function storeInference(uint256 actorSeed, uint256 modelSeed, uint256 inputSeed, int256 v0, uint8 n) external {
        if (modelIds.length == 0) return;
        uint256 id = _model(modelSeed);
        (bytes32 input, bytes memory output, bytes memory proof) = _claim(id, inputSeed, v0, n);
        bytes32 expected = keccak256(abi.encodePacked(id, input, output));
        bool existed = registry.hasInference(expected);
        vm.prank(_actor(actorSeed));
        try registry.verifyAndStoreInference(id, input, output, proof) returns (bytes32 got) {
            if (got != expected) mismatchedClaimStored = true;
            if (!existed) {
                if (ghostDeprecated[id]) deprecatedGainedRecord = true;
                storedIds.push(got);
                recordHash[got] = keccak256(abi.encode(registry.getInferenceRecord(got)));
                ++ghostCount[id];
            }
        } catch {
            if (!ghostDeprecated[id] || existed) mismatchedClaimStored = true; // must not fail
        }
    }

    /// @dev A claim whose output differs from the proof's instances: must never be stored.
    function storeMismatched(uint256 actorSeed, uint256 modelSeed, uint256 inputSeed, int256 v0) external {
        if (modelIds.length == 0) return;
        uint256 id = _model(modelSeed);
        (bytes32 input,, bytes memory proof) = _claim(id, inputSeed, v0, 1);
        int256[] memory other = new int256[](1);
        other[0] = _base(v0) == 0 ? int256(1) : int256(0); // differs from the proven value
        bytes memory output = OutputCodec.encode(other, registry.outputScaleBitsOf(id));
        if (registry.hasInference(keccak256(abi.encodePacked(id, input, output)))) return; // replay path
        vm.prank(_actor(actorSeed));
        try registry.verifyAndStoreInference(id, input, output, proof) {
            mismatchedClaimStored = true;
        } catch {}
    }

    /// @dev Resubmits a stored inference with a junk proof.
    function replay(uint256 actorSeed, uint256 idSeed) external {
        if (storedIds.length == 0) return;
        bytes32 rid = storedIds[idSeed % storedIds.length];
        (uint256 m, bytes32 input, bytes memory output) = registry.getInference(rid);
        vm.prank(_actor(actorSeed));
        bytes32 got = registry.verifyAndStoreInference(m, input, output, hex"00");
        if (got != rid) mismatchedClaimStored = true;
    }

    // ------------------------------------------------------------------ helpers

    function _claim(uint256 id, uint256 inputSeed, int256 v0, uint8 n)
        internal
        view
        returns (bytes32 input, bytes memory output, bytes memory proof)
    {
        input = bytes32(inputSeed % 3); // few inputs, so replays and "latest" updates happen
        uint256 count = uint256(n) % (maxOutputs + 1);
        int256[] memory values = new int256[](count);
        int256 base = _base(v0);
        for (uint256 i = 0; i < count; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- i <= maxOutputs
            values[i] = base - int256(i);
        }
        uint8 scale = registry.outputScaleBitsOf(id);
        output = OutputCodec.encode(values, scale);
        (IERCZKMLRegistry.ModelCommitment memory c,,) = registry.getModel(id);
        uint256[] memory acc = new uint256[](accLimbs);
        proof = ProofCodec.encode(ProofCodec.buildInstances(acc, c.vkHash, input, values, scale, maxOutputs), hex"01");
    }

    /// @dev The first claimed value; it and the values below it stay in the packable range.
    function _base(int256 v0) internal view returns (int256) {
        // forge-lint: disable-next-line(unsafe-typecast) -- maxOutputs <= 63
        return _bound(v0, OutputCodec.MIN_VALUE + int256(maxOutputs), OutputCodec.MAX_VALUE);
    }

    function _commitment(bytes32 vk, string memory uri)
        internal
        pure
        returns (IERCZKMLRegistry.ModelCommitment memory)
    {
        return IERCZKMLRegistry.ModelCommitment({
            modelHash: keccak256("m"), circuitHash: keccak256("c"), vkHash: vk, proofSystemId: HALO2, uri: uri
        });
    }

    function _vk(uint256 seed) internal pure returns (bytes32) {
        return bytes32(seed % (InstanceLayout.FIELD_MODULUS - 1) + 1);
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    /// @dev Half the time the given privileged address, otherwise a random actor.
    function _actorOr(uint256 seed, address privileged) internal view returns (address) {
        if (seed % 2 == 0 && privileged != address(0)) return privileged;
        return _actor(seed / 2);
    }

    function _model(uint256 seed) internal view returns (uint256) {
        return modelIds[seed % modelIds.length];
    }
}
