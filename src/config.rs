//! Settings: a TOML file (`--config FILE`) with environment variables on top, validated once
//! before anything listens.
//!
//! Every setting has one environment name, `GATEWAY_<SECTION>_<KEY>`, and one file name, the
//! same words in lower case with the section as a TOML table: `GATEWAY_UPSTREAM_TIMEOUT_MS` is
//! `[upstream] timeout_ms`; `GATEWAY_LISTEN` is a top-level `listen`. [`VARIABLES`] is that
//! table, and it is the whole list: an unknown key in the file is an error. Errors name the
//! setting in both forms and never repeat a secret's value.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use reqwest::Url;

use crate::secret::Secret;

/// Every setting, by environment name; the file name is derived (see the module docs).
pub const VARIABLES: &[&str] = &[
    "GATEWAY_LISTEN",
    "GATEWAY_UPSTREAM_URL",
    "GATEWAY_UPSTREAM_TOKEN",
    "GATEWAY_UPSTREAM_TOKEN_URL",
    "GATEWAY_UPSTREAM_CLIENT_ID",
    "GATEWAY_UPSTREAM_CLIENT_SECRET",
    "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
    "GATEWAY_UPSTREAM_CLIENT_CERT_FILE",
    "GATEWAY_UPSTREAM_SCOPE",
    "GATEWAY_UPSTREAM_PAGE_SIZE",
    "GATEWAY_UPSTREAM_CONCURRENCY",
    "GATEWAY_UPSTREAM_PAGES_AHEAD",
    "GATEWAY_UPSTREAM_TIMEOUT_MS",
    "GATEWAY_UPSTREAM_MAX_ATTEMPTS",
    "GATEWAY_UPSTREAM_BACKOFF_MS",
    "GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS",
    "GATEWAY_UPSTREAM_BREAKER_FAILURES",
    "GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS",
    "GATEWAY_UPSTREAM_MAX_BODY_BYTES",
    "GATEWAY_UPSTREAM_MAX_PAGES",
    "GATEWAY_CACHE_TTL_SECS",
    "GATEWAY_CACHE_STALE_SECS",
    "GATEWAY_CACHE_ANSWER_BYTES",
    "GATEWAY_JWT_SECRET",
    "GATEWAY_JWT_PUBLIC_KEY_FILE",
    "GATEWAY_JWT_JWKS_URL",
    "GATEWAY_JWT_JWKS_REFRESH_SECS",
    "GATEWAY_JWT_JWKS_MIN_REFETCH_SECS",
    "GATEWAY_JWT_ISSUER",
    "GATEWAY_JWT_AUDIENCE",
    "GATEWAY_JWT_REQUIRED_SCOPE",
    "GATEWAY_JWT_LEEWAY_SECS",
    "GATEWAY_JWT_CUSTOMER_CLAIM",
    "GATEWAY_JWT_ALL_CUSTOMERS_SCOPE",
    "GATEWAY_LIMITS_DEPTH",
    "GATEWAY_LIMITS_COMPLEXITY",
    "GATEWAY_LIMITS_ROOT_FIELDS",
    "GATEWAY_LIMITS_ALIASES",
    "GATEWAY_LIMITS_BODY_BYTES",
    "GATEWAY_LIMITS_QUERY_BYTES",
    "GATEWAY_LIMITS_HEADER_BYTES",
    "GATEWAY_LIMITS_REQUEST_TIMEOUT_MS",
    "GATEWAY_LIMITS_RATE_PER_MINUTE",
    "GATEWAY_LIMITS_RATE_BURST",
    "GATEWAY_LIMITS_HEADER_TIMEOUT_MS",
    "GATEWAY_LIMITS_CONNECTIONS",
    "GATEWAY_ALLOW_INSECURE_URLS",
    "GATEWAY_INTROSPECTION",
    "GATEWAY_METRICS_LISTEN",
    "GATEWAY_SHUTDOWN_DELAY_MS",
    "GATEWAY_SHUTDOWN_TIMEOUT_SECS",
    "GATEWAY_LOG_FORMAT",
    "GATEWAY_LOG_LEVEL",
    "GATEWAY_TRACING_OTLP_ENDPOINT",
];

/// Settings whose values are never echoed in an error.
const SECRET_VARIABLES: &[&str] = &[
    "GATEWAY_UPSTREAM_TOKEN",
    "GATEWAY_UPSTREAM_CLIENT_SECRET",
    "GATEWAY_JWT_SECRET",
];

/// Default total size of reusable answers: 32 MiB.
pub const DEFAULT_ANSWER_BYTES: u64 = 32 * 1024 * 1024;

/// The default upstream base URL.
pub const DEFAULT_UPSTREAM_URL: &str = "https://graph.avepointonlineservices.com";

