//! Embeds the GraphiQL bundle from `ui/dist` when it has been built (`npm --prefix ui ci &&
//! npm --prefix ui run build`); without it the gateway serves GraphiQL from a CDN instead and
//! says so when it starts.
//!
//! Also reads the number of mimalloc's `mi_option_purge_delay` from the `mimalloc.h` that
//! libmimalloc-sys builds (the crate exports no constant for it), so a new mimalloc that
//! renumbers its options changes the number here, and one without the option fails the build,
//! instead of the gateway setting another option.

use std::{fs, path::Path};

const FILES: [&str; 4] = [
    "graphiql.js",
    "graphiql.css",
    "graphiql.js.gz",
    "graphiql.css.gz",
];

fn main() {
    mimalloc_option("mi_option_purge_delay", "MI_OPTION_PURGE_DELAY");
    graphiql_bundle();
}

/// Emits `env` as the number of `option` in mimalloc's `mi_option_t`.
fn mimalloc_option(option: &str, env: &str) {
    let include = std::env::var("DEP_MIMALLOC_INCLUDE_DIR")
        .expect("libmimalloc-sys tells its include directory");
    let header = Path::new(&include).join("mimalloc.h");
    println!("cargo::rerun-if-changed={}", header.display());
    let text = fs::read_to_string(&header).expect("mimalloc.h is readable");
    let body = text
        .split("typedef enum mi_option_e {")
        .nth(1)
        .and_then(|rest| rest.split("} mi_option_t;").next())
        .expect("mimalloc.h defines mi_option_t");
    let mut next = 0u32;
    let mut numbers = std::collections::HashMap::new();
    for entry in body
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
    {
        for item in entry
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let (name, value) = match item.split_once('=') {
                Some((name, value)) => {
                    let value = value.trim();
                    let number = value
                        .parse()
                        .ok()
                        .or_else(|| numbers.get(value).copied())
                        .unwrap_or_else(|| panic!("mi_option_t: cannot read {item}"));
                    (name.trim(), number)
                }
                None => (item, next),
            };
            numbers.insert(name.to_owned(), value);
            next = value + 1;
        }
    }
    let number = numbers
        .get(option)
        .unwrap_or_else(|| panic!("this mimalloc has no {option}"));
    println!("cargo::rustc-env={env}={number}");
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
