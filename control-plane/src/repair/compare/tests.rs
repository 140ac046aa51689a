use serde_json::json;

use super::*;

fn doc(id: u64, version: u64, title: &str) -> Doc {
    json!({"id": id, "title": title, "_miroir_shard": 0, "_miroir_version": version}).as_object().cloned().unwrap()
}

fn replica(node: &str, authoritative: bool, up: bool, docs: Vec<Doc>) -> Replica {
    Replica { node: node.into(), authoritative, up, docs }
}

const LATER: u64 = 1_000_000;
fn no_tombstones(_: &str) -> Option<u64> {
    None
}
fn no_suspects(_: &str, _: usize) -> bool {
    false
}

#[test]
fn a_missing_or_older_copy_gets_the_newest_authoritative_one() {
    let a = replica("a", true, true, vec![doc(1, 10, "new"), doc(2, 5, "two")]);
    let b = replica("b", false, false, vec![doc(1, 7, "old")]);
    let d = decide("id", &[a, b], no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[0], Fix::default());
    assert_eq!(d.fixes[1].put, vec![doc(1, 10, "new"), doc(2, 5, "two")]);
    assert_eq!((d.ids, d.unsettled, d.changes()), (2, 0, 2));
}

#[test]
fn replicas_that_agree_need_nothing() {
    let docs = vec![doc(1, 10, "x"), doc(2, 11, "y")];
    let d = decide("id", &[replica("a", true, true, docs.clone()), replica("b", true, true, docs)], no_tombstones, no_suspects, LATER);
    assert_eq!(d.changes(), 0);
}

#[test]
fn a_partial_copy_on_a_recovering_replica_never_beats_the_whole_document() {
    // A PUT reached the recovering replica, which lacked the document: a partial copy
    // with the same (newest) version as the merged one on the synced replica.
    let whole = json!({"id": 1, "title": "t", "year": 2000, "_miroir_shard": 0, "_miroir_version": 20}).as_object().cloned().unwrap();
    let partial = json!({"id": 1, "year": 2000, "_miroir_shard": 0, "_miroir_version": 20}).as_object().cloned().unwrap();
    let d = decide("id", &[replica("rec", false, false, vec![partial]), replica("a", true, true, vec![whole.clone()])], no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[0].put, vec![whole]);
    assert_eq!(d.fixes[1], Fix::default());
}

#[test]
fn an_authoritative_replica_wins_over_a_newer_settled_copy_elsewhere() {
    // Only a recovering replica holds version 30 (e.g. a delete by filter it missed
    // removed it elsewhere): the synced replicas are the reference.
    let d = decide("id", &[replica("a", true, true, vec![]), replica("rec", false, false, vec![doc(1, 30, "gone")])], no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[1].delete, vec![json!(1)]);
    assert!(d.fixes[0].put.is_empty());
}

#[test]
fn without_an_authoritative_replica_the_highest_version_wins() {
    let a = replica("a", false, false, vec![doc(1, 10, "old")]);
    let b = replica("b", false, false, vec![doc(1, 12, "new")]);
    let d = decide("id", &[a, b], no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[0].put, vec![doc(1, 12, "new")]);
    assert!(d.fixes[1].put.is_empty());
}

#[test]
fn a_newer_tombstone_deletes_everywhere_and_an_older_one_does_not() {
    let a = replica("a", true, true, vec![doc(1, 10, "x"), doc(2, 10, "re-added")]);
    let b = replica("b", false, false, vec![doc(1, 10, "x")]);
    let tombstones = |id: &str| match id {
        "1" => Some(15),
        "2" => Some(5),
        _ => None,
    };
    let d = decide("id", &[a, b], tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[0].delete, vec![json!(1)]);
    assert_eq!(d.fixes[1].delete, vec![json!(1)]);
    assert_eq!(d.fixes[1].put, vec![doc(2, 10, "re-added")]);
}

#[test]
fn equal_versions_with_different_content_prefer_an_up_replica_then_the_first() {
    let a = replica("a", false, false, vec![doc(1, 10, "from-recovering")]);
    let b = replica("b", false, true, vec![doc(1, 10, "from-up")]);
    let c = replica("c", false, true, vec![doc(1, 10, "from-up-later")]);
    let d = decide("id", &[a, b, c], no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[0].put, vec![doc(1, 10, "from-up")]);
    assert_eq!(d.fixes[2].put, vec![doc(1, 10, "from-up")]);
    assert!(d.fixes[1].put.is_empty());
}

