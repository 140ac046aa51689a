//! Wire names shared by the filter, the control plane and the tests, in one place.

/// Reserved document field holding the logical shard a document belongs to.
/// Every node keeps it filterable so a query or a migration can ask for
/// "only shards X, Y"; Miroir strips it from everything a client sees.
pub const SHARD_FIELD: &str = "_miroir_shard";

/// Meilisearch's default payload limit (`--http-payload-size-limit`, "100 MB").
pub const DEFAULT_PAYLOAD_LIMIT_BYTES: u64 = 100_000_000;

/// Header naming the shards that had no live replica in a degraded answer.
pub const DEGRADED_HEADER: &str = "x-miroir-degraded";

/// Request header asking for an error instead of a degraded answer: `fail`.
pub const DEGRADED_POLICY_HEADER: &str = "x-miroir-degraded-policy";

/// Internal task registry paths served by the control plane.
pub const TASKS_REGISTRY_PATH: &str = "/_miroir/tasks";

/// Control plane: `POST` a validated `/swap-indexes` body; it registers and runs the swap.
pub const SWAP_PATH: &str = "/_miroir/swap";

/// Control plane: `GET ?index=<uid>` answers (with the newest shard map, node key left
/// out) once no swap fences that index, or after a bounded wait with the map as it is.
pub const FENCE_PATH: &str = "/_miroir/fence";

/// Reserved document field holding the write's version stamp (issue 6: replicas of a
/// shard converge on the highest version). Hidden from clients like [`SHARD_FIELD`].
/// Stored as [`encode_version`]'s string, read back with [`decode_version`].
pub const VERSION_FIELD: &str = "_miroir_version";

/// The hexadecimal digits of a stored version: sixteen ASCII characters Meilisearch's
/// tokenizer takes as separators, in code point order.
///
/// Why not a JSON number: Meilisearch indexes numbers as words, so a stamp such as
/// 1763800000000000 would make a query `17` (a prefix) match every document. A string
/// of separators yields no word at all: no query matches it, no ranking rule sees it.
/// Checked against Meilisearch 1.50 one by one (each alone is a placeholder query, and
/// `word c` with matching strategy `all` finds documents without `c`); `< = > | ~ ^` are
/// words there and `_ - & # @ '` are the likeliest `nonSeparatorTokens`, so none is used.
/// ASCII keeps a stored stamp at 14 bytes; none needs escaping in JSON. Fixed width and
/// code point order keep string order equal to number order.
pub const VERSION_DIGITS: [char; 16] = ['!', '%', '(', ')', '*', ',', '.', '/', ':', ';', '?', '[', ']', '`', '{', '}'];

/// Digits of an encoded version: 16^14 > 2^53.
pub const VERSION_WIDTH: usize = 14;

/// Digits of an encoded shard: 16^4 shards at most per index (see [`MAX_SHARDS`]).
pub const SHARD_WIDTH: usize = 4;

/// Most shards an index can have: what [`SHARD_WIDTH`] digits can name.
pub const MAX_SHARDS: u32 = 1 << (4 * SHARD_WIDTH);

/// `value` in `width` of [`VERSION_DIGITS`], most significant first.
fn encode_digits(value: u64, width: usize) -> String {
    (0..width).rev().map(|i| VERSION_DIGITS[((value >> (4 * i)) & 0xf) as usize]).collect()
}

/// The number behind [`encode_digits`]' text (a plain JSON number is accepted too).
fn decode_digits(value: &serde_json::Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let text = value.as_str()?;
    let mut number: u64 = 0;
    let mut digits = 0;
    for c in text.chars() {
        let digit = VERSION_DIGITS.iter().position(|d| *d == c)? as u64;
        number = number.checked_mul(16)?.checked_add(digit)?;
        digits += 1;
    }
    (digits > 0).then_some(number)
}

/// A version stamp as stored in [`VERSION_FIELD`].
pub fn encode_version(version: u64) -> String {
    encode_digits(version, VERSION_WIDTH)
}

/// The version stamp of a stored [`VERSION_FIELD`] value (also accepts a plain number).
pub fn decode_version(value: &serde_json::Value) -> Option<u64> {
    decode_digits(value)
}

