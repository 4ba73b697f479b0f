//! `groupFilter` globs such as `/*/sweep_0`, matched segment by segment so that `*` never crosses `/`
//! and whole subtrees can be ruled out before they are fetched.
//!
//! A pattern is bounded ([`MAX_PATTERN_BYTES`], [`MAX_PATTERN_SEGMENTS`]) and matched without recursion:
//! `**` segments against path segments as `*` against characters in the classic two-pointer wildcard
//! match (remembering only the last `**`), each other segment by its own automaton ([`segment`]). A
//! match costs at most the pattern's segments times the path's, each a segment match.

mod segment;

use segment::SegmentGlob;

use crate::error::{Result, RtError};

/// The longest `groupFilter` accepted, in bytes (`ERR_INVALID_ARGUMENT` beyond).
pub const MAX_PATTERN_BYTES: usize = 4096;

/// The most `/`-separated segments a `groupFilter` may have (`ERR_INVALID_ARGUMENT` beyond).
pub const MAX_PATTERN_SEGMENTS: usize = 128;

/// How much of an overlong pattern an error message shows.
const SHOWN_PREFIX_CHARS: usize = 64;

#[derive(Debug, Clone)]
enum Segment {
    /// `**`: any number of path segments, including none.
    AnyDepth,
    /// One segment matched by a glob (`*`, `?`, `[..]`, `{a,b}`).
    Glob(SegmentGlob),
}

/// A compiled group filter. Paths are tree paths relative to the opened root (`/VCP-12/sweep_0`).
#[derive(Debug, Clone)]
pub struct GroupFilter {
    /// The pattern's segments, adjacent `**` collapsed into one.
    segments: Vec<Segment>,
}

impl GroupFilter {
    /// Compiles a glob.
    ///
    /// # Errors
    /// `ERR_INVALID_ARGUMENT` for an empty or malformed pattern, or one longer than
    /// [`MAX_PATTERN_BYTES`] or with more than [`MAX_PATTERN_SEGMENTS`] segments.
    pub fn new(pattern: &str) -> Result<Self> {
        if pattern.len() > MAX_PATTERN_BYTES {
            let shown: String = pattern.chars().take(SHOWN_PREFIX_CHARS).collect();
            return Err(RtError::InvalidArgument(format!(
                "groupFilter {shown:?}... is {} bytes long; the limit is {MAX_PATTERN_BYTES}",
                pattern.len()
            )));
        }
        let bad = |why: String| RtError::InvalidArgument(format!("groupFilter {pattern:?}: {why}"));
        let written: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        if written.len() > MAX_PATTERN_SEGMENTS {
            return Err(bad(format!(
                "{} segments; the limit is {MAX_PATTERN_SEGMENTS}",
                written.len()
            )));
        }
        let mut segments = Vec::with_capacity(written.len());
        for seg in written {
            if seg == "**" {
                // `**/**` means what `**` means; one of them is enough for the match.
                if !matches!(segments.last(), Some(Segment::AnyDepth)) {
                    segments.push(Segment::AnyDepth);
                }
            } else {
                let glob = SegmentGlob::new(seg).map_err(|e| bad(e.to_string()))?;
                segments.push(Segment::Glob(glob));
            }
        }
        if segments.is_empty() {
            return Err(bad("the pattern is empty".into()));
        }
        Ok(Self { segments })
    }

    /// Whether the group at `path` matches the pattern.
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        full_match(&self.segments, &split(path))
    }

    /// Whether `path` or any group below it could match: `false` means the subtree can be skipped.
    #[must_use]
    pub fn may_match_at_or_below(&self, path: &str) -> bool {
        prefix_match(&self.segments, &split(path))
    }
}

