//! Before documents move to a replica, it needs the index as the others have it: the
//! same primary key and the same settings (Miroir's own `_miroir_shard` filterable among
//! them, which the repair's fetch needs). A joining node has no index at all.

use serde_json::{Map, Value};

use super::node_api::{NodeApi, NodeError};
use super::plan::Member;

/// Makes every member hold `index` with the reference's primary key and settings.
/// Returns the primary key, or `None` when no member holds the index with one yet
/// (then there is nothing to compare).
pub fn prepare(index: &str, members: &[Member], master_key: Option<&str>) -> Result<Option<String>, NodeError> {
    // The reference: authoritative members first, then any member holding the index.
    let mut order: Vec<&Member> = members.iter().filter(|m| m.authoritative).collect();
    order.extend(members.iter().filter(|m| !m.authoritative));
    let mut source = None;
    for member in order {
        let api = NodeApi::new(&member.address, master_key);
        if let Some(description) = api.index(index)? {
            if let Some(pk) = description.get("primaryKey").and_then(Value::as_str) {
                source = Some((api, pk.to_owned()));
                break;
            }
        }
    }
    let Some((source, primary_key)) = source else { return Ok(None) };
    let settings = source.settings(index)?;
    for member in members.iter().filter(|m| m.address != source.address) {
        let api = NodeApi::new(&member.address, master_key);
        let has_pk = match api.index(index)? {
            None => {
                api.wait(api.create_index(index, Some(&primary_key))?)?;
                true
            }
            Some(description) => description.get("primaryKey").and_then(Value::as_str).is_some(),
        };
        let changed = differing(&settings, &api.settings(index)?);
        if !changed.is_empty() {
            tracing::info!(node = %member.id, index, keys = ?changed.keys().collect::<Vec<_>>(), "copying index settings");
            api.wait(api.update_settings(index, &Value::Object(changed))?)?;
        }
        if !has_pk {
            // An index created empty (no document yet): the first copy sets the key.
            tracing::debug!(node = %member.id, index, "index without a primary key yet");
        }
    }
    Ok(Some(primary_key))
}

/// The reference's settings that differ on the target (only those are sent: a node
/// may refuse some keys it shows, e.g. experimental ones, unless they change).
fn differing(reference: &Value, target: &Value) -> Map<String, Value> {
    let (Some(reference), Some(target)) = (reference.as_object(), target.as_object()) else { return Map::new() };
    reference.iter().filter(|(k, v)| target.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn only_differing_settings_are_sent() {
        let reference = json!({"filterableAttributes": ["_miroir_shard"], "stopWords": [], "chat": {"x": 1}});
        let target = json!({"filterableAttributes": [], "stopWords": [], "chat": {"x": 1}});
        assert_eq!(super::differing(&reference, &target), json!({"filterableAttributes": ["_miroir_shard"]}).as_object().cloned().unwrap());
    }
}
