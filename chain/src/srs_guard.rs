//! Refusing a dev-SRS verifier anywhere but a local development chain.
//!
//! The generated verifier's final pairing check takes `[τ]G2` as four constant words. The dev
//! SRS's τ comes from a public seed, so a verifier holding the dev `[τ]G2` accepts proofs
//! anyone can forge. What decides is therefore the code itself, not a label: a verifier is a
//! dev-SRS verifier when its code carries the dev `[τ]G2` words (the prover crate's test
//! `dev_s_g2_words_match_the_chain_guard` keeps these constants equal to its dev SRS).

use crate::{ChainError, Result};

/// The dev SRS's `[τ]G2` as the EVM pairing precompile takes it: x.c1, x.c0, y.c1, y.c0,
/// each a 32-byte big-endian word.
pub const DEV_SRS_S_G2_WORDS: [&str; 4] = [
    "24b202a6d02aeb314fd1dbde7d033ec7c7643bc955fc6d9e313d7fe335500288",
    "303e0b54ca42f4f7734e2bc82d2cdf98948648f44ba7592c1befee1819294f7e",
    "2422cbfad509b55ac6621a0f6b1f077b60b8ddcbaad9cb287f809d5cbaf090ac",
    "0e7e495d3b8a6a7b8a2a4f3ef46356db14869b18617bf355ef494ee98e7e173b",
];

/// The y words of `-[τ]G2`: snark-verifier's verifier holds the negated point (its pairing
/// check is `e(A, G2) e(B, -[τ]G2) = 1`); other generators may hold either.
pub const DEV_SRS_NEG_S_G2_Y_WORDS: [&str; 2] = [
    "0c4182780c27eacef1ee2ba7166250e236c88cc5bd97ff64bc9feeba1d8c6c9b",
    "21e60515a5a735ae2e25f6778d1e018282facf7906f5d7374cd73d2d49fee60c",
];

/// Chain ids of local development chains (anvil and hardhat 31337, geth --dev and ganache
/// 1337): the only ones a dev-SRS verifier may go to without `--allow-insecure-srs`.
pub const LOCAL_CHAIN_IDS: [u64; 2] = [31337, 1337];

/// Whether contract code (creation or runtime) pairs against the dev SRS: it holds the x
/// words of the dev `[τ]G2` and the y words of it or of its negation.
pub fn uses_dev_srs(code: &[u8]) -> bool {
    let holds = |words: &[&str]| {
        words.iter().all(|w| {
            let word = hex::decode(w).unwrap_or_default();
            code.windows(32).any(|c| c == word.as_slice())
        })
    };
    holds(&DEV_SRS_S_G2_WORDS[..2])
        && (holds(&DEV_SRS_S_G2_WORDS[2..]) || holds(&DEV_SRS_NEG_S_G2_Y_WORDS))
}

/// Refuses a dev-SRS verifier on a chain that is not a local development chain, unless the
/// operator explicitly allows it; otherwise says whether the verifier is a dev-SRS one.
pub fn check(code: &[u8], chain_id: u64, allow_insecure_srs: bool) -> Result<bool> {
    let dev = uses_dev_srs(code);
    if dev && !LOCAL_CHAIN_IDS.contains(&chain_id) && !allow_insecure_srs {
        return Err(ChainError::InsecureSrs { chain_id });
    }
    Ok(dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_with(words: &[&str]) -> Vec<u8> {
        let mut code = vec![0x60, 0x80];
        for w in words {
            code.push(0x7f); // PUSH32
            code.extend(hex::decode(w).expect("hex"));
        }
        code
    }

    #[test]
    fn dev_words_are_found_only_all_together() {
        assert!(uses_dev_srs(&code_with(&DEV_SRS_S_G2_WORDS)));
        let negated = [DEV_SRS_S_G2_WORDS[0], DEV_SRS_S_G2_WORDS[1], DEV_SRS_NEG_S_G2_Y_WORDS[0]];
        assert!(!uses_dev_srs(&code_with(&negated)));
        assert!(uses_dev_srs(&code_with(&[&negated[..], &DEV_SRS_NEG_S_G2_Y_WORDS[1..]].concat())));
        assert!(!uses_dev_srs(&code_with(&DEV_SRS_S_G2_WORDS[..3])));
        assert!(!uses_dev_srs(&[]));
    }

    #[test]
    fn refused_off_local_chains_unless_allowed() {
        let dev = code_with(&DEV_SRS_S_G2_WORDS);
        assert!(matches!(check(&dev, 1, false), Err(ChainError::InsecureSrs { chain_id: 1 })));
        assert!(check(&dev, 1, true).expect("allowed"));
        assert!(check(&dev, 31337, false).expect("local chain"));
        assert!(!check(&code_with(&DEV_SRS_S_G2_WORDS[1..]), 1, false).expect("not dev"));
    }
}
