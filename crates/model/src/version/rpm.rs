//! RPM version order: `[epoch:]version[-release]`, compared like rpm's `rpmvercmp` and
//! `rpmverCmp`.

use std::cmp::Ordering;

/// rpm's `rpmvercmp`: compares one version or release string segment by segment. Works on
/// bytes; only ASCII letters and digits form segments, `~` sorts before everything and `^`
/// after the base version but before any other addition.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (a.as_bytes(), b.as_bytes());
    let skip = |s: &[u8]| -> usize {
        s.iter()
            .take_while(|&&c| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^')
            .count()
    };
    loop {
        one = &one[skip(one)..];
        two = &two[skip(two)..];
        if one.is_empty() && two.is_empty() {
            break;
        }
        if one.first() == Some(&b'~') || two.first() == Some(&b'~') {
            if one.first() != Some(&b'~') {
                return Ordering::Greater;
            }
            if two.first() != Some(&b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if one.first() == Some(&b'^') || two.first() == Some(&b'^') {
            if one.is_empty() {
                return Ordering::Less;
            }
            if two.is_empty() {
                return Ordering::Greater;
            }
            if one.first() != Some(&b'^') {
                return Ordering::Greater;
            }
            if two.first() != Some(&b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if one.is_empty() || two.is_empty() {
            break;
        }
        let is_num = one[0].is_ascii_digit();
        let class = |c: &u8| {
            if is_num {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let len1 = one.iter().take_while(|c| class(c)).count();
        let len2 = two.iter().take_while(|c| class(c)).count();
        let (seg1, seg2) = (&one[..len1], &two[..len2]);
        if seg2.is_empty() {
            // Different kinds of segment: numeric is newer than alphabetic.
            return if is_num {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ordering = if is_num {
            let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
            let (n1, n2) = (&seg1[strip(seg1)..], &seg2[strip(seg2)..]);
            n1.len().cmp(&n2.len()).then_with(|| n1.cmp(n2))
        } else {
            seg1.cmp(seg2)
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
        one = &one[len1..];
        two = &two[len2..];
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}