fn split(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Whether the whole of `path` matches `pattern`. Each `Glob` takes exactly one path segment, so when
/// the segments after a `**` fail, only the last `**` needs to take one more segment and the rest be
/// retried: earlier `**`s can never do better (the classic wildcard match, with segments for
/// characters).
fn full_match(pattern: &[Segment], path: &[&str]) -> bool {
    let (mut at, mut taken) = (0, 0);
    // The last `**` seen, and how far into the path the segments after it were tried from.
    let mut last_any: Option<(usize, usize)> = None;
    while taken < path.len() {
        match pattern.get(at) {
            Some(Segment::AnyDepth) => {
                last_any = Some((at, taken));
                at += 1;
            }
            Some(Segment::Glob(glob)) if glob.is_match(path[taken]) => {
                at += 1;
                taken += 1;
            }
            _ => {
                let Some((any, from)) = last_any else {
                    return false;
                };
                last_any = Some((any, from + 1));
                at = any + 1;
                taken = from + 1;
            }
        }
    }
    pattern[at..]
        .iter()
        .all(|seg| matches!(seg, Segment::AnyDepth))
}

/// True when some extension of `path` (including `path` itself) can match `pattern`.
fn prefix_match(pattern: &[Segment], path: &[&str]) -> bool {
    for (i, seg) in path.iter().enumerate() {
        match pattern.get(i) {
            None => return false,
            Some(Segment::AnyDepth) => return true,
            Some(Segment::Glob(glob)) if !glob.is_match(seg) => return false,
            Some(Segment::Glob(_)) => {}
        }
    }
    true
}

/// The matcher as it was, the reference the tests (and the `group_filter` fuzz target) compare with.
#[cfg(test)]
#[path = "filter/reference.rs"]
mod before;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_within_a_segment() {
        let f = GroupFilter::new("/*/sweep_0").unwrap();
        assert!(f.matches("/VCP-12/sweep_0"));
        assert!(!f.matches("/VCP-12/sweep_1"));
        assert!(!f.matches("/a/b/sweep_0"));
        assert!(f.may_match_at_or_below("/VCP-12"));
        assert!(f.may_match_at_or_below("/"));
        assert!(!f.may_match_at_or_below("/VCP-12/sweep_1"));
        assert!(!f.may_match_at_or_below("/VCP-12/sweep_0/deeper"));
    }

    #[test]
    fn classes_and_double_star() {
        let f = GroupFilter::new("VCP-?2/sweep_[01]").unwrap();
        assert!(f.matches("/VCP-12/sweep_1"));
        assert!(!f.matches("/VCP-212/sweep_1"));
        let deep = GroupFilter::new("/**/sweep_0").unwrap();
        assert!(deep.matches("/sweep_0"));
        assert!(deep.matches("/a/b/sweep_0"));
        assert!(deep.may_match_at_or_below("/anything/at/all"));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        assert_eq!(
            GroupFilter::new("//").unwrap_err().code(),
            "ERR_INVALID_ARGUMENT"
        );
        assert_eq!(
            GroupFilter::new("/a[").unwrap_err().code(),
            "ERR_INVALID_ARGUMENT"
        );
    }

    #[test]
    fn patterns_over_the_limits_are_invalid_arguments() {
        let long = "a".repeat(MAX_PATTERN_BYTES + 1);
        let e = GroupFilter::new(&long).unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_ARGUMENT");
        assert!(
            e.message().contains("4097 bytes long; the limit is 4096"),
            "{e}"
        );
        assert!(
            e.message().len() < 200,
            "the message repeats the whole pattern"
        );
        let deep = "a/".repeat(MAX_PATTERN_SEGMENTS + 1);
        let e = GroupFilter::new(&deep).unwrap_err();
        assert!(
            e.message().contains("129 segments; the limit is 128"),
            "{e}"
        );
        assert!(GroupFilter::new(&"a/".repeat(MAX_PATTERN_SEGMENTS)).is_ok());
        // The reproductions of issue 15: rejected, not a stack overflow or a panic.
        for pattern in [
            "**/".repeat(20_000) + "x",
            "**/".repeat(5_000) + "x",
            "*".repeat(100_000),
        ] {
            let e = GroupFilter::new(&pattern).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARGUMENT");
        }
    }

    #[test]
    fn the_worst_patterns_within_the_limits_match_quickly() {
        // Every `**` of a backtracking matcher retried at every depth: 2^64 attempts, here 127 x 5,000.
        let pattern = "**/a/".repeat(MAX_PATTERN_SEGMENTS / 2 - 1) + "b";
        let f = GroupFilter::new(&pattern).unwrap();
        let path = "/a".repeat(5_000);
        assert!(!f.matches(&path));
        assert!(f.matches(&format!("{path}/b")));
        assert!(f.may_match_at_or_below(&path));
        let stars = GroupFilter::new(&"*".repeat(MAX_PATTERN_BYTES)).unwrap();
        assert!(stars.matches("/x"));
        assert!(!stars.matches("/x/y"));
        let collapsed = GroupFilter::new(&("**/".repeat(100) + "x")).unwrap();
        assert_eq!(collapsed.segments.len(), 2);
        assert!(collapsed.matches(&format!("{path}/x")));
    }

    #[test]
    fn agrees_with_the_recursive_matcher_on_generated_patterns() {
        const PARTS: &[&str] = &[
            "**", "*", "a", "b", "?", "[ab]", "a*", "{a,b}", "", "[", "*b",
        ];
        const NAMES: &[&str] = &["a", "b", "ab", "c"];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut compared = 0;
        for _ in 0..3_000 {
            let pattern: Vec<&str> = (0..next(6)).map(|_| PARTS[next(PARTS.len())]).collect();
            let pattern = format!("{}{}", ["", "/"][next(2)], pattern.join("/"));
            let (ours, theirs) = (GroupFilter::new(&pattern), before::compile(&pattern));
            assert_eq!(ours.is_ok(), theirs.is_some(), "{pattern:?}");
            let (Ok(ours), Some(theirs)) = (ours, theirs) else {
                continue;
            };
            for _ in 0..30 {
                let path: Vec<&str> = (0..next(6)).map(|_| NAMES[next(NAMES.len())]).collect();
                let joined = format!("/{}", path.join("/"));
                assert_eq!(
                    ours.matches(&joined),
                    before::full_match(&theirs, &path),
                    "{pattern:?} on {joined:?}"
                );
                assert_eq!(
                    ours.may_match_at_or_below(&joined),
                    before::prefix_match(&theirs, &path),
                    "{pattern:?} below {joined:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 30_000, "only {compared} comparisons");
    }
}
