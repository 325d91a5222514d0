//! Properties of both orders that hold for any input, no tool needed: no panics, a total
//! order (so that sorting is safe), and printing that parses back to the same fields.

use std::cmp::Ordering;

use model::version::{self, DebVersion, Evr, Scheme, deb, rpm};
use proptest::prelude::*;

use super::generate::{self, Flavour, Rng};

/// Short strings over the characters that matter, so that collisions and near misses are
/// common.
fn version_text() -> impl Strategy<Value = String> {
    "[0-9a-zA-Z.+~^:_ \t-]{0,10}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn nothing_panics(a in any::<String>(), b in any::<String>()) {
        let _ = deb::compare(&a, &b);
        let _ = rpm::compare(&a, &b);
        let _ = DebVersion::parse_strict(&a);
        let _ = Evr::parse(&a);
        let _ = rpm::rpmvercmp(&a, &b);
    }

    #[test]
    fn compare_is_antisymmetric(a in version_text(), b in version_text()) {
        for scheme in [Scheme::Deb, Scheme::Rpm] {
            let forward = version::compare(scheme, &a, &b);
            let backward = version::compare(scheme, &b, &a);
            match (&forward, &backward) {
                (Ok(forward), Ok(backward)) => prop_assert_eq!(*forward, backward.reverse()),
                _ => prop_assert!(forward.is_err() && backward.is_err()),
            }
        }
    }

    #[test]
    fn deb_prints_back_to_the_same_fields(text in version_text()) {
        if let Ok(parsed) = DebVersion::parse(&text) {
            let again = DebVersion::parse(&parsed.to_string()).unwrap();
            prop_assert_eq!(
                (again.epoch, &again.upstream, &again.revision),
                (parsed.epoch, &parsed.upstream, &parsed.revision)
            );
            prop_assert_eq!(deb::compare(&text, &parsed.to_string()), Ok(Ordering::Equal));
        }
    }

    #[test]
    fn rpm_prints_back_to_the_same_fields(text in version_text()) {
        if let Ok(parsed) = Evr::parse(&text) {
            let again = Evr::parse(&parsed.to_string()).unwrap();
            prop_assert_eq!(
                (&again.epoch, &again.version, &again.release),
                (&parsed.epoch, &parsed.version, &parsed.release)
            );
        }
    }

    #[test]
    fn ord_of_the_types_is_compare(a in version_text(), b in version_text()) {
        // The strategy never writes `<unknown>`, the one version `compare` reads as "no
        // version" and `parse` takes (it refuses the other, the empty string).
        if let (Ok(x), Ok(y)) = (DebVersion::parse(&a), DebVersion::parse(&b)) {
            prop_assert_eq!(Ok(x.cmp(&y)), deb::compare(&a, &b));
        }
        if let (Ok(x), Ok(y)) = (Evr::parse(&a), Evr::parse(&b)) {
            prop_assert_eq!(Ok(x.cmp(&y)), rpm::compare(&a, &b));
        }
    }
}

/// Sorts generated versions and checks every pair against the sorted order: an order that is
/// not total (not transitive, say) fails here, and could make `sort` panic in a caller.
#[test]
fn generated_versions_are_totally_ordered() {
    for (scheme, flavour) in [(Scheme::Deb, Flavour::Deb), (Scheme::Rpm, Flavour::Rpm)] {
        let mut rng = Rng::new(super::seed());
        let mut versions: Vec<String> = (0..600)
            .map(|_| generate::version(flavour, &mut rng))
            .filter(|text| version::compare(scheme, text, text).is_ok())
            .collect();
        // Near misses of each other are where an order breaks; add some.
        let extra: Vec<String> = generate::pairs(flavour, super::seed(), 300)
            .into_iter()
            .flat_map(|(a, b)| [a, b])
            .filter(|text| version::compare(scheme, text, text).is_ok())
            .collect();
        versions.extend(extra);
        let compare = |a: &String, b: &String| version::compare(scheme, a, b).unwrap();
        versions.sort_by(compare);
        for (i, a) in versions.iter().enumerate() {
            for b in &versions[i + 1..] {
                assert_ne!(
                    compare(a, b),
                    Ordering::Greater,
                    "{scheme:?}: {a:?} > {b:?} after sorting"
                );
            }
        }
    }
}
