//! List requests: paging, sorting and the pool filters, parsed from query-string values.

use fwrepo_schemas::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use super::{validate_tag, DomainError, FirmwareTypeNumber, MAX_FILTER_TAGS};

/// Fields a list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Id,
    CreatedTimestamp,
    UpdatedTimestamp,
    VersionNumber,
    Name,
    Version,
    Description,
    Type,
}

impl SortField {
    fn parse(text: &str) -> Option<SortField> {
        Some(match text {
            "id" => SortField::Id,
            "createdTimestamp" => SortField::CreatedTimestamp,
            "updatedTimestamp" => SortField::UpdatedTimestamp,
            "versionNumber" => SortField::VersionNumber,
            "name" => SortField::Name,
            "version" => SortField::Version,
            "description" => SortField::Description,
            "type" => SortField::Type,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Id => "id",
            SortField::CreatedTimestamp => "createdTimestamp",
            SortField::UpdatedTimestamp => "updatedTimestamp",
            SortField::VersionNumber => "versionNumber",
            SortField::Name => "name",
            SortField::Version => "version",
            SortField::Description => "description",
            SortField::Type => "type",
        }
    }

    /// Ids, creation times and (within a type) version numbers are all allocated in the same
    /// order, so these sorts follow the index order without loading records.
    pub fn follows_id_order(self) -> bool {
        matches!(
            self,
            SortField::Id | SortField::CreatedTimestamp | SortField::VersionNumber
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDirection {
    Asc,
    Desc,
}

/// `page`, `size` and `sort` of a list request.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub page: u32,
    pub size: u32,
    pub sort: SortField,
    pub direction: SortDirection,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 0,
            size: DEFAULT_PAGE_SIZE,
            sort: SortField::Id,
            direction: SortDirection::Asc,
        }
    }
}

impl PageRequest {
    /// Parses the raw query values; absent values take the documented defaults.
    pub fn parse(
        page: Option<&str>,
        size: Option<&str>,
        sort: Option<&str>,
    ) -> Result<Self, DomainError> {
        let mut request = PageRequest::default();
        if let Some(page) = page {
            request.page = page.parse().map_err(|_| {
                DomainError::InvalidPaging(format!("page must be an integer 0-{}", u32::MAX))
            })?;
        }
        if let Some(size) = size {
            request.size = size
                .parse()
                .ok()
                .filter(|s| (1..=MAX_PAGE_SIZE).contains(s))
                .ok_or_else(|| {
                    DomainError::InvalidPaging(format!("size must be an integer 1-{MAX_PAGE_SIZE}"))
                })?;
        }
        if let Some(sort) = sort.filter(|s| !s.is_empty()) {
            let (field, direction) = sort.split_once(',').unwrap_or((sort, "asc"));
            request.sort = SortField::parse(field)
                .ok_or_else(|| DomainError::InvalidPaging(format!("cannot sort by '{field}'")))?;
            request.direction = match direction.to_ascii_lowercase().as_str() {
                "asc" => SortDirection::Asc,
                "desc" => SortDirection::Desc,
                _ => {
                    return Err(DomainError::InvalidPaging(
                        "sort direction must be asc or desc".into(),
                    ))
                }
            };
        }
        Ok(request)
    }

    /// The applied sort as the page object shows it.
    /// A Span list's `page` and `size` (its order is fixed). Without `size` the page is the
    /// largest one, so a client of the unpaged Span API still gets lists of up to 1000 whole.
    pub fn parse_span(page: Option<&str>, size: Option<&str>) -> Result<Self, DomainError> {
        let mut request = PageRequest::parse(page, size, None)?;
        if size.is_none() {
            request.size = MAX_PAGE_SIZE;
        }
        Ok(request)
    }

    pub fn sort_label(&self) -> String {
        let direction = match self.direction {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        };
        format!("{},{direction}", self.sort.as_str())
    }

