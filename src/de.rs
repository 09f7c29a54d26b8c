//! How one setting's value is read, for serde's `deserialize_with`: from a TOML value of its
//! own type or from text (every environment variable is text, and a file may quote a number),
//! checked against its range, with an error that says what was expected and, unless the
//! setting is secret, what was given. The error's setting and source are added by figment.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use reqwest::Url;
use serde::{
    Deserializer,
    de::{self, Visitor},
};

use crate::secret::Secret;

/// A scalar as text, whatever its TOML type.
struct Text;

impl Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a single value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
        Ok(value.trim().to_owned())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<String, E> {
        Ok(value.to_string())
    }
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserializer.deserialize_any(Text)
}

/// The value parsed as `T`, or an error saying it should be `expected`.
fn parsed<'de, D: Deserializer<'de>, T: FromStr>(
    deserializer: D,
    expected: &str,
) -> Result<T, D::Error> {
    let given = text(deserializer)?;
    given
        .parse()
        .map_err(|_| de::Error::custom(format!("expected {expected}, got {given:?}")))
}

/// A whole number from `LO` to `HI`.
pub(crate) fn number<'de, D, T, const LO: u64, const HI: u64>(
    deserializer: D,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let expected = format!("a whole number from {LO} to {HI}");
    let value: u64 = parsed(deserializer, &expected)?;
    if !(LO..=HI).contains(&value) {
        return Err(de::Error::custom(format!(
            "expected {expected}, got \"{value}\""
        )));
    }
    T::try_from(value).map_err(|_| de::Error::custom(format!("expected {expected}")))
}

/// A whole number from `LO` to `HI`, when set.
pub(crate) fn some_number<'de, D, T, const LO: u64, const HI: u64>(
    deserializer: D,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    number::<D, T, LO, HI>(deserializer).map(Some)
}

/// Milliseconds, from `LO` to `HI`.
pub(crate) fn millis<'de, D: Deserializer<'de>, const LO: u64, const HI: u64>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    number::<D, u64, LO, HI>(deserializer).map(Duration::from_millis)
}

/// Seconds, from `LO` to `HI`.
pub(crate) fn seconds<'de, D: Deserializer<'de>, const LO: u64, const HI: u64>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    number::<D, u64, LO, HI>(deserializer).map(Duration::from_secs)
}

/// `true` or `false`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    parsed(deserializer, "`true` or `false`")
}

/// Text; blank is the same as unset.
pub(crate) fn words<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    text(deserializer).map(|given| Some(given).filter(|given| !given.is_empty()))
}

/// A file's path; blank is the same as unset.
pub(crate) fn path<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PathBuf>, D::Error> {
    words(deserializer).map(|given| given.map(PathBuf::from))
}

/// A secret; blank is the same as unset. No error repeats it.
pub(crate) fn secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Secret>, D::Error> {
    deserializer
        .deserialize_any(Text)
        .map_err(|_: D::Error| de::Error::custom("expected text (the value is not shown)"))
        .map(|given| {
            Some(given)
                .filter(|given| !given.is_empty())
                .map(Secret::new)
        })
}

/// An absolute URL; blank is the same as unset.
pub(crate) fn url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Url>, D::Error> {
    match words(deserializer)? {
        None => Ok(None),
        Some(given) => match Url::parse(&given) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(Some(url)),
            _ => Err(de::Error::custom(format!(
                "expected an http:// or https:// URL, got {given:?}"
            ))),
        },
    }
}

/// An address to listen on.
pub(crate) fn address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    parsed(deserializer, "an address such as 127.0.0.1:8080")
}

/// An address to listen on, when set.
pub(crate) fn some_address<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    parsed(deserializer, "an address such as 0.0.0.0:9090").map(Some)
}

/// One of a few words (`T` lists them in its `FromStr` error).
pub(crate) fn choice<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = &'static str>,
{
    let given = text(deserializer)?;
    given
        .to_ascii_lowercase()
        .parse()
        .map_err(|expected| de::Error::custom(format!("expected {expected}, got {given:?}")))
}

/// A log filter such as `info` or `warn,elements_gateway=debug`.
pub(crate) fn log_filter<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let given = text(deserializer)?;
    tracing_subscriber::EnvFilter::builder()
        .parse(&given)
        .map(|_| given.clone())
        .map_err(|_| {
            de::Error::custom(format!(
                "expected a log filter such as `info` or `warn,elements_gateway=debug`, got {given:?}"
            ))
        })
}
