//! Node paths: normalisation of user-given group paths and conversion to store keys.

use crate::error::{Result, RtError};

/// The deepest a node may lie below the store's root, in levels (`ERR_INVALID_METADATA` beyond). No
/// store on a file system (4,096-byte paths) or in object storage (1,024-byte keys) can be half as
/// deep; the bound keeps what one consolidated key can imply in check: its implicit parents' paths
/// grow with the square of its depth (64 MiB at this depth with one-letter names).
pub const MAX_DEPTH: usize = 8192;

/// How many characters of a long path an error message shows.
const SHOWN_PATH_CHARS: usize = 80;

/// Normalises a group path: `"a//b/"`, `"/a/b"` and `"a/b"` all become `"/a/b"`; `""` and `"/"` are the root.
///
/// # Errors
/// `ERR_INVALID_ARGUMENT` for `.` or `..` segments, which have no meaning in a Zarr hierarchy.
pub fn normalize(path: &str) -> Result<String> {
    let mut out = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg == "." || seg == ".." {
            return Err(RtError::InvalidArgument(format!(
                "group path {path:?}: \".\" and \"..\" are not allowed"
            )));
        }
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Normalises the group path a caller asks to open, as [`normalize`] does, and refuses ASCII control
/// characters (U+0000 to U+001F and U+007F) in it: `object_store` cannot address a key holding one, so such
/// a group could be opened from disk but never from object storage. The rule holds for every source so
/// that a group path means the same everywhere. Names read from metadata are not checked here: a store
/// may hold such a name, and only the requests for it fail.
///
/// # Errors
/// `ERR_INVALID_ARGUMENT` for `.` or `..` segments and for control characters.
pub fn normalize_group(path: &str) -> Result<String> {
    if let Some(c) = path.chars().find(char::is_ascii_control) {
        return Err(RtError::InvalidArgument(format!(
            "group path {:?} holds the control character U+{:04X}, which object storage keys cannot address",
            normalize(path).unwrap_or_else(|_| path.to_owned()),
            u32::from(c)
        )));
    }
    normalize(path)
}

/// Joins a normalised parent path and a child name.
#[must_use]
pub fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The last segment of a path (`""` for the root).
#[must_use]
pub fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// The parent of a normalised path (`None` for the root).
#[must_use]
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// How many levels below the root a normalised path lies (0 for the root).
#[must_use]
pub fn depth(path: &str) -> usize {
    if path == "/" {
        0
    } else {
        path.bytes().filter(|&b| b == b'/').count()
    }
}

/// `path` quoted for a message, its start only when it is long.
#[must_use]
pub fn shortened(path: &str) -> String {
    if path.chars().count() <= SHOWN_PATH_CHARS {
        format!("{path:?}")
    } else {
        let start: String = path.chars().take(SHOWN_PATH_CHARS).collect();
        format!("{start:?}... ({} bytes)", path.len())
    }
}

/// The store key of a node's `zarr.json`.
#[must_use]
pub fn metadata_key(path: &str) -> String {
    if path == "/" {
        "zarr.json".to_owned()
    } else {
        format!("{}/zarr.json", &path[1..])
    }
}

/// The store prefix under which a node's children live (`""` for the root, `"a/b/"` otherwise).
#[must_use]
pub fn prefix(path: &str) -> String {
    if path == "/" {
        String::new()
    } else {
        format!("{}/", &path[1..])
    }
}

/// `path` relative to `root`, as an absolute tree path (`/` when equal). `path` must lie under `root`.
#[must_use]
pub fn relative_to(path: &str, root: &str) -> String {
    if root == "/" {
        return path.to_owned();
    }
    match path.strip_prefix(root) {
        Some("") => "/".to_owned(),
        Some(rest) => rest.to_owned(),
        None => path.to_owned(),
    }
}

/// Whether `path` is `root` or lies below it.
#[must_use]
pub fn is_within(path: &str, root: &str) -> bool {
    root == "/" || path == root || path.strip_prefix(root).is_some_and(|r| r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_group_paths() {
        assert_eq!(normalize("").unwrap(), "/");
        assert_eq!(normalize("//a//b/").unwrap(), "/a/b");
        assert_eq!(normalize("a/b").unwrap(), "/a/b");
        assert_eq!(
            normalize("/a/../b").unwrap_err().code(),
            "ERR_INVALID_ARGUMENT"
        );
    }

    #[test]
    fn group_paths_refuse_control_characters() {
        assert_eq!(normalize_group("a//b/").unwrap(), "/a/b");
        assert_eq!(normalize_group("é/ü b").unwrap(), "/é/ü b");
        for (bad, shown) in [
            ("a/\r", r#""/a/\r" holds the control character U+000D"#),
            ("a\0b", "U+0000"),
            ("\x7f", "U+007F"),
            ("\t/x", "U+0009"),
        ] {
            let e = normalize_group(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARGUMENT");
            assert!(e.message().contains(shown), "{}", e.message());
        }
    }

    #[test]
    fn paths_map_to_keys_and_back() {
        assert_eq!(metadata_key("/"), "zarr.json");
        assert_eq!(metadata_key("/a/b"), "a/b/zarr.json");
        assert_eq!(prefix("/a"), "a/");
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(relative_to("/a/b/c", "/a/b"), "/c");
        assert_eq!(relative_to("/a/b", "/a/b"), "/");
        assert!(is_within("/a/b", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert_eq!(depth("/"), 0);
        assert_eq!(depth("/a"), 1);
        assert_eq!(depth("/a/bc/d"), 3);
    }

    #[test]
    fn long_paths_are_shortened_in_messages() {
        assert_eq!(shortened("/a/b"), "\"/a/b\"");
        let long = "/x".repeat(1000);
        let shown = shortened(&long);
        assert!(shown.starts_with("\"/x/x"), "{shown}");
        assert!(shown.ends_with("... (2000 bytes)"), "{shown}");
        assert!(shown.len() < 120, "{shown}");
    }
}
