//! What the platform says about the memory this process may use: the machine's physical memory
//! (`sysconf`), lowered to a container's limit where a cgroup sets one.
//!
//! Reads bound their outputs by it and GET bodies their announced lengths ([`crate::source::body`]): an
//! allocator may grant far more address space than there is memory (mimalloc reserved 35 TB), so a
//! successful reservation says nothing about whether the pages can be had.

/// A container's memory limit files, in the order they are asked: cgroup v2, then cgroup v1.
const CGROUP_LIMIT_FILES: [&str; 2] = [
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
];

/// The memory this process may use in bytes, where the platform says: the machine's physical memory, or
/// a container's (cgroup) memory limit when lower.
#[must_use]
pub fn physical_memory() -> Option<u64> {
    let physical = sysconf_memory()?;
    let limit = cgroup_limit(|file| std::fs::read_to_string(file).ok());
    Some(limit.map_or(physical, |l| l.min(physical)))
}

/// Whether `bytes` can be had at once: at most [`physical_memory`], or, where that is unknown, what the
/// allocator agrees to reserve.
#[must_use]
pub fn fits_in_memory(bytes: u64) -> bool {
    match physical_memory() {
        Some(physical) => bytes <= physical,
        None => Vec::<u8>::new()
            .try_reserve_exact(usize::try_from(bytes).unwrap_or(usize::MAX))
            .is_ok(),
    }
}

/// The machine's physical memory: pages times page size.
#[cfg(unix)]
fn sysconf_memory() -> Option<u64> {
    // SAFETY: sysconf only reads system configuration.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let pages = u64::try_from(pages).ok().filter(|&n| n > 0)?;
    let page_size = u64::try_from(page_size).ok().filter(|&n| n > 0)?;
    pages.checked_mul(page_size)
}

#[cfg(not(unix))]
fn sysconf_memory() -> Option<u64> {
    None
}

/// The first limit among [`CGROUP_LIMIT_FILES`] that `read` returns a number for: a missing file, or
/// cgroup v2's `max`, means that file sets none.
fn cgroup_limit(read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    CGROUP_LIMIT_FILES
        .iter()
        .find_map(|file| parse_limit(&read(file)?))
}

/// A cgroup limit file's value in bytes: `None` for `max` (no limit) or anything else that is not a
/// number.
fn parse_limit(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_memory_is_known_on_unix() {
        if cfg!(unix) {
            let bytes = physical_memory().expect("sysconf");
            assert!(bytes > 1 << 27, "{bytes} bytes");
            assert!(physical_memory() <= sysconf_memory());
            assert!(fits_in_memory(bytes));
            assert!(!fits_in_memory(bytes + 1));
        }
    }

    #[test]
    fn limit_files_hold_a_number_or_max() {
        assert_eq!(parse_limit("1073741824\n"), Some(1 << 30));
        assert_eq!(parse_limit("  42  "), Some(42));
        // cgroup v2 without a limit.
        assert_eq!(parse_limit("max\n"), None);
        // cgroup v1 without a limit: the largest page-aligned value, a number like any other (the
        // physical memory is below it).
        assert_eq!(
            parse_limit("9223372036854771712\n"),
            Some(9_223_372_036_854_771_712)
        );
        assert_eq!(parse_limit(""), None);
        assert_eq!(parse_limit("-1"), None);
        assert_eq!(parse_limit("12 MB"), None);
    }

    /// A reader of limit files that holds `files` (name → content) and nothing else.
    fn files(files: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        move |name| {
            files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, text)| text.clone())
        }
    }

    #[test]
    fn cgroup_v2_is_asked_before_v1() {
        let [v2, v1] = CGROUP_LIMIT_FILES;
        assert_eq!(cgroup_limit(files(&[])), None);
        assert_eq!(cgroup_limit(files(&[(v2, "2048\n")])), Some(2048));
        assert_eq!(cgroup_limit(files(&[(v1, "4096\n")])), Some(4096));
        assert_eq!(
            cgroup_limit(files(&[(v2, "2048\n"), (v1, "4096\n")])),
            Some(2048)
        );
        // v2 without a limit leaves the question to v1.
        assert_eq!(
            cgroup_limit(files(&[(v2, "max\n"), (v1, "4096\n")])),
            Some(4096)
        );
        assert_eq!(cgroup_limit(files(&[(v2, "max\n")])), None);
    }
}
