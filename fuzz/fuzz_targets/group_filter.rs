//! `groupFilter` globs (`hierarchy::GroupFilter`): a fuzzed pattern compiled and matched against a
//! fuzzed path. A pattern either compiles or is `ERR_INVALID_ARGUMENT`; a path that matches must also
//! pass `may_match_at_or_below`, as must each of its ancestors (the walk prunes on it, so a `false`
//! there would lose a match); and a short pattern must mean what it meant when the filter was built on
//! `globset` (the same recursive match, `globset` for each segment).
//!
//! Input: `[u16 len][pattern][path]`, both read as UTF-8 (lossily).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use rustytree::hierarchy::GroupFilter;

/// The matcher as it was, the reference for short patterns (the file the crate's own tests use).
#[path = "../../src/hierarchy/filter/reference.rs"]
mod before;

/// Patterns compared with `globset`, which itself panics on long runs of `*` (a regex over its size
/// limit): a bound well below that.
const COMPARED_PATTERN_BYTES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let (pattern, path) = common::split(data);
    let pattern = String::from_utf8_lossy(pattern);
    let path = String::from_utf8_lossy(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let path = format!("/{}", segments.join("/"));
    let filter = match GroupFilter::new(&pattern) {
        Ok(filter) => filter,
        Err(e) => {
            common::assert_input_error(&e, &["ERR_INVALID_ARGUMENT"]);
            if pattern.len() <= COMPARED_PATTERN_BYTES {
                assert!(before::compile(&pattern).is_none(), "{pattern:?}: {e}");
            }
            return;
        }
    };
    let matched = filter.matches(&path);
    if matched {
        for depth in 0..=segments.len() {
            let ancestor = format!("/{}", segments[..depth].join("/"));
            assert!(
                filter.may_match_at_or_below(&ancestor),
                "{pattern:?} matches {path:?} but rules out {ancestor:?}"
            );
        }
    }
    if pattern.len() <= COMPARED_PATTERN_BYTES {
        let reference = before::compile(&pattern).expect("globset compiles it too");
        assert_eq!(
            matched,
            before::full_match(&reference, &segments),
            "{pattern:?} on {path:?}"
        );
        assert_eq!(
            filter.may_match_at_or_below(&path),
            before::prefix_match(&reference, &segments),
            "{pattern:?} below {path:?}"
        );
    }
});
