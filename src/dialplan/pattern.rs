//! Asterisk extension patterns (`_0323X.`, `_45[2-9]XXXX`, `_X!`), as pbx.c matches them:
//! `X` 0-9, `Z` 1-9, `N` 2-9, `[...]` a set with ranges, `.` one or more of anything, `!`
//! zero or more; anything else literal. A name without the leading `_` matches only itself.

/// Whether `pattern` (an extension name or a `_` pattern) matches `number`.
pub fn matches(pattern: &str, number: &str) -> bool {
    match pattern.strip_prefix('_') {
        Some(p) => match_from(p.as_bytes(), number.as_bytes()),
        None => pattern == number,
    }
}

fn match_from(p: &[u8], n: &[u8]) -> bool {
    let Some((&c, rest)) = p.split_first() else { return n.is_empty() };
    match c {
        b'.' => !n.is_empty(),
        b'!' => true,
        b'[' => {
            let Some(end) = rest.iter().position(|&b| b == b']') else { return false };
            let set = &rest[..end];
            n.first().is_some_and(|&d| in_set(set, d)) && match_from(&rest[end + 1..], &n[1..])
        }
        _ => {
            let ok = match n.first() {
                None => false,
                Some(&d) => match c.to_ascii_uppercase() {
                    b'X' => d.is_ascii_digit(),
                    b'Z' => (b'1'..=b'9').contains(&d),
                    b'N' => (b'2'..=b'9').contains(&d),
                    _ => d == c,
                },
            };
            ok && match_from(rest, &n[1..])
        }
    }
}

fn in_set(set: &[u8], d: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            if (set[i]..=set[i + 2]).contains(&d) {
                return true;
            }
            i += 3;
        } else {
            if set[i] == d {
                return true;
            }
            i += 1;
        }
    }
    false
}

/// A pattern of digits, `+`, `*`, `#` and the pattern letters only (what Mayday accepts
/// from an admin): `None` when it holds anything else.
pub fn is_valid(pattern: &str) -> bool {
    let Some(p) = pattern.strip_prefix('_') else {
        return !pattern.is_empty() && pattern.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'*' | b'#'));
    };
    if p.is_empty() {
        return false;
    }
    let bytes = p.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' | b'+' | b'*' | b'#' | b'X' | b'Z' | b'N' => i += 1,
            b'.' | b'!' => return i + 1 == bytes.len(),
            b'[' => {
                let Some(end) = bytes[i..].iter().position(|&b| b == b']') else { return false };
                let set = &bytes[i + 1..i + end];
                if set.is_empty() || !set.iter().all(|b| b.is_ascii_digit() || *b == b'-') {
                    return false;
                }
                i += end + 1;
            }
            _ => return false,
        }
    }
    true
}

/// The literal digits a pattern starts with (`_0323X.` -> `0323`).
pub fn literal_prefix(pattern: &str) -> &str {
    let p = pattern.strip_prefix('_').unwrap_or(pattern);
    let end = p.bytes().position(|b| !(b.is_ascii_digit() || b == b'+')).unwrap_or(p.len());
    &p[..end]
}

/// `<digits>` in front of a pattern: `45` + `_0X.` -> `_450X.`; `45` + `911` -> `45911`.
pub fn prefixed(prefix: &str, pattern: &str) -> String {
    match pattern.strip_prefix('_') {
        Some(p) => format!("_{prefix}{p}"),
        None => format!("{prefix}{pattern}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_asterisk_does() {
        assert!(matches("_0X.", "0700123456"));
        assert!(!matches("_0X.", "07"), "X. needs a digit and at least one more character");
        assert!(matches("_450X.", "450700123456"));
        assert!(!matches("_450X.", "460700123456"));
        assert!(matches("_[2-9]XX", "512"));
        assert!(!matches("_[2-9]XX", "112"));
        assert!(matches("_NXX", "212") && !matches("_NXX", "112"));
        assert!(!matches("_ZX!", "1") && matches("_ZX!", "10") && matches("_ZX!", "1012"));
        assert!(matches("1001", "1001") && !matches("1001", "10011"));
        assert!(matches("_+X.", "+256700"));
    }

    #[test]
    fn admin_patterns_are_checked_and_prefixed() {
        assert!(is_valid("_0X.") && is_valid("0323300245") && is_valid("_45[2-9]XXXX") && is_valid("+256700"));
        assert!(!is_valid("_0X.X") && !is_valid("_") && !is_valid("09;x") && !is_valid("_[a-z]") && !is_valid(""));
        assert_eq!(literal_prefix("_0323X."), "0323");
        assert_eq!(prefixed("45", "_0X."), "_450X.");
        assert_eq!(prefixed("45", "911"), "45911");
    }
}
