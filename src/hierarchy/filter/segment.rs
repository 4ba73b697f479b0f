//! One `/`-free segment of a `groupFilter` glob: `*`, `?`, `[...]`, `{a,b}` and `\` escapes.
//!
//! The syntax and the meaning are those of `globset` 0.4 (with a literal separator and backslash
//! escapes), which this replaces: `globset` compiled every segment to a regex and panicked on any regex
//! it could not compile (a long run of `*` went over the size limit). Here a segment compiles to a small
//! automaton, matched over the segment's bytes with every live state at once: time is at most the
//! segment's length times the pattern's, with no backtracking and no recursion.
//!
//! Matching is over bytes, as `globset`'s was: `?` and a class consume one byte, so a class holding a
//! non-ASCII character holds the bytes of its UTF-8 encoding rather than the character.

/// One step of a compiled segment. The step after the last one is the accepting state.
#[derive(Debug, Clone)]
enum Step {
    /// Consumes this byte.
    Byte(u8),
    /// Consumes any one byte (`?`).
    AnyByte,
    /// Consumes one byte of the set (`[...]`).
    Class(Box<ByteSet>),
    /// Consumes any run of bytes, none included (`*`).
    Star,
    /// Goes on, consuming nothing, at each listed step: the alternatives of `{...}`.
    Fork(Vec<usize>),
    /// Goes on, consuming nothing, at the given step: the end of an alternative.
    Jump(usize),
    /// Matches nothing. `globset` turns an escaped `,` or `{` right before a `**` that ends an
    /// alternative into a "recursive suffix" (`/` and anything), which a segment can never match.
    Never,
}

/// A set of bytes, one bit each.
#[derive(Debug, Clone, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn negate(&mut self) {
        for word in &mut self.0 {
            *word = !*word;
        }
    }
}

/// A compiled segment glob.
#[derive(Debug, Clone)]
pub(super) struct SegmentGlob {
    steps: Vec<Step>,
    /// The bytes to compare when the segment has no wildcard at all (the common case).
    literal: Option<Vec<u8>>,
}

/// Why a segment is not a valid glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SyntaxError {
    /// A `[` without its `]`.
    UnclosedClass,
    /// A class range whose end comes before its start (`[z-a]`).
    InvalidRange(char, char),
    /// A `}` without its `{`.
    UnopenedAlternates,
    /// A `{` without its `}`.
    UnclosedAlternates,
    /// A `\` at the end of the segment.
    DanglingEscape,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnclosedClass => write!(f, "unclosed character class; missing ']'"),
            Self::InvalidRange(lo, hi) => write!(f, "invalid range; '{lo}' > '{hi}'"),
            Self::UnopenedAlternates => write!(
                f,
                "unopened alternate group; missing '{{' (maybe escape '}}' with '[}}]'?)"
            ),
            Self::UnclosedAlternates => write!(
                f,
                "unclosed alternate group; missing '}}' (maybe escape '{{' with '[{{]'?)"
            ),
            Self::DanglingEscape => write!(f, "dangling '\\'"),
        }
    }
}

/// The alternative being compiled: where its steps start and what it holds so far.
#[derive(Debug, Clone, Copy)]
struct Branch {
    start: usize,
    /// Whether it holds any token (an empty `{}` counts).
    has_tokens: bool,
    /// Whether it matches more than the empty string's pattern: `globset` drops alternatives that
    /// compile to nothing (`{,a}` is `a`), and an alternation all of whose alternatives do so matches
    /// the empty string.
    matters: bool,
    /// Whether its last token is a `*` (runs of `*` compile to one step).
    ends_in_star: bool,
}

impl Branch {
    fn at(start: usize) -> Self {
        Self {
            start,
            has_tokens: false,
            matters: false,
            ends_in_star: false,
        }
    }
}

/// An open `{`: its fork, its finished alternatives, and the alternative it interrupted.
#[derive(Debug)]
struct Group {
    fork: usize,
    /// Start of every finished alternative that matters.
    starts: Vec<usize>,
    /// The `Jump` closing each finished alternative, to point at the group's end.
    exits: Vec<usize>,
    outer: Branch,
}

/// The compiler's state over one segment.
struct Compiler<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    /// The character before the one being compiled.
    prev: Option<char>,
    steps: Vec<Step>,
    branch: Branch,
    groups: Vec<Group>,
}