/// Why the settings cannot be used; the message is one line naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file cannot be read.
    #[error("cannot read config file {path}: {reason}")]
    Unreadable {
        /// The file given.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The file is not TOML.
    #[error("config file {path} is not valid TOML: {reason}")]
    NotToml {
        /// The file given.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The file has a key that names no setting.
    #[error("config file {path}: unknown setting `{key}`")]
    UnknownKey {
        /// The file given.
        path: PathBuf,
        /// The key, with its section.
        key: String,
    },
    /// A setting's value is unusable.
    #[error("{setting}: {problem}")]
    Invalid {
        /// The setting, in both its forms.
        setting: Setting,
        /// What is wrong, without the value when the value is secret.
        problem: String,
    },
}

/// One setting, named the way the operator may have written it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting(&'static str);

impl Setting {
    /// The setting with this environment name.
    ///
    /// # Panics
    /// When `name` is not in [`VARIABLES`]: that is a bug in the caller, not bad input.
    pub fn named(name: &'static str) -> Self {
        assert!(VARIABLES.contains(&name), "{name} is not a setting");
        Self(name)
    }

    fn section_and_key(self) -> (Option<&'static str>, &'static str) {
        let name = self.0.strip_prefix("GATEWAY_").unwrap_or(self.0);
        for section in [
            "UPSTREAM_",
            "CACHE_",
            "JWT_",
            "LIMITS_",
            "METRICS_",
            "SHUTDOWN_",
            "LOG_",
            "TRACING_",
        ] {
            if let Some(key) = name.strip_prefix(section) {
                return (Some(&section[..section.len() - 1]), key);
            }
        }
        (None, name)
    }

    fn is_secret(self) -> bool {
        SECRET_VARIABLES.contains(&self.0)
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.section_and_key() {
            (Some(section), key) => write!(
                f,
                "{} ([{}] {})",
                self.0,
                section.to_lowercase(),
                key.to_lowercase()
            ),
            (None, key) => write!(f, "{} ({})", self.0, key.to_lowercase()),
        }
    }
}

/// How the gateway gets its bearer token for the upstream.
#[derive(Debug, Clone)]
pub enum UpstreamCredentials {
    /// A fixed token (`GATEWAY_UPSTREAM_TOKEN`).
    Token(Secret),
    /// The OAuth 2.0 client-credentials grant.
    ClientCredentials {
        /// The identity service's token endpoint.
        token_url: Url,
        /// The app registration's id.
        client_id: String,
        /// How the app proves itself.
        authentication: ClientAuthentication,
    },
}

/// How the app authenticates to the identity service.
#[derive(Debug, Clone)]
pub enum ClientAuthentication {
    /// `client_secret`.
    Secret(Secret),
    /// A signed client assertion from this key and certificate.
    Assertion {
        /// PEM private key.
        key_file: PathBuf,
        /// PEM certificate of that key.
        cert_file: PathBuf,
    },
}

/// The upstream and how to reach it.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// `GATEWAY_UPSTREAM_URL`: base URL.
    pub url: Url,
    /// `GATEWAY_UPSTREAM_TOKEN` or the client-credentials settings.
    pub credentials: UpstreamCredentials,
    /// `GATEWAY_UPSTREAM_SCOPE`: scope asked for with client credentials.
    pub scope: String,
    /// `GATEWAY_UPSTREAM_PAGE_SIZE`: `pageSize` asked for, 1 to 100 (default 100).
    pub page_size: u32,
    /// `GATEWAY_UPSTREAM_CONCURRENCY`: most requests in flight (default 8).
    pub concurrency: usize,
    /// `GATEWAY_UPSTREAM_PAGES_AHEAD`: listing pages sent together with page 1 while the
    /// upstream is answering, at most `concurrency` − 1 of them (default 7; 0 turns it off).
    pub pages_ahead: u32,
    /// `GATEWAY_UPSTREAM_TIMEOUT_MS`: one request's time limit (default 10 s).
    pub timeout: Duration,
    /// Retries and the circuit breaker.
    pub resilience: Resilience,
    /// `GATEWAY_UPSTREAM_MAX_BODY_BYTES`: largest page body read (default 64 MiB).
    pub max_body_bytes: usize,
    /// `GATEWAY_UPSTREAM_MAX_PAGES`: most pages one listing read requests (default 1000).
    pub max_pages: u64,
}

/// Default `GATEWAY_UPSTREAM_MAX_BODY_BYTES`: 64 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Default `GATEWAY_UPSTREAM_MAX_PAGES`.
pub const DEFAULT_MAX_PAGES: u64 = 1000;

/// How the gateway treats a failing upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resilience {
    /// `GATEWAY_UPSTREAM_MAX_ATTEMPTS`: tries of one upstream request, the first included
    /// (default 3; 1 turns retries off).
    pub max_attempts: u32,
    /// `GATEWAY_UPSTREAM_BACKOFF_MS`: the first retry's delay before jitter; each further retry
    /// doubles it (default 100 ms).
    pub backoff: Duration,
    /// `GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS`: the longest `Retry-After` waited for (default
    /// 10 s); a longer one is cut to this.
    pub retry_after_max: Duration,
    /// `GATEWAY_UPSTREAM_BREAKER_FAILURES`: consecutive failed requests that open the circuit
    /// (default 5; 0 turns the breaker off).
    pub breaker_failures: u32,
    /// `GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS`: how long an open circuit fails fast before one
    /// probe request may go through (default 10 s).
    pub breaker_cooldown: Duration,
}

impl Default for Resilience {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Duration::from_millis(100),
            retry_after_max: Duration::from_secs(10),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(10),
        }
    }
}

/// What one caller's request may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `GATEWAY_LIMITS_DEPTH`: deepest field nesting (default 15).
    pub depth: usize,
    /// `GATEWAY_LIMITS_COMPLEXITY`: most fields a query may resolve, counting each field under
    /// `customers(first: n)` n times (default 50 000).
    pub complexity: usize,
    /// `GATEWAY_LIMITS_ROOT_FIELDS`: most root fields in one operation (default 20).
    pub root_fields: usize,
    /// `GATEWAY_LIMITS_ALIASES`: most aliased fields in one operation (default 30).
    pub aliases: usize,
    /// `GATEWAY_LIMITS_BODY_BYTES`: largest POST body (default 1 MiB).
    pub body_bytes: usize,
    /// `GATEWAY_LIMITS_QUERY_BYTES`: longest query text (default 64 KiB).
    pub query_bytes: usize,
    /// `GATEWAY_LIMITS_HEADER_BYTES`: largest total of request header names and values
    /// (default 32 KiB).
    pub header_bytes: usize,
    /// `GATEWAY_LIMITS_REQUEST_TIMEOUT_MS`: one GraphQL request's deadline, retries included
    /// (default 30 s).
    pub request_timeout: Duration,
    /// `GATEWAY_LIMITS_RATE_PER_MINUTE`: requests one caller (`sub`) may make a minute
    /// (default 0: no limit).
    pub rate_per_minute: u32,
    /// `GATEWAY_LIMITS_RATE_BURST`: requests one caller may make at once (default: the rate
    /// per minute).
    pub rate_burst: u32,
    /// `GATEWAY_LIMITS_HEADER_TIMEOUT_MS`: time a client has to send its request head
    /// (default 10 s).
    pub header_timeout: Duration,
    /// `GATEWAY_LIMITS_CONNECTIONS`: most open client connections (default 4096); more wait
    /// in the listen queue until one closes.
    pub connections: usize,
}

impl Default for Limits {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            depth: 15,
            complexity: 50_000,
            root_fields: 20,
            aliases: 30,
            body_bytes: 1024 * 1024,
            query_bytes: 64 * 1024,
            header_bytes: 32 * 1024,
            request_timeout: Duration::from_secs(30),
            rate_per_minute: 0,
            rate_burst: 0,
            header_timeout: Duration::from_secs(10),
            connections: 4096,
        }
    }
}

