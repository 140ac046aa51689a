//! RFC 3339 timestamps as Meilisearch writes them, compared as instants (their text
//! does not sort: `10Z` > `10.5Z`).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An instant, from nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub i128);

impl Instant {
    pub fn parse(s: &str) -> Option<Instant> {
        OffsetDateTime::parse(s, &Rfc3339).ok().map(|t| Instant(t.unix_timestamp_nanos()))
    }

    /// A date filter's value as Meilisearch reads it: RFC 3339, or a bare
    /// `YYYY-MM-DD` (midnight UTC).
    pub fn parse_filter(s: &str) -> Option<Instant> {
        Instant::parse(s).or_else(|| {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s, &format).ok().map(|d| Instant(d.midnight().assume_utc().unix_timestamp_nanos()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_offsets_compare_as_instants() {
        assert!(Instant::parse("2026-01-01T00:00:10.5Z") > Instant::parse("2026-01-01T00:00:10Z"));
        assert_eq!(Instant::parse("2026-01-01T01:00:00+01:00"), Instant::parse("2026-01-01T00:00:00Z"));
        assert_eq!(Instant::parse_filter("2026-01-01"), Instant::parse("2026-01-01T00:00:00Z"));
        assert_eq!(Instant::parse_filter("yesterday"), None);
    }
}