/// A shard as stored in [`SHARD_FIELD`]: separator digits like a version, for the
/// same reason — a number would be a word, and a query `3` would match every
/// document of shard 3 (checked on Meilisearch 1.50). Filters compare it as a string.
pub fn encode_shard(shard: u32) -> String {
    encode_digits(u64::from(shard), SHARD_WIDTH)
}

/// The shard of a stored [`SHARD_FIELD`] value (also accepts a plain number).
pub fn decode_shard(value: &serde_json::Value) -> Option<u32> {
    decode_digits(value).and_then(|s| u32::try_from(s).ok())
}

/// The shards a filter clause made by [`shard_filter`] names (none for other clauses).
pub fn shards_in_filter(clause: &str) -> Vec<u32> {
    if !clause.starts_with(SHARD_FIELD) {
        return Vec::new();
    }
    clause.split('"').skip(1).step_by(2).filter_map(|s| decode_shard(&serde_json::Value::String(s.to_string()))).collect()
}

/// The filter selecting the documents of `shards` on a node.
pub fn shard_filter(shards: &[u32]) -> String {
    match shards {
        [one] => format!("{SHARD_FIELD} = \"{}\"", encode_shard(*one)),
        many => {
            let list: Vec<String> = many.iter().map(|s| format!("\"{}\"", encode_shard(*s))).collect();
            format!("{SHARD_FIELD} IN [{}]", list.join(", "))
        }
    }
}

/// Every reserved field Miroir adds to stored documents.
pub const BOOKKEEPING_FIELDS: [&str; 2] = [SHARD_FIELD, VERSION_FIELD];

/// Whether a document field is Miroir's own bookkeeping, never shown to clients.
pub fn is_bookkeeping(field: &str) -> bool {
    BOOKKEEPING_FIELDS.contains(&field)
}

/// Removes Miroir's bookkeeping fields from a stored document before a client sees it.
pub fn strip_bookkeeping(document: &mut serde_json::Map<String, serde_json::Value>) {
    for field in BOOKKEEPING_FIELDS {
        document.shift_remove(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn versions_encode_to_fixed_width_separator_strings() {
        assert_eq!(encode_version(0), "!".repeat(VERSION_WIDTH));
        assert_eq!(encode_version(0x1f), format!("{}%}}", "!".repeat(VERSION_WIDTH - 2)));
        assert_eq!(decode_version(&json!(encode_version(1_763_800_000_000_000))), Some(1_763_800_000_000_000));
        assert_eq!(decode_version(&json!(42)), Some(42));
        assert_eq!(decode_version(&json!("12")), None);
        assert_eq!(decode_version(&json!("")), None);
        assert!(VERSION_DIGITS.windows(2).all(|w| w[0] < w[1]), "code point order");
    }

    #[test]
    fn shards_are_separator_strings_selected_by_string_filters() {
        assert_eq!(encode_shard(0), "!!!!");
        assert_eq!(encode_shard(MAX_SHARDS - 1), "}}}}");
        assert_eq!(decode_shard(&json!(encode_shard(11))), Some(11));
        assert_eq!(decode_shard(&json!(3)), Some(3), "documents stored before the encoding");
        assert_eq!(shard_filter(&[1]), r#"_miroir_shard = "!!!%""#);
        assert_eq!(shard_filter(&[1, 16]), r#"_miroir_shard IN ["!!!%", "!!%!"]"#);
        assert_eq!(shards_in_filter(&shard_filter(&[1, 16, 300])), vec![1, 16, 300]);
        assert_eq!(shards_in_filter("genre = \"x\""), Vec::<u32>::new());
    }

    proptest! {
        #[test]
        fn shards_round_trip(s in 0u32..MAX_SHARDS) {
            prop_assert_eq!(decode_shard(&serde_json::Value::String(encode_shard(s))), Some(s));
        }

        #[test]
        fn encoding_round_trips_and_keeps_order(a in 0u64..(1 << 53), b in 0u64..(1 << 53)) {
            let (ea, eb) = (encode_version(a), encode_version(b));
            prop_assert_eq!(decode_version(&serde_json::Value::String(ea.clone())), Some(a));
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
        }
    }
}
