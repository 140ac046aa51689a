//! Routes of the instance-wide API that Miroir answers itself: API keys, the task
//! list and its cancel/delete, global stats, experimental features.
//!
//! Kept apart from [`crate::route`] so that module only delegates here.

use crate::route::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    /// `POST /keys`: created on every node with one `uid`.
    KeyCreate,
    /// `PATCH /keys/{key}`: every node, rolled back on a partial failure.
    KeyUpdate { key: String },
    /// `DELETE /keys/{key}`: every node.
    KeyDelete { key: String },
    /// `GET /keys`, `GET /keys/{key}`, `GET /experimental-features`: one node.
    ReadOne,
    /// `PATCH /experimental-features`: every node, rolled back on a partial failure.
    FeaturesUpdate,
    /// `GET /stats`: every node summed, documents counted once.
    GlobalStats,
    /// `GET /tasks`: the registry's tasks, filtered on their combined state.
    TaskList,
    /// `POST /tasks/cancel` or `DELETE /tasks`.
    TaskBulk { delete: bool },
    /// `GET /batches` (`uid: None`) or `GET /batches/{uid}`: built from the client tasks.
    Batches { uid: Option<String> },
}

impl ApiRoute {
    /// The route's metrics kind (one of [`crate::route::Route::KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            ApiRoute::ReadOne | ApiRoute::TaskList | ApiRoute::Batches { .. } => "read_one",
            ApiRoute::GlobalStats => "stats",
            _ => "broadcast",
        }
    }

    /// The Meilisearch action a key needs for this route, when it changes state
    /// (checked before anything reaches a node); reads are checked by the nodes.
    pub fn write_action(&self) -> Option<&'static str> {
        match self {
            ApiRoute::KeyCreate => Some("keys.create"),
            ApiRoute::KeyUpdate { .. } => Some("keys.update"),
            ApiRoute::KeyDelete { .. } => Some("keys.delete"),
            ApiRoute::FeaturesUpdate => Some("experimental.update"),
            ApiRoute::TaskBulk { delete: false } => Some("tasks.cancel"),
            ApiRoute::TaskBulk { delete: true } => Some("tasks.delete"),
            ApiRoute::ReadOne | ApiRoute::GlobalStats | ApiRoute::TaskList | ApiRoute::Batches { .. } => None,
        }
    }
}

/// The route of a request's decoded path segments, if it is one of these.
pub fn classify(method: Method, segments: &[&str]) -> Option<ApiRoute> {
    use Method::*;
    Some(match (method, segments) {
        (Post, ["keys"]) => ApiRoute::KeyCreate,
        (Get, ["keys"] | ["keys", _] | ["experimental-features"]) => ApiRoute::ReadOne,
        (Patch, ["keys", key]) => ApiRoute::KeyUpdate { key: (*key).to_string() },
        (Delete, ["keys", key]) => ApiRoute::KeyDelete { key: (*key).to_string() },
        (Patch, ["experimental-features"]) => ApiRoute::FeaturesUpdate,
        (Get, ["stats"]) => ApiRoute::GlobalStats,
        (Get, ["tasks"]) => ApiRoute::TaskList,
        (Post, ["tasks", "cancel"]) => ApiRoute::TaskBulk { delete: false },
        (Delete, ["tasks"]) => ApiRoute::TaskBulk { delete: true },
        (Get, ["batches"]) => ApiRoute::Batches { uid: None },
        (Get, ["batches", uid]) => ApiRoute::Batches { uid: Some((*uid).to_string()) },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_routes_are_recognised() {
        assert_eq!(classify(Method::Post, &["keys"]), Some(ApiRoute::KeyCreate));
        assert_eq!(classify(Method::Delete, &["keys", "abc"]), Some(ApiRoute::KeyDelete { key: "abc".into() }));
        assert_eq!(classify(Method::Delete, &["tasks"]), Some(ApiRoute::TaskBulk { delete: true }));
        assert_eq!(classify(Method::Get, &["batches", "3"]), Some(ApiRoute::Batches { uid: Some("3".into()) }));
        assert_eq!(classify(Method::Post, &["batches"]), None);
        assert_eq!(classify(Method::Put, &["keys", "abc"]), None);
    }
}
