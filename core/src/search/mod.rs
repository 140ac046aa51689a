//! Sharded search: what each node is asked, and how the nodes' answers become the one
//! answer a single Meilisearch holding every document gives.
//!
//! A flow serving `POST /indexes/{uid}/search` (GET params converted to the same
//! object) does:
//!
//! 1. [`SearchQuery::from_json`] on the client's body;
//! 2. the index's [`MergeSettings`] ([`MergeSettings::from_settings_json`] on any
//!    node's `GET /indexes/{uid}/settings`, or a cached copy);
//! 3. per node, [`node_query`] with the shards that node serves for this request
//!    (every shard of the index exactly once across the nodes);
//! 4. if every node answers 200, [`merge`] of their bodies, in any fixed order;
//!    otherwise relay a node's error, as the node refused what a single node refuses.
//!
//! `POST /indexes/{uid}/facet-search` is the same with [`node_facet_search_query`]
//! and [`merge_facet_search`].

mod answer;
mod details;
mod facets;
mod federated;
pub(crate) mod fields;
mod merge;
mod present;
mod query;
mod ranking;
mod settings;

pub use facets::merge_facet_search;
pub use federated::{merge_federated, FederatedMerge, FederatedQuery, FederatedRequest, NodeReply};
pub use merge::{merge, merge_json};
pub use query::{
    node_facet_search_query, node_query, shard_filter, Paging, SearchKind, SearchQuery, DEFAULT_SEARCH_LIMIT,
};
pub use ranking::{compare_hybrid, compare_ranked, RankKey, Rule, SortValue};
pub use settings::{FacetOrder, MergeSettings, DEFAULT_MAX_TOTAL_HITS, DEFAULT_MAX_VALUES_PER_FACET};

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod testkit;