/// How the gateway stops on SIGTERM or ctrl-c.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownSettings {
    /// `GATEWAY_SHUTDOWN_DELAY_MS`: how long the gateway goes on accepting requests after the
    /// signal while `/readyz` answers 503, so a load balancer stops sending it traffic first
    /// (default 0).
    pub delay: Duration,
    /// `GATEWAY_SHUTDOWN_TIMEOUT_SECS`: how long in-flight requests may take to finish once
    /// the gateway stops accepting; requests still running then are cut off (default 25 s).
    pub timeout: Duration,
}

impl Default for ShutdownSettings {
    /// The documented defaults.
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            timeout: Duration::from_secs(25),
        }
    }
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
}

impl Default for TelemetrySettings {
    /// Text logs at `info`, no export.
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_level: "info".into(),
            otlp_endpoint: None,
        }
    }
}

impl TelemetrySettings {
    /// The logging settings from the environment alone, for the commands that take no
    /// configuration file (`serve --demo`, `mock-upstream`).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let values = [
            "GATEWAY_LOG_FORMAT",
            "GATEWAY_LOG_LEVEL",
            "GATEWAY_TRACING_OTLP_ENDPOINT",
        ]
        .into_iter()
        .filter_map(|name| env(name).map(|value| (Setting(name), value)))
        .collect();
        telemetry(&Sources { values })
    }
}

/// Cache freshness.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// `GATEWAY_CACHE_TTL_SECS`: how long an answer is fresh (default 60 s).
    pub ttl: Duration,
    /// `GATEWAY_CACHE_STALE_SECS`: how long past its TTL an answer may serve while the
    /// upstream fails (default 600 s).
    pub stale: Duration,
    /// `GATEWAY_CACHE_ANSWER_BYTES`: total size of whole GraphQL answers kept for reuse while
    /// their snapshot is current (default 32 MiB; 0 turns reuse off).
    pub answer_bytes: u64,
}

/// Caller-token requirements.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// `GATEWAY_JWT_SECRET`: HS256 shared secret, at least 32 bytes.
    pub secret: Option<Secret>,
    /// `GATEWAY_JWT_PUBLIC_KEY_FILE`: PEM public key.
    pub public_key_file: Option<PathBuf>,
    /// `GATEWAY_JWT_JWKS_URL`: JWKS endpoint.
    pub jwks_url: Option<Url>,
    /// `GATEWAY_JWT_JWKS_REFRESH_SECS`: period of the background JWKS refresh (default 300 s).
    pub jwks_refresh: Duration,
    /// `GATEWAY_JWT_JWKS_MIN_REFETCH_SECS`: shortest time between two refetches caused by an
    /// unknown `kid` (default 30 s).
    pub jwks_min_refetch: Duration,
    /// `GATEWAY_JWT_ISSUER`: required `iss`.
    pub issuer: Option<String>,
    /// `GATEWAY_JWT_AUDIENCE`: required `aud`.
    pub audience: Option<String>,
    /// `GATEWAY_JWT_REQUIRED_SCOPE`: a scope the caller must hold.
    pub required_scope: Option<String>,
    /// `GATEWAY_JWT_LEEWAY_SECS`: clock skew allowed on `exp`/`nbf` (default 30 s).
    pub leeway_secs: u64,
    /// `GATEWAY_JWT_CUSTOMER_CLAIM`: claim listing the customers a caller may see; a token
    /// without it is refused unless it holds `all_customers_scope`.
    pub customer_claim: Option<String>,
    /// `GATEWAY_JWT_ALL_CUSTOMERS_SCOPE`: a scope that lets a token without the customer
    /// claim see every customer.
    pub all_customers_scope: Option<String>,
}

impl Default for JwtSettings {
    /// No key, and the documented defaults for the rest.
    fn default() -> Self {
        Self {
            secret: None,
            public_key_file: None,
            jwks_url: None,
            jwks_refresh: Duration::from_secs(300),
            jwks_min_refetch: Duration::from_secs(30),
            issuer: None,
            audience: None,
            required_scope: None,
            leeway_secs: 30,
            customer_claim: None,
            all_customers_scope: None,
        }
    }
}

/// Everything the gateway needs to start, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `GATEWAY_LISTEN`: address to serve on (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The upstream.
    pub upstream: UpstreamSettings,
    /// The cache.
    pub cache: CacheSettings,
    /// Caller tokens.
    pub jwt: JwtSettings,
    /// What one request may cost.
    pub limits: Limits,
    /// Draining on shutdown.
    pub shutdown: ShutdownSettings,
    /// Logs and trace export.
    pub telemetry: TelemetrySettings,
    /// `GATEWAY_INTROSPECTION`: `false` refuses `__schema`/`__type` and drops "Did you mean"
    /// suggestions from errors (default `true`).
    pub introspection: bool,
    /// `GATEWAY_METRICS_LISTEN`: a separate address for `/metrics`, which is then not served
    /// on the GraphQL port (default: none, `/metrics` on the GraphQL port).
    pub metrics_listen: Option<SocketAddr>,
}

/// Raw values by setting, file first, then environment on top.
struct Sources {
    values: Vec<(Setting, String)>,
}

impl Sources {
    fn get(&self, name: &'static str) -> Option<(Setting, &str)> {
        self.values
            .iter()
            .rev()
            .find(|(setting, _)| setting.0 == name)
            .map(|(setting, value)| (*setting, value.as_str()))
    }

    fn text(&self, name: &'static str) -> Option<String> {
        self.get(name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn parsed<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some((setting, value)) => value
                .trim()
                .parse()
                .map_err(|_| invalid(setting, value, expected)),
        }
    }

    fn number(
        &self,
        name: &'static str,
        default: u64,
        range: (u64, u64),
    ) -> Result<u64, ConfigError> {
        let Some((setting, raw)) = self.get(name) else {
            return Ok(default);
        };
        match raw.trim().parse::<u64>() {
            Ok(value) if (range.0..=range.1).contains(&value) => Ok(value),
            _ => Err(invalid(
                setting,
                raw,
                &format!("a whole number from {} to {}", range.0, range.1),
            )),
        }
    }

    /// A whole number of milliseconds within `range`.
    fn millis(
        &self,
        name: &'static str,
        default: Duration,
        range: (u64, u64),
    ) -> Result<Duration, ConfigError> {
        self.number(name, default.as_millis() as u64, range)
            .map(Duration::from_millis)
    }

    /// A whole number of seconds within `range`.
    fn seconds(
        &self,
        name: &'static str,
        default: Duration,
        range: (u64, u64),
    ) -> Result<Duration, ConfigError> {
        self.number(name, default.as_secs(), range)
            .map(Duration::from_secs)
    }

