//! Embeds the GraphiQL bundle committed under `ui/dist` (built by `ui/`'s own build, checked
//! against it in CI), with a gzip copy of each file made here, so the gateway serves GraphiQL
//! with no CDN and no npm step.

use std::{fs, io::Write, path::Path};

use flate2::{Compression, write::GzEncoder};

/// The files served under `/graphiql/`, each with a gzip copy made here.
const SERVED: [&str; 3] = ["graphiql.js", "graphiql.css", "THIRD-PARTY-LICENSES.txt"];

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let dist = Path::new(&manifest).join("ui/dist");
    println!("cargo::rerun-if-changed=ui/dist");
    // A version for the asset URLs, so browsers may cache them for good: FNV-1a of the bundle.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in SERVED {
        let bytes = fs::read(dist.join(file)).unwrap_or_else(|error| {
            panic!(
                "ui/dist/{file}: {error}. ui/dist is committed; restore it with \
                 `git checkout ui/dist`, or rebuild it with `npm --prefix ui ci && npm --prefix ui run build`"
            )
        });
        for &byte in &bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(&bytes).expect("gzip into memory");
        let gzipped = gzip.finish().expect("gzip into memory");
        fs::write(Path::new(&out).join(format!("{file}.gz")), gzipped)
            .expect("OUT_DIR is writable");
    }
    println!("cargo::rustc-env=GRAPHIQL_DIST={}", dist.display());
    println!("cargo::rustc-env=GRAPHIQL_VERSION={hash:016x}");
}
