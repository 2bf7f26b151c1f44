//! Unit tests of the `file://` store: compare-and-swap without locks, links never followed, bounded reads.

use super::*;
use crate::publish::store::{IMMUTABLE, SHORT_LIVED};

fn opts(condition: Condition) -> PutOptions {
    PutOptions { content_type: "application/json", content_encoding: None, cache_control: SHORT_LIVED, condition }
}

fn store() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FileStore::new(dir.path().to_owned()).expect("store");
    (dir, store)
}

#[test]
fn conditional_puts_are_a_compare_and_swap() {
    let (_dir, store) = store();
    let first = store.put("set/current.json", b"v1", &opts(Condition::IfAbsent)).expect("create");
    assert!(matches!(
        store.put("set/current.json", b"v1b", &opts(Condition::IfAbsent)),
        Err(StoreError::PreconditionFailed { .. })
    ));
    let second = store.put("set/current.json", b"v2", &opts(Condition::IfMatch(first.clone()))).expect("swap");
    assert!(matches!(
        store.put("set/current.json", b"v3", &opts(Condition::IfMatch(first))),
        Err(StoreError::PreconditionFailed { .. })
    ));
    assert_eq!(store.get("set/current.json", 1 << 20).expect("get"), Some((b"v2".to_vec(), second)));
    let immutable = PutOptions { cache_control: IMMUTABLE, ..opts(Condition::Always) };
    store.put("set/tiles/ab/abcd", b"tile", &immutable).expect("put");
    assert_eq!(store.head("set/tiles/ab/abcd").expect("head"), Some(4));
    let listed = store.list("set/").expect("list");
    let keys: Vec<&str> = listed.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, vec!["set/current.json", "set/tiles/ab/abcd"], "claims are not objects");
    assert_eq!(listed[1].size, 4);
    store.delete("set/tiles/ab/abcd").expect("delete");
    store.delete("set/tiles/ab/abcd").expect("deleting an absent object is fine");
    assert_eq!(store.head("set/tiles/ab/abcd").expect("head"), None);
    assert!(store.get("set/../x", 1 << 20).is_err());
    assert!(!std::fs::read_dir(store.root.join(".tmp")).expect("tmp").any(|_| true), "no temp file is left");
}

#[test]
fn a_writer_that_stalls_between_its_claim_and_its_rename_still_wins_and_nobody_else_does() {
    let (_dir, store) = store();
    let e1 = store.put("current.json", b"gen 1", &opts(Condition::IfAbsent)).expect("create");
    // Writer A claimed E1 (its new content is in the claim) and then stalled before renaming it in place.
    let claims = FileStore::claims(&store.root.join("current.json"));
    std::fs::create_dir_all(&claims).expect("claims");
    std::fs::write(claims.join(&e1), b"gen 2 by A").expect("claim");
    // Readers see A's content at once; B, which read E1 before, loses.
    let (data, e2) = store.get("current.json", 1 << 20).expect("get").expect("present");
    assert_eq!(data, b"gen 2 by A");
    assert!(matches!(
        store.put("current.json", b"gen 2 by B", &opts(Condition::IfMatch(e1))),
        Err(StoreError::PreconditionFailed { .. })
    ));
    // The next writer swaps from A's content, and puts the newest one back in the key file.
    store.put("current.json", b"gen 3 by C", &opts(Condition::IfMatch(e2))).expect("swap");
    assert_eq!(std::fs::read(store.root.join("current.json")).expect("file"), b"gen 3 by C");
}

#[test]
fn a_late_rename_over_a_newer_content_is_seen_through() {
    let (_dir, store) = store();
    let e1 = store.put("p", b"one", &opts(Condition::IfAbsent)).expect("create");
    let e2 = store.put("p", b"two", &opts(Condition::IfMatch(e1))).expect("swap");
    store.put("p", b"three", &opts(Condition::IfMatch(e2))).expect("swap");
    // A writer that won the swap to "two" long ago renames its copy in place only now.
    let late = store.root.join(".tmp/late");
    std::fs::write(&late, b"two").expect("write");
    std::fs::rename(&late, store.root.join("p")).expect("late rename");
    assert_eq!(store.get("p", 1 << 20).expect("get").expect("present").0, b"three");
    // Even a hand edit in place of the key file leaves the claims intact.
    std::fs::write(store.root.join("p"), b"two").expect("edit in place");
    assert_eq!(store.get("p", 1 << 20).expect("get").expect("present").0, b"three");
}

#[test]
fn a_compare_and_swap_to_the_same_bytes_changes_nothing() {
    let (_dir, store) = store();
    let e1 = store.put("p", b"one", &opts(Condition::IfAbsent)).expect("create");
    assert_eq!(store.put("p", b"one", &opts(Condition::IfMatch(e1.clone()))).expect("no-op"), e1);
    store.put("p", b"two", &opts(Condition::IfMatch(e1))).expect("the ETag still names the content");
}

