// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title The `output` encoding of zkattest inferences and its packing into public instances.
/// @notice `output = abi.encode(int256[] values, uint8 scaleBits)`; real value = values[i] / 2^scaleBits.
/// In the proof the values travel packed, as the aggregation circuit packs them
/// (prover/src/aggregate/outputs.rs): with M output slots there are W = ceil(M / 15) words.
/// n values are packed at b bits a slot, the widest of 48, 32 and 16 whose W * (240 / b)
/// slots hold them (with W = 2: up to 10 values at 48 bits, up to 14 at 32, up to 30 at 16),
/// p = 240 / b slots a word:
///
///     word_j = sum_{i < p, pj + i < C} 2^(b i) * (v_{pj+i} + 2^(b-1))
///              [+ 2^240 * n + 2^246 * scaleBits  if j = 0]
///
/// where C = min(M, W p) is the number of slots at that width, n the number of values,
/// scaleBits the output scale (the last shard's circuit states both as a constant, so the
/// proof binds the scale too), every value lies in [-2^(b-1), 2^(b-1)) and unused slots
/// (n <= slot < C) hold v = 0, i.e. the field 2^(b-1). All other bits are zero. The circuit
/// range-checks every field (b bits each, 6 for n and for scaleBits) and derives b from n, so
/// each (n, scaleBits, values) has exactly one packing and vice versa.
/// @dev Parsing is strict on purpose: exactly one byte string is accepted per (values, scaleBits),
/// so one inference has exactly one inferenceId and cannot be stored twice under byte-level
/// variants (non-minimal offsets, trailing bytes, dirty uint8 padding).
library OutputCodec {
    /// @notice Bits of a word that hold values (the count and the scale sit above them in word 0).
    uint256 internal constant VALUE_BITS = 240;
    /// @notice Slots a word at the narrowest width (16 bits) holds.
    uint256 internal constant OUTPUTS_PER_WORD = 15;
    /// @notice Bit position of the count n in word 0.
    uint256 internal constant COUNT_SHIFT = 240;
    /// @notice Bit position of the output scale in word 0 (above the 6-bit count).
    uint256 internal constant SCALE_SHIFT = 246;
    /// @notice Largest number of output slots M: the count field has 6 bits.
    uint256 internal constant MAX_OUTPUT_SLOTS = 63;
    /// @notice Largest output scale a proof can state: the scale field has 6 bits.
    uint256 internal constant MAX_SCALE_BITS = 63;
    /// @notice Smallest value a proof can carry at any count (-2^15; fewer values carry more, see slotBits).
    int256 internal constant MIN_VALUE = -32768;
    /// @notice Largest value a proof can carry at any count (2^15 - 1).
    int256 internal constant MAX_VALUE = 32767;
    /// @notice Words of unused slots (v = 0) at 16, 32 and 48 bits a slot.
    uint256 internal constant PADDING_16 = 0x800080008000800080008000800080008000800080008000800080008000;
    uint256 internal constant PADDING_32 = 0x80000000800000008000000080000000800000008000000080000000;
    uint256 internal constant PADDING_48 = 0x800000000000800000000000800000000000800000000000800000000000;
    /// @notice Bytes before the first value: offset (0x40), scaleBits, array length.
    uint256 internal constant HEAD_BYTES = 0x60;

    /// @notice Parses the head of a calldata `output` and checks it is canonical.
    /// @param output The encoded output.
    /// @return ok Whether `output` is exactly abi.encode(int256[count], uint8).
    /// @return count Number of values (meaningful only if ok).
    /// @return scaleBits Fractional bits (meaningful only if ok).
    function parse(bytes calldata output) internal pure returns (bool ok, uint256 count, uint8 scaleBits) {
        if (output.length < HEAD_BYTES) return (false, 0, 0);
        uint256 offset;
        uint256 scale;
        assembly ("memory-safe") {
            offset := calldataload(output.offset)
            scale := calldataload(add(output.offset, 0x20))
            count := calldataload(add(output.offset, 0x40))
        }
        uint256 body = output.length - HEAD_BYTES;
        ok = offset == 0x40 && scale <= type(uint8).max && body % 32 == 0 && body / 32 == count;
        // forge-lint: disable-next-line(unsafe-typecast) -- truncation harmless: only used when ok
        scaleBits = uint8(scale);
    }

    /// @notice The i-th value of an `output` that `parse` accepted (no bounds check).
    /// @param output The encoded output.
    /// @param i Value index, below the parsed count.
    /// @return v The value.
    function valueAt(bytes calldata output, uint256 i) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            v := calldataload(add(output.offset, add(0x60, shl(5, i))))
        }
    }

    /// @notice Number of packed words for `maxOutputs` output slots.
    /// @param maxOutputs Number of output slots M.
    /// @return ceil(M / OUTPUTS_PER_WORD).
    function wordCount(uint256 maxOutputs) internal pure returns (uint256) {
        return (maxOutputs + OUTPUTS_PER_WORD - 1) / OUTPUTS_PER_WORD;
    }

    /// @notice Bits of each slot when `count` values are packed in `wordCount(maxOutputs)`
    /// words: the widest of 48, 32 and 16 whose slots hold them all.
    /// @param count Number of values, at most maxOutputs.
    /// @param maxOutputs Number of output slots M.
    /// @return bits The slot width.
    function slotBits(uint256 count, uint256 maxOutputs) internal pure returns (uint256 bits) {
        uint256 numWords = wordCount(maxOutputs);
        if (count <= 5 * numWords) return 48;
        if (count <= 7 * numWords) return 32;
        return 16;
    }

    /// @notice Whether the packed output words of a proof carry exactly the values of `output`
    /// at `scaleBits`: count <= maxOutputs, scaleBits <= MAX_SCALE_BITS, every value in the
    /// range of its slot (`slotBits`), and the first `wordCount(maxOutputs)` words of `words`
    /// equal the packing of (count, scaleBits, values).
    /// @dev The registry's hot path: it builds each expected word from calldata (`_valuesWord`)
    /// and compares it with the instance. A fuzz test checks it agrees with `pack` for every
    /// slot count.
    /// @param output A parsed output (see `parse`) with `count` values.
    /// @param count Number of values.
    /// @param scaleBits The output scale.
    /// @param words The packed output instances (calldata, 32 bytes per word).
    /// @param maxOutputs Number of output slots M, at most MAX_OUTPUT_SLOTS.
    /// @return ok True iff all match.
    function matchesWords(
        bytes calldata output,
        uint256 count,
        uint256 scaleBits,
        bytes calldata words,
        uint256 maxOutputs
    ) internal pure returns (bool ok) {
        assembly ("memory-safe") {
            // The two calldata offsets go to scratch space: the loops below use every stack slot.
            mstore(0x00, add(output.offset, 0x60))
            mstore(0x20, words.offset)
            let numWords := div(add(maxOutputs, sub(OUTPUTS_PER_WORD, 1)), OUTPUTS_PER_WORD)
            ok := and(iszero(gt(count, maxOutputs)), iszero(lt(words.length, shl(5, numWords))))
            ok := and(ok, iszero(gt(scaleBits, MAX_SCALE_BITS)))
            // slotBits: the widest width whose slots hold the count.
            let bits := 16
            if iszero(gt(count, mul(7, numWords))) { bits := 32 }
            if iszero(gt(count, mul(5, numWords))) { bits := 48 }
            // From here on, maxOutputs is the number of slots at this width: min(M, W * perWord).
            if lt(mul(div(VALUE_BITS, bits), numWords), maxOutputs) {
                maxOutputs := mul(div(VALUE_BITS, bits), numWords)
            }
            // OR of every v + 2^(b-1) (mod 2^256): below 2^b iff every v is in [-2^(b-1), 2^(b-1)).
            let fields := 0
            for { let w := 0 } lt(w, numWords) { w := add(w, 1) } {
                let base := mul(w, div(VALUE_BITS, bits))
                // This word's slots are [base, last); those below `count` hold values.
                let last := add(base, div(VALUE_BITS, bits))
                if gt(last, maxOutputs) { last := maxOutputs }
                let valuesEnd := base
                if gt(count, base) { valuesEnd := count }
                if gt(valuesEnd, last) { valuesEnd := last }
                // The count and the scale sit above the values of word 0.
                let word := mul(iszero(w), or(shl(COUNT_SHIFT, count), shl(SCALE_SHIFT, scaleBits)))
                for { let slot := base } lt(slot, valuesEnd) { slot := add(slot, 1) } {
                    let field := add(calldataload(add(mload(0x00), shl(5, slot))), shl(sub(bits, 1), 1))
                    fields := or(fields, field)
                    word := or(word, shl(mul(bits, sub(slot, base)), field))
                }
                // Unused slots [valuesEnd, last) hold v = 0, in one masked step; slots >=
                // maxOutputs hold nothing.
                let padding := PADDING_16
                if eq(bits, 32) { padding := PADDING_32 }
                if eq(bits, 48) { padding := PADDING_48 }
                word := or(
                    word,
                    and(padding, sub(shl(mul(sub(last, base), bits), 1), shl(mul(sub(valuesEnd, base), bits), 1)))
                )
                ok := and(ok, eq(word, calldataload(add(mload(0x20), shl(5, w)))))
            }
            ok := and(ok, lt(fields, shl(bits, 1)))
        }
    }

    /// @notice Packs output values as the aggregation circuit does (the reference for `matchesWords`).
    /// @param values Output values.
    /// @param scaleBits The output scale, at most MAX_SCALE_BITS.
    /// @param maxOutputs Number of output slots M, in [1, MAX_OUTPUT_SLOTS].
    /// @return ok False if there are more than M values, a value is outside its slot's range,
    /// the scale does not fit or M is out of range.
    /// @return words The `wordCount(M)` packed words (meaningful only if ok).
    function pack(int256[] memory values, uint256 scaleBits, uint256 maxOutputs)
        internal
        pure
        returns (bool ok, uint256[] memory words)
    {
        if (maxOutputs == 0 || maxOutputs > MAX_OUTPUT_SLOTS || scaleBits > MAX_SCALE_BITS) {
            return (false, new uint256[](0));
        }
        uint256 numWords = wordCount(maxOutputs);
        words = new uint256[](numWords);
        if (values.length > maxOutputs) return (false, words);
        uint256 bits = slotBits(values.length, maxOutputs);
        uint256 perWord = VALUE_BITS / bits;
        uint256 slots = perWord * numWords < maxOutputs ? perWord * numWords : maxOutputs;
        int256 half = int256(1 << (bits - 1));
        for (uint256 slot = 0; slot < slots; ++slot) {
            int256 v = slot < values.length ? values[slot] : int256(0);
            if (v < -half || v >= half) return (false, words);
            // forge-lint: disable-next-line(unsafe-typecast) -- v + 2^(b-1) is in [0, 2^b)
            uint256 field = uint256(v + half);
            words[slot / perWord] |= field << (bits * (slot % perWord));
        }
        words[0] |= (values.length << COUNT_SHIFT) | (scaleBits << SCALE_SHIFT);
        ok = true;
    }

    /// @notice Inverse of `pack`: the values packed output words carry.
    /// @param words Packed output words.
    /// @param maxOutputs Number of output slots M, in [1, MAX_OUTPUT_SLOTS].
    /// @return ok False unless `words` is exactly `pack(values, scaleBits, M)` for some values
    /// and scale.
    /// @return values The values (meaningful only if ok).
    /// @return scaleBits The output scale (meaningful only if ok).
    function unpack(uint256[] memory words, uint256 maxOutputs)
        internal
        pure
        returns (bool ok, int256[] memory values, uint8 scaleBits)
    {
        if (maxOutputs == 0 || maxOutputs > MAX_OUTPUT_SLOTS || words.length != wordCount(maxOutputs)) {
            return (false, values, 0);
        }
        uint256 n = (words[0] >> COUNT_SHIFT) & MAX_OUTPUT_SLOTS;
        uint256 scale = words[0] >> SCALE_SHIFT; // bits 252..255 set make it exceed MAX_SCALE_BITS
        if (n > maxOutputs || scale > MAX_SCALE_BITS) return (false, values, 0);
        // forge-lint: disable-next-line(unsafe-typecast) -- at most 63
        scaleBits = uint8(scale);
        uint256 bits = slotBits(n, maxOutputs);
        uint256 perWord = VALUE_BITS / bits;
        values = new int256[](n);
        for (uint256 slot = 0; slot < n; ++slot) {
            uint256 field = (words[slot / perWord] >> (bits * (slot % perWord))) & ((1 << bits) - 1);
            // forge-lint: disable-next-line(unsafe-typecast) -- a field of at most 48 bits
            values[slot] = int256(field) - int256(1 << (bits - 1));
        }
        // Canonical iff packing what was read gives the words back (padding, high bits, count).
        (bool packed, uint256[] memory again) = pack(values, scale, maxOutputs);
        ok = packed && keccak256(abi.encode(again)) == keccak256(abi.encode(words));
    }

    /// @notice Encodes outputs the way `verifyInference` expects them.
    /// @param values Fixed-point values.
    /// @param scaleBits Fractional bits.
    /// @return The encoded output.
    function encode(int256[] memory values, uint8 scaleBits) internal pure returns (bytes memory) {
        return abi.encode(values, scaleBits);
    }
}
