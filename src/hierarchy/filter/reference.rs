//! `groupFilter` as it was before issue 15: a recursive match, `globset` for each segment. Kept only as
//! the reference its replacement is tested against (`filter.rs`'s tests, the `group_filter` fuzz target),
//! on patterns short enough for it.

/// One segment of a compiled pattern.
pub(crate) enum Segment {
    AnyDepth,
    Glob(globset::GlobMatcher),
}

/// The pattern's segments; `None` where the old filter rejected it.
pub(crate) fn compile(pattern: &str) -> Option<Vec<Segment>> {
    let segments = pattern
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|seg| {
            if seg == "**" {
                return Some(Segment::AnyDepth);
            }
            globset::GlobBuilder::new(seg)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .ok()
                .map(|g| Segment::Glob(g.compile_matcher()))
        })
        .collect::<Option<Vec<_>>>()?;
    (!segments.is_empty()).then_some(segments)
}

/// Whether the whole path matches.
pub(crate) fn full_match(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::AnyDepth, rest)) => (0..=path.len()).any(|i| full_match(rest, &path[i..])),
        Some((Segment::Glob(glob), rest)) => {
            path.first().is_some_and(|seg| glob.is_match(seg)) && full_match(rest, &path[1..])
        }
    }
}

/// Whether the path or a path below it may match.
pub(crate) fn prefix_match(pattern: &[Segment], path: &[&str]) -> bool {
    let Some((first, rest_path)) = path.split_first() else {
        return true;
    };
    match pattern.split_first() {
        None => false,
        Some((Segment::AnyDepth, _)) => true,
        Some((Segment::Glob(glob), rest)) => glob.is_match(first) && prefix_match(rest, rest_path),
    }
}
