//! User and group id mappings, in CRI-O's `CONTAINER-HOST-SIZE@...` format.
//!
//! A mapping is parsed and checked here, with no system call, so that a
//! malformed one is refused before any namespace exists. It is written to
//! `/proc/<pid>/uid_map` (see user_namespaces(7)) by the helper's parent.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The kernel accepts at most this many lines in one map (Linux 4.15+).
const MAX_LINES: usize = 340;

/// One line of a map: `size` ids from `container` inside map to `host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    /// First id inside the namespace.
    pub container: u32,
    /// First id outside it.
    pub host: u32,
    /// How many ids, at least one.
    pub size: u32,
}

/// A whole uid or gid map: parsed from CRI-O's format
/// (`CONTAINER-HOST-SIZE`, several joined by `@`, a trailing `@` allowed:
/// `0-100000-65536@`), or built with [`IdMap::from_ranges`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdMap(Vec<IdRange>);

impl IdMap {
    /// A map of `ranges`, checked as a parsed one is: each at least one id
    /// long and ending before 4294967295, none overlapping another inside
    /// or outside, at most 340 of them.
    ///
    /// ```
    /// use pinns::{IdMap, IdRange};
    ///
    /// let map = IdMap::from_ranges([
    ///     IdRange { container: 0, host: 1000, size: 1 },
    ///     IdRange { container: 1, host: 100000, size: 65535 },
    /// ])?;
    /// assert_eq!(map, "0-1000-1@1-100000-65535".parse()?);
    /// assert_eq!(map.to_host(1), Some(100000));
    /// # Ok::<(), pinns::Error>(())
    /// ```
    pub fn from_ranges(ranges: impl IntoIterator<Item = IdRange>) -> Result<IdMap, Error> {
        let ranges: Vec<IdRange> = ranges.into_iter().collect();
        let shown = IdMap(ranges.clone()).to_string();
        let invalid = |why: String| Error::InvalidArgument {
            what: "id mapping",
            value: shown.clone(),
            why,
        };
        if ranges.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        for range in &ranges {
            check_range(
                range,
                &format!("{}-{}-{}", range.container, range.host, range.size),
            )
            .map_err(invalid)?;
        }
        check_map(&ranges).map_err(invalid)?;
        Ok(IdMap(ranges))
    }

    /// The ranges, in the order given.
    pub fn ranges(&self) -> &[IdRange] {
        &self.0
    }

    /// The map in the kernel's `uid_map` syntax: one `C H S` line a range.
    pub fn to_kernel(&self) -> String {
        self.0
            .iter()
            .map(|r| format!("{} {} {}\n", r.container, r.host, r.size))
            .collect()
    }

    /// The host id that `container` maps to, if any.
    pub fn to_host(&self, container: u32) -> Option<u32> {
        self.0.iter().find_map(|r| {
            let offset = container.checked_sub(r.container)?;
            (offset < r.size).then(|| r.host + offset)
        })
    }
}

fn parse_range(text: &str) -> Result<IdRange, String> {
    let fields: Vec<&str> = text.split('-').collect();
    let [container, host, size] = fields[..] else {
        return Err(format!("'{text}' is not CONTAINER-HOST-SIZE"));
    };
    let number = |field: &str, what: &str| {
        if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{what} '{field}' in '{text}' is not a number"));
        }
        field
            .parse::<u32>()
            .map_err(|_| format!("{what} '{field}' in '{text}' is too large"))
    };
    let range = IdRange {
        container: number(container, "container id")?,
        host: number(host, "host id")?,
        size: number(size, "size")?,
    };
    check_range(&range, text)?;
    Ok(range)
}

/// One range's own limits; `text` is how it was written, for messages.
fn check_range(range: &IdRange, text: &str) -> Result<(), String> {
    if range.size == 0 {
        return Err(format!("size in '{text}' must be at least 1"));
    }
    // The kernel's ids are 32 bits and (u32)-1 is never valid, so each
    // range must end before it.
    for (start, what) in [(range.container, "container"), (range.host, "host")] {
        if u64::from(start) + u64::from(range.size) > u64::from(u32::MAX) {
            return Err(format!("{what} range in '{text}' runs past 4294967294"));
        }
    }
    Ok(())
}

/// The limits of a whole map: how many ranges, and none overlapping.
fn check_map(ranges: &[IdRange]) -> Result<(), String> {
    if ranges.len() > MAX_LINES {
        return Err(format!("more than {MAX_LINES} ranges"));
    }
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            if overlaps(a.container, b.container, a.size, b.size)
                || overlaps(a.host, b.host, a.size, b.size)
            {
                return Err("ranges overlap".into());
            }
        }
    }
    Ok(())
}

fn overlaps(a: u32, b: u32, size_a: u32, size_b: u32) -> bool {
    u64::from(a) < u64::from(b) + u64::from(size_b)
        && u64::from(b) < u64::from(a) + u64::from(size_a)
}

impl FromStr for IdMap {
    type Err = Error;

    fn from_str(text: &str) -> Result<IdMap, Error> {
        let invalid = |why: String| Error::InvalidArgument {
            what: "id mapping",
            value: text.to_string(),
            why,
        };
        // CRI-O ends every map with '@'; one trailing separator is allowed.
        let body = text.strip_suffix('@').unwrap_or(text);
        if body.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        let ranges = body
            .split('@')
            .map(parse_range)
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        check_map(&ranges).map_err(invalid)?;
        Ok(IdMap(ranges))
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("@")?;
            }
            write!(f, "{}-{}-{}", r.container, r.host, r.size)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_ranges_checks_as_parsing_does() {
        let r = |container, host, size| IdRange {
            container,
            host,
            size,
        };
        assert_eq!(
            IdMap::from_ranges([r(0, 100000, 65536)]).unwrap(),
            "0-100000-65536@".parse().unwrap()
        );
        for bad in [
            vec![],
            vec![r(0, 1, 0)],
            vec![r(0, 100, 10), r(5, 1000, 10)],
            vec![r(0, 100, 10), r(50, 105, 10)],
            vec![r(0, u32::MAX - 1, 2)],
        ] {
            let err = IdMap::from_ranges(bad.clone()).expect_err(&format!("{bad:?}"));
            assert!(err.is_invalid(), "{bad:?}: {err}");
        }
    }

    #[test]
    fn parses_crio_format() {
        let map: IdMap = "0-100000-65536@".parse().unwrap();
        assert_eq!(map.to_kernel(), "0 100000 65536\n");
        assert_eq!(map.to_host(0), Some(100000));
        assert_eq!(map.to_host(65536), None);
        let two: IdMap = "0-1000-1@1-100000-65535".parse().unwrap();
        assert_eq!(two.to_kernel(), "0 1000 1\n1 100000 65535\n");
        assert_eq!(two.to_string(), "0-1000-1@1-100000-65535");
    }

    #[test]
    fn refuses_bad_maps() {
        for bad in [
            "",
            "@",
            "@@",
            "0-1",
            "0-1-2-3",
            "a-1-1",
            "0-1-0",
            "-1-1-1",
            "0--1",
            "0-1-1@@",
            "0-4294967295-1",
            "0-100-10@5-1000-10",
            "0-100-10@50-105-1",
            "+1-1-1",
            "0 -1-1",
        ] {
            assert!(bad.parse::<IdMap>().is_err(), "{bad:?} was accepted");
        }
    }
}