    fn url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        let Some((setting, value)) = self.get(name) else {
            return Ok(None);
        };
        match Url::parse(value.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(Some(url)),
            _ => Err(invalid(setting, value, "an http:// or https:// URL")),
        }
    }
}

fn invalid(setting: Setting, value: &str, expected: &str) -> ConfigError {
    let problem = if setting.is_secret() {
        format!("expected {expected}")
    } else {
        format!("expected {expected}, got {value:?}")
    };
    ConfigError::Invalid { setting, problem }
}

fn problem(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: Setting(name),
        problem: problem.into(),
    }
}

impl Settings {
    /// Loads the file (if any), applies the environment (`env` looks a variable up), and
    /// validates the result.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut values = match file {
            Some(path) => read_file(path)?,
            None => Vec::new(),
        };
        values.extend(
            VARIABLES
                .iter()
                .filter_map(|name| env(name).map(|value| (Setting(name), value))),
        );
        Self::from_sources(&Sources { values })
    }

    fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        let listen = sources.parsed(
            "GATEWAY_LISTEN",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            "an address such as 127.0.0.1:8080",
        )?;
        let url = sources
            .url("GATEWAY_UPSTREAM_URL")?
            .unwrap_or_else(|| Url::parse(DEFAULT_UPSTREAM_URL).expect("the default URL parses"));
        let upstream = UpstreamSettings {
            url,
            credentials: upstream_credentials(sources)?,
            scope: sources
                .text("GATEWAY_UPSTREAM_SCOPE")
                .unwrap_or_else(|| "elements.license.read.all".into()),
            page_size: sources.number("GATEWAY_UPSTREAM_PAGE_SIZE", 100, (1, 100))? as u32,
            concurrency: sources.number("GATEWAY_UPSTREAM_CONCURRENCY", 8, (1, 256))? as usize,
            pages_ahead: sources.number("GATEWAY_UPSTREAM_PAGES_AHEAD", 7, (0, 255))? as u32,
            timeout: sources.millis(
                "GATEWAY_UPSTREAM_TIMEOUT_MS",
                Duration::from_millis(10_000),
                (1, 600_000),
            )?,
            resilience: resilience(sources)?,
            max_body_bytes: sources.number(
                "GATEWAY_UPSTREAM_MAX_BODY_BYTES",
                DEFAULT_MAX_BODY_BYTES as u64,
                (1024, 1 << 32),
            )? as usize,
            max_pages: sources.number(
                "GATEWAY_UPSTREAM_MAX_PAGES",
                DEFAULT_MAX_PAGES,
                (1, 1_000_000),
            )?,
        };
        let cache = CacheSettings {
            ttl: sources.seconds(
                "GATEWAY_CACHE_TTL_SECS",
                Duration::from_secs(60),
                (1, 86_400),
            )?,
            stale: sources.seconds(
                "GATEWAY_CACHE_STALE_SECS",
                Duration::from_secs(600),
                (0, 604_800),
            )?,
            answer_bytes: sources.number(
                "GATEWAY_CACHE_ANSWER_BYTES",
                DEFAULT_ANSWER_BYTES,
                (0, 1 << 34),
            )?,
        };
        let jwt = jwt_settings(sources)?;
        require_secure_urls(sources, &upstream, &jwt)?;
        let metrics_listen = match sources.get("GATEWAY_METRICS_LISTEN") {
            None => None,
            Some((setting, value)) => Some(
                value
                    .trim()
                    .parse()
                    .map_err(|_| invalid(setting, value, "an address such as 0.0.0.0:9090"))?,
            ),
        };
        if metrics_listen == Some(listen) && listen.port() != 0 {
            return Err(problem(
                "GATEWAY_METRICS_LISTEN",
                "must differ from GATEWAY_LISTEN",
            ));
        }
        Ok(Self {
            listen,
            upstream,
            cache,
            jwt,
            limits: limits(sources)?,
            shutdown: shutdown(sources)?,
            telemetry: telemetry(sources)?,
            introspection: sources.parsed("GATEWAY_INTROSPECTION", true, "`true` or `false`")?,
            metrics_listen,
        })
    }
}

fn shutdown(sources: &Sources) -> Result<ShutdownSettings, ConfigError> {
    let defaults = ShutdownSettings::default();
    Ok(ShutdownSettings {
        delay: sources.millis("GATEWAY_SHUTDOWN_DELAY_MS", defaults.delay, (0, 600_000))?,
        timeout: sources.seconds(
            "GATEWAY_SHUTDOWN_TIMEOUT_SECS",
            defaults.timeout,
            (0, 3_600),
        )?,
    })
}

fn telemetry(sources: &Sources) -> Result<TelemetrySettings, ConfigError> {
    let defaults = TelemetrySettings::default();
    let log_format = match sources.get("GATEWAY_LOG_FORMAT") {
        None => defaults.log_format,
        Some((setting, value)) => match value.trim().to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid(setting, value, "`text` or `json`")),
        },
    };
    let log_level = match sources.get("GATEWAY_LOG_LEVEL") {
        None => defaults.log_level,
        Some((setting, value)) => {
            tracing_subscriber::EnvFilter::builder()
                .parse(value.trim())
                .map_err(|_| {
                    invalid(
                        setting,
                        value,
                        "a log filter such as `info` or `warn,elements_gateway=debug`",
                    )
                })?;
            value.trim().to_owned()
        }
    };
    Ok(TelemetrySettings {
        log_format,
        log_level,
        otlp_endpoint: sources.url("GATEWAY_TRACING_OTLP_ENDPOINT")?,
    })
}

fn resilience(sources: &Sources) -> Result<Resilience, ConfigError> {
    let defaults = Resilience::default();
    Ok(Resilience {
        max_attempts: sources.number(
            "GATEWAY_UPSTREAM_MAX_ATTEMPTS",
            defaults.max_attempts.into(),
            (1, 10),
        )? as u32,
        backoff: sources.millis("GATEWAY_UPSTREAM_BACKOFF_MS", defaults.backoff, (1, 60_000))?,
        retry_after_max: sources.seconds(
            "GATEWAY_UPSTREAM_RETRY_AFTER_MAX_SECS",
            defaults.retry_after_max,
            (0, 3_600),
        )?,
        breaker_failures: sources.number(
            "GATEWAY_UPSTREAM_BREAKER_FAILURES",
            defaults.breaker_failures.into(),
            (0, 1_000),
        )? as u32,
        breaker_cooldown: sources.millis(
            "GATEWAY_UPSTREAM_BREAKER_COOLDOWN_MS",
            defaults.breaker_cooldown,
            (1, 3_600_000),
        )?,
    })
}

