//! Response compression: the policy tower-http's `CompressionLayer` applies to every answer,
//! and the same codings done once for a reused answer, which is then sent as it is.

use std::{io::Write, sync::OnceLock};

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, header},
};
use tower_http::{
    CompressionLevel,
    compression::{
        Predicate,
        predicate::{NotForContentType, SizeAbove},
    },
};

/// Smallest answer compressed: below it the coding saves less than it costs.
pub(super) const MIN_BYTES: u16 = 1024;

/// Compression quality, for gzip and br alike: near their best ratio on JSON at a small part
/// of the time of their highest levels.
const QUALITY: u32 = 4;

/// [`QUALITY`] as tower-http takes it.
pub(super) const LEVEL: CompressionLevel = CompressionLevel::Precise(QUALITY as i32);

/// Which answers tower-http compresses: [`MIN_BYTES`] or more, and not images.
pub(super) fn predicate() -> impl Predicate {
    SizeAbove::new(MIN_BYTES).and(NotForContentType::IMAGES)
}

/// A content coding the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Br,
    Gzip,
}

impl Coding {
    /// The coding a request accepts, by its `Accept-Encoding`: the highest `q` (br on a tie),
    /// none when it lists neither or gives them `q=0`.
    pub(super) fn accepted(headers: &HeaderMap) -> Option<Self> {
        let mut best: Option<(Self, f32)> = None;
        for (coding, weight) in listed(headers) {
            let better = best.is_none_or(|(known, q)| {
                weight > q || (weight == q && coding == Self::Br && known == Self::Gzip)
            });
            if weight > 0.0 && better {
                best = Some((coding, weight));
            }
        }
        best.map(|(coding, _)| coding)
    }

    /// Whether a request accepts this coding at all (`q` above 0), whichever it prefers.
    pub(super) fn is_accepted(self, headers: &HeaderMap) -> bool {
        listed(headers).any(|(coding, weight)| coding == self && weight > 0.0)
    }

    /// The `Content-Encoding` value.
    pub(super) fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Br => "br",
            Self::Gzip => "gzip",
        })
    }

    /// `plain` in this coding; empty should the encoder fail (the plain bytes are sent then).
    fn encode(self, plain: &[u8]) -> Bytes {
        let encoded = match self {
            Self::Br => {
                let mut writer = brotli::CompressorWriter::new(Vec::new(), 4096, QUALITY, 22);
                writer.write_all(plain).map(|()| writer.into_inner())
            }
            Self::Gzip => {
                let mut writer =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(QUALITY));
                writer.write_all(plain).and_then(|()| writer.finish())
            }
        };
        encoded.map(Bytes::from).unwrap_or_default()
    }
}

/// The codings an `Accept-Encoding` lists that the gateway sends, with their `q` (1 unless
/// given).
fn listed(headers: &HeaderMap) -> impl Iterator<Item = (Coding, f32)> + '_ {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = match parts.next().map(str::trim) {
                Some(name) if name.eq_ignore_ascii_case("br") => Coding::Br,
                Some(name) if name.eq_ignore_ascii_case("gzip") => Coding::Gzip,
                _ => return None,
            };
            let weight = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((coding, weight))
        })
}

/// A reused answer's body in each coding, made on first use and kept with the answer.
#[derive(Debug, Default)]
pub(super) struct Encoded {
    br: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
}

impl Encoded {
    /// `plain` in the coding the request accepts, when it accepts one and the answer is large
    /// enough to be worth it.
    pub(super) fn for_request(
        &self,
        headers: &HeaderMap,
        plain: &Bytes,
    ) -> Option<(Coding, Bytes)> {
        if plain.len() < usize::from(MIN_BYTES) {
            return None;
        }
        let coding = Coding::accepted(headers)?;
        let slot = match coding {
            Coding::Br => &self.br,
            Coding::Gzip => &self.gzip,
        };
        let encoded = slot.get_or_init(|| coding.encode(plain)).clone();
        (!encoded.is_empty()).then_some((coding, encoded))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn accepting(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn the_accepted_coding_follows_q_values_and_prefers_br_on_a_tie() {
        assert_eq!(
            Coding::accepted(&accepting("gzip, deflate, br")),
            Some(Coding::Br)
        );
        assert_eq!(
            Coding::accepted(&accepting("br;q=0.5, gzip")),
            Some(Coding::Gzip)
        );
        assert_eq!(Coding::accepted(&accepting("br;q=0, gzip;q=0")), None);
        assert_eq!(Coding::accepted(&accepting("identity, deflate")), None);
        assert_eq!(Coding::accepted(&HeaderMap::new()), None);
        assert!(Coding::Gzip.is_accepted(&accepting("br, gzip;q=0.1")));
        assert!(!Coding::Gzip.is_accepted(&accepting("gzip;q=0")));
    }

    #[test]
    fn a_reused_answer_is_encoded_once_and_decodes_to_itself() {
        let plain = Bytes::from("{\"data\":1}".repeat(200));
        let encoded = Encoded::default();
        let (coding, gzip) = encoded.for_request(&accepting("gzip"), &plain).unwrap();
        assert_eq!(coding, Coding::Gzip);
        let (_, again) = encoded.for_request(&accepting("gzip"), &plain).unwrap();
        assert_eq!(
            gzip.as_ptr(),
            again.as_ptr(),
            "the coding is kept, not redone"
        );
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain);
        let (coding, br) = encoded.for_request(&accepting("br"), &plain).unwrap();
        assert_eq!(coding, Coding::Br);
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain);
        assert!(br.len() < plain.len() / 4);
        let small = Bytes::from_static(b"{}");
        assert!(encoded.for_request(&accepting("gzip"), &small).is_none());
    }
}