    /// Index range of this page in a result of `total` elements.
    pub fn window(&self, total: usize) -> std::ops::Range<usize> {
        let start = (self.page as usize)
            .saturating_mul(self.size as usize)
            .min(total);
        start..start.saturating_add(self.size as usize).min(total)
    }
}

/// Filters of a pool listing.
#[derive(Debug, Clone, Default)]
pub struct PoolQuery {
    pub fw_type: Option<FirmwareTypeNumber>,
    pub tags: Vec<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub version_req: Option<semver::VersionReq>,
    pub latest: bool,
    /// Lowercase hex prefix of a git commit, matched against `git:<sha>` tags.
    pub commit: Option<String>,
    /// Records of exactly this binary.
    pub sha256: Option<super::Sha256Digest>,
    pub page: PageRequest,
}

/// The order of `sort=version` in every list (pool records and device-type images): semver
/// precedence where both parse (1.9.0 before 1.10.0; build metadata ignored), a version
/// that does not parse before one that does, then the version number (so among versions
/// that are not semver, the newest record is the highest).
pub fn version_order(a: (&str, u64), b: (&str, u64)) -> std::cmp::Ordering {
    let parsed = |v: &str| semver::Version::parse(v).ok();
    match (parsed(a.0), parsed(b.0)) {
        (Some(va), Some(vb)) => va.cmp_precedence(&vb),
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
    .then(a.1.cmp(&b.1))
}

/// Splits a `tags=a,b` value; empty items are ignored.
pub fn parse_tag_filter(raw: Option<&str>) -> Result<Vec<String>, DomainError> {
    let tags: Vec<String> = raw
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    if tags.len() > MAX_FILTER_TAGS {
        return Err(DomainError::InvalidQuery(format!(
            "at most {MAX_FILTER_TAGS} tags in a filter"
        )));
    }
    for tag in &tags {
        validate_tag(tag).map_err(|e| DomainError::InvalidQuery(e.to_string()))?;
    }
    Ok(tags)
}

/// A commit filter: 7-40 hex characters.
pub fn parse_commit(raw: &str) -> Result<String, DomainError> {
    if (7..=40).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(DomainError::InvalidQuery(
            "commit must be 7-40 hex characters".into(),
        ))
    }
}

/// A semver requirement such as `^1.2` or `>=1.0, <2`.
pub fn parse_version_req(raw: &str) -> Result<semver::VersionReq, DomainError> {
    semver::VersionReq::parse(raw)
        .map_err(|e| DomainError::InvalidQuery(format!("versionReq '{raw}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_and_limits() {
        let page = PageRequest::parse(None, None, None).unwrap();
        assert_eq!(
            (page.page, page.size, page.sort_label().as_str()),
            (0, 50, "id,asc")
        );
        assert!(PageRequest::parse(Some("-1"), None, None).is_err());
        assert!(PageRequest::parse(None, Some("0"), None).is_err());
        assert!(PageRequest::parse(None, Some("1001"), None).is_err());
        assert!(PageRequest::parse(None, Some("99999999999999999999"), None).is_err());
        assert!(PageRequest::parse(None, None, Some("password,asc")).is_err());
        assert!(PageRequest::parse(None, None, Some("name,sideways")).is_err());
        let sorted =
            PageRequest::parse(Some("2"), Some("10"), Some("updatedTimestamp,DESC")).unwrap();
        assert_eq!(sorted.sort_label(), "updatedTimestamp,desc");
        assert_eq!(sorted.window(25), 20..25);
        assert_eq!(sorted.window(5), 5..5);
    }

    #[test]
    fn huge_page_does_not_overflow() {
        let page = PageRequest::parse(Some(&u32::MAX.to_string()), Some("1000"), None).unwrap();
        assert_eq!(page.window(10), 10..10);
    }

    #[test]
    fn filters() {
        assert_eq!(
            parse_tag_filter(Some("a, b,,c")).unwrap(),
            vec!["a", "b", "c"]
        );
        assert!(parse_commit("abc").is_err());
        assert_eq!(parse_commit("ABCDEF1").unwrap(), "abcdef1");
        assert!(parse_version_req("^1.2").is_ok());
        assert!(parse_version_req("not a req").is_err());
    }
}
