//! Real corpora nobody here wrote: PyPI's package list (`pypi.tsv`, 886k rows with
//! summaries) when present, else Debian's package index (`apt-cache dumpavail`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

/// Where `pypi.tsv` may be: `MIROIR_PYPI_TSV`, or the tool library's package lists.
fn pypi_path() -> Option<PathBuf> {
    let candidates = [
        std::env::var("MIROIR_PYPI_TSV").ok().map(PathBuf::from),
        Some(PathBuf::from("/work/.library/env/packages/pypi.tsv")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

/// Up to `limit` PyPI packages as documents with integer ids.
pub fn pypi(limit: usize) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(pypi_path()?).ok()?;
    let docs = text
        .lines()
        .skip(1)
        .take(limit)
        .enumerate()
        .filter_map(|(i, line)| {
            let mut f = line.split('\t');
            let (name, version, month, rank, summary) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next().unwrap_or(""));
            Some(json!({"id": i, "name": name, "version": version, "month": month,
                        "rank": rank.parse::<u64>().ok(), "summary": summary}))
        })
        .collect();
    Some(docs)
}

/// Up to `limit` Debian packages as documents with string ids.
pub fn debian(limit: usize) -> Vec<Value> {
    let out = Command::new("apt-cache").arg("dumpavail").output().expect("run apt-cache dumpavail");
    let text = String::from_utf8_lossy(&out.stdout);
    let docs: Vec<Value> = text
        .split("\n\n")
        .filter_map(|stanza| {
            let field = |name: &str| {
                stanza.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")).map(str::to_string))
            };
            let package = field("Package")?;
            Some(json!({
                "package": package,
                "version": field("Version"),
                "section": field("Section"),
                "priority": field("Priority"),
                "installedSize": field("Installed-Size").and_then(|s| s.parse::<u64>().ok()),
                "maintainer": field("Maintainer"),
                "description": field("Description"),
            }))
        })
        .take(limit)
        .enumerate()
        .map(|(i, mut d)| {
            d["id"] = json!(format!("deb-{i}"));
            d
        })
        .collect();
    assert!(!docs.is_empty(), "apt-cache dumpavail gave no packages: run `apt-get update` first");
    docs
}

/// `limit` real documents, from PyPI if its list is here, else from Debian.
pub fn documents(limit: usize) -> Vec<Value> {
    pypi(limit).unwrap_or_else(|| debian(limit))
}

pub fn ndjson(docs: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in docs {
        out.extend_from_slice(d.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}