impl SegmentGlob {
    /// Compiles one segment (no `/` in it, and not the `**` segment, which the filter handles).
    pub(super) fn new(segment: &str) -> Result<Self, SyntaxError> {
        let mut c = Compiler {
            chars: segment.chars().peekable(),
            prev: None,
            steps: Vec::new(),
            branch: Branch::at(0),
            groups: Vec::new(),
        };
        while let Some(ch) = c.chars.next() {
            let prev = c.prev.replace(ch);
            match ch {
                '?' => c.push(Step::AnyByte),
                '*' => c.star(prev),
                '[' => c.class()?,
                '{' => c.open_group(),
                '}' => c.close_group()?,
                ',' if !c.groups.is_empty() => c.next_alternative(),
                '\\' => {
                    let escaped = c.chars.next().ok_or(SyntaxError::DanglingEscape)?;
                    c.prev = Some(escaped);
                    c.literal(escaped);
                }
                ch => c.literal(ch),
            }
        }
        if !c.groups.is_empty() {
            return Err(SyntaxError::UnclosedAlternates);
        }
        let literal = c
            .steps
            .iter()
            .map(|s| match s {
                Step::Byte(b) => Some(*b),
                _ => None,
            })
            .collect();
        Ok(Self {
            steps: c.steps,
            literal,
        })
    }

    /// Whether `segment` matches, in time proportional to its length times the pattern's.
    pub(super) fn is_match(&self, segment: &str) -> bool {
        if let Some(literal) = &self.literal {
            return literal.as_slice() == segment.as_bytes();
        }
        let accept = self.steps.len();
        let mut live = StateSet::new(accept + 1);
        let mut next = StateSet::new(accept + 1);
        let mut pending = Vec::new();
        self.enter(&mut live, 0, &mut pending);
        for &b in segment.as_bytes() {
            if live.is_empty() {
                return false;
            }
            next.clear();
            for &at in &live.members {
                let consumed = match self.steps.get(at) {
                    Some(Step::Byte(x)) => *x == b,
                    Some(Step::AnyByte) => b != b'/',
                    Some(Step::Class(set)) => set.contains(b),
                    Some(Step::Star) if b != b'/' => {
                        self.enter(&mut next, at, &mut pending);
                        false
                    }
                    _ => false,
                };
                if consumed {
                    self.enter(&mut next, at + 1, &mut pending);
                }
            }
            std::mem::swap(&mut live, &mut next);
        }
        live.contains(accept)
    }

    /// Adds `at` to `set` with every step reachable from it without consuming a byte.
    fn enter(&self, set: &mut StateSet, at: usize, pending: &mut Vec<usize>) {
        pending.push(at);
        while let Some(at) = pending.pop() {
            if !set.insert(at) {
                continue;
            }
            match self.steps.get(at) {
                Some(Step::Fork(targets)) => pending.extend(targets),
                Some(Step::Jump(target)) => pending.push(*target),
                Some(Step::Star) => pending.push(at + 1),
                _ => {}
            }
        }
    }
}

