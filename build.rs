//! Embeds the GraphiQL bundle from `ui/dist` when it has been built (`npm --prefix ui ci &&
//! npm --prefix ui run build`); without it the gateway serves GraphiQL from a CDN instead and
//! says so when it starts.

use std::{fs, path::Path};

const FILES: [&str; 4] = [
    "graphiql.js",
    "graphiql.css",
    "graphiql.js.gz",
    "graphiql.css.gz",
];

fn main() {
    graphiql_bundle();
}

/// Embeds the GraphiQL bundle when `ui/dist` holds it.
fn graphiql_bundle() {
    println!("cargo::rustc-check-cfg=cfg(graphiql_bundled)");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dist = Path::new(&manifest).join("ui/dist");
    if !FILES.iter().all(|file| dist.join(file).is_file()) {
        // Watching `ui` notices when a bundle is built later.
        println!("cargo::rerun-if-changed=ui");
        return;
    }
    println!("cargo::rerun-if-changed=ui/dist");
    // A version for the asset URLs, so browsers may cache them for good: FNV-1a of the bundle.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &FILES[..2] {
        for byte in fs::read(dist.join(file)).expect("the bundle is readable") {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo::rustc-cfg=graphiql_bundled");
    println!("cargo::rustc-env=GRAPHIQL_DIST={}", dist.display());
    println!("cargo::rustc-env=GRAPHIQL_VERSION={hash:016x}");
}
