//! The Redis settings (`[redis]`), read straight from the configuration.

use serde::Deserialize;

use crate::{de, secret::Secret};

/// The default `GATEWAY_REDIS_PREFIX`.
pub(crate) const DEFAULT_PREFIX: &str = "elements-gateway:";

/// Where the replicas' shared Redis is, if there is one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `GATEWAY_REDIS_URL`: `redis://` or `rediss://` (default: none, no sharing). A secret,
    /// since it may carry a password.
    #[serde(deserialize_with = "de::secret")]
    pub url: Option<Secret>,
    /// `GATEWAY_REDIS_PASSWORD`: the password, when the URL does not carry it.
    #[serde(deserialize_with = "de::secret")]
    pub password: Option<Secret>,
    /// `GATEWAY_REDIS_PREFIX`: put before every key (default `elements-gateway:`).
    #[serde(deserialize_with = "de::words")]
    pub prefix: Option<String>,
}

impl RedisSettings {
    /// The key prefix in force.
    pub fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or(DEFAULT_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, Settings};

    fn load(redis: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut pairs = vec![
            ("GATEWAY_UPSTREAM_TOKEN", "app-token"),
            ("GATEWAY_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ];
        pairs.extend_from_slice(redis);
        Settings::load(None, |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn error_line(redis: &[(&str, &str)]) -> String {
        load(redis).unwrap_err().to_string()
    }

    #[test]
    fn unset_means_no_redis_and_the_prefix_has_its_default() {
        let settings = load(&[]).unwrap();
        assert!(settings.redis.url.is_none());
        assert_eq!(settings.redis.prefix(), "elements-gateway:");
        let settings = load(&[
            ("GATEWAY_REDIS_URL", "redis://localhost:6379/2"),
            ("GATEWAY_REDIS_PREFIX", "staging:"),
        ])
        .unwrap();
        assert_eq!(settings.redis.prefix(), "staging:");
    }

    #[test]
    fn a_bad_url_is_one_line_naming_the_setting_and_never_the_password() {
        let line = error_line(&[("GATEWAY_REDIS_URL", "http://user:hunter2@cache:6379")]);
        assert!(
            line.starts_with("GATEWAY_REDIS_URL ([redis] url)"),
            "{line}"
        );
        assert!(line.contains("redis:// or rediss://"), "{line}");
        assert!(!line.contains("hunter2"), "{line}");

        let line = error_line(&[("GATEWAY_REDIS_URL", "redis://:hunter2@cache.internal:6379")]);
        assert!(line.contains("unencrypted"), "{line}");
        assert!(!line.contains("hunter2"), "{line}");
        let line = error_line(&[
            ("GATEWAY_REDIS_URL", "redis://cache.internal:6379"),
            ("GATEWAY_REDIS_PASSWORD", "hunter2"),
        ]);
        assert!(line.contains("unencrypted"), "{line}");

        let line = error_line(&[("GATEWAY_REDIS_PASSWORD", "hunter2")]);
        assert!(line.starts_with("GATEWAY_REDIS_PASSWORD"), "{line}");
        assert!(line.contains("without GATEWAY_REDIS_URL"), "{line}");
    }

    #[test]
    fn a_password_may_go_over_tls_loopback_or_when_allowed() {
        for pairs in [
            &[("GATEWAY_REDIS_URL", "rediss://:pw@cache.internal:6380")][..],
            &[("GATEWAY_REDIS_URL", "redis://:pw@127.0.0.1:6379")],
            &[
                ("GATEWAY_REDIS_URL", "redis://:pw@cache.internal:6379"),
                ("GATEWAY_ALLOW_INSECURE_URLS", "true"),
            ],
        ] {
            let settings = load(pairs).unwrap();
            let shown = format!("{settings:?}");
            assert!(!shown.contains(":pw@"), "{shown}");
        }
    }
}
