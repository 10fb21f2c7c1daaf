//! Turns `docs/openapi.yaml` into the JSON this function serves, and names its version (the
//! SHA-256 of the JSON, for `ETag`), at build time: the document ships with the code that
//! implements it.

use std::path::Path;

use sha2::{Digest, Sha256};

fn main() {
    // Read at run time: a build script compiled for one checkout may be reused by another
    // sharing the target directory, and must read that checkout's files.
    let crate_dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|e| panic!("CARGO_MANIFEST_DIR: {e}"));
    let spec = Path::new(&crate_dir).join("../../docs/openapi.yaml");
    println!("cargo:rerun-if-changed={}", spec.display());
    let yaml = std::fs::read_to_string(&spec)
        .unwrap_or_else(|e| panic!("reading {}: {e}", spec.display()));
    let document: serde_json::Value = serde_norway::from_str(&yaml)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", spec.display()));
    let json = serde_json::to_string(&document).unwrap_or_else(|e| panic!("{e}"));
    let digest = Sha256::digest(json.as_bytes());
    let tag: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let out = std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    std::fs::write(Path::new(&out).join("openapi.json"), json)
        .unwrap_or_else(|e| panic!("writing openapi.json: {e}"));
    std::fs::write(Path::new(&out).join("openapi.etag"), format!("\"{tag}\""))
        .unwrap_or_else(|e| panic!("writing openapi.etag: {e}"));
    // One version for the page and its assets, which change together.
    let mut assets = Sha256::new();
    for file in [
        "assets/index.html",
        "assets/init.js",
        "assets/swagger-ui/swagger-ui-bundle.js",
        "assets/swagger-ui/swagger-ui.css",
    ] {
        let path = Path::new(&crate_dir).join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        assets.update(std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}")));
    }
    let tag: String = assets
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(Path::new(&out).join("assets.etag"), format!("\"{tag}\""))
        .unwrap_or_else(|e| panic!("writing assets.etag: {e}"));
}
