// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {CodecHarness} from "./utils/CodecHarness.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {InstanceLayout} from "../src/libraries/InstanceLayout.sol";
import {OutputCodec} from "../src/libraries/OutputCodec.sol";
import {ProofCodec} from "../src/libraries/ProofCodec.sol";

/// @notice Fuzz tests of the output encoding: canonical parsing, the packing of values into
/// instance words (reference `pack`/`unpack` and the registry's assembly `matchesWords`),
/// compact storage, and the round trip through the registry.
contract OutputEncodingTest is RegistryTestBase {
    CodecHarness internal harness;
    uint256 internal modelId;
    int256 internal constant MIN = OutputCodec.MIN_VALUE;
    int256 internal constant MAX = OutputCodec.MAX_VALUE;
    uint256 internal constant WORD0 = ACC_LIMBS + 2;

    function setUp() public override {
        super.setUp();
        harness = new CodecHarness();
        modelId = _registerModel();
    }

    /// @dev Values n outputs among m slots can carry lie in [-half, half).
    function _half(uint256 n, uint256 m) internal pure returns (int256) {
        return int256(1 << (OutputCodec.slotBits(n, m) - 1));
    }

    /// @dev n values in the range of their slots among m, derived from `seed`.
    function _inRange(int256[] memory seed, uint256 n, uint256 m) internal pure returns (int256[] memory out) {
        int256 half = _half(n, m);
        out = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = bound(seed[i % seed.length], -half, half - 1);
        }
    }

    function _inRange(int256[] memory seed, uint256 n) internal pure returns (int256[] memory) {
        return _inRange(seed, n, MAX_OUTPUTS);
    }

    /// @dev The b-bit alias of v (same low b bits, sign-extended), b a multiple of 8.
    function _alias(int256 v, uint256 bits) internal pure returns (int256 a) {
        uint256 top = bits / 8 - 1;
        assembly ("memory-safe") {
            a := signextend(top, v)
        }
    }

    /// @dev n arbitrary int256 values derived from `seed`.
    function _any(int256[] memory seed, uint256 n) internal pure returns (int256[] memory out) {
        out = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- any bit pattern is fine
            out[i] = seed[i % seed.length] ^ int256(i);
        }
    }

    /// @dev A value outside the range of n values' slots.
    function _outOfRange(int256 v, uint256 n) internal pure returns (int256) {
        int256 half = _half(n, MAX_OUTPUTS);
        if (v >= -half && v < half) return v >= 0 ? v + half : v - half - 1;
        return v;
    }

    function _pack(int256[] memory values, uint256 m) internal pure returns (uint256[] memory words) {
        bool ok;
        (ok, words) = OutputCodec.pack(values, SCALE, m);
        require(ok, "test: values must pack");
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

    // ------------------------------------------------------------------ packing

    function testFuzz_pack_roundTripsInRange(int256[] memory seed, uint8 n) public pure {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, 0, MAX_OUTPUTS));
        (bool ok, uint256[] memory words) = OutputCodec.pack(values, SCALE, MAX_OUTPUTS);
        assertTrue(ok);
        assertEq(words.length, OUTPUT_WORDS);
        assertEq((words[0] >> 240) & 63, values.length, "count at bit 240 of word 0");
        assertEq(words[0] >> 246, SCALE, "scale at bit 246 of word 0");
        for (uint256 j = 0; j < words.length; ++j) {
            assertLt(words[j], InstanceLayout.FIELD_MODULUS);
        }
        (bool back, int256[] memory got, uint8 gotScale) = OutputCodec.unpack(words, MAX_OUTPUTS);
        assertTrue(back);
        assertEq(got, values);
        assertEq(gotScale, SCALE);
    }

    function testFuzz_pack_isInjective(int256[] memory seedA, int256[] memory seedB, uint8 nA, uint8 nB) public pure {
        vm.assume(seedA.length > 0 && seedB.length > 0);
        int256[] memory a = _inRange(seedA, bound(nA, 0, MAX_OUTPUTS));
        int256[] memory b = _inRange(seedB, bound(nB, 0, MAX_OUTPUTS));
        vm.assume(keccak256(abi.encode(a)) != keccak256(abi.encode(b)));
        assertTrue(keccak256(abi.encode(_pack(a, MAX_OUTPUTS))) != keccak256(abi.encode(_pack(b, MAX_OUTPUTS))));
    }

    function testFuzz_pack_rejectsOutOfRangeValue(int256[] memory seed, uint8 n, uint256 idx, int256 v) public pure {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, 1, MAX_OUTPUTS));
        values[bound(idx, 0, values.length - 1)] = _outOfRange(v, values.length);
        (bool ok,) = OutputCodec.pack(values, SCALE, MAX_OUTPUTS);
        assertFalse(ok);
    }

    function testFuzz_pack_rejectsTooManyValues(int256[] memory seed, uint8 n) public pure {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, MAX_OUTPUTS + 1, 255));
        (bool ok,) = OutputCodec.pack(values, SCALE, MAX_OUTPUTS);
        assertFalse(ok);
    }

    function testFuzz_unpack_acceptsOnlyCanonicalWords(int256[] memory seed, uint8 n, uint256 w, uint256 delta)
        public
        pure
    {
        // Change a valid packing anywhere: if unpack still accepts it, it is the packing of what
        // it decodes to, which then differs from the original values.
        vm.assume(seed.length > 0 && delta != 0);
        int256[] memory values = _inRange(seed, bound(n, 0, MAX_OUTPUTS));
        uint256[] memory words = _pack(values, MAX_OUTPUTS);
        words[bound(w, 0, words.length - 1)] ^= delta;
        (bool ok, int256[] memory got, uint8 gotScale) = OutputCodec.unpack(words, MAX_OUTPUTS);
        if (!ok) return;
        (bool repacked, uint256[] memory again) = OutputCodec.pack(got, gotScale, MAX_OUTPUTS);
        assertTrue(repacked);
        assertEq(keccak256(abi.encode(again)), keccak256(abi.encode(words)));
        assertTrue(keccak256(abi.encode(got, gotScale)) != keccak256(abi.encode(values, SCALE)));
    }

    // ------------------------------------------------------------------ instance check

    function testFuzz_matchesWords_agreesWithPack(int256[] memory seed, uint8 n, uint256 w, uint256 delta) public view {
        vm.assume(seed.length > 0 && delta != 0);
        int256[] memory values = _inRange(seed, bound(n, 0, MAX_OUTPUTS));
        uint256[] memory words = _pack(values, MAX_OUTPUTS);
        bytes memory out = _output(values);
        assertTrue(harness.matchesWords(out, values.length, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
        assertTrue(harness.parseAndMatch(out, abi.encodePacked(words), MAX_OUTPUTS));

        // Any change to any bit of any word (value, padding, count, high bits) is caught.
        words[bound(w, 0, words.length - 1)] ^= delta;
        assertFalse(harness.matchesWords(out, values.length, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
    }

    function testFuzz_matchesWords_agreesWithPackForAnyLayout(int256[] memory seed, uint8 m, uint8 n) public view {
        // Slot counts that are not a multiple of 15 leave the top slots of the last word zero.
        vm.assume(seed.length > 0);
        uint256 slots = bound(m, 1, OutputCodec.MAX_OUTPUT_SLOTS);
        uint256 count = bound(n, 0, slots);
        int256[] memory values = _inRange(seed, count, slots);
        uint256[] memory words = _pack(values, slots);
        assertEq(words.length, InstanceLayout.outputWords(slots));
        assertTrue(harness.matchesWords(_output(values), values.length, SCALE, abi.encodePacked(words), slots));
        (bool ok, int256[] memory got,) = OutputCodec.unpack(words, slots);
        assertTrue(ok);
        assertEq(got, values);
    }

    function testFuzz_matchesWords_rejectsOutOfRangeValue(int256[] memory seed, uint8 n, uint256 idx, int256 v)
        public
        view
    {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, 1, MAX_OUTPUTS));
        idx = bound(idx, 0, values.length - 1);
        uint256 bits = OutputCodec.slotBits(values.length, MAX_OUTPUTS);
        int256 half = _half(values.length, MAX_OUTPUTS);
        int256 bad = _outOfRange(v, values.length);
        // Offer the packing of the value's b-bit alias (same low b bits, sign-extended) ...
        int256 alias_ = _alias(bad, bits);
        values[idx] = alias_;
        uint256[] memory words = _pack(values, MAX_OUTPUTS);
        values[idx] = bad;
        bytes memory out = _output(values);
        assertFalse(harness.matchesWords(out, values.length, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
        // ... and the word an unchecked packer would produce (carries and borrows included).
        uint256 perWord = 240 / bits;
        uint256 shift = bits * (idx % perWord);
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) -- two's complement arithmetic is intended
            words[idx / perWord] =
                words[idx / perWord] - (uint256(alias_ + half) << shift) + (uint256(bad + half) << shift);
        }
        assertFalse(harness.matchesWords(out, values.length, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
    }

    function testFuzz_matchesWords_rejectsTooManyValues(int256[] memory seed, uint8 n) public view {
        // Even with instances whose count field claims them (spilling into the scale field).
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, MAX_OUTPUTS + 1, 255));
        uint256[] memory words = _pack(new int256[](0), MAX_OUTPUTS);
        words[0] |= values.length << 240;
        assertFalse(harness.matchesWords(_output(values), values.length, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
    }

    function test_matchesWords_everyCount() public view {
        // Each count 0..M (word boundaries included) with its packing, and the count off by one.
        for (uint256 n = 0; n <= MAX_OUTPUTS; ++n) {
            int256[] memory values = new int256[](n);
            int256 half = _half(n, MAX_OUTPUTS);
            for (uint256 i = 0; i < n; ++i) {
                // forge-lint: disable-next-line(unsafe-typecast) -- i < 30
                values[i] = i % 2 == 0 ? -half + int256(i) : half - 1 - int256(i);
            }
            uint256[] memory words = _pack(values, MAX_OUTPUTS);
            bytes memory out = _output(values);
            assertTrue(harness.matchesWords(out, n, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
            words[0] += uint256(1) << 240;
            assertFalse(harness.matchesWords(out, n, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
            if (n > 0) {
                words[0] -= uint256(2) << 240;
                assertFalse(harness.matchesWords(out, n, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
            }
        }
    }

    function test_slotBits_widestThatHoldsTheCount() public pure {
        // Two words (M = 30): up to 10 values at 48 bits, 11..14 at 32, 15..30 at 16.
        for (uint256 n = 0; n <= MAX_OUTPUTS; ++n) {
            uint256 want = n <= 10 ? 48 : n <= 14 ? 32 : 16;
            assertEq(OutputCodec.slotBits(n, MAX_OUTPUTS), want);
        }
        // One word (M <= 15): 5, 7, then 15.
        assertEq(OutputCodec.slotBits(5, 15), 48);
        assertEq(OutputCodec.slotBits(6, 15), 32);
        assertEq(OutputCodec.slotBits(8, 15), 16);
    }

    function testFuzz_matchesWords_rejectsAnotherWidth(int256[] memory seed, uint8 n, uint8 b) public view {
        // Values small enough for every width, packed at a width their count does not select.
        vm.assume(seed.length > 0);
        uint256 count = bound(n, 0, MAX_OUTPUTS);
        uint256 bits = [uint256(16), 32, 48][bound(b, 0, 2)];
        uint256 perWord = 240 / bits;
        vm.assume(bits != OutputCodec.slotBits(count, MAX_OUTPUTS) && count <= perWord * OUTPUT_WORDS);
        int256[] memory values = new int256[](count);
        for (uint256 i = 0; i < count; ++i) {
            values[i] = bound(seed[i % seed.length], MIN, MAX);
        }
        uint256[] memory words = new uint256[](OUTPUT_WORDS);
        uint256 slots = perWord * OUTPUT_WORDS < MAX_OUTPUTS ? perWord * OUTPUT_WORDS : MAX_OUTPUTS;
        for (uint256 slot = 0; slot < slots; ++slot) {
            int256 v = slot < count ? values[slot] : int256(0);
            // forge-lint: disable-next-line(unsafe-typecast) -- within the narrowest slot
            words[slot / perWord] |= uint256(v + int256(1 << (bits - 1))) << (bits * (slot % perWord));
        }
        words[0] |= (count << 240) | (uint256(SCALE) << 246);
        assertFalse(harness.matchesWords(_output(values), count, SCALE, abi.encodePacked(words), MAX_OUTPUTS));
        // The count names the width, so the words read as other values, if as any.
        (bool ok, int256[] memory got,) = OutputCodec.unpack(words, MAX_OUTPUTS);
        if (ok) assertTrue(count > 0 && keccak256(abi.encode(got)) != keccak256(abi.encode(values)));
    }

    function testFuzz_matchesWords_rejectsAnotherScale(int256[] memory seed, uint8 n, uint8 other) public view {
        // The proof states the output scale: words packed at one scale never match an output
        // claiming another, whichever side is changed.
        vm.assume(seed.length > 0 && other != SCALE);
        int256[] memory values = _inRange(seed, bound(n, 0, MAX_OUTPUTS));
        uint256[] memory words = _pack(values, MAX_OUTPUTS);
        bytes memory claimed = OutputCodec.encode(values, other);
        assertFalse(harness.matchesWords(_output(values), values.length, other, abi.encodePacked(words), MAX_OUTPUTS));
        assertFalse(harness.parseAndMatch(claimed, abi.encodePacked(words), MAX_OUTPUTS));
        if (other <= OutputCodec.MAX_SCALE_BITS) {
            (bool ok, uint256[] memory atOther) = OutputCodec.pack(values, other, MAX_OUTPUTS);
            assertTrue(ok);
            assertTrue(harness.parseAndMatch(claimed, abi.encodePacked(atOther), MAX_OUTPUTS));
            assertFalse(harness.parseAndMatch(_output(values), abi.encodePacked(atOther), MAX_OUTPUTS));
        }
    }

    function test_pack_rejectsAScaleAboveTheField() public pure {
        (bool ok,) = OutputCodec.pack(new int256[](1), OutputCodec.MAX_SCALE_BITS + 1, MAX_OUTPUTS);
        assertFalse(ok);
        (ok,) = OutputCodec.pack(new int256[](1), OutputCodec.MAX_SCALE_BITS, MAX_OUTPUTS);
        assertTrue(ok);
    }

    function test_matchesWords_rejectsShortWordSlice() public view {
        int256[] memory values = _values3();
        uint256[] memory words = _pack(values, MAX_OUTPUTS);
        bytes memory one = abi.encodePacked(words[0]);
        assertFalse(harness.matchesWords(_output(values), 3, SCALE, one, MAX_OUTPUTS));
        assertTrue(
            harness.matchesWords(_output(values), 3, SCALE, bytes.concat(abi.encodePacked(words), hex"ff"), MAX_OUTPUTS)
        );
    }

    // ------------------------------------------------------------------ compact storage

    function testFuzz_packedOutput_roundTrips(int256[] memory seed, uint8 n, uint8 scale, uint64 id) public {
        vm.assume(seed.length > 0);
        int256[] memory values = _any(seed, bound(n, 0, 64)); // the library stores any int256
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
        input = bytes32(uint256(input) % InstanceLayout.FIELD_MODULUS);
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

    function testFuzz_verifyInference_rejectsTamperedWord(int256[] memory seed, uint8 n, uint256 w, uint256 delta)
        public
    {
        // The verifier stand-in approves the tampered calldata: only the registry can refuse.
        vm.assume(seed.length > 0 && delta != 0);
        int256[] memory values = _inRange(seed, bound(n, 0, MAX_OUTPUTS));
        uint256[] memory inst = _instances(VK, INPUT, values);
        uint256 at = WORD0 + bound(w, 0, OUTPUT_WORDS - 1);
        bytes memory p = _approvedProofWith(inst, at, inst[at] ^ delta);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(values), p);
    }

    function testFuzz_verifyInference_rejectsOutOfRangeValue(int256[] memory seed, uint8 n, uint256 idx, int256 v)
        public
    {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, 1, MAX_OUTPUTS));
        idx = bound(idx, 0, values.length - 1);
        int256 bad = _outOfRange(v, values.length);
        int256 alias_ = _alias(bad, OutputCodec.slotBits(values.length, MAX_OUTPUTS));
        values[idx] = alias_;
        bytes memory p = _approvedProof(VK, INPUT, values); // an honest proof of the alias
        values[idx] = bad;
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(values), p);
    }

    function test_verifyInference_rejectsAProofOfAnotherScale() public {
        // A proof whose circuit states another output scale than the model was registered
        // with, approved by the verifier stand-in: the registry refuses it, and an output
        // claiming the proof's scale is refused against the registered one.
        int256[] memory values = _values3();
        uint256[] memory inst = _instances(VK, INPUT, values);
        uint256 otherScale = uint256(SCALE) + 1;
        bytes memory p = _approvedProofWith(inst, WORD0, inst[WORD0] + (uint256(1) << 246));
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(values), p);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        // forge-lint: disable-next-line(unsafe-typecast) -- SCALE + 1 < 256
        registry.verifyInference(modelId, INPUT, OutputCodec.encode(values, uint8(otherScale)), p);
    }

    function testFuzz_verifyInference_rejectsTooManyValues(int256[] memory seed, uint8 n) public {
        vm.assume(seed.length > 0);
        int256[] memory values = _inRange(seed, bound(n, MAX_OUTPUTS + 1, 255));
        uint256[] memory inst = _instances(VK, INPUT, new int256[](0));
        inst[WORD0] |= values.length << 240;
        mock.setAcceptAll(true);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyInference(modelId, INPUT, _output(values), ProofCodec.encode(inst, hex"00"));
    }
}
