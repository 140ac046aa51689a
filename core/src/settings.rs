//! Miroir's own settings on the nodes, invisible to clients: the shard field stays
//! filterable whatever a client sets, and never shows in what a client reads back.

use serde_json::{json, Value};

use crate::route::Method;
use crate::wire::SHARD_FIELD;

/// The settings route a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsRoute {
    /// `/indexes/{uid}/settings`
    All,
    /// `/indexes/{uid}/settings/filterable-attributes`
    Filterable,
    /// Any other sub-route: nothing of Miroir's in it.
    Other,
}

impl SettingsRoute {
    /// From the path segments after `settings`.
    pub fn from_segments(rest: &[&str]) -> SettingsRoute {
        match rest {
            [] => SettingsRoute::All,
            ["filterable-attributes"] => SettingsRoute::Filterable,
            _ => SettingsRoute::Other,
        }
    }
}

/// What to send the nodes for a client's settings write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsWrite {
    pub method: Method,
    pub body: Vec<u8>,
    /// A reset of all settings drops the shard field: set it again right after.
    pub restore_after: bool,
}

/// Rewrites a settings write so the shard field stays filterable. A body that does not
/// parse is sent as it is: the nodes refuse it as they would.
pub fn rewrite_write(route: SettingsRoute, method: Method, body: Vec<u8>) -> SettingsWrite {
    let unchanged = |body| SettingsWrite { method, body, restore_after: false };
    match (route, method) {
        (SettingsRoute::All, Method::Delete) => SettingsWrite { method, body, restore_after: true },
        (SettingsRoute::Filterable, Method::Delete) => {
            SettingsWrite { method: Method::Put, body: json!([SHARD_FIELD]).to_string().into_bytes(), restore_after: false }
        }
        (SettingsRoute::Filterable, Method::Put) => match serde_json::from_slice::<Value>(&body) {
            Ok(mut list) if list.is_array() || list.is_null() => {
                keep_shard_field(&mut list);
                unchanged(list.to_string().into_bytes())
            }
            _ => unchanged(body),
        },
        (SettingsRoute::All, Method::Patch) => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(mut settings)) => {
                if let Some(list) = settings.get_mut("filterableAttributes") {
                    keep_shard_field(list);
                }
                unchanged(Value::Object(settings).to_string().into_bytes())
            }
            _ => unchanged(body),
        },
        _ => unchanged(body),
    }
}

/// The bookkeeping settings: the shard field filterable.
pub fn bookkeeping_patch() -> Vec<u8> {
    json!({ "filterableAttributes": [SHARD_FIELD] }).to_string().into_bytes()
}

fn is_shard_field(entry: &Value) -> bool {
    entry.as_str() == Some(SHARD_FIELD)
}

fn keep_shard_field(list: &mut Value) {
    match list {
        Value::Array(items) if !items.iter().any(is_shard_field) => items.push(json!(SHARD_FIELD)),
        Value::Null => *list = json!([SHARD_FIELD]),
        _ => {}
    }
}

fn drop_shard_field(list: &mut Value) {
    if let Value::Array(items) = list {
        items.retain(|e| !is_shard_field(e));
    }
}

/// Removes the shard field from settings a client reads (`GET` answers, task details).
pub fn hide(route: SettingsRoute, value: &mut Value) {
    match route {
        SettingsRoute::All => {
            if let Some(list) = value.get_mut("filterableAttributes") {
                drop_shard_field(list);
            }
        }
        SettingsRoute::Filterable => drop_shard_field(value),
        SettingsRoute::Other => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(w: &SettingsWrite) -> Value {
        serde_json::from_slice(&w.body).unwrap()
    }

    #[test]
    fn a_client_filterable_list_keeps_the_shard_field() {
        let w = rewrite_write(SettingsRoute::All, Method::Patch, br#"{"filterableAttributes": ["genre"], "sortableAttributes": ["year"]}"#.to_vec());
        assert_eq!(body(&w), json!({"filterableAttributes": ["genre", SHARD_FIELD], "sortableAttributes": ["year"]}));
        let w = rewrite_write(SettingsRoute::Filterable, Method::Put, br#"["genre"]"#.to_vec());
        assert_eq!(body(&w), json!(["genre", SHARD_FIELD]));
        let w = rewrite_write(SettingsRoute::Filterable, Method::Delete, Vec::new());
        assert_eq!((w.method, body(&w)), (Method::Put, json!([SHARD_FIELD])));
        let w = rewrite_write(SettingsRoute::All, Method::Patch, br#"{"filterableAttributes": null}"#.to_vec());
        assert_eq!(body(&w), json!({"filterableAttributes": [SHARD_FIELD]}));
        assert!(rewrite_write(SettingsRoute::All, Method::Delete, Vec::new()).restore_after);
    }

    #[test]
    fn settings_read_back_exactly_what_the_client_set() {
        let mut all = json!({"filterableAttributes": ["genre", SHARD_FIELD], "rankingRules": ["words"]});
        hide(SettingsRoute::All, &mut all);
        assert_eq!(all, json!({"filterableAttributes": ["genre"], "rankingRules": ["words"]}));
        let mut list = json!([SHARD_FIELD]);
        hide(SettingsRoute::Filterable, &mut list);
        assert_eq!(list, json!([]));
    }

    #[test]
    fn unparseable_bodies_go_through_unchanged() {
        let w = rewrite_write(SettingsRoute::All, Method::Patch, b"{nope".to_vec());
        assert_eq!(w.body, b"{nope");
    }
}
