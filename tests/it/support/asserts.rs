//! Reading answers: asserting a refusal's code, reason and details, and
//! the parts of an answer tests compare.

use access_service::grpc::pb;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The template ids of shared templates.
pub fn template_ids(shared: &[pb::SharedTemplate]) -> Vec<&str> {
    shared.iter().map(|s| s.template_id.as_str()).collect()
}

/// A timestamp that must be set, as a comparable (seconds, nanos).
pub fn instant(ts: Option<prost_types::Timestamp>) -> (i64, i32) {
    let ts = ts.expect("timestamp set");
    (ts.seconds, ts.nanos)
}

/// The reason of a decision, as the enum.
pub fn reason(response: &pb::AuthorizeResponse) -> pb::DecisionReason {
    pb::DecisionReason::try_from(response.reason).expect("known reason")
}

/// Asserts a status code and returns the status for more checks.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    match result {
        Ok(value) => panic!("expected {code:?}, got Ok({value:?})"),
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            status
        }
    }
}

/// Asserts that a call was refused with `code` and the google.rpc.ErrorInfo
/// `reason` together (the code says what kind of refusal, the reason which
/// rule), and returns the status for more checks.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, reason: &str) -> Status {
    refused(result, code, reason, None)
}

/// [`assert_refused`] in a loop or table: `case` names the case in the failure.
#[track_caller]
pub fn assert_refused_for<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: &str,
    case: impl std::fmt::Display,
) -> Status {
    refused(result, code, reason, Some(&case))
}

#[track_caller]
fn refused<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: &str,
    case: Option<&dyn std::fmt::Display>,
) -> Status {
    let case = case.map(|case| format!("{case}: ")).unwrap_or_default();
    match result {
        Ok(value) => panic!("{case}expected {code:?} {reason}, got Ok({value:?})"),
        Err(status) => {
            assert_eq!(
                (status.code(), error_reason(&status).as_str()),
                (code, reason),
                "{case}unexpected refusal: {status:?}"
            );
            status
        }
    }
}

/// The fields named by a status's google.rpc.BadRequest.
pub fn bad_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The google.rpc.ErrorInfo metadata of a status as sorted `key=value` pairs.
pub fn error_metadata(status: &Status) -> Vec<String> {
    let mut pairs: Vec<String> = status
        .get_details_error_info()
        .map(|info| {
            info.metadata
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

/// The google.rpc.ErrorInfo reason of a status.
pub fn error_reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// The google.rpc.RetryInfo delay of a status, when it carries one.
pub fn retry_delay(status: &Status) -> Option<std::time::Duration> {
    status.get_details_retry_info().and_then(|info| info.retry_delay)
}

/// The `(field, reason)` of each google.rpc.BadRequest field violation.
pub fn violation_reasons(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| (v.field, v.reason))
                .collect()
        })
        .unwrap_or_default()
}