fn limits(sources: &Sources) -> Result<Limits, ConfigError> {
    let defaults = Limits::default();
    let size = |name, default: usize, max: u64| {
        sources
            .number(name, default as u64, (1, max))
            .map(|value| value as usize)
    };
    let rate_per_minute = sources.number(
        "GATEWAY_LIMITS_RATE_PER_MINUTE",
        defaults.rate_per_minute.into(),
        (0, 1_000_000),
    )? as u32;
    let rate_burst = sources.number(
        "GATEWAY_LIMITS_RATE_BURST",
        rate_per_minute.into(),
        (0, 1_000_000),
    )? as u32;
    if rate_per_minute > 0 && rate_burst == 0 {
        return Err(problem(
            "GATEWAY_LIMITS_RATE_BURST",
            "must be at least 1 when GATEWAY_LIMITS_RATE_PER_MINUTE is set",
        ));
    }
    Ok(Limits {
        depth: size("GATEWAY_LIMITS_DEPTH", defaults.depth, 1_000)?,
        complexity: size(
            "GATEWAY_LIMITS_COMPLEXITY",
            defaults.complexity,
            100_000_000,
        )?,
        root_fields: size("GATEWAY_LIMITS_ROOT_FIELDS", defaults.root_fields, 10_000)?,
        aliases: sources.number(
            "GATEWAY_LIMITS_ALIASES",
            defaults.aliases as u64,
            (0, 10_000),
        )? as usize,
        body_bytes: size("GATEWAY_LIMITS_BODY_BYTES", defaults.body_bytes, 1 << 30)?,
        query_bytes: size("GATEWAY_LIMITS_QUERY_BYTES", defaults.query_bytes, 1 << 30)?,
        header_bytes: size(
            "GATEWAY_LIMITS_HEADER_BYTES",
            defaults.header_bytes,
            256 * 1024,
        )?,
        request_timeout: sources.millis(
            "GATEWAY_LIMITS_REQUEST_TIMEOUT_MS",
            defaults.request_timeout,
            (1, 3_600_000),
        )?,
        rate_per_minute,
        rate_burst,
        header_timeout: sources.millis(
            "GATEWAY_LIMITS_HEADER_TIMEOUT_MS",
            defaults.header_timeout,
            (1, 600_000),
        )?,
        connections: size(
            "GATEWAY_LIMITS_CONNECTIONS",
            defaults.connections,
            1_000_000,
        )?,
    })
}

/// Whether `url`'s host is this machine: plain HTTP there never crosses a network.
fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|address| address.is_loopback())
    })
}

/// Refuses `http://` for the URLs that carry or vouch for secrets (the upstream gets the app
/// token, the identity service the client secret, the JWKS decides who may call), unless the
/// host is loopback or `GATEWAY_ALLOW_INSECURE_URLS` is `true`.
fn require_secure_urls(
    sources: &Sources,
    upstream: &UpstreamSettings,
    jwt: &JwtSettings,
) -> Result<(), ConfigError> {
    if sources.parsed("GATEWAY_ALLOW_INSECURE_URLS", false, "`true` or `false`")? {
        return Ok(());
    }
    let token_url = match &upstream.credentials {
        UpstreamCredentials::ClientCredentials { token_url, .. } => Some(token_url),
        UpstreamCredentials::Token(_) => None,
    };
    let urls = [
        ("GATEWAY_UPSTREAM_URL", Some(&upstream.url)),
        ("GATEWAY_UPSTREAM_TOKEN_URL", token_url),
        ("GATEWAY_JWT_JWKS_URL", jwt.jwks_url.as_ref()),
    ];
    for (name, url) in urls {
        if let Some(url) = url
            && url.scheme() != "https"
            && !is_loopback(url)
        {
            return Err(problem(
                name,
                "must be an https:// URL off loopback (or set GATEWAY_ALLOW_INSECURE_URLS=true)",
            ));
        }
    }
    Ok(())
}

fn upstream_credentials(sources: &Sources) -> Result<UpstreamCredentials, ConfigError> {
    let token = sources.text("GATEWAY_UPSTREAM_TOKEN");
    let token_url = sources.url("GATEWAY_UPSTREAM_TOKEN_URL")?;
    let client_id = sources.text("GATEWAY_UPSTREAM_CLIENT_ID");
    let client_secret = sources.text("GATEWAY_UPSTREAM_CLIENT_SECRET");
    let key_file = sources.text("GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE");
    let cert_file = sources.text("GATEWAY_UPSTREAM_CLIENT_CERT_FILE");
    let any_client_setting = token_url.is_some()
        || client_id.is_some()
        || client_secret.is_some()
        || key_file.is_some()
        || cert_file.is_some();
    if let Some(token) = token {
        if any_client_setting {
            return Err(problem(
                "GATEWAY_UPSTREAM_TOKEN",
                "set either a fixed upstream token or client credentials (GATEWAY_UPSTREAM_TOKEN_URL …), not both",
            ));
        }
        return Ok(UpstreamCredentials::Token(Secret::new(token)));
    }
    let Some(token_url) = token_url else {
        return Err(if any_client_setting {
            problem(
                "GATEWAY_UPSTREAM_TOKEN_URL",
                "required with client credentials",
            )
        } else {
            problem(
                "GATEWAY_UPSTREAM_TOKEN",
                "no upstream credentials: set GATEWAY_UPSTREAM_TOKEN, or GATEWAY_UPSTREAM_TOKEN_URL with a client id and secret",
            )
        });
    };
    let client_id = client_id.ok_or_else(|| {
        problem(
            "GATEWAY_UPSTREAM_CLIENT_ID",
            "required with GATEWAY_UPSTREAM_TOKEN_URL",
        )
    })?;
    let authentication = match (client_secret, key_file, cert_file) {
        (Some(secret), None, None) => ClientAuthentication::Secret(Secret::new(secret)),
        (None, Some(key), Some(cert)) => ClientAuthentication::Assertion {
            key_file: key.into(),
            cert_file: cert.into(),
        },
        (None, Some(_), None) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_CERT_FILE",
                "required with GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
            ));
        }
        (None, None, Some(_)) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_ASSERTION_KEY_FILE",
                "required with GATEWAY_UPSTREAM_CLIENT_CERT_FILE",
            ));
        }
        (Some(_), _, _) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_SECRET",
                "set either a client secret or a client assertion key and certificate, not both",
            ));
        }
        (None, None, None) => {
            return Err(problem(
                "GATEWAY_UPSTREAM_CLIENT_SECRET",
                "required with GATEWAY_UPSTREAM_TOKEN_URL (or an assertion key and certificate)",
            ));
        }
    };
    Ok(UpstreamCredentials::ClientCredentials {
        token_url,
        client_id,
        authentication,
    })
}

