//! Where the programs under test are: built by `tests/run` before the tests start.

use std::path::PathBuf;

fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

fn existing(path: PathBuf, how: &str) -> PathBuf {
    assert!(path.exists(), "{} is missing: {how}", path.display());
    path
}

pub fn miroir() -> PathBuf {
    let path = std::env::var("MIROIR_BIN").map(PathBuf::from).unwrap_or_else(|_| target_dir().join("debug/miroir"));
    existing(path, "build it with `cargo build -p miroir` (tests/run does)")
}

pub fn filter_wasm() -> PathBuf {
    let path = std::env::var("MIROIR_FILTER_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|_| target_dir().join("wasm32-wasip1/wasm/miroir_filter.wasm"));
    existing(path, "build it with `cargo build -p miroir-filter --target wasm32-wasip1 --profile wasm` (tests/run does)")
}

/// The Meilisearch the nodes run: real when `MIROIR_MEILI_BIN` is set, else the test double.
pub fn meilisearch() -> PathBuf {
    match std::env::var("MIROIR_MEILI_BIN") {
        Ok(path) => existing(PathBuf::from(path), "MIROIR_MEILI_BIN must name a Meilisearch binary"),
        Err(_) => existing(
            target_dir().join("double/meili-double"),
            "build it with `cargo build -p meili-double --profile double` (tests/run does)",
        ),
    }
}

pub fn is_real_meilisearch() -> bool {
    std::env::var_os("MIROIR_MEILI_BIN").is_some()
}
