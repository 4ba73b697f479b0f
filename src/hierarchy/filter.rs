//! `groupFilter` globs such as `/*/sweep_0`, matched segment by segment so that `*` never crosses `/`
//! and whole subtrees can be ruled out before they are fetched.

use globset::{GlobBuilder, GlobMatcher};

use crate::error::{Result, RtError};

#[derive(Debug, Clone)]
enum Segment {
    /// `**`: any number of path segments, including none.
    AnyDepth,
    /// One segment matched by a glob (`*`, `?`, `[..]`).
    Glob(GlobMatcher),
}

/// A compiled group filter. Paths are tree paths relative to the opened root (`/VCP-12/sweep_0`).
#[derive(Debug, Clone)]
pub struct GroupFilter {
    segments: Vec<Segment>,
}

impl GroupFilter {
    /// Compiles a glob.
    ///
    /// # Errors
    /// `ERR_INVALID_ARGUMENT` for an empty or malformed pattern.
    pub fn new(pattern: &str) -> Result<Self> {
        let bad = |why: String| RtError::InvalidArgument(format!("groupFilter {pattern:?}: {why}"));
        let segments = pattern
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|seg| {
                if seg == "**" {
                    return Ok(Segment::AnyDepth);
                }
                GlobBuilder::new(seg)
                    .literal_separator(true)
                    .backslash_escape(true)
                    .build()
                    .map(|g| Segment::Glob(g.compile_matcher()))
                    .map_err(|e| bad(e.kind().to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
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

fn full_match(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::AnyDepth, rest)) => (0..=path.len()).any(|i| full_match(rest, &path[i..])),
        Some((Segment::Glob(glob), rest)) => {
            path.first().is_some_and(|seg| glob.is_match(seg)) && full_match(rest, &path[1..])
        }
    }
}

/// True when some extension of `path` (including `path` itself) can match `pattern`.
fn prefix_match(pattern: &[Segment], path: &[&str]) -> bool {
    let Some((first, rest_path)) = path.split_first() else {
        return true;
    };
    match pattern.split_first() {
        None => false,
        Some((Segment::AnyDepth, _)) => true,
        Some((Segment::Glob(glob), rest)) => glob.is_match(first) && prefix_match(rest, rest_path),
    }
}

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
}
