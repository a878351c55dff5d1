//! Relayer configuration: a TOML file, then `ZKATTEST_RELAYER_*` environment overrides.
//! Secrets (the signing key, the API token, the keystore password) are never in the file: the
//! file names the environment variables that hold them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use serde::Deserialize;

use crate::{RelayerError, Result};

/// Where the signing key comes from.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignerSource {
    /// A hex private key in the named environment variable.
    Env { var: String },
    /// An encrypted JSON keystore; its password is in the named environment variable.
    Keystore { path: PathBuf, password_var: String },
}

impl Default for SignerSource {
    fn default() -> Self {
        SignerSource::Env { var: "ZKATTEST_RELAYER_KEY".into() }
    }
}

impl SignerSource {
    /// Loads the signer. Errors name the variable or file, never the key.
    pub fn load(&self) -> Result<PrivateKeySigner> {
        match self {
            SignerSource::Env { var } => {
                let key = std::env::var(var).map_err(|_| {
                    RelayerError::Signer(format!("environment variable {var} is not set"))
                })?;
                key.trim().parse::<PrivateKeySigner>().map_err(|_| {
                    RelayerError::Signer(format!("{var} does not hold a valid hex private key"))
                })
            }
            SignerSource::Keystore { path, password_var } => {
                let password = std::env::var(password_var).map_err(|_| {
                    RelayerError::Signer(format!("environment variable {password_var} is not set"))
                })?;
                PrivateKeySigner::decrypt_keystore(path, password)
                    .map_err(|e| RelayerError::Signer(format!("keystore {}: {e}", path.display())))
            }
        }
    }
}

/// The relayer's settings (all have defaults but `registry`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC endpoint of the chain.
    pub rpc_url: String,
    /// The attestation registry.
    pub registry: Option<Address>,
    /// `sqlite://path/to/file.db` (created if missing) or `postgres://...`.
    pub database_url: String,
    /// HTTP listen address.
    pub listen: String,
    /// Environment variable holding the bearer token required by writes.
    pub auth_token_var: String,
    /// Where the signing key comes from.
    pub signer: SignerSource,
    /// Blocks on top of the inclusion block before a job is `confirmed` (1 = included).
    pub confirmations: u64,
    /// Engine tick.
    pub poll_interval_ms: u64,
    /// A transaction not mined after this long is replaced with higher fees.
    pub bump_after_ms: u64,
    /// Fee increase per replacement, percent (at least 10, the nodes' replacement rule).
    pub bump_percent: u64,
    /// Upper bound on `maxFeePerGas`, wei.
    pub max_fee_per_gas_cap: u128,
    /// Transactions in flight at once.
    pub max_in_flight: usize,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Relay to a registry whose verifier uses the dev SRS on a chain that is not a local
    /// development chain (refused by default: proofs against it can be forged).
    pub allow_insecure_srs: bool,
    /// Most outputs an attestation may carry.
    pub max_outputs: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rpc_url: "http://127.0.0.1:8545".into(),
            registry: None,
            database_url: "sqlite://zkattest-relayer.db".into(),
            listen: "127.0.0.1:8645".into(),
            auth_token_var: "ZKATTEST_RELAYER_TOKEN".into(),
            signer: SignerSource::default(),
            confirmations: 1,
            poll_interval_ms: 200,
            bump_after_ms: 20_000,
            bump_percent: 15,
            max_fee_per_gas_cap: 1_000_000_000_000,
            max_in_flight: 256,
            max_body_bytes: 256 * 1024,
            allow_insecure_srs: false,
            max_outputs: 30,
        }
    }
}

