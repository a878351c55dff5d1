//! Prometheus metrics of the relayer (`GET /metrics`).

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::job::Status;
use crate::store::{now_ms, Store};

/// Counters, gauges and histograms; queue depth is read from the store at scrape time.
pub struct Metrics {
    registry: Registry,
    pub accepted: IntCounter,
    pub submissions: IntCounter,
    pub bumps: IntCounter,
    pub rebroadcasts: IntCounter,
    pub confirmations: IntCounter,
    pub confirmed_from_record: IntCounter,
    pub failures: IntCounter,
    pub reorgs: IntCounter,
    pub rpc_errors: IntCounter,
    pub gas_used: Histogram,
    pub confirm_latency: Histogram,
    jobs: IntGaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("static metric definition");
    r.register(Box::new(c.clone())).expect("unique metric name");
    c
}

impl Default for Metrics {
    fn default() -> Self {
        let r = Registry::new();
        let gas_used = Histogram::with_opts(
            HistogramOpts::new(
                "zkattest_relayer_gas_used",
                "Gas used by confirmed attestation transactions",
            )
            .buckets(vec![300e3, 400e3, 500e3, 600e3, 700e3, 800e3, 1e6, 2e6]),
        )
        .expect("static metric definition");
        let confirm_latency = Histogram::with_opts(
            HistogramOpts::new(
                "zkattest_relayer_confirm_latency_seconds",
                "Time from POST to confirmed",
            )
            .buckets(vec![0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0]),
        )
        .expect("static metric definition");
        let jobs =
            IntGaugeVec::new(Opts::new("zkattest_relayer_jobs", "Jobs per status"), &["status"])
                .expect("static metric definition");
        for m in [
            Box::new(gas_used.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(confirm_latency.clone()),
            Box::new(jobs.clone()),
        ] {
            r.register(m).expect("unique metric name");
        }
        Self {
            accepted: counter(
                &r,
                "zkattest_relayer_accepted_total",
                "Attestations accepted (new jobs)",
            ),
            submissions: counter(
                &r,
                "zkattest_relayer_submissions_total",
                "Transactions broadcast (first sends)",
            ),
            bumps: counter(
                &r,
                "zkattest_relayer_fee_bumps_total",
                "Replacement transactions with bumped fees",
            ),
            rebroadcasts: counter(
                &r,
                "zkattest_relayer_rebroadcasts_total",
                "Transactions the node had lost, sent again",
            ),
            confirmations: counter(&r, "zkattest_relayer_confirmations_total", "Jobs confirmed"),
            confirmed_from_record: counter(
                &r,
                "zkattest_relayer_confirmed_from_record_total",
                "Jobs confirmed from the registry record because the node had lost the receipt",
            ),
            failures: counter(&r, "zkattest_relayer_failures_total", "Jobs failed"),
            reorgs: counter(&r, "zkattest_relayer_reorgs_total", "Inclusions that disappeared"),
            rpc_errors: counter(&r, "zkattest_relayer_rpc_errors_total", "RPC errors (retried)"),
            gas_used,
            confirm_latency,
            jobs,
            registry: r,
        }
    }
}

impl Metrics {
    /// Counts a confirmed job and its time from POST (`created_ms`) to now.
    pub fn confirmed(&self, created_ms: i64) {
        self.confirmations.inc();
        self.confirm_latency.observe((now_ms() - created_ms).max(0) as f64 / 1e3);
    }

    /// The Prometheus text exposition, with queue depth read from `store`.
    pub async fn render(&self, store: &Store) -> String {
        if let Ok(counts) = store.counts().await {
            for s in Status::ALL {
                let n = counts.iter().find(|(c, _)| *c == s).map(|(_, n)| *n).unwrap_or(0);
                self.jobs.with_label_values(&[s.as_str()]).set(n);
            }
        }
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}
