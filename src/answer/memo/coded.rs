//! A kept answer's body in the content codings callers ask for, each made once.

use std::{io::Write, sync::OnceLock};

use axum::body::Bytes;

/// Compression quality, for gzip and br alike: near their best ratio on JSON at a small part
/// of the time of their highest levels. The response layer uses the same.
pub(crate) const QUALITY: u32 = 4;

/// A content coding the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// Brotli.
    Br,
    /// Gzip.
    Gzip,
}

impl Coding {
    /// The coding's name, as `Content-Encoding` gives it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Br => "br",
            Self::Gzip => "gzip",
        }
    }

    /// `plain` in this coding.
    fn encode(self, plain: &[u8]) -> std::io::Result<Bytes> {
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
        encoded.map(Bytes::from)
    }
}

/// The codings made so far.
#[derive(Debug, Default)]
pub(super) struct Codings {
    br: OnceLock<Option<Bytes>>,
    gzip: OnceLock<Option<Bytes>>,
}

impl Codings {
    /// `plain` in `coding`, made on first use; `None` should the encoder fail (writing to
    /// memory does not, but then the plain bytes are sent).
    pub(super) fn get(&self, coding: Coding, plain: &[u8]) -> Option<Bytes> {
        let slot = match coding {
            Coding::Br => &self.br,
            Coding::Gzip => &self.gzip,
        };
        slot.get_or_init(|| coding.encode(plain).ok()).clone()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn each_coding_is_made_once_and_decodes_to_the_body() {
        let plain = "{\"data\":1}".repeat(200);
        let codings = Codings::default();
        let gzip = codings.get(Coding::Gzip, plain.as_bytes()).unwrap();
        let again = codings.get(Coding::Gzip, plain.as_bytes()).unwrap();
        assert_eq!(gzip.as_ptr(), again.as_ptr(), "kept, not made again");
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain);
        let br = codings.get(Coding::Br, plain.as_bytes()).unwrap();
        let mut decoded = String::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain);
        assert!(br.len() < plain.len() / 4);
    }
}