impl Config {
    /// Reads `path` (when given), applies environment overrides, and checks the result.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let mut c = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| RelayerError::Io { path: p.to_path_buf(), source: e })?;
                toml::from_str(&text)
                    .map_err(|e| RelayerError::Config(format!("{}: {e}", p.display())))?
            }
            None => Config::default(),
        };
        c.apply_env(|k| std::env::var(k).ok())?;
        c.check()?;
        Ok(c)
    }

    /// Applies `ZKATTEST_RELAYER_<FIELD>` overrides from `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T> {
            v.parse().map_err(|_| RelayerError::Config(format!("{name}={v:?} is not a number")))
        }
        let p = "ZKATTEST_RELAYER_";
        if let Some(v) = get(&format!("{p}RPC_URL")) {
            self.rpc_url = v;
        }
        if let Some(v) = get(&format!("{p}REGISTRY")) {
            self.registry = Some(v.parse().map_err(|_| {
                RelayerError::Config(format!("{p}REGISTRY={v:?} is not an address"))
            })?);
        }
        if let Some(v) = get(&format!("{p}DATABASE_URL")) {
            self.database_url = v;
        }
        if let Some(v) = get(&format!("{p}LISTEN")) {
            self.listen = v;
        }
        if let Some(v) = get(&format!("{p}CONFIRMATIONS")) {
            self.confirmations = num("CONFIRMATIONS", v)?;
        }
        if let Some(v) = get(&format!("{p}POLL_INTERVAL_MS")) {
            self.poll_interval_ms = num("POLL_INTERVAL_MS", v)?;
        }
        if let Some(v) = get(&format!("{p}BUMP_AFTER_MS")) {
            self.bump_after_ms = num("BUMP_AFTER_MS", v)?;
        }
        if let Some(v) = get(&format!("{p}BUMP_PERCENT")) {
            self.bump_percent = num("BUMP_PERCENT", v)?;
        }
        if let Some(v) = get(&format!("{p}MAX_IN_FLIGHT")) {
            self.max_in_flight = num("MAX_IN_FLIGHT", v)?;
        }
        if let Some(v) = get(&format!("{p}ALLOW_INSECURE_SRS")) {
            self.allow_insecure_srs = match v.as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(RelayerError::Config(format!(
                        "ALLOW_INSECURE_SRS={v:?}: expected true or false"
                    )))
                }
            };
        }
        Ok(())
    }

    /// Rejects settings that cannot work.
    pub fn check(&self) -> Result<()> {
        if self.registry.is_none() {
            return Err(RelayerError::Config(
                "no registry address (set `registry` in the file or ZKATTEST_RELAYER_REGISTRY)"
                    .into(),
            ));
        }
        if self.bump_percent < 10 {
            return Err(RelayerError::Config(format!(
                "bump_percent = {}: nodes refuse replacements below +10%",
                self.bump_percent
            )));
        }
        if self.confirmations == 0 || self.poll_interval_ms == 0 || self.max_in_flight == 0 {
            return Err(RelayerError::Config(
                "confirmations, poll_interval_ms and max_in_flight must be at least 1".into(),
            ));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            return Err(RelayerError::Config(format!(
                "database_url {:?}: expected sqlite://... or postgres://...",
                zkattest_chain::error::redact_url(&self.database_url)
            )));
        }
        Ok(())
    }

    /// The registry address (checked by [`Config::check`]).
    pub fn registry(&self) -> Result<Address> {
        self.registry.ok_or_else(|| RelayerError::Config("no registry address".into()))
    }

    /// The engine tick.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// The bearer token, from its environment variable (writes are refused without one).
    pub fn auth_token(&self) -> Result<String> {
        match std::env::var(&self.auth_token_var) {
            Ok(t) if t.len() >= 16 => Ok(t),
            Ok(_) => Err(RelayerError::Config(format!(
                "{} must hold at least 16 characters",
                self.auth_token_var
            ))),
            Err(_) => Err(RelayerError::Config(format!(
                "environment variable {} is not set",
                self.auth_token_var
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_overrides() {
        let mut c: Config = toml::from_str(
            r#"
            rpc_url = "http://node:8545"
            registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
            confirmations = 3
            [signer]
            kind = "keystore"
            path = "/keys/relayer.json"
            password_var = "PW"
            "#,
        )
        .expect("parse");
        assert_eq!(c.confirmations, 3);
        assert_eq!(
            c.signer,
            SignerSource::Keystore { path: "/keys/relayer.json".into(), password_var: "PW".into() }
        );
        c.apply_env(|k| (k == "ZKATTEST_RELAYER_CONFIRMATIONS").then(|| "5".to_string()))
            .expect("env");
        assert_eq!(c.confirmations, 5);
        assert_eq!(c.rpc_url, "http://node:8545");
        c.check().expect("valid");
        assert!(c
            .apply_env(|k| (k == "ZKATTEST_RELAYER_BUMP_PERCENT").then(|| "x".into()))
            .is_err());
    }

    #[test]
    fn rejects_unusable_settings() {
        assert!(toml::from_str::<Config>("unknown = 1").is_err());
        let c = Config::default();
        assert!(c.check().expect_err("no registry").to_string().contains("registry"));
        let mut c = Config { registry: Some(Address::ZERO), ..Config::default() };
        c.check().expect("defaults are valid");
        c.bump_percent = 5;
        assert!(c.check().is_err());
    }

    #[test]
    fn keystore_signer_loads_with_its_password_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = [7u8; 32];
        let (signer, name) = PrivateKeySigner::encrypt_keystore(
            dir.path(),
            &mut rand::thread_rng(),
            key,
            "pw-123",
            None,
        )
        .expect("keystore");
        let path = dir.path().join(name);
        std::env::set_var("ZKATTEST_TEST_KEYSTORE_PW", "pw-123");
        let src = SignerSource::Keystore {
            path: path.clone(),
            password_var: "ZKATTEST_TEST_KEYSTORE_PW".into(),
        };
        assert_eq!(src.load().expect("decrypt").address(), signer.address());
        std::env::set_var("ZKATTEST_TEST_KEYSTORE_PW_BAD", "pw-XYZZY-bad");
        let bad =
            SignerSource::Keystore { path, password_var: "ZKATTEST_TEST_KEYSTORE_PW_BAD".into() };
        let e = bad.load().expect_err("wrong password").to_string();
        assert!(e.contains("keystore") && !e.contains("XYZZY"), "{e}");
    }

    #[test]
    fn signer_errors_never_show_the_key() {
        let secret = "not-a-key-but-secret-looking-0123456789";
        let src = SignerSource::Env { var: "ZKATTEST_TEST_SIGNER_KEY_BAD".into() };
        // This variable is read by this test only.
        std::env::set_var("ZKATTEST_TEST_SIGNER_KEY_BAD", secret);
        let e = src.load().expect_err("bad key").to_string();
        assert!(!e.contains(secret), "{e}");
        assert!(e.contains("ZKATTEST_TEST_SIGNER_KEY_BAD"));
    }
}
