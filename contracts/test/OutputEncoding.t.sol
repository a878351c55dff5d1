// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {CodecHarness} from "./utils/CodecHarness.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {OutputCodec} from "../src/libraries/OutputCodec.sol";
import {ProofCodec} from "../src/libraries/ProofCodec.sol";

/// @notice Fuzz tests of the output encoding: field mapping, canonical parsing, the assembly
/// instance check, compact storage, and the round trip through the registry.
contract OutputEncodingTest is RegistryTestBase {
    CodecHarness internal harness;
    uint256 internal modelId;
    uint256 internal constant R = OutputCodec.FIELD_MODULUS;
    int256 internal constant MAX = int256(OutputCodec.MAX_ABS_VALUE);

    function setUp() public override {
        super.setUp();
        harness = new CodecHarness();
        modelId = _registerModel();
    }

    function _inRange(int256[] memory values, uint256 n) internal pure returns (int256[] memory out) {
        out = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = bound(values[i % values.length], -MAX, MAX);
        }
    }

    // ------------------------------------------------------------------ field mapping

    function testFuzz_toField_roundTripsInRange(int256 v) public pure {
        v = bound(v, -MAX, MAX);
        (bool ok, uint256 e) = OutputCodec.toField(v);
        assertTrue(ok);
        assertLt(e, R);
        // forge-lint: disable-next-line(unsafe-typecast) -- |v| <= MAX_ABS_VALUE
        uint256 magnitude = v >= 0 ? uint256(v) : uint256(-v);
        assertEq(e, v >= 0 ? magnitude : R - magnitude);
        (bool back, int256 w) = OutputCodec.fromField(e);
        assertTrue(back);
        assertEq(w, v);
    }

    function testFuzz_toField_rejectsOutOfRange(int256 v) public pure {
        vm.assume(v > MAX || v < -MAX);
        (bool ok,) = OutputCodec.toField(v);
        assertFalse(ok);
    }

    function testFuzz_toField_isInjective(int256 a, int256 b) public pure {
        a = bound(a, -MAX, MAX);
        b = bound(b, -MAX, MAX);
        vm.assume(a != b);
        (, uint256 ea) = OutputCodec.toField(a);
        (, uint256 eb) = OutputCodec.toField(b);
        assertTrue(ea != eb);
    }

    function testFuzz_fromField_rejectsNonCanonical(uint256 e) public pure {
        e = bound(e, R, type(uint256).max);
        (bool ok,) = OutputCodec.fromField(e);
        assertFalse(ok);
    }

    // ------------------------------------------------------------------ parsing

    function testFuzz_parse_acceptsExactlyTheAbiEncoding(int256[] memory values, uint8 scale) public view {
        bytes memory out = OutputCodec.encode(values, scale);
        (bool ok, uint256 count, uint8 s) = harness.parse(out);
        assertTrue(ok);
        assertEq(count, values.length);
        assertEq(s, scale);
    }

    function testFuzz_parse_acceptedBytesAreCanonical(int256[] memory values, uint8 scale, uint256 at, uint8 b)
        public
        view
    {
        // Flip one byte anywhere in a valid encoding (head or body): if parse still accepts it,
        // it must be the canonical encoding of what it decodes to.
        bytes memory raw = OutputCodec.encode(values, scale);
        raw[bound(at, 0, raw.length - 1)] = bytes1(b);
        (bool ok, uint256 count, uint8 s) = harness.parse(raw);
        if (!ok) return;
        (int256[] memory decoded, uint8 decodedScale) = abi.decode(raw, (int256[], uint8));
        assertEq(decoded.length, count);
        assertEq(decodedScale, s);
        assertEq(OutputCodec.encode(decoded, decodedScale), raw);
    }

    function testFuzz_parse_rejectsByteLevelVariants(int256[] memory values, uint8 scale, bytes memory tail)
        public
        view
    {
        vm.assume(tail.length > 0);
        (bool ok,,) = harness.parse(bytes.concat(OutputCodec.encode(values, scale), tail));
        assertFalse(ok);
    }

    // ------------------------------------------------------------------ instance check

    function testFuzz_matchesInstances_agreesWithToField(int256[] memory seed, uint8 n, uint256 tamper, uint256 delta)
        public
        view
    {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, 0, MAX_OUTPUTS));
        uint256[] memory inst = _instances(VK, INPUT, values);
        bytes memory outputInstances = _slots(inst);
        bytes memory out = _output(values);
        assertTrue(harness.matchesInstances(out, values.length, outputInstances, MAX_OUTPUTS));

        // Any change to any slot (value or padding) is caught.
        uint256 idx = bound(tamper, 0, MAX_OUTPUTS - 1);
        delta = bound(delta, 1, R - 1);
        inst[ACC_LIMBS + 3 + idx] = addmod(inst[ACC_LIMBS + 3 + idx], delta, R);
        assertFalse(harness.matchesInstances(out, values.length, _slots(inst), MAX_OUTPUTS));
    }

    function testFuzz_matchesInstances_rejectsOutOfRangeValues(int256 v) public view {
        vm.assume(v > MAX || v < -MAX);
        int256[] memory values = new int256[](1);
        values[0] = v;
        // Whatever instance is offered, including v's residue mod r.
        uint256[] memory inst = _instances(VK, INPUT, new int256[](0));
        // forge-lint: disable-next-line(unsafe-typecast) -- two's complement reading is intended
        uint256 residue = v >= 0 ? uint256(v) % R : R - ((uint256(-(v + 1)) + 1) % R);
        inst[ACC_LIMBS + 3] = residue % R;
        assertFalse(harness.matchesInstances(_output(values), 1, _slots(inst), MAX_OUTPUTS));
    }

    // ------------------------------------------------------------------ compact storage

    function testFuzz_packedOutput_roundTrips(int256[] memory seed, uint8 n, uint8 scale, uint64 id) public {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, 0, 64));
        (uint256 gotId, uint8 gotScale, int256[] memory got) =
            harness.storeAndLoad(id, OutputCodec.encode(values, scale));
        assertEq(gotId, id);
        assertEq(gotScale, scale);
        assertEq(got, values);
    }

    function testFuzz_packedOutput_picksNarrowestWidth(uint8 widthLog, bool negative) public view {
        uint256 w = uint256(1) << bound(widthLog, 0, 4); // 1..16 bytes
        int256 top = int256((uint256(1) << (8 * w - 1)) - 1); // int(8w) max
        int256[] memory v = new int256[](1);
        v[0] = negative ? -top - 1 : top; // both ends of the int(8w) range
        assertEq(harness.widthOf(OutputCodec.encode(v, 0)), w);
        v[0] = negative ? -top - 2 : top + 1; // one past
        assertEq(harness.widthOf(OutputCodec.encode(v, 0)), 2 * w);
    }

    // ------------------------------------------------------------------ through the registry

    function testFuzz_verifyAndStoreInference_outputRoundTrips(int256[] memory seed, uint8 n, bytes32 input) public {
        vm.assume(seed.length > 0);
        input = bytes32(uint256(input) % R);
        int256[] memory values = _inRange(seed, bound(n, 0, MAX_OUTPUTS));
        bytes32 id = _store(modelId, input, values);
        (uint256 m, bytes32 gotInput, bytes memory out) = registry.getInference(id);
        assertEq(m, modelId);
        assertEq(gotInput, input);
        assertEq(out, _output(values));
        (int256[] memory got, uint8 scale) = registry.getAttestedOutput(id);
        assertEq(got, values);
        assertEq(scale, SCALE);
    }

    function testFuzz_verifyInference_rejectsAlteredClaimedValue(int256[] memory seed, uint256 idx, int256 other)
        public
    {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(seed.length, 1, MAX_OUTPUTS));
        bytes memory p = _approvedProof(VK, INPUT, values);
        idx = bound(idx, 0, values.length - 1);
        vm.assume(other != values[idx]);
        values[idx] = other;
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(values), p);
    }

    /// @dev The output-instance region of a full instance vector, as calldata bytes.
    function _slots(uint256[] memory inst) internal pure returns (bytes memory) {
        (uint256[] memory all,) = ProofCodec.split(ProofCodec.encode(inst, ""), inst.length);
        uint256[] memory tail = new uint256[](MAX_OUTPUTS);
        for (uint256 i = 0; i < MAX_OUTPUTS; ++i) {
            tail[i] = all[ACC_LIMBS + 3 + i];
        }
        return abi.encodePacked(tail);
    }
}
