//! Federated multi-search (`POST /multi-search` with `federation`) over sharded indexes.
//!
//! Every node gets the client's federated request with each query restricted to the
//! shards that node serves for the query's index ([`FederatedRequest::node_body`]):
//! one node holding a shard holds every document of it, so a document matched by two
//! queries of one index is deduplicated on its node exactly as one Meilisearch would,
//! and the node's totals (the union of each index's candidates) sum exactly.
//!
//! The merge ([`merge_federated`]) rebuilds Meilisearch's own three levels
//! (`search/federated/perform.rs`): per query, the nodes' hits merged rule by rule as
//! a search; per index, the queries merged on their weighted scores
//! ([`weighted::compare`], ties to the earlier query) and cut at the index's
//! `maxTotalHits`; then the indexes merged the same way, `federation.distinct` applied,
//! paging once. Facets are merged per index (and across indexes for `mergeFacets`).

mod merge;
mod request;
mod weighted;

pub use merge::{merge_federated, FederatedMerge, NodeReply};
pub use request::{FederatedQuery, FederatedRequest};

#[cfg(test)]
mod tests;
