//! Nodes name Miroir's shard field in some error messages (it is filterable on every
//! node), and a message quoting a stored document shows both bookkeeping fields; a
//! client must read the message one node holding its settings would write.

use serde_json::Value;

use crate::wire::{BOOKKEEPING_FIELDS, SHARD_FIELD};

const NO_FILTERABLE: &str = "This index does not have configured filterable attributes.";

/// The message without the shard field, as Meilisearch words it without one.
pub fn scrub_message(message: &str) -> String {
    if !message.contains("_miroir_") {
        return message.to_string();
    }
    let message = &drop_quoted_members(message);
    let alone = [
        format!("Available filterable attribute patterns are: `{SHARD_FIELD}`."),
        format!("Available filterable attributes patterns are: `{SHARD_FIELD}`."),
    ];
    let mut out = message.to_string();
    for sentence in &alone {
        out = out.replace(sentence.as_str(), NO_FILTERABLE);
    }
    for (from, to) in [
        (format!("`{SHARD_FIELD}`, "), String::new()),
        (format!(", `{SHARD_FIELD}`"), String::new()),
        (format!("{SHARD_FIELD}, "), String::new()),
        (format!(", {SHARD_FIELD}"), String::new()),
    ] {
        out = out.replace(from.as_str(), to.as_str());
    }
    out
}

/// Removes `"field":123,` / `"field":"…",` (or with the comma before) members of
/// bookkeeping fields from documents quoted in a message.
fn drop_quoted_members(message: &str) -> String {
    let mut out = message.to_string();
    for field in BOOKKEEPING_FIELDS {
        let key = format!("\"{field}\":");
        while let Some(start) = out.find(&key) {
            let value = &out[start + key.len()..];
            let len = match value.strip_prefix('"') {
                // Stored versions hold no quote or backslash.
                Some(text) => text.find('"').map_or(value.len(), |close| close + 2),
                None => value.bytes().take_while(u8::is_ascii_digit).count(),
            };
            let mut end = start + key.len() + len;
            let mut start = start;
            if out[end..].starts_with(',') {
                end += 1;
            } else if out[..start].ends_with(',') {
                start -= 1;
            }
            out.replace_range(start..end, "");
        }
    }
    out
}

/// Scrubs the `message` of a Meilisearch error object in place.
pub fn scrub_error(error: &mut Value) {
    if let Some(Value::String(message)) = error.get_mut("message") {
        *message = scrub_message(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shard_field_leaves_filterable_lists() {
        let node = "Index `pkgs`: Attribute `summary` is not filterable. Available filterable attribute patterns are: `_miroir_shard`, `month`, `rank`.\n2:9 \"summary\" = \"1\"";
        assert_eq!(
            scrub_message(node),
            "Index `pkgs`: Attribute `summary` is not filterable. Available filterable attribute patterns are: `month`, `rank`.\n2:9 \"summary\" = \"1\""
        );
        assert_eq!(
            scrub_message("Attribute `a` is not filterable. Available filterable attribute patterns are: `_miroir_shard`."),
            "Attribute `a` is not filterable. This index does not have configured filterable attributes."
        );
        assert_eq!(scrub_message("patterns are: `a, _miroir_shard`."), "patterns are: `a`.");
        assert_eq!(scrub_message("nothing to see"), "nothing to see");
    }

    #[test]
    fn quoted_documents_lose_their_bookkeeping_members() {
        assert_eq!(
            scrub_message(r#"Document `{"_miroir_shard":3,"_miroir_version":1763800000000000,"id":1}` is bad"#),
            r#"Document `{"id":1}` is bad"#
        );
        assert_eq!(scrub_message(r#"`{"id":1,"_miroir_version":12}`"#), r#"`{"id":1}`"#);
        let stored = format!(r#"`{{"_miroir_shard":3,"_miroir_version":"{}","id":1}}`"#, crate::wire::encode_version(77));
        assert_eq!(scrub_message(&stored), r#"`{"id":1}`"#);
    }
}
