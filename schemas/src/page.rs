//! The page object every list endpoint answers (Spring-style, as the Afero documents show).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One page of a list result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<T> {
    /// Zero-based index of this page.
    pub number: u32,
    /// Requested page size.
    pub size: u32,
    pub total_pages: u64,
    /// Elements on this page.
    pub number_of_elements: u32,
    /// Elements on all pages.
    pub total_elements: u64,
    pub content: Vec<T>,
    /// The applied sort, `field,asc|desc`.
    pub sort: String,
}

/// Where a Span list's page lies in the whole list: the fields of [`Page`] but its content,
/// which a Span answer keeps under its own name (`collections`, `images`, `devices`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageInfo {
    /// Zero-based index of this page.
    pub number: u32,
    /// Requested page size (`size`, 1-1000; 1000 when absent).
    pub size: u32,
    pub total_pages: u64,
    /// Entries on this page.
    pub number_of_elements: u32,
    /// Entries on all pages.
    pub total_elements: u64,
    /// The order of the list, `field,asc`.
    pub sort: String,
}
