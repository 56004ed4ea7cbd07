//! Page requests and opaque page tokens for list use cases.

use crate::domain::error::FieldViolation;

/// Page size used when the caller passes 0.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page size accepted.
pub const MAX_PAGE_SIZE: usize = 1000;

/// A validated page request: how many rows, and after which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows wanted.
    pub size: usize,
    /// The sort key of the last row already seen.
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates `page_size` (0 = default, 1..=MAX) and decodes `page_token`.
    pub fn parse(page_size: i32, page_token: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let size = match usize::try_from(page_size) {
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(size) if size <= MAX_PAGE_SIZE => size,
            _ => {
                violations.push(FieldViolation::new(
                    "page_size",
                    format!(
                        "must be between 0 and {MAX_PAGE_SIZE} (0 means {DEFAULT_PAGE_SIZE}), got {page_size}"
                    ),
                ));
                0
            }
        };
        let after = if page_token.is_empty() {
            None
        } else {
            match hex::decode(page_token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
            {
                Some(key) => Some(key),
                None => {
                    violations.push(FieldViolation::new(
                        "page_token",
                        "is not a token this service issued: pass next_page_token from the previous response unchanged",
                    ));
                    None
                }
            }
        };
        if violations.is_empty() {
            Ok(Self { size, after })
        } else {
            Err(violations)
        }
    }

    /// Cuts one page out of rows the store already read in order after the
    /// key, at most one more than the page (that one says another page
    /// follows), with the token for the next page.
    pub fn cut<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
        let next = if rows.len() > self.size {
            rows.truncate(self.size);
            rows.last().map(|row| hex::encode(key(row))).unwrap_or_default()
        } else {
            String::new()
        };
        (rows, next)
    }

    /// Sorts rows by `key` and cuts one page out of them, with the token for
    /// the next one. Sorting here keeps pages consistent whatever order
    /// (database collation included) the rows arrived in.
    pub fn apply<T>(&self, rows: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
        let mut keyed: Vec<(String, T)> = rows.into_iter().map(|row| (key(&row), row)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let mut page: Vec<T> = keyed
            .into_iter()
            .map(|(_, row)| row)
            .filter(|row| self.after.as_ref().is_none_or(|after| key(row) > *after))
            .take(self.size + 1)
            .collect();
        let next = if page.len() > self.size {
            page.truncate(self.size);
            page.last().map(|row| hex::encode(key(row))).unwrap_or_default()
        } else {
            String::new()
        };
        (page, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_every_row_once() {
        let rows: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let mut request = PageRequest::parse(3, "").unwrap();
        let mut seen = Vec::new();
        loop {
            let (page, next) = request.apply(rows.clone(), Clone::clone);
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            request = PageRequest::parse(3, &next).unwrap();
        }
        assert_eq!(seen, rows);
    }

    #[test]
    fn bad_sizes_and_tokens_are_field_errors() {
        let fields = |size, token| {
            PageRequest::parse(size, token)
                .unwrap_err()
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(-1, ""), ["page_size"]);
        assert_eq!(fields(1001, "zz"), ["page_size", "page_token"]);
    }
}
