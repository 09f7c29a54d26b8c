//! Logs and trace export: `tracing` to standard error as text or JSON lines, filtered by
//! `GATEWAY_LOG_LEVEL`, and (in a build with the `otlp` feature, when
//! `GATEWAY_TRACING_OTLP_ENDPOINT` is set) every span exported to an OpenTelemetry collector.
//!
//! Each request runs in a `request` span carrying its `x-request-id`, and the upstream calls a
//! request causes run in spans below it, so every log line a request causes names its id: the
//! text format prints the span chain before the message, the JSON format lists it under
//! `spans`.
//!
//! Lines are formatted on the task that logs them and written by one writer thread
//! (`tracing-appender`), so a request never waits on a write system call, and lines that
//! arrive together leave in one write. The thread's buffer
//! holds 128,000 lines; should standard error fall that far behind, logging waits for room
//! rather than dropping lines: the access log stays complete and in order. Colour codes are
//! written only when standard error is a terminal; otherwise the text format's lines are
//! written by [`line::TextLine`], the same layout without `fmt`'s machinery, and the access
//! line, the one line every request writes, is written by [`access`] without an event.

pub(crate) mod access;
mod fields;
mod line;

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{
    EnvFilter, Layer, Registry, layer::SubscriberExt, util::SubscriberInitExt,
};

use reqwest::Url;
use serde::Deserialize;

use crate::de;

/// Why logging or export could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TelemetryError {
    /// The log filter does not parse (settings from the file are checked at load already).
    #[error("GATEWAY_LOG_LEVEL ([log] level): {0}")]
    Filter(String),
    /// OTLP export was asked of a build without it.
    #[cfg(not(feature = "otlp"))]
    #[error(
        "GATEWAY_TRACING_OTLP_ENDPOINT ([tracing] otlp_endpoint): this build has no OTLP export; build with `cargo build --release --features otlp`"
    )]
    NoOtlp,
    /// The OTLP exporter could not be built.
    #[cfg(feature = "otlp")]
    #[error("GATEWAY_TRACING_OTLP_ENDPOINT ([tracing] otlp_endpoint): {0}")]
    Otlp(String),
}

/// What must outlive the process's work: the log writer and the span exporter, both flushed by
/// [`Telemetry::shutdown`].
#[derive(Debug, Default)]
#[must_use = "dropping it at once would stop logging and trace export"]
pub(crate) struct Telemetry {
    /// Writes the lines still buffered when dropped.
    writer: Option<WorkerGuard>,
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Writes the lines and sends the spans not yet out; call once serving has stopped.
    pub(crate) fn shutdown(self) {
        drop(self.writer);
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "exporting the last spans failed");
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the process-wide subscriber; when one is installed already (tests), it is kept.
pub(crate) fn init(settings: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::builder()
        .parse(&settings.log_level)
        .map_err(|error| TelemetryError::Filter(error.to_string()))?;
    let (writer, guard) = stderr_writer();
    let terminal = std::io::stderr().is_terminal();
    // The plain text log without span export: the access line can skip the event.
    let direct =
        (settings.log_format == LogFormat::Text && !terminal && settings.otlp_endpoint.is_none())
            .then(|| writer.clone());
    let mut layers: Vec<BoxedLayer> = vec![match settings.log_format {
        LogFormat::Text if terminal => tracing_subscriber::fmt::layer()
            .with_ansi(true)
            .fmt_fields(fields::PlainFields)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .event_format(line::TextLine::default())
            .fmt_fields(fields::PlainFields)
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(writer)
            .boxed(),
    }];
    let mut telemetry = match &settings.otlp_endpoint {
        None => Telemetry::default(),
        Some(endpoint) => otlp(endpoint, &mut layers)?,
    };
    telemetry.writer = Some(guard);
    let installed = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
    if let (Ok(()), Some(writer)) = (installed, direct) {
        access::write_directly_to(writer);
    }
    Ok(telemetry)
}

/// Standard error behind the writer thread; a full buffer makes loggers wait, never drops.
/// The thread writes what it has received through a 64 KiB buffer, flushed whenever it has
/// nothing more waiting: a burst of lines is one write system call, a lone line goes at once.
fn stderr_writer() -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("elements-gateway-log")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stderr()))
}

#[cfg(not(feature = "otlp"))]
fn otlp(
    _endpoint: &reqwest::Url,
    _layers: &mut Vec<BoxedLayer>,
) -> Result<Telemetry, TelemetryError> {
    Err(TelemetryError::NoOtlp)
}

/// An OTLP/HTTP (protobuf) span exporter to `endpoint`, batched off the request path.
#[cfg(feature = "otlp")]
fn otlp(
    endpoint: &reqwest::Url,
    layers: &mut Vec<BoxedLayer>,
) -> Result<Telemetry, TelemetryError> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;

    let traces = endpoint
        .join("v1/traces")
        .map_err(|error| TelemetryError::Otlp(error.to_string()))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces.as_str())
        .build()
        .map_err(|error| TelemetryError::Otlp(error.to_string()))?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("elements-gateway")
                .build(),
        )
        .build();
    let tracer = provider.tracer("elements-gateway");
    layers.push(tracing_opentelemetry::layer().with_tracer(tracer).boxed());
    Ok(Telemetry {
        writer: None,
        provider: Some(provider),
    })
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        match given {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("`text` or `json`"),
        }
    }
}

/// Logs and trace export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// `GATEWAY_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `GATEWAY_LOG_LEVEL`: a `tracing` filter such as `info` or `warn,elements_gateway=debug`
    /// (default `info`).
    pub log_level: String,
    /// `GATEWAY_TRACING_OTLP_ENDPOINT`: an OTLP/HTTP collector to export spans to (off by
    /// default; needs a build with the `otlp` feature).
    pub otlp_endpoint: Option<Url>,
    /// `GATEWAY_LOG_REQUESTS`: one access-log line per request at `info` (default `true`).
    pub log_requests: bool,
}

impl Default for TelemetrySettings {
    /// Text logs at `info` with the access log, no export.
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_level: "info".into(),
            otlp_endpoint: None,
            log_requests: true,
        }
    }
}

/// `[log]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LogSection {
    #[serde(deserialize_with = "de::choice")]
    pub(crate) format: LogFormat,
    #[serde(deserialize_with = "de::log_filter")]
    pub(crate) level: String,
    #[serde(deserialize_with = "de::flag")]
    pub(crate) requests: bool,
}

impl Default for LogSection {
    /// The defaults of [`TelemetrySettings`].
    fn default() -> Self {
        let defaults = TelemetrySettings::default();
        Self {
            format: defaults.log_format,
            level: defaults.log_level,
            requests: defaults.log_requests,
        }
    }
}

/// `[tracing]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TracingSection {
    #[serde(deserialize_with = "de::url")]
    pub(crate) otlp_endpoint: Option<Url>,
}

impl TelemetrySettings {
    /// The settings of the `[log]` and `[tracing]` sections.
    pub(crate) fn from_sections(log: LogSection, tracing: TracingSection) -> Self {
        Self {
            log_format: log.format,
            log_level: log.level,
            otlp_endpoint: tracing.otlp_endpoint,
            log_requests: log.requests,
        }
    }
}
