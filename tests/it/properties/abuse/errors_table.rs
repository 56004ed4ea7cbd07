//! docs/errors.md read as data: each ErrorInfo reason of its table with
//! the one code it comes with.

use std::collections::{BTreeMap, BTreeSet};

use access_service::domain::ErrorReason;

/// docs/errors.md, the table every RPC follows.
const ERRORS_MD: &str = include_str!("../../../../docs/errors.md");

/// Each ErrorInfo reason of the table in docs/errors.md with its code, as
/// tonic names it (`PermissionDenied`); a reason listed under two codes is
/// an error of the table.
pub(super) fn documented_codes() -> Result<BTreeMap<String, String>, String> {
    let mut codes = BTreeMap::new();
    for line in ERRORS_MD.lines().filter(|line| line.starts_with("| ")) {
        let columns: Vec<&str> = line.split(" | ").collect();
        let [_, code, details] = columns[..] else { continue };
        let Some(code) = backticked(code).next() else {
            continue;
        };
        let code = camel_case(code);
        for reason in backticked(details).filter(|token| is_reason(token)) {
            if let Some(other) = codes.insert(reason.to_owned(), code.clone())
                && other != code
            {
                return Err(format!("docs/errors.md lists {reason} under {other} and {code}"));
            }
        }
    }
    Ok(codes)
}

/// The `quoted` tokens of a table cell.
fn backticked(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`').skip(1).step_by(2)
}

/// An ErrorInfo reason: upper case words joined by underscores.
fn is_reason(token: &str) -> bool {
    token.len() > 3 && token.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// `PERMISSION_DENIED` as tonic's `Code` Debug prints it: `PermissionDenied`.
fn camel_case(code: &str) -> String {
    code.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect()
}

/// The table itself gives each reason one code, and knows the codes of the
/// reasons every layer uses.
#[test]
fn the_table_gives_each_reason_one_code() {
    let codes = documented_codes().unwrap_or_else(|err| panic!("{err}"));
    for (reason, code) in [
        ("API_KEY_MISSING", "Unauthenticated"),
        ("SCOPE_MISSING", "PermissionDenied"),
        ("INVITATION_TOKEN_UNKNOWN", "NotFound"),
        ("OWNER_ONLY_PERMISSION", "FailedPrecondition"),
        ("MEMBER_LIMIT_REACHED", "ResourceExhausted"),
        ("PENDING_INVITATION_LIMIT_REACHED", "ResourceExhausted"),
        ("CALLER_CONCURRENCY_LIMIT", "ResourceExhausted"),
        ("WATCH_LIMIT_REACHED", "ResourceExhausted"),
        ("CALLER_WATCH_LIMIT", "ResourceExhausted"),
        ("WATCH_READER_TOO_SLOW", "Aborted"),
        ("WATCH_MAX_AGE", "Aborted"),
    ] {
        assert_eq!(codes.get(reason).map(String::as_str), Some(code), "{reason}");
    }
}

/// The table and `ErrorReason` list the same reasons: a reason the code can
/// give that the table leaves out, or a documented reason no code gives,
/// fails here.
#[test]
fn the_table_lists_every_error_reason_and_no_other() {
    let documented: BTreeSet<String> = documented_codes()
        .unwrap_or_else(|err| panic!("{err}"))
        .into_keys()
        .collect();
    let declared: BTreeSet<String> = ErrorReason::ALL
        .iter()
        .map(|reason| reason.as_str().to_owned())
        .collect();
    let undocumented: Vec<&String> = declared.difference(&documented).collect();
    let unknown: Vec<&String> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty(),
        "ErrorReason variants missing from docs/errors.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/errors.md lists reasons that are not ErrorReason variants: {unknown:?}"
    );
}
