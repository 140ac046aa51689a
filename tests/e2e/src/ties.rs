//! "Identical up to ties": the sharded answer shows the same sequence of ranking keys
//! as the reference, and each hit belongs to the reference's group of hits tied on that
//! key. A single node orders tied hits by an internal id no answer shows.

use serde_json::Value;

/// Why two answers differ, or `Ok` when they are identical up to ties.
///
/// Both answers must carry `_rankingScoreDetails`; `reference` must start at offset 0
/// and reach well past the page (e.g. `offset + limit + 200`), so that a tie group cut by
/// either end of the page is seen whole. `offset` is the page's offset.
pub fn same_up_to_ties(miroir: &Value, reference: &Value, offset: usize, id_field: &str) -> Result<(), String> {
    let hits = |v: &Value| v["hits"].as_array().cloned().unwrap_or_default();
    let (got, wide) = (hits(miroir), hits(reference));
    if !got.is_empty() && offset + got.len() > wide.len() {
        return Err(format!("{} hits at offset {offset}, the reference window ends at {}", got.len(), wide.len()));
    }
    let key = |h: &Value| h.get("_rankingScoreDetails").cloned().unwrap_or(Value::Null);
    for (i, hit) in got.iter().enumerate() {
        let expected_key = key(&wide[offset + i]);
        if key(hit) != expected_key {
            return Err(format!("hit {i}: ranking key {} where the reference has {}", key(hit), expected_key));
        }
        let tied = wide.iter().filter(|h| key(h) == expected_key).any(|h| h[id_field] == hit[id_field]);
        // A group reaching the end of the window goes on past it: the hit may be there.
        let group_runs_on = wide.last().map(key) == Some(expected_key.clone());
        if !tied && !group_runs_on {
            return Err(format!("hit {i} ({}) is not in the reference's tie group", hit[id_field]));
        }
    }
    let mut ids: Vec<String> = got.iter().map(|h| h[id_field].to_string()).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != got.len() {
        return Err("a hit appears twice".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hit(id: u64, key: u64) -> Value {
        json!({"id": id, "_rankingScoreDetails": {"words": {"order": 0, "score": key}}})
    }

    #[test]
    fn ties_may_swap_but_keys_may_not() {
        let reference = json!({"hits": [hit(1, 9), hit(2, 9), hit(3, 5), hit(4, 5)]});
        assert!(same_up_to_ties(&json!({"hits": [hit(2, 9), hit(1, 9), hit(4, 5)]}), &reference, 0, "id").is_ok());
        assert!(same_up_to_ties(&json!({"hits": [hit(3, 5), hit(1, 9)]}), &reference, 0, "id").is_err());
        assert!(same_up_to_ties(&json!({"hits": [hit(1, 9), hit(7, 9)]}), &reference, 0, "id").is_err());
        assert!(same_up_to_ties(&json!({"hits": [hit(1, 9), hit(1, 9)]}), &reference, 0, "id").is_err());
        // A group that reaches the end of the reference window may hold unseen hits.
        let open = json!({"hits": [hit(1, 9), hit(2, 9)]});
        assert!(same_up_to_ties(&json!({"hits": [hit(5, 9)]}), &open, 1, "id").is_ok());
        // A page past the end is empty on both sides.
        assert!(same_up_to_ties(&json!({"hits": []}), &reference, 9, "id").is_ok());
        // Page 2 of size 1 may show the member of a tie group that page 1 did not.
        assert!(same_up_to_ties(&json!({"hits": [hit(1, 9)]}), &reference, 1, "id").is_ok());
    }
}
