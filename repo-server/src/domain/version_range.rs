//! The (major, minor, patch) range a semver requirement can match: lets an index ordered by
//! version read only that range. Conservative (pre-release rules are left to `matches`), never
//! narrower than the requirement.

use semver::{Comparator, Op, VersionReq};

/// A version's (major, minor, patch).
pub type Triple = (u64, u64, u64);

/// Triples `lower <= t < upper`; `None` is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TripleRange {
    pub lower: Option<Triple>,
    pub upper: Option<Triple>,
}

impl TripleRange {
    /// Every triple a version matching `req` can have (the intersection over its comparators).
    pub fn of(req: &VersionReq) -> TripleRange {
        req.comparators
            .iter()
            .map(comparator_range)
            .fold(TripleRange::default(), TripleRange::intersect)
    }

    fn intersect(self, other: TripleRange) -> TripleRange {
        let lower = match (self.lower, other.lower) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let upper = match (self.upper, other.upper) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        TripleRange { lower, upper }
    }

    /// Nothing can match: the scan can be skipped.
    pub fn is_empty(&self) -> bool {
        matches!((self.lower, self.upper), (Some(l), Some(u)) if l >= u)
    }
}

/// The first triple after every one starting with the given parts (`1.2` → 1.3.0).
fn after(major: u64, minor: Option<u64>, patch: Option<u64>) -> Option<Triple> {
    match (minor, patch) {
        (Some(minor), Some(patch)) => Some((major, minor, patch.checked_add(1)?)),
        (Some(minor), None) => Some((major, minor.checked_add(1)?, 0)),
        (None, _) => Some((major.checked_add(1)?, 0, 0)),
    }
}

fn comparator_range(c: &Comparator) -> TripleRange {
    let floor = (c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
    let end_of_given = after(c.major, c.minor, c.patch);
    let (lower, upper) = match c.op {
        Op::Exact | Op::Wildcard => (Some(floor), end_of_given),
        // `>1.2.3` starts after 1.2.3; reading 1.2.3 itself too costs one group.
        Op::Greater | Op::GreaterEq => (Some(floor), None),
        // `<1.2.3` may not match 1.2.3's pre-releases, but reading them is harmless.
        Op::Less => (None, after(floor.0, Some(floor.1), Some(floor.2))),
        Op::LessEq => (None, end_of_given),
        // `~1.2.3` and `~1.2` stay within 1.2; `~1` within 1.
        Op::Tilde => (Some(floor), after(c.major, c.minor, None)),
        Op::Caret => (Some(floor), caret_end(c)),
        // A newer operator this code does not know: no bound, `matches` decides.
        _ => (None, None),
    };
    TripleRange { lower, upper }
}

/// `^1.2.3` → 2.0.0, `^0.2.3` → 0.3.0, `^0.0.3` → 0.0.4, `^0.0` → 0.1.0, `^0` → 1.0.0.
fn caret_end(c: &Comparator) -> Option<Triple> {
    match (c.major, c.minor, c.patch) {
        (0, Some(0), Some(patch)) => Some((0, 0, patch.checked_add(1)?)),
        (0, Some(minor), _) => Some((0, minor.checked_add(1)?, 0)),
        (major, _, _) => Some((major.checked_add(1)?, 0, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(req: &str) -> TripleRange {
        TripleRange::of(&req.parse().unwrap())
    }

    #[test]
    fn operators_bound_the_triples_they_can_match() {
        let r = |lower: Option<Triple>, upper: Option<Triple>| TripleRange { lower, upper };
        assert_eq!(range("*"), r(None, None));
        assert_eq!(range("^1.2.3"), r(Some((1, 2, 3)), Some((2, 0, 0))));
        assert_eq!(range("^0.2.3"), r(Some((0, 2, 3)), Some((0, 3, 0))));
        assert_eq!(range("^0.0.3"), r(Some((0, 0, 3)), Some((0, 0, 4))));
        assert_eq!(range("~1.2.3"), r(Some((1, 2, 3)), Some((1, 3, 0))));
        assert_eq!(range("~1"), r(Some((1, 0, 0)), Some((2, 0, 0))));
        assert_eq!(range("=1.2"), r(Some((1, 2, 0)), Some((1, 3, 0))));
        assert_eq!(range("1.2.*"), r(Some((1, 2, 0)), Some((1, 3, 0))));
        assert_eq!(range(">=1.2.3, <1.5"), r(Some((1, 2, 3)), Some((1, 5, 1))));
        assert_eq!(range("<=1.4"), r(None, Some((1, 5, 0))));
        assert!(range(">=2, <1").is_empty());
    }

    /// Whatever the requirement, a version it matches lies in its range.
    #[test]
    fn every_matching_version_is_in_the_range() {
        let reqs = [
            "^1.2.3",
            "^0.2",
            "^0.0.3",
            "~1.2",
            "~0",
            "=1.2.3-rc.1",
            ">1.2.3",
            ">=0.9, <1.3.0",
            "<=2",
            "<1.2.3",
            "1.*",
            ">1.2.3-alpha, <1.2.4",
            "*",
        ];
        let mut versions = Vec::new();
        for major in 0..3 {
            for minor in 0..6 {
                for patch in 0..5 {
                    versions.push(format!("{major}.{minor}.{patch}"));
                    versions.push(format!("{major}.{minor}.{patch}-rc.1"));
                    versions.push(format!("{major}.{minor}.{patch}-alpha"));
                }
            }
        }
        for req in reqs {
            let parsed: VersionReq = req.parse().unwrap();
            let bounds = TripleRange::of(&parsed);
            for v in &versions {
                let version = semver::Version::parse(v).unwrap();
                if parsed.matches(&version) {
                    let t = (version.major, version.minor, version.patch);
                    assert!(
                        bounds.lower.is_none_or(|l| t >= l) && bounds.upper.is_none_or(|u| t < u),
                        "{v} matches {req} but lies outside {bounds:?}"
                    );
                }
            }
        }
    }
}
