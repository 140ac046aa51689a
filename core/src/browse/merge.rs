//! Putting shards' documents in one order and cutting the client's page once.

use itertools::Itertools;
use serde_json::{Map, Value};

use super::sort::{sort_key, SortRule};
use crate::search::compare_ranked;
use crate::wire::strip_bookkeeping;

/// Part of one shard's documents, in its node's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSlice {
    pub shard: u32,
    pub offset: u64,
    pub limit: u64,
}

/// Without `sort` documents come shard by shard in ascending shard order: given every
/// shard's count, the slices of the shards under `[offset, offset + limit)`, in order.
pub fn window_slices(totals: &[(u32, u64)], offset: u64, limit: u64) -> Vec<ShardSlice> {
    let mut totals = totals.to_vec();
    totals.sort_unstable();
    let end = offset.saturating_add(limit);
    let mut start = 0u64;
    let mut slices = Vec::new();
    for (shard, total) in totals {
        let shard_end = start.saturating_add(total);
        let from = offset.max(start);
        let to = end.min(shard_end);
        if to > from {
            slices.push(ShardSlice { shard, offset: from - start, limit: to - from });
        }
        start = shard_end;
    }
    slices
}

/// Merges shards' sorted lists into Meilisearch's order (equal keys: lower shard
/// first, then the node's order) and keeps `[offset, offset + limit)`.
pub fn merge_sorted(lists: Vec<(u32, Vec<Map<String, Value>>)>, rules: &[SortRule], offset: u64, limit: u64) -> Vec<Map<String, Value>> {
    let keyed = lists.into_iter().map(|(shard, docs)| docs.into_iter().map(move |d| (sort_key(&d, rules), shard, d)));
    keyed
        .kmerge_by(|a, b| match compare_ranked(&a.0, &b.0) {
            std::cmp::Ordering::Equal => a.1 < b.1,
            order => order.is_gt(),
        })
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(_, _, d)| d)
        .collect()
}

/// A document as the client sees it: without Miroir's fields nor those added for the merge.
pub fn client_document(mut doc: Map<String, Value>, added: &[String]) -> Value {
    strip_bookkeeping(&mut doc);
    for path in added {
        remove_path(&mut doc, path);
    }
    Value::Object(doc)
}