/// Shortest HS256 secret accepted: 256 bits, as RFC 7518 §3.2 requires.
const MIN_SECRET_BYTES: usize = 32;

fn jwt_settings(sources: &Sources) -> Result<JwtSettings, ConfigError> {
    let secret = sources.text("GATEWAY_JWT_SECRET");
    if secret
        .as_ref()
        .is_some_and(|secret| secret.len() < MIN_SECRET_BYTES)
    {
        return Err(problem(
            "GATEWAY_JWT_SECRET",
            format!("must be at least {MIN_SECRET_BYTES} bytes (256 bits) for HS256"),
        ));
    }
    let settings = JwtSettings {
        secret: secret.map(Secret::new),
        public_key_file: sources
            .text("GATEWAY_JWT_PUBLIC_KEY_FILE")
            .map(PathBuf::from),
        jwks_url: sources.url("GATEWAY_JWT_JWKS_URL")?,
        jwks_refresh: sources.seconds(
            "GATEWAY_JWT_JWKS_REFRESH_SECS",
            Duration::from_secs(300),
            (1, 86_400),
        )?,
        jwks_min_refetch: sources.seconds(
            "GATEWAY_JWT_JWKS_MIN_REFETCH_SECS",
            Duration::from_secs(30),
            (0, 3_600),
        )?,
        issuer: sources.text("GATEWAY_JWT_ISSUER"),
        audience: sources.text("GATEWAY_JWT_AUDIENCE"),
        required_scope: sources.text("GATEWAY_JWT_REQUIRED_SCOPE"),
        leeway_secs: sources.number("GATEWAY_JWT_LEEWAY_SECS", 30, (0, 3_600))?,
        customer_claim: sources.text("GATEWAY_JWT_CUSTOMER_CLAIM"),
        all_customers_scope: sources.text("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE"),
    };
    if settings.jwks_url.is_some() {
        // A JWKS is often shared by every application of a tenant: without both checks a
        // token minted for any of them would be accepted.
        for (name, value) in [
            ("GATEWAY_JWT_ISSUER", &settings.issuer),
            ("GATEWAY_JWT_AUDIENCE", &settings.audience),
        ] {
            if value.is_none() {
                return Err(problem(name, "required with GATEWAY_JWT_JWKS_URL"));
            }
        }
    }
    if settings.secret.is_none()
        && settings.public_key_file.is_none()
        && settings.jwks_url.is_none()
    {
        return Err(problem(
            "GATEWAY_JWT_SECRET",
            "no caller key: set GATEWAY_JWT_SECRET, GATEWAY_JWT_PUBLIC_KEY_FILE or GATEWAY_JWT_JWKS_URL",
        ));
    }
    Ok(settings)
}

