//! Command line: accepts Meilisearch's flags (and `MEILI_*` env vars) so the
//! double can be started exactly like the real binary. Flags the double does
//! not model are accepted and ignored.

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "meili-double",
    version,
    about = "A test double of Meilisearch 1.50 (not Meilisearch)"
)]
pub struct Opt {
    /// Address to listen on.
    #[arg(long, env = "MEILI_HTTP_ADDR", default_value = "127.0.0.1:7700")]
    pub http_addr: String,

    /// Directory where the double keeps its state.
    #[arg(long, env = "MEILI_DB_PATH", default_value = "./data.ms")]
    pub db_path: PathBuf,

    /// Master key; when set, every route but /health needs `Authorization: Bearer <key>`.
    #[arg(long, env = "MEILI_MASTER_KEY")]
    pub master_key: Option<String>,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_NO_ANALYTICS")]
    pub no_analytics: bool,

    /// `development` or `production` (accepted; the double behaves the same).
    #[arg(long, env = "MEILI_ENV", default_value = "development")]
    pub env: String,

    /// Maximum accepted payload size, e.g. `100 MB`, `200MB`, `1048576`.
    #[arg(long, env = "MEILI_HTTP_PAYLOAD_SIZE_LIMIT", default_value = "100 MB", value_parser = parse_size)]
    pub http_payload_size_limit: u64,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_MAX_INDEXING_MEMORY", value_parser = parse_size)]
    pub max_indexing_memory: Option<u64>,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_MAX_INDEXING_THREADS")]
    pub max_indexing_threads: Option<String>,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_LOG_LEVEL")]
    pub log_level: Option<String>,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_EXPERIMENTAL_ALLOWED_IP_NETWORKS")]
    pub experimental_allowed_ip_networks: Option<String>,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_EXPERIMENTAL_DUMPLESS_UPGRADE")]
    pub experimental_dumpless_upgrade: bool,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_SCHEDULE_SNAPSHOT", num_args = 0..=1)]
    pub schedule_snapshot: Option<Option<String>>,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_DUMP_DIR")]
    pub dump_dir: Option<String>,

    /// Accepted and ignored.
    #[arg(long, env = "MEILI_SNAPSHOT_DIR")]
    pub snapshot_dir: Option<String>,
}

/// Parses a size like Meilisearch's `byte-unit`: a number with an optional
/// unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; case-insensitive, optional space).
pub fn parse_size(input: &str) -> Result<u64, String> {
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("invalid size `{input}`"))?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0f64.powi(4),
        other => return Err(format!("invalid size unit `{other}` in `{input}`")),
    };
    Ok((value * multiplier).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_size_accepts_meilisearch_spellings() {
        assert_eq!(parse_size("100 MB"), Ok(100_000_000));
        assert_eq!(parse_size("200MB"), Ok(200_000_000));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("1 MiB"), Ok(1_048_576));
        assert_eq!(parse_size("2 gb"), Ok(2_000_000_000));
        assert!(parse_size("ten MB").is_err());
        assert!(parse_size("10 parsecs").is_err());
    }

    #[test]
    fn defaults_match_meilisearch() {
        let opt = Opt::try_parse_from(["meili-double"]).unwrap();
        assert_eq!(opt.http_addr, "127.0.0.1:7700");
        assert_eq!(opt.http_payload_size_limit, 100_000_000);
        assert_eq!(opt.db_path, PathBuf::from("./data.ms"));
    }

    #[test]
    fn accepts_flags_it_ignores() {
        let opt = Opt::try_parse_from([
            "meili-double",
            "--no-analytics",
            "--env",
            "production",
            "--max-indexing-memory",
            "2 GiB",
            "--log-level",
            "WARN",
            "--experimental-allowed-ip-networks",
            "any",
            "--master-key",
            "k",
        ])
        .unwrap();
        assert_eq!(opt.master_key.as_deref(), Some("k"));
    }
}