/// Removes a dotted path (`a.b`: the key `a.b` or `b` inside `a`), and objects left
/// empty by the removal, which the client's own fields did not ask for.
fn remove_path(doc: &mut Map<String, Value>, path: &str) {
    doc.shift_remove(path);
    let nested: Vec<String> =
        doc.keys().filter(|k| path.strip_prefix(k.as_str()).is_some_and(|r| r.starts_with('.'))).cloned().collect();
    for key in nested {
        let rest = &path[key.len() + 1..];
        let emptied = match doc.get_mut(&key) {
            Some(Value::Object(inner)) => {
                remove_path(inner, rest);
                inner.is_empty()
            }
            Some(Value::Array(items)) => {
                items.iter_mut().filter_map(Value::as_object_mut).for_each(|o| remove_path(o, rest));
                false
            }
            _ => false,
        };
        if emptied {
            doc.shift_remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slice(shard: u32, offset: u64, limit: u64) -> ShardSlice {
        ShardSlice { shard, offset, limit }
    }

    #[test]
    fn the_page_takes_each_shard_in_turn() {
        let totals = [(2, 5), (0, 3), (1, 0), (3, 4)];
        assert_eq!(window_slices(&totals, 0, 20), vec![slice(0, 0, 3), slice(2, 0, 5), slice(3, 0, 4)]);
        assert_eq!(window_slices(&totals, 2, 3), vec![slice(0, 2, 1), slice(2, 0, 2)]);
        assert_eq!(window_slices(&totals, 8, 100), vec![slice(3, 0, 4)]);
        assert_eq!(window_slices(&totals, 12, 5), vec![]);
        assert_eq!(window_slices(&totals, 0, 0), vec![]);
    }

    #[test]
    fn consecutive_pages_cover_every_document_once() {
        let totals = [(0, 7), (1, 0), (2, 13), (3, 1), (4, 9)];
        let mut seen = Vec::new();
        for page in 0..8 {
            for s in window_slices(&totals, page * 4, 4) {
                seen.extend((s.offset..s.offset + s.limit).map(|i| (s.shard, i)));
            }
        }
        let all: Vec<(u32, u64)> = totals.iter().flat_map(|&(s, t)| (0..t).map(move |i| (s, i))).collect();
        assert_eq!(seen, all);
    }

    fn docs(items: &[(&str, i64)]) -> Vec<Map<String, Value>> {
        items.iter().map(|(id, v)| json!({"id": id, "v": v}).as_object().cloned().unwrap()).collect()
    }

    #[test]
    fn sorted_lists_merge_on_their_keys_then_shard() {
        let rules = [SortRule::parse("v:desc").unwrap()];
        let lists = vec![(4, docs(&[("a", 9), ("b", 5), ("c", 1)])), (1, docs(&[("d", 7), ("e", 5)]))];
        let ids: Vec<Value> = merge_sorted(lists, &rules, 1, 3).into_iter().map(|d| d["id"].clone()).collect();
        assert_eq!(ids, [json!("d"), json!("e"), json!("b")]);
    }

    #[test]
    fn clients_see_neither_bookkeeping_nor_merge_fields() {
        let doc = json!({"id": 1, "_miroir_shard": 3, "_miroir_version": 9, "a": {"b": 1, "c": 2}, "x": {"y": 1}, "year": 2000});
        let out = client_document(doc.as_object().cloned().unwrap(), &["a.c".into(), "x.y".into(), "year".into()]);
        assert_eq!(out, json!({"id": 1, "a": {"b": 1}}));
    }

    mod properties {
        use super::super::*;
        use crate::browse::sort_key;
        use proptest::prelude::*;
        use serde_json::json;

        /// A value of `v`: a number, a string, an array of both, or nothing.
        fn value() -> impl Strategy<Value = Option<Value>> {
            prop_oneof![
                Just(None),
                (0i64..6).prop_map(|n| Some(json!(n))),
                "[a-cA-C]{0,2}".prop_map(|s| Some(json!(s))),
                ((0i64..6), "[a-c]").prop_map(|(n, s)| Some(json!([s, n]))),
            ]
        }

        proptest! {
            /// Shards each sorted as a node sorts them, merged and cut: the same as sorting
            /// everything at once (ties by shard, then the shard's order) and cutting.
            #[test]
            fn merging_shards_equals_sorting_everything(
                shards in proptest::collection::vec(proptest::collection::vec(value(), 0..8), 1..6),
                desc in any::<bool>(),
                offset in 0u64..30,
                limit in 0u64..30,
            ) {
                let rule = SortRule::parse(if desc { "v:desc" } else { "v:asc" }).unwrap();
                let rules = [rule];
                let mut lists = Vec::new();
                let mut everything = Vec::new();
                for (s, values) in shards.iter().enumerate() {
                    let mut docs: Vec<Map<String, Value>> = values.iter().enumerate().map(|(i, v)| {
                        let mut d = Map::new();
                        d.insert("id".into(), json!(format!("{s}-{i}")));
                        if let Some(v) = v { d.insert("v".into(), v.clone()); }
                        d
                    }).collect();
                    docs.sort_by(|a, b| compare_ranked(&sort_key(b, &rules), &sort_key(a, &rules)));
                    everything.extend(docs.iter().enumerate().map(|(i, d)| (s as u32, i, d.clone())));
                    lists.push((s as u32, docs));
                }
                everything.sort_by(|a, b| {
                    compare_ranked(&sort_key(&b.2, &rules), &sort_key(&a.2, &rules)).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1))
                });
                let expected: Vec<Map<String, Value>> =
                    everything.into_iter().map(|t| t.2).skip(offset as usize).take(limit as usize).collect();
                prop_assert_eq!(merge_sorted(lists, &rules, offset, limit), expected);
            }

            /// Pages of any size over any counts: every document once, in shard order.
            #[test]
            fn unsorted_pages_partition_the_shards(totals in proptest::collection::vec(0u64..20, 1..17), page in 1u64..25) {
                let totals: Vec<(u32, u64)> = totals.into_iter().enumerate().map(|(s, t)| (s as u32, t)).collect();
                let all: u64 = totals.iter().map(|t| t.1).sum();
                let mut seen = Vec::new();
                let mut offset = 0;
                while offset < all + page {
                    for s in window_slices(&totals, offset, page) {
                        prop_assert!(s.limit > 0 && s.offset + s.limit <= totals[s.shard as usize].1);
                        seen.extend((s.offset..s.offset + s.limit).map(|i| (s.shard, i)));
                    }
                    offset += page;
                }
                let expected: Vec<(u32, u64)> = totals.iter().flat_map(|&(s, t)| (0..t).map(move |i| (s, i))).collect();
                prop_assert_eq!(seen, expected);
            }
        }
    }
}