/// Reads the TOML file into (setting, value) pairs, refusing keys that name no setting.
fn read_file(path: &std::path::Path) -> Result<Vec<(Setting, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Unreadable {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    let table: toml::Table =
        text.parse()
            .map_err(|error: toml::de::Error| ConfigError::NotToml {
                path: path.to_owned(),
                reason: error.message().to_owned(),
            })?;
    let unknown = |key: String| ConfigError::UnknownKey {
        path: path.to_owned(),
        key,
    };
    let mut values = Vec::new();
    for (name, value) in &table {
        match value {
            toml::Value::Table(section) => {
                for (key, value) in section {
                    let setting = lookup(Some(name), key)
                        .ok_or_else(|| unknown(format!("[{name}] {key}")))?;
                    values.push((setting, scalar_text(setting, value)?));
                }
            }
            value => {
                let setting = lookup(None, name).ok_or_else(|| unknown(name.clone()))?;
                values.push((setting, scalar_text(setting, value)?));
            }
        }
    }
    Ok(values)
}

fn lookup(section: Option<&str>, key: &str) -> Option<Setting> {
    VARIABLES.iter().map(|name| Setting(name)).find(|setting| {
        let (their_section, their_key) = setting.section_and_key();
        their_key.eq_ignore_ascii_case(key)
            && match (section, their_section) {
                (None, None) => true,
                (Some(ours), Some(theirs)) => ours.eq_ignore_ascii_case(theirs),
                _ => false,
            }
    })
}

fn scalar_text(setting: Setting, value: &toml::Value) -> Result<String, ConfigError> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        _ => Err(ConfigError::Invalid {
            setting,
            problem: "expected a string or a number".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::load(None, |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![
            ("GATEWAY_UPSTREAM_TOKEN", "app-token"),
            ("GATEWAY_JWT_SECRET", SECRET),
        ]
    }

    fn error_line(pairs: &[(&str, &str)]) -> String {
        load(pairs).unwrap_err().to_string()
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let with_token = load(&minimal()).unwrap();
        let with_client = load(&[
            (
                "GATEWAY_UPSTREAM_TOKEN_URL",
                "https://id.test/connect/token",
            ),
            ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
            ("GATEWAY_UPSTREAM_CLIENT_SECRET", "client-secret-value"),
            ("GATEWAY_JWT_SECRET", SECRET),
        ])
        .unwrap();
        let shown = format!("{with_token:?} {with_client:?}");
        for secret in ["app-token", "client-secret-value", SECRET] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn jwks_timing_has_defaults_and_bounds() {
        let settings = load(&minimal()).unwrap();
        assert_eq!(settings.jwt.jwks_refresh, Duration::from_secs(300));
        assert_eq!(settings.jwt.jwks_min_refetch, Duration::from_secs(30));
        let mut pairs = minimal();
        pairs.push(("GATEWAY_JWT_JWKS_REFRESH_SECS", "0"));
        assert!(
            error_line(&pairs)
                .starts_with("GATEWAY_JWT_JWKS_REFRESH_SECS ([jwt] jwks_refresh_secs)")
        );
    }

    #[test]
    fn defaults_follow_the_contract() {
        let settings = load(&minimal()).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            settings.upstream.url.as_str(),
            "https://graph.avepointonlineservices.com/"
        );
        assert_eq!(settings.upstream.scope, "elements.license.read.all");
        assert_eq!(settings.upstream.page_size, 100);
        assert_eq!(settings.upstream.concurrency, 8);
        assert_eq!(settings.upstream.pages_ahead, 7);
        assert_eq!(settings.upstream.timeout, Duration::from_millis(10_000));
        assert_eq!(settings.cache.ttl, Duration::from_secs(60));
        assert_eq!(settings.cache.stale, Duration::from_secs(600));
        assert_eq!(settings.jwt.leeway_secs, 30);
    }

    #[test]
    fn resilience_and_limits_have_defaults_and_name_their_section() {
        let settings = load(&minimal()).unwrap();
        assert_eq!(settings.upstream.resilience, Resilience::default());
        assert_eq!(settings.limits, Limits::default());
        let mut pairs = minimal();
        pairs.push(("GATEWAY_LIMITS_DEPTH", "0"));
        assert!(error_line(&pairs).starts_with("GATEWAY_LIMITS_DEPTH ([limits] depth)"));
        let mut pairs = minimal();
        pairs.push(("GATEWAY_UPSTREAM_MAX_ATTEMPTS", "11"));
        assert!(error_line(&pairs).starts_with("GATEWAY_UPSTREAM_MAX_ATTEMPTS ([upstream]"));
        let mut pairs = minimal();
        pairs.push(("GATEWAY_LIMITS_RATE_PER_MINUTE", "120"));
        assert_eq!(load(&pairs).unwrap().limits.rate_burst, 120);
        pairs.push(("GATEWAY_LIMITS_RATE_BURST", "0"));
        assert!(error_line(&pairs).starts_with("GATEWAY_LIMITS_RATE_BURST"));
    }

    #[test]
    fn shutdown_and_telemetry_have_defaults_and_refuse_bad_values() {
        let settings = load(&minimal()).unwrap();
        assert_eq!(settings.cache.answer_bytes, DEFAULT_ANSWER_BYTES);
        assert_eq!(settings.shutdown, ShutdownSettings::default());
        assert_eq!(settings.telemetry, TelemetrySettings::default());
        let mut pairs = minimal();
        pairs.extend([
            ("GATEWAY_SHUTDOWN_DELAY_MS", "1500"),
            ("GATEWAY_CACHE_ANSWER_BYTES", "0"),
            ("GATEWAY_LOG_FORMAT", "JSON"),
            ("GATEWAY_LOG_LEVEL", "warn,elements_gateway=debug"),
        ]);
        let settings = load(&pairs).unwrap();
        assert_eq!(settings.shutdown.delay, Duration::from_millis(1500));
        assert_eq!(settings.cache.answer_bytes, 0);
        assert_eq!(settings.telemetry.log_format, LogFormat::Json);
        assert_eq!(settings.telemetry.log_level, "warn,elements_gateway=debug");
        let mut pairs = minimal();
        pairs.push(("GATEWAY_LOG_FORMAT", "xml"));
        assert!(error_line(&pairs).starts_with("GATEWAY_LOG_FORMAT ([log] format)"));
        let mut pairs = minimal();
        pairs.push(("GATEWAY_LOG_LEVEL", "elements_gateway=loud"));
        assert!(error_line(&pairs).starts_with("GATEWAY_LOG_LEVEL ([log] level)"));
        let only_env = TelemetrySettings::from_env(|name| {
            (name == "GATEWAY_TRACING_OTLP_ENDPOINT").then(|| "http://collector:4318".to_owned())
        })
        .unwrap();
        assert_eq!(
            only_env.otlp_endpoint.map(String::from).as_deref(),
            Some("http://collector:4318/")
        );
    }

    #[test]
    fn bad_numbers_name_the_setting_in_both_forms() {
        let mut pairs = minimal();
        pairs.push(("GATEWAY_UPSTREAM_PAGE_SIZE", "500"));
        assert_eq!(
            error_line(&pairs),
            "GATEWAY_UPSTREAM_PAGE_SIZE ([upstream] page_size): expected a whole number from 1 to 100, got \"500\""
        );
    }

    #[test]
    fn secrets_are_never_echoed() {
        let line = error_line(&[
            ("GATEWAY_UPSTREAM_TOKEN", "app-token"),
            ("GATEWAY_JWT_SECRET", "short-secret-value"),
        ]);
        assert!(line.starts_with("GATEWAY_JWT_SECRET ([jwt] secret): must be at least 32 bytes"));
        assert!(!line.contains("short-secret-value"));
    }

    #[test]
    fn credentials_must_be_exactly_one_kind() {
        assert!(
            error_line(&[("GATEWAY_JWT_SECRET", SECRET)]).starts_with("GATEWAY_UPSTREAM_TOKEN")
        );
        let mut both = minimal();
        both.push((
            "GATEWAY_UPSTREAM_TOKEN_URL",
            "https://id.example/connect/token",
        ));
        assert!(error_line(&both).contains("not both"));
        let line = error_line(&[
            ("GATEWAY_JWT_SECRET", SECRET),
            (
                "GATEWAY_UPSTREAM_TOKEN_URL",
                "https://id.example/connect/token",
            ),
            ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
        ]);
        assert!(line.starts_with("GATEWAY_UPSTREAM_CLIENT_SECRET"), "{line}");
        let settings = load(&[
            ("GATEWAY_JWT_SECRET", SECRET),
            (
                "GATEWAY_UPSTREAM_TOKEN_URL",
                "https://id.example/connect/token",
            ),
            ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
            ("GATEWAY_UPSTREAM_CLIENT_SECRET", "s3cret"),
        ])
        .unwrap();
        assert!(matches!(
            settings.upstream.credentials,
            UpstreamCredentials::ClientCredentials { .. }
        ));
    }

    #[test]
    fn a_caller_key_is_required() {
        assert!(error_line(&[("GATEWAY_UPSTREAM_TOKEN", "t")]).contains("no caller key"),);
    }

    #[test]
    fn urls_and_addresses_are_checked() {
        let mut pairs = minimal();
        pairs.push(("GATEWAY_UPSTREAM_URL", "ftp://example.com"));
        assert!(error_line(&pairs).starts_with("GATEWAY_UPSTREAM_URL ([upstream] url)"));
        let mut pairs = minimal();
        pairs.push(("GATEWAY_LISTEN", "localhost"));
        assert!(error_line(&pairs).starts_with("GATEWAY_LISTEN (listen)"));
    }

    #[test]
    fn the_file_is_read_by_section_and_the_environment_wins() {
        let dir = std::env::temp_dir().join(format!("gateway-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gateway.toml");
        std::fs::write(
            &path,
            format!(
                "listen = \"127.0.0.1:9000\"\n[upstream]\ntoken = \"t\"\npage_size = 40\ntimeout_ms = \"2500\"\n[jwt]\nsecret = \"{SECRET}\"\n"
            ),
        )
        .unwrap();
        let settings = Settings::load(Some(&path), |name| {
            (name == "GATEWAY_UPSTREAM_PAGE_SIZE").then(|| "20".to_owned())
        })
        .unwrap();
        assert_eq!(settings.listen.port(), 9000);
        assert_eq!(settings.upstream.page_size, 20);
        assert_eq!(settings.upstream.timeout, Duration::from_millis(2500));

        std::fs::write(&path, "[upstream]\ntimout_ms = 5\n").unwrap();
        let line = Settings::load(Some(&path), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            line.ends_with("unknown setting `[upstream] timout_ms`"),
            "{line}"
        );
        std::fs::write(&path, "[upstream\n").unwrap();
        let line = Settings::load(Some(&path), |_| None)
            .unwrap_err()
            .to_string();
        assert!(line.contains("is not valid TOML"), "{line}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secret_bearing_urls_must_be_https_off_loopback() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = minimal();
            pairs.extend_from_slice(extra);
            load(&pairs)
        };
        for (name, url) in [
            ("GATEWAY_UPSTREAM_URL", "http://graph.example.com"),
            ("GATEWAY_JWT_JWKS_URL", "http://login.example.com/keys"),
        ] {
            let mut extra = vec![(name, url)];
            if name == "GATEWAY_JWT_JWKS_URL" {
                extra.extend([("GATEWAY_JWT_ISSUER", "i"), ("GATEWAY_JWT_AUDIENCE", "a")]);
            }
            let line = with(&extra).unwrap_err().to_string();
            assert!(line.starts_with(name), "{line}");
            assert!(line.contains("GATEWAY_ALLOW_INSECURE_URLS"), "{line}");
            extra.push(("GATEWAY_ALLOW_INSECURE_URLS", "true"));
            assert!(with(&extra).is_ok());
        }
        let client = [
            (
                "GATEWAY_UPSTREAM_TOKEN_URL",
                "http://id.example.com/connect/token",
            ),
            ("GATEWAY_UPSTREAM_CLIENT_ID", "app"),
            ("GATEWAY_UPSTREAM_CLIENT_SECRET", "s"),
            ("GATEWAY_JWT_SECRET", SECRET),
        ];
        let line = load(&client).unwrap_err().to_string();
        assert!(line.starts_with("GATEWAY_UPSTREAM_TOKEN_URL"), "{line}");
        for loopback in [
            "http://127.0.0.1:9000",
            "http://localhost:9000",
            "http://[::1]:9000",
        ] {
            let pairs = [
                ("GATEWAY_UPSTREAM_TOKEN", "t"),
                ("GATEWAY_JWT_SECRET", SECRET),
                ("GATEWAY_UPSTREAM_URL", loopback),
            ];
            assert!(load(&pairs).is_ok(), "{loopback}");
        }
        let line = with(&[("GATEWAY_ALLOW_INSECURE_URLS", "yes")])
            .unwrap_err()
            .to_string();
        assert!(line.starts_with("GATEWAY_ALLOW_INSECURE_URLS"), "{line}");
    }

    #[test]
    fn a_jwks_needs_an_issuer_and_an_audience() {
        let mut pairs = minimal();
        pairs.push(("GATEWAY_JWT_JWKS_URL", "https://login.example.com/keys"));
        assert!(error_line(&pairs).starts_with("GATEWAY_JWT_ISSUER"));
        pairs.push(("GATEWAY_JWT_ISSUER", "https://login.example.com/"));
        assert!(error_line(&pairs).starts_with("GATEWAY_JWT_AUDIENCE"));
        pairs.push(("GATEWAY_JWT_AUDIENCE", "api://gateway"));
        assert!(load(&pairs).is_ok());
    }

    #[test]
    fn hardening_settings_have_the_contract_defaults_and_bounds() {
        let settings = load(&minimal()).unwrap();
        assert_eq!(settings.upstream.max_body_bytes, 67_108_864);
        assert_eq!(settings.upstream.max_pages, 1000);
        assert_eq!(settings.limits.header_timeout, Duration::from_secs(10));
        assert_eq!(settings.limits.connections, 4096);
        assert!(settings.introspection);
        assert_eq!(settings.metrics_listen, None);
        assert_eq!(settings.jwt.all_customers_scope, None);
        let mut pairs = minimal();
        pairs.extend([
            ("GATEWAY_INTROSPECTION", "false"),
            ("GATEWAY_METRICS_LISTEN", "0.0.0.0:9090"),
            ("GATEWAY_UPSTREAM_MAX_PAGES", "5"),
            ("GATEWAY_JWT_ALL_CUSTOMERS_SCOPE", "customers.all"),
        ]);
        let settings = load(&pairs).unwrap();
        assert!(!settings.introspection);
        assert_eq!(settings.metrics_listen.unwrap().port(), 9090);
        assert_eq!(settings.upstream.max_pages, 5);
        for (name, bad) in [
            ("GATEWAY_UPSTREAM_MAX_PAGES", "0"),
            ("GATEWAY_UPSTREAM_MAX_BODY_BYTES", "10"),
            ("GATEWAY_LIMITS_HEADER_TIMEOUT_MS", "0"),
            ("GATEWAY_LIMITS_CONNECTIONS", "0"),
            ("GATEWAY_INTROSPECTION", "off"),
            ("GATEWAY_METRICS_LISTEN", "nine"),
            ("GATEWAY_METRICS_LISTEN", "127.0.0.1:8080"),
        ] {
            let mut pairs = minimal();
            pairs.push((name, bad));
            assert!(error_line(&pairs).starts_with(name), "{name}={bad}");
        }
        assert_eq!(
            Setting::named("GATEWAY_METRICS_LISTEN").to_string(),
            "GATEWAY_METRICS_LISTEN ([metrics] listen)"
        );
        assert_eq!(
            Setting::named("GATEWAY_ALLOW_INSECURE_URLS").to_string(),
            "GATEWAY_ALLOW_INSECURE_URLS (allow_insecure_urls)"
        );
    }
}