#[test]
fn racing_writers_get_one_winner() {
    let (_dir, store) = store();
    let store = std::sync::Arc::new(store);
    let start = store.put("p.json", b"0", &opts(Condition::IfAbsent)).expect("create");
    let winners: Vec<usize> = (0..8)
        .map(|i| {
            let store = store.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                store.put("p.json", format!("writer {i}").as_bytes(), &opts(Condition::IfMatch(start))).is_ok()
            })
        })
        .enumerate()
        .filter_map(|(i, h)| h.join().expect("thread").then_some(i))
        .collect();
    assert_eq!(winners.len(), 1);
    let (data, _) = store.get("p.json", 1 << 20).expect("get").expect("present");
    assert_eq!(data, format!("writer {}", winners[0]).as_bytes());
}

#[test]
fn symbolic_links_are_never_followed() {
    let (dir, store) = store();
    let outside = tempfile::tempdir().expect("outside");
    std::fs::write(outside.path().join("precious"), b"keep me").expect("write");
    std::fs::create_dir_all(dir.path().join("set/tiles")).expect("mkdir");
    std::os::unix::fs::symlink(outside.path(), dir.path().join("set/tiles/zz")).expect("symlink");
    assert!(store.list("set/tiles/").expect("list").is_empty(), "the link is skipped, not walked");
    assert!(matches!(store.delete("set/tiles/zz/precious"), Err(StoreError::Symlink { .. })));
    assert!(matches!(store.get("set/tiles/zz/precious", 1 << 20), Err(StoreError::Symlink { .. })));
    assert_eq!(std::fs::read(outside.path().join("precious")).expect("still there"), b"keep me");
}

#[test]
fn reads_are_bounded_and_read_only_use_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let store = FileStore::new(root.clone()).expect("store");
    assert_eq!(store.get("set/current.json", 10).expect("get"), None);
    assert!(store.list("set/").expect("list").is_empty());
    assert!(!root.exists(), "reading created nothing");
    store.put("set/current.json", &[b'x'; 100], &opts(Condition::Always)).expect("put");
    match store.get("set/current.json", 10) {
        Err(StoreError::TooLarge { key, size: 100, limit: 10 }) => assert_eq!(key, "set/current.json"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn stale_temp_files_are_swept_young_ones_kept() {
    let (dir, store) = store();
    std::fs::create_dir_all(dir.path().join(".tmp")).expect("tmp");
    std::fs::write(dir.path().join(".tmp/put-left-by-a-dead-writer"), b"x").expect("write");
    assert_eq!(store.sweep_temp(Duration::from_secs(3600)).expect("sweep"), 0, "young: kept");
    assert_eq!(store.sweep_temp(Duration::ZERO).expect("sweep"), 1);
    assert!(!dir.path().join(".tmp/put-left-by-a-dead-writer").exists());
}

#[test]
fn a_failed_write_leaves_no_temporary_file() {
    let (dir, store) = store();
    // The key is a folder: the rename fails, as a write to a full or broken disk would.
    std::fs::create_dir_all(dir.path().join("set/tiles/ab/abcd")).expect("mkdir");
    let immutable = PutOptions { cache_control: IMMUTABLE, ..opts(Condition::Always) };
    assert!(store.put("set/tiles/ab/abcd", b"tile", &immutable).is_err());
    assert!(store.put("set/tiles/ab/abcd", b"tile", &opts(Condition::IfAbsent)).is_err());
    let left: Vec<_> = std::fs::read_dir(dir.path().join(".tmp")).expect("tmp").collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn a_slice_of_a_folder_lists_only_the_keys_that_go_on_with_its_start() {
    let (_dir, store) = store();
    for key in ["set/tiles/0a/x", "set/tiles/0c/y", "set/tiles/1b/z", "set/other/0d"] {
        store.put(key, b"data", &opts(Condition::Always)).expect("put");
    }
    let keys = |start: &str| -> Vec<String> {
        store.list_part("set/tiles/", start).expect("list part").into_iter().map(|l| l.key).collect()
    };
    assert_eq!(keys("0"), ["set/tiles/0a/x", "set/tiles/0c/y"]);
    assert_eq!(keys("1"), ["set/tiles/1b/z"]);
    assert!(keys("f").is_empty());
    // Every slice together is the folder.
    let all: Vec<String> = (0..16).flat_map(|d| keys(&format!("{d:x}"))).collect();
    let listed: Vec<String> = store.list("set/tiles/").expect("list").into_iter().map(|l| l.key).collect();
    assert_eq!(all, listed);
    assert!(store.list_part("set/tiles/", "../").is_err(), "a start that is not a plain name is refused");
}
