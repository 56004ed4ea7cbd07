//! Page requests and opaque page tokens for list use cases.

use chrono::{DateTime, Utc};

use crate::domain::error::{DomainError, FieldViolation};

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

    /// The page of rows the store stopped reading early (at a byte budget):
    /// rows follow the last one, whatever their number, so the token always
    /// points after it.
    pub fn cut_short<T>(&self, rows: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
        let next = rows.last().map(|row| hex::encode(key(row))).unwrap_or_default();
        (rows, next)
    }

    /// How many candidates a lookup judges for one page: a bounded read
    /// whatever the listing's size, wide enough that a page is seldom short.
    pub fn window(&self) -> usize {
        4 * self.size + 1
    }

    /// Cuts a page out of the rows allowed among a window of candidates read
    /// in order after the key ([`Self::window`]). When the window was full,
    /// `window_end` is the key of its last candidate: rows may follow it, so
    /// a page short of `size` still carries a token, to go on after it.
    pub fn cut_window<T>(
        &self,
        rows: Vec<T>,
        key: impl Fn(&T) -> String,
        window_end: Option<String>,
    ) -> (Vec<T>, String) {
        if rows.len() > self.size {
            return self.cut(rows, key);
        }
        (rows, window_end.map(hex::encode).unwrap_or_default())
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

/// Where a row stands in a newest-first list (invitations, access requests):
/// its creation time (to the millisecond, as stored), then its id. A page
/// key spells it `{age}:{id}`, the age being `i64::MAX` minus the time in
/// milliseconds, zero-padded, so that keys of older rows sort after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewestFirstKey {
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// The row's id, which orders rows created in the same millisecond.
    pub id: String,
}

impl NewestFirstKey {
    /// The key of a row created at `at` with id `id`, as a page carries it.
    pub fn spell(at: DateTime<Utc>, id: &str) -> String {
        let age = i64::MAX - at.timestamp_millis();
        format!("{age:020}:{id}")
    }

    /// Reads a key written by [`Self::spell`]; a token this service did not
    /// issue is the caller's error.
    pub fn decode(key: &str) -> Result<Self, DomainError> {
        key.split_once(':')
            .and_then(|(age, id)| {
                let age: i64 = age.parse().ok()?;
                Some(Self {
                    created_at: DateTime::from_timestamp_millis(i64::MAX.checked_sub(age)?)?,
                    id: id.to_owned(),
                })
            })
            .ok_or_else(|| {
                DomainError::invalid(
                    "page_token",
                    "is not a token this service issued: pass next_page_token from the previous response unchanged",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_points_past_itself_however_few_rows_it_allowed() {
        let request = PageRequest::parse(2, "").unwrap();
        assert_eq!(request.window(), 9);
        let key = |row: &&str| (*row).to_owned();
        // The window was full: rows may follow its last candidate "k8".
        let (rows, next) = request.cut_window(vec!["k1"], key, Some("k8".to_owned()));
        assert_eq!((rows, next), (vec!["k1"], hex::encode("k8")));
        let (rows, next) = request.cut_window(vec![], key, Some("k8".to_owned()));
        assert_eq!((rows.len(), next), (0, hex::encode("k8")));
        // More rows than the page: the page ends at its last row.
        let (rows, next) = request.cut_window(vec!["k1", "k2", "k3"], key, Some("k8".to_owned()));
        assert_eq!((rows, next), (vec!["k1", "k2"], hex::encode("k2")));
        // The window was not full: nothing follows.
        let (rows, next) = request.cut_window(vec!["k1"], key, None);
        assert_eq!((rows, next), (vec!["k1"], String::new()));
    }

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

    #[test]
    fn newest_first_keys_round_trip_and_older_rows_sort_after() {
        let at = DateTime::from_timestamp_millis(1_764_000_000_123).unwrap();
        let key = NewestFirstKey::spell(at, "inv:1");
        assert_eq!(
            NewestFirstKey::decode(&key).ok(),
            Some(NewestFirstKey {
                created_at: at,
                id: "inv:1".to_owned()
            })
        );
        let older = NewestFirstKey::spell(at - chrono::Duration::milliseconds(1), "a");
        assert!(older > key);
        for garbage in ["", "12", "x:a", "-5:a"] {
            assert!(NewestFirstKey::decode(garbage).is_err(), "{garbage}");
        }
    }
}
