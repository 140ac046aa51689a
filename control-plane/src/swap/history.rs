//! The task history follows a swap, as on a node: every task enqueued before it that
//! names a swapped index now names the other one (a rename: the new name). "Before" is
//! judged on the nodes' own queues — a record's node task against the swap's node task
//! on the same node — so a write that reached the nodes just ahead of the swap is
//! renamed, and one held by the fence is not.

use std::collections::HashMap;

use miroir_core::swap::IndexSwap;
use miroir_core::task::TaskRecord;
use serde_json::Value;

/// The record as it reads after `swaps`, or `None` when it does not change.
/// `swap_tasks`: node id → the swap's node task there; `swap_uid`: its client task.
pub(super) fn renamed(record: &TaskRecord, swap_uid: u64, swap_tasks: &HashMap<String, u64>, swaps: &[IndexSwap]) -> Option<TaskRecord> {
    if record.uid == swap_uid {
        return None;
    }
    let before = match record.node_tasks.first() {
        Some(task) => swap_tasks.get(&task.node).map_or(record.uid < swap_uid, |&swap| task.task_uid < swap),
        None => record.uid < swap_uid,
    };
    if !before {
        return None;
    }
    let rename = |name: &str| -> Option<String> {
        swaps.iter().find_map(|s| match (name == s.indexes.0, name == s.indexes.1 && !s.rename) {
            (true, _) => Some(s.indexes.1.clone()),
            (_, true) => Some(s.indexes.0.clone()),
            _ => None,
        })
    };
    let mut next = record.clone();
    if let Some(new) = record.index_uid.as_deref().and_then(rename) {
        next.index_uid = Some(new);
    }
    if let Some(Value::Array(list)) = next.details.get_mut("swaps") {
        for names in list.iter_mut().filter_map(|s| s.get_mut("indexes")).filter_map(Value::as_array_mut) {
            for name in names.iter_mut() {
                if let Some(new) = name.as_str().and_then(rename) {
                    *name = Value::String(new);
                }
            }
        }
    }
    (next != *record).then_some(next)
}

#[cfg(test)]
mod tests {
    use miroir_core::task::NodeTask;
    use serde_json::json;

    use super::*;

    fn record(uid: u64, index: &str, node_task: Option<u64>) -> TaskRecord {
        TaskRecord {
            uid,
            index_uid: Some(index.into()),
            kind: "documentAdditionOrUpdate".into(),
            node_tasks: node_task.map(|t| NodeTask { node: "node0".into(), task_uid: t, hidden: false, documents: 0 }).into_iter().collect(),
            ..TaskRecord::default()
        }
    }

    #[test]
    fn tasks_enqueued_before_the_swap_on_the_nodes_follow_it() {
        let swaps = [IndexSwap { indexes: ("a".into(), "b".into()), rename: false }, IndexSwap { indexes: ("c".into(), "d".into()), rename: true }];
        let at = HashMap::from([("node0".to_string(), 10)]);
        let name = |r: &TaskRecord| renamed(r, 7, &at, &swaps).and_then(|r| r.index_uid);
        assert_eq!(name(&record(3, "a", Some(5))), Some("b".into()));
        assert_eq!(name(&record(3, "b", Some(5))), Some("a".into()));
        assert_eq!(name(&record(3, "c", Some(5))), Some("d".into()));
        assert_eq!(name(&record(3, "d", Some(5))), None, "a rename does not bring the target's old tasks back");
        assert_eq!(name(&record(3, "x", Some(5))), None);
        // Registered after the swap but enqueued on the node before it: renamed.
        assert_eq!(name(&record(8, "a", Some(9))), Some("b".into()));
        // Held by the fence, enqueued after: kept.
        assert_eq!(name(&record(8, "a", Some(11))), None);
        // No node task: the registry's order decides.
        assert_eq!(name(&record(6, "a", None)), Some("b".into()));
        assert_eq!(name(&record(9, "a", None)), None);
    }

    #[test]
    fn an_earlier_swaps_details_follow_too() {
        let mut earlier = record(2, "x", Some(1));
        earlier.index_uid = None;
        earlier.details.insert("swaps".into(), json!([{"indexes": ["a", "z"], "rename": false}]));
        let swaps = [IndexSwap { indexes: ("a".into(), "b".into()), rename: false }];
        let next = renamed(&earlier, 7, &HashMap::new(), &swaps).expect("changed");
        assert_eq!(next.details["swaps"], json!([{"indexes": ["b", "z"], "rename": false}]));
    }
}
