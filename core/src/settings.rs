//! Miroir's own settings on the nodes, invisible to clients: the shard field stays
//! filterable whatever a client sets, and nodes keep `FACET_CUT_FACTOR` times the facet
//! values the client configured (`faceting.maxValuesPerFacet`), so that counts summed
//! over nodes stay exact when values are ordered by count; the merge cuts to the
//! client's value. Neither shows in what a client reads back.

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
    /// `/indexes/{uid}/settings/faceting`
    Faceting,
    /// Any other sub-route: nothing of Miroir's in it.
    Other,
}

impl SettingsRoute {
    /// From the path segments after `settings`.
    pub fn from_segments(rest: &[&str]) -> SettingsRoute {
        match rest {
            [] => SettingsRoute::All,
            ["filterable-attributes"] => SettingsRoute::Filterable,
            ["faceting"] => SettingsRoute::Faceting,
            _ => SettingsRoute::Other,
        }
    }
}

/// What to send the nodes for a client's settings write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsWrite {
    pub method: Method,
    pub body: Vec<u8>,
    /// A reset drops Miroir's settings: this patch sets them again right after.
    pub follow_up: Option<Vec<u8>>,
}

/// Rewrites a settings write so the shard field stays filterable. A body that does not
/// parse is sent as it is: the nodes refuse it as they would.
pub fn rewrite_write(route: SettingsRoute, method: Method, body: Vec<u8>) -> SettingsWrite {
    let unchanged = |body| SettingsWrite { method, body, follow_up: None };
    match (route, method) {
        (SettingsRoute::All, Method::Delete) => SettingsWrite { method, body, follow_up: Some(bookkeeping_patch()) },
        (SettingsRoute::Filterable, Method::Delete) => {
            SettingsWrite { method: Method::Put, body: json!([SHARD_FIELD]).to_string().into_bytes(), follow_up: None }
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
                // A faceting reset drops the nodes' deeper cut: set it again after.
                let follow_up = settings.get("faceting").is_some_and(Value::is_null).then(facet_cut_patch);
                if let Some(faceting) = settings.get_mut("faceting") {
                    scale_facet_cut(faceting, FACET_CUT_FACTOR, Mul);
                }
                SettingsWrite { method, body: Value::Object(settings).to_string().into_bytes(), follow_up }
            }
            _ => unchanged(body),
        },
        (SettingsRoute::Faceting, Method::Patch) => match serde_json::from_slice::<Value>(&body) {
            Ok(mut faceting) if faceting.is_object() => {
                scale_facet_cut(&mut faceting, FACET_CUT_FACTOR, Mul);
                unchanged(faceting.to_string().into_bytes())
            }
            _ => unchanged(body),
        },
        (SettingsRoute::Faceting, Method::Delete) => SettingsWrite { method, body, follow_up: Some(facet_cut_patch()) },
        _ => unchanged(body),
    }
}

/// How many times the client's `maxValuesPerFacet` the nodes keep.
pub const FACET_CUT_FACTOR: u64 = 10;

/// Meilisearch's default `maxValuesPerFacet`.
const DEFAULT_MAX_VALUES_PER_FACET: u64 = 100;

/// The bookkeeping settings of a new (or reset) index: the shard field filterable and
/// the nodes' deeper facet cut. A later client change keeps both (see `rewrite_write`).
pub fn bookkeeping_patch() -> Vec<u8> {
    json!({
        "filterableAttributes": [SHARD_FIELD],
        "faceting": { "maxValuesPerFacet": DEFAULT_MAX_VALUES_PER_FACET * FACET_CUT_FACTOR },
    })
    .to_string()
    .into_bytes()
}

/// The nodes' default deeper facet cut alone, after a faceting reset.
fn facet_cut_patch() -> Vec<u8> {
    json!({ "faceting": { "maxValuesPerFacet": DEFAULT_MAX_VALUES_PER_FACET * FACET_CUT_FACTOR } }).to_string().into_bytes()
}

#[derive(Clone, Copy)]
enum Scale {
    Mul,
    Div,
}
use Scale::{Div, Mul};

/// Scales `faceting.maxValuesPerFacet` between the client's value and the nodes'.
fn scale_facet_cut(faceting: &mut Value, factor: u64, scale: Scale) {
    let Some(slot) = faceting.get_mut("maxValuesPerFacet") else { return };
    let Some(n) = slot.as_u64() else { return };
    *slot = match scale {
        Mul => json!(n.saturating_mul(factor)),
        Div => json!(n / factor),
    };
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

/// Shows a client the settings it set (`GET` answers, task details): without the shard
/// field, with its own facet cut.
pub fn hide(route: SettingsRoute, value: &mut Value) {
    match route {
        SettingsRoute::All => {
            if let Some(list) = value.get_mut("filterableAttributes") {
                drop_shard_field(list);
            }
            if let Some(faceting) = value.get_mut("faceting") {
                scale_facet_cut(faceting, FACET_CUT_FACTOR, Div);
            }
        }
        SettingsRoute::Filterable => drop_shard_field(value),
        SettingsRoute::Faceting => scale_facet_cut(value, FACET_CUT_FACTOR, Div),
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
        assert_eq!(rewrite_write(SettingsRoute::All, Method::Delete, Vec::new()).follow_up, Some(bookkeeping_patch()));
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
    fn nodes_keep_a_deeper_facet_cut_than_the_client_sees() {
        let w = rewrite_write(SettingsRoute::All, Method::Patch, br#"{"faceting": {"maxValuesPerFacet": 7, "sortFacetValuesBy": {"*": "count"}}}"#.to_vec());
        assert_eq!(body(&w), json!({"faceting": {"maxValuesPerFacet": 70, "sortFacetValuesBy": {"*": "count"}}}));
        let w = rewrite_write(SettingsRoute::Faceting, Method::Patch, br#"{"maxValuesPerFacet": 3}"#.to_vec());
        assert_eq!(body(&w), json!({"maxValuesPerFacet": 30}));
        // A faceting reset restores the deeper cut only, not the client's filterable list.
        let reset = rewrite_write(SettingsRoute::Faceting, Method::Delete, Vec::new()).follow_up.unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&reset).unwrap(), json!({"faceting": {"maxValuesPerFacet": 1000}}));
        assert_eq!(rewrite_write(SettingsRoute::All, Method::Patch, br#"{"faceting": null}"#.to_vec()).follow_up, Some(reset));
        let mut all = json!({"faceting": {"maxValuesPerFacet": 1000, "sortFacetValuesBy": {"*": "alpha"}}});
        hide(SettingsRoute::All, &mut all);
        assert_eq!(all["faceting"]["maxValuesPerFacet"], 100);
        let mut faceting = json!({"maxValuesPerFacet": 70});
        hide(SettingsRoute::Faceting, &mut faceting);
        assert_eq!(faceting, json!({"maxValuesPerFacet": 7}));
        let bookkeeping: Value = serde_json::from_slice(&bookkeeping_patch()).unwrap();
        assert_eq!(bookkeeping["faceting"]["maxValuesPerFacet"], 1000);
    }

    #[test]
    fn unparseable_bodies_go_through_unchanged() {
        let w = rewrite_write(SettingsRoute::All, Method::Patch, b"{nope".to_vec());
        assert_eq!(w.body, b"{nope");
    }
}