impl Compiler<'_> {
    fn push(&mut self, step: Step) {
        self.steps.push(step);
        self.branch.has_tokens = true;
        self.branch.matters = true;
        self.branch.ends_in_star = false;
    }

    fn literal(&mut self, ch: char) {
        let mut buf = [0; 4];
        for &b in ch.encode_utf8(&mut buf).as_bytes() {
            self.push(Step::Byte(b));
        }
    }

    fn push_star(&mut self) {
        if !self.branch.ends_in_star {
            self.push(Step::Star);
            self.branch.ends_in_star = true;
        }
    }

    /// A `*` (just consumed) and the rest of its run: one `*` or a `**`, which inside a segment is the
    /// same as `*`, except in `globset`'s one odd case (see [`Step::Never`]).
    fn star(&mut self, prev: Option<char>) {
        if self.chars.peek() != Some(&'*') {
            self.push_star();
            return;
        }
        self.chars.next();
        self.prev = Some('*');
        let next = self.chars.peek().copied();
        let in_group = !self.groups.is_empty();
        let ends_alternative = in_group && matches!(next, Some(',' | '}'));
        if !self.branch.has_tokens {
            if next.is_none() {
                // `globset`'s recursive prefix, which within a segment matches only the empty string:
                // reached only by a `{**` that is never closed, which fails below.
                self.branch.has_tokens = true;
                self.branch.matters = true;
            } else {
                self.push_star();
            }
        } else if in_group && matches!(prev, Some(',' | '{')) && ends_alternative {
            // The escaped `,` or `{` just compiled (one byte) becomes the recursive suffix.
            self.steps.pop();
            self.push(Step::Never);
        } else {
            self.push_star();
        }
    }

    /// A class, after its `[`. A `\` is an ordinary character inside it.
    fn class(&mut self) -> Result<(), SyntaxError> {
        let negated = matches!(self.chars.peek(), Some('!' | '^'));
        if negated {
            self.prev = self.chars.next();
        }
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first = true;
        let mut in_range = false;
        loop {
            let ch = self.chars.next().ok_or(SyntaxError::UnclosedClass)?;
            self.prev = Some(ch);
            match ch {
                ']' if !first => break,
                '-' if !first && !in_range => in_range = true,
                ch => {
                    if in_range {
                        let last = ranges.last_mut().expect("a range follows a character");
                        last.1 = ch;
                        if last.1 < last.0 {
                            return Err(SyntaxError::InvalidRange(last.0, last.1));
                        }
                        in_range = false;
                    } else {
                        ranges.push((ch, ch));
                    }
                }
            }
            first = false;
        }
        if in_range {
            ranges.push(('-', '-'));
        }
        let mut set = ByteSet::default();
        for (lo, hi) in ranges {
            add_range(&mut set, lo, hi);
        }
        if negated {
            set.negate();
        }
        self.push(Step::Class(Box::new(set)));
        Ok(())
    }

    fn open_group(&mut self) {
        let fork = self.steps.len();
        self.steps.push(Step::Fork(Vec::new()));
        self.groups.push(Group {
            fork,
            starts: Vec::new(),
            exits: Vec::new(),
            outer: self.branch,
        });
        self.branch = Branch::at(fork + 1);
    }

    /// Ends the current alternative of the innermost group.
    fn finish_alternative(&mut self) {
        let group = self.groups.last_mut().expect("inside a group");
        if self.branch.matters {
            group.starts.push(self.branch.start);
        }
        group.exits.push(self.steps.len());
        self.steps.push(Step::Jump(usize::MAX));
    }

    fn next_alternative(&mut self) {
        self.finish_alternative();
        self.branch = Branch::at(self.steps.len());
    }

    fn close_group(&mut self) -> Result<(), SyntaxError> {
        if self.groups.is_empty() {
            return Err(SyntaxError::UnopenedAlternates);
        }
        self.finish_alternative();
        let group = self.groups.pop().expect("checked above");
        let end = self.steps.len();
        for exit in group.exits {
            self.steps[exit] = Step::Jump(end);
        }
        let matters = !group.starts.is_empty();
        self.steps[group.fork] = Step::Fork(if matters { group.starts } else { vec![end] });
        self.branch = Branch {
            has_tokens: true,
            matters: group.outer.matters || matters,
            ends_in_star: false,
            ..group.outer
        };
        Ok(())
    }
}

/// Adds a class range as `globset` did: the UTF-8 bytes of both ends, the last byte of the start to
/// the first byte of the end as a byte range (one character: all its bytes).
fn add_range(set: &mut ByteSet, lo: char, hi: char) {
    let (mut lo_buf, mut hi_buf) = ([0; 4], [0; 4]);
    let lo_bytes = lo.encode_utf8(&mut lo_buf).as_bytes();
    if lo == hi {
        for &b in lo_bytes {
            set.insert(b);
        }
        return;
    }
    let hi_bytes = hi.encode_utf8(&mut hi_buf).as_bytes();
    let (lo_last, lo_rest) = lo_bytes.split_last().expect("a character has bytes");
    let (hi_first, hi_rest) = hi_bytes.split_first().expect("a character has bytes");
    for &b in lo_rest.iter().chain(hi_rest) {
        set.insert(b);
    }
    set.insert_range(*lo_last, *hi_first);
}

/// A set of automaton states, iterable in insertion order and cleared in time proportional to its size.
struct StateSet {
    members: Vec<usize>,
    present: Vec<bool>,
}

impl StateSet {
    fn new(capacity: usize) -> Self {
        Self {
            members: Vec::new(),
            present: vec![false; capacity],
        }
    }

    fn insert(&mut self, at: usize) -> bool {
        let fresh = !self.present[at];
        if fresh {
            self.present[at] = true;
            self.members.push(at);
        }
        fresh
    }

    fn contains(&self, at: usize) -> bool {
        self.present[at]
    }

    fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn clear(&mut self) {
        for at in self.members.drain(..) {
            self.present[at] = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `globset` as `groupFilter` used it, for one segment: `None` where it failed to build.
    fn reference(segment: &str) -> Option<globset::GlobMatcher> {
        globset::GlobBuilder::new(segment)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .ok()
            .map(|g| g.compile_matcher())
    }

    /// A small deterministic generator (xorshift), so a failure names a reproducible case.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn string(&mut self, alphabet: &[&str], max_len: usize) -> String {
            let len = self.below(max_len + 1);
            (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    const PATTERN_ALPHABET: &[&str] = &[
        "a", "b", "*", "?", "[", "]", "!", "^", "-", "{", "}", ",", "\\", "é", "z", "**", "\\,",
        "\\{",
    ];
    const NAME_ALPHABET: &[&str] = &["a", "b", "z", "-", "]", ",", "{", "}", "*", "é", "\\", "!"];

    fn names(rng: &mut Rng) -> Vec<String> {
        let mut names: Vec<String> = [
            "a", "b", "ab", "ba", "aa", "é", "a,b", "a{", "-", "]", "z-a",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        names.extend((0..40).map(|_| rng.string(NAME_ALPHABET, 6)));
        names.retain(|n| !n.is_empty());
        names
    }

    #[test]
    fn agrees_with_globset_on_generated_segments() {
        let mut rng = Rng(0x5eed_cafe_f00d);
        let mut compiled = 0;
        for _ in 0..20_000 {
            let pattern = rng.string(PATTERN_ALPHABET, 7);
            if pattern.is_empty() || pattern == "**" {
                continue;
            }
            let ours = SegmentGlob::new(&pattern);
            let theirs = reference(&pattern);
            assert_eq!(ours.is_ok(), theirs.is_some(), "{pattern:?}: {ours:?}");
            let (Ok(ours), Some(theirs)) = (ours, theirs) else {
                continue;
            };
            compiled += 1;
            for name in names(&mut rng) {
                assert_eq!(
                    ours.is_match(&name),
                    theirs.is_match(&name),
                    "{pattern:?} on {name:?}"
                );
            }
        }
        assert!(compiled > 5_000, "only {compiled} patterns compiled");
    }

    #[test]
    fn agrees_with_globset_on_chosen_segments() {
        let patterns = [
            "sweep_?",
            "sweep_[01]",
            "VCP-?2",
            "[!a]*",
            "[^a]b",
            "[]a]",
            "[a-]",
            "[-a]",
            "[]-a]",
            "[a-c-e]",
            "[é]",
            "[a-é]",
            "é?",
            "??",
            "{a,b}",
            "{a,{b,c}}x",
            "{,a}",
            "{,}",
            "{}",
            "a{}b",
            "{{},a}",
            "x{a,}",
            "{a\\,**}",
            "{a\\{**,b}",
            "{a\\,**x}",
            "a\\*",
            "\\[a]",
            "***",
            "a**b",
            "{**}",
            "{a,**}",
            "*{a,b}*",
            "{a,b*}*",
            "[\\]]",
            "\\\\",
            "a,b",
            "[*]",
            "*a*a*a*b",
        ];
        let names = [
            "a", "b", "ab", "ba", "aa", "aab", "ababab", "é", "\u{e9}a", "a,b", "a,", "x", "xa",
            "-", "]", "\\", "*", "[a]", "c", "d", "sweep_0", "sweep_1", "sweep_", "VCP-12",
            "VCP-212", "",
        ];
        for pattern in patterns {
            let ours = SegmentGlob::new(pattern).unwrap();
            let theirs = reference(pattern).unwrap();
            for name in names {
                assert_eq!(
                    ours.is_match(name),
                    theirs.is_match(name),
                    "{pattern:?} on {name:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_segments_fail_as_globset_does() {
        for (pattern, error) in [
            ("a[", SyntaxError::UnclosedClass),
            ("[]", SyntaxError::UnclosedClass),
            ("[z-a]", SyntaxError::InvalidRange('z', 'a')),
            ("[b--]", SyntaxError::InvalidRange('b', '-')),
            ("a}", SyntaxError::UnopenedAlternates),
            ("{a", SyntaxError::UnclosedAlternates),
            ("{a,{b}", SyntaxError::UnclosedAlternates),
            ("a\\", SyntaxError::DanglingEscape),
        ] {
            assert_eq!(SegmentGlob::new(pattern).unwrap_err(), error, "{pattern:?}");
            assert!(reference(pattern).is_none(), "{pattern:?}");
        }
    }

    #[test]
    fn long_runs_compile_to_small_automata_and_match_quickly() {
        let stars = SegmentGlob::new(&"*".repeat(100_000)).unwrap();
        assert_eq!(stars.steps.len(), 1);
        assert!(stars.is_match("anything"));
        // A pattern that makes a backtracking matcher take exponential time.
        let pattern = format!("{}b", "*a".repeat(2_000));
        let glob = SegmentGlob::new(&pattern).unwrap();
        assert!(!glob.is_match(&"a".repeat(10_000)));
        assert!(glob.is_match(&format!("{}b", "a".repeat(2_000))));
        let nested = format!("{}a{}", "{".repeat(5_000), "}".repeat(5_000));
        let glob = SegmentGlob::new(&nested).unwrap();
        assert!(glob.is_match("a"));
        assert!(!glob.is_match("b"));
    }
}
