//! Wiring: store + engine + HTTP server, started in-process (the demo) or as `serve`.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::network::EthereumWallet;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{router, AppState};
use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::{RelayerError, Result};

/// A running relayer.
pub struct Service {
    /// Where the HTTP API listens.
    pub addr: SocketAddr,
    /// The signer's address.
    pub signer: alloy::primitives::Address,
    shutdown: watch::Sender<bool>,
    engine: JoinHandle<()>,
    server: JoinHandle<std::io::Result<()>>,
}

impl Service {
    /// Opens the queue, checks the chain, starts the engine and the HTTP server.
    pub async fn start(cfg: Config) -> Result<Self> {
        cfg.check()?;
        let token = cfg.auth_token()?;
        let signer = cfg.signer.load()?;
        Self::start_with(cfg, signer, token).await
    }

    /// Like [`Service::start`] with the signer and bearer token given directly (embedding,
    /// e.g. the demo), instead of read from the environment.
    pub async fn start_with(cfg: Config, signer: PrivateKeySigner, token: String) -> Result<Self> {
        cfg.check()?;
        let store = Store::open(&cfg.database_url).await?;
        let url = cfg.rpc_url.parse().map_err(|e| {
            RelayerError::Config(format!(
                "rpc_url {:?}: {e}",
                zkattest_chain::error::redact_url(&cfg.rpc_url)
            ))
        })?;
        let provider =
            ProviderBuilder::new().disable_recommended_fillers().connect_http(url).erased();
        let metrics = Arc::new(Metrics::default());
        let engine = Engine::new(
            store.clone(),
            provider,
            EthereumWallet::from(signer),
            cfg.clone(),
            metrics.clone(),
        )
        .await?;
        let signer = engine.from();
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| RelayerError::Io { path: cfg.listen.clone().into(), source: e })?;
        let addr = listener
            .local_addr()
            .map_err(|e| RelayerError::Io { path: cfg.listen.clone().into(), source: e })?;
        let (shutdown, rx) = watch::channel(false);
        let engine = tokio::spawn(engine.run(rx.clone()));
        let app = router(
            AppState { store, metrics, token: Arc::new(token), max_outputs: cfg.max_outputs },
            cfg.max_body_bytes,
        );
        let mut rx_server = rx;
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx_server.wait_for(|stop| *stop).await;
                })
                .await
        });
        tracing::info!("relayer listening on http://{addr}, signer {signer}");
        Ok(Self { addr, signer, shutdown, engine, server })
    }

    /// Stops accepting requests and stops the engine (nothing in flight is lost: it is stored).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.engine.await;
        let _ = self.server.await;
    }
}

/// Logs to stderr, `info` unless `RUST_LOG` says otherwise (for the binaries that run
/// [`serve`]).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Escape codes only for a terminal: logs redirected to files or journald stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Runs the relayer until SIGINT or SIGTERM.
pub async fn serve(cfg: Config) -> Result<()> {
    let service = Service::start(cfg).await?;
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| RelayerError::Io { path: "SIGTERM handler".into(), source: e })?;
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("relayer stopping");
    service.stop().await;
    Ok(())
}
