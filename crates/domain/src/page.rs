use serde::{Deserialize, Serialize};

/// The one pagination type: 1-based page numbers, bounded page sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub const DEFAULT_PER_PAGE: u32 = 50;
    pub const MAX_PER_PAGE: u32 = 500;
    /// Far beyond any real list, and within a signed 32-bit integer as the API documents it.
    pub const MAX_PAGE: u32 = 1_000_000;

    /// Missing values take defaults; out-of-range values are refused, not silently clamped.
    pub fn parse(page: Option<u32>, per_page: Option<u32>) -> Result<Page, crate::DomainError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if page == 0 || page > Self::MAX_PAGE {
            return Err(crate::DomainError::invalid(
                "page",
                crate::reason!("errors.must_between_1", max = Self::MAX_PAGE),
            ));
        }
        if per_page == 0 || per_page > Self::MAX_PER_PAGE {
            return Err(crate::DomainError::invalid(
                "per_page",
                crate::reason!("errors.must_between_1", max = Self::MAX_PER_PAGE),
            ));
        }
        Ok(Page { page, per_page })
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

impl Default for Page {
    fn default() -> Self {
        Page { page: 1, per_page: Self::DEFAULT_PER_PAGE }
    }
}

/// One page of results plus the total, so lists can show "page 3 of 20".
#[derive(Debug, Clone, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// `total` is a lower bound: counting stopped early (large case lists count at most
    /// 10,000 rows past the page asked for).
    pub total_is_lower_bound: bool,
}

impl<T> Paged<T> {
    pub fn pages(&self) -> u32 {
        let per = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per - 1) / per).unwrap_or(u32::MAX).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(Page::parse(None, None).unwrap(), Page::default());
        assert_eq!(Page::parse(Some(3), Some(20)).unwrap().offset(), 40);
        assert!(
            matches!(Page::parse(Some(0), None), Err(crate::DomainError::Invalid { field, .. }) if field == "page")
        );
        assert!(Page::parse(None, Some(501)).is_err());
        // Found by the API fuzzer: 2^31 was accepted although the API documents 32-bit integers.
        assert!(Page::parse(Some(Page::MAX_PAGE), None).is_ok());
        assert!(
            matches!(Page::parse(Some(2_147_483_648), None), Err(crate::DomainError::Invalid { field, .. }) if field == "page")
        );
        let p = Paged { items: vec![1], total: 101, page: 1, per_page: 50, total_is_lower_bound: false };
        assert_eq!(p.pages(), 3);
        let empty: Paged<u8> = Paged { items: vec![], total: 0, page: 1, per_page: 50, total_is_lower_bound: false };
        assert_eq!(empty.pages(), 1);
    }
}