#[test]
fn recent_ids_are_left_to_the_write_path() {
    let a = replica("a", true, true, vec![doc(1, 10, "x"), doc(2, 500, "in flight")]);
    let b = replica("b", false, true, vec![]);
    let tombstones = |id: &str| (id == "3").then_some(600);
    let c = replica("c", false, true, vec![doc(3, 10, "deleted just now")]);
    let d = decide("id", &[a, b, c], tombstones, no_suspects, 100);
    assert_eq!(d.unsettled, 2, "ids 2 and 3 are recent");
    assert_eq!(d.blocked, 2, "and the replicas disagree on both");
    assert_eq!(d.fixes[1].put, vec![doc(1, 10, "x")]);
    assert!(d.fixes[2].delete.is_empty(), "a recent tombstone waits for the write path");
}

#[test]
fn string_and_number_ids_keep_their_stored_form_for_deletes() {
    let stored = json!({"id": "abc", "_miroir_version": 3}).as_object().cloned().unwrap();
    let d = decide("id", &[replica("a", true, true, vec![]), replica("b", false, true, vec![stored])], no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[1].delete, vec![json!("abc")]);
}

#[test]
fn a_copy_the_repairer_wrote_loses_a_tie_with_different_content() {
    // The repairer copied version 41 onto b after a live write (version 243) reached it;
    // then a partial update (version 307) merged onto both: equal versions, different bases.
    let good = json!({"id": 9, "title": "v243", "n": 307, "_miroir_version": 307}).as_object().cloned().unwrap();
    let stale = json!({"id": 9, "title": "v41", "n": 307, "_miroir_version": 307}).as_object().cloned().unwrap();
    let replicas = [replica("b", true, true, vec![stale.clone()]), replica("a", true, true, vec![good.clone()])];
    let d = decide("id", &replicas, no_tombstones, |id, r| id == "9" && r == 0, LATER);
    assert_eq!(d.fixes[0].put, vec![good]);
    assert!(d.fixes[1].put.is_empty());
    assert!(d.agreed.is_empty());
    // Without the mark, the earlier replica would have won.
    let d = decide("id", &replicas, no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[1].put, vec![stale]);
}

#[test]
fn a_recent_id_with_a_suspect_copy_blocks_the_shard() {
    let a = replica("a", true, true, vec![doc(1, 500, "in flight")]);
    let b = replica("b", false, true, vec![doc(1, 10, "copied by the repairer")]);
    let d = decide("id", &[a.clone(), b.clone()], no_tombstones, |_, r| r == 1, 100);
    assert_eq!((d.unsettled, d.blocked, d.changes()), (1, 1, 0));
    // Replicas that disagree on a recent id block too (b may hold a partial copy).
    let d = decide("id", &[a.clone(), b], no_tombstones, no_suspects, 100);
    assert_eq!((d.unsettled, d.blocked), (1, 1));
    // Agreeing on a recent id does not.
    let d = decide("id", &[a.clone(), replica("c", false, true, a.docs.clone())], no_tombstones, no_suspects, 100);
    assert_eq!((d.unsettled, d.blocked), (1, 0));
}

#[test]
fn stored_stamps_are_decoded_as_the_filter_encodes_them() {
    let stamped = |v: u64| json!({"id": 1, "_miroir_version": miroir_core::wire::encode_version(v)}).as_object().cloned().unwrap();
    assert_eq!(version_of(&stamped(1_795_371_523_050_331)), 1_795_371_523_050_331);
    let d = decide("id", &[replica("a", true, true, vec![stamped(20)]), replica("b", true, true, vec![stamped(9)])], no_tombstones, no_suspects, LATER);
    assert_eq!(d.fixes[1].put, vec![stamped(20)], "the higher encoded stamp wins");
}

#[test]
fn authoritative_replicas_that_only_lag_on_a_recent_id_do_not_block() {
    let a = replica("a", true, true, vec![doc(1, 500, "applied")]);
    let b = replica("b", true, true, vec![doc(1, 400, "still queued")]);
    let d = decide("id", &[a, b], no_tombstones, no_suspects, 100);
    assert_eq!((d.unsettled, d.blocked, d.changes()), (1, 0, 0));
}
