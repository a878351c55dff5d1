//! Errors of the chain crate.

use std::path::PathBuf;

/// Everything that can go wrong talking to contracts, forge or anvil.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("forge artifact {path}: {reason}")]
    Artifact { path: PathBuf, reason: String },
    #[error("forge build failed (did scripts/setup.sh run?): {0}")]
    Forge(String),
    #[error("could not start anvil ({0}); run scripts/setup.sh or put anvil on PATH")]
    Anvil(String),
    #[error("no chain at {url}: {reason}")]
    NoChain { url: String, reason: String },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{what} reverted: {reason}")]
    Reverted { what: String, reason: String },
    #[error("{what}: {reason}")]
    Rpc { what: String, reason: String },
    /// A verifier made with the dev SRS (public toxic waste) meant for a real chain.
    #[error("the verifier was generated with the INSECURE dev SRS (anyone can forge proofs against it) and chain {chain_id} is not a local development chain: regenerate it with a real SRS (docs/trust.md), or pass --allow-insecure-srs if you really mean it")]
    InsecureSrs { chain_id: u64 },
}

/// Result alias of the chain crate.
pub type Result<T> = std::result::Result<T, ChainError>;

impl ChainError {
    pub(crate) fn rpc(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        ChainError::Rpc { what: what.into(), reason: redact_urls(&e.to_string()) }
    }
}

/// A URL as it may appear in a message: scheme and host only. RPC endpoints carry API keys
/// in their path, query or user info (`https://eth.example/v2/KEY`), and transport errors
/// quote the URL they failed on.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<redacted URL>".into();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let hidden = rest.len() > host.len() || authority.contains('@');
    format!("{scheme}://{host}{}", if hidden { "/…" } else { "" })
}

/// Every URL in `text`, redacted with [`redact_url`].
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) =
        ["http://", "https://", "ws://", "wss://"].iter().filter_map(|s| rest.find(s)).min()
    {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | ',' | '>'))
            .map_or(rest.len(), |e| at + e);
        out.push_str(&redact_url(&rest[at..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_rpc_urls_never_reach_a_message() {
        assert_eq!(redact_url("https://eth.example/v2/SECRET"), "https://eth.example/…");
        assert_eq!(redact_url("https://user:SECRET@eth.example"), "https://eth.example/…");
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact_url("wss://eth.example?key=SECRET"), "wss://eth.example/…");
        let msg = "error sending request for url (https://eth.example/v2/SECRET): timed out";
        let red = redact_urls(msg);
        assert!(!red.contains("SECRET"), "{red}");
        assert_eq!(red, "error sending request for url (https://eth.example/…): timed out");
        let e = ChainError::rpc("chain id", msg);
        assert!(!e.to_string().contains("SECRET"));
    }
}
