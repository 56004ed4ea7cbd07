//! The abuse catalogue (one condition, one status: docs/errors.md): every RPC of
//! `access.v1.AccessService` against what a careless or hostile caller sends
//! (no key, a key of the wrong scope, an empty request, oversized and
//! malformed fields, unknown ids, another account's ids, escalation
//! attempts, replayed or revoked tokens), each answering the one status
//! docs/errors.md gives its condition, and writing nothing: every table's
//! row count, the activity log's included, is the same after each case, and
//! so is a digest of every row (a refusal after an UPDATE would change no
//! count).
//!
//! One [`Row`] per RPC, in a file per area. The catalogue is complete by
//! construction: `every_rpc_has_a_row` reads the service's methods from the
//! compiled descriptor and fails for a method without a row, a row for no
//! method, or a request of the wrong type. Adding an RPC means adding a row:
//! `Row::new("Method", a_well_formed_request)` then `.case(what, request,
//! expected)` per abuse; the well-formed request is what the no-key and
//! wrong-scope cases send. A server-streaming RPC starts with
//! `Row::streaming` (its outcome is the refusal, or the first message).
//! `.case_with` adds metadata (the actor's session); `.read::<_, Response>`
//! is for a case answered OK, whose answer `answers(text)` reads. Every
//! ErrorInfo reason a case meets must be in docs/errors.md with its code.
//! Every row also has cases of a caller bound to tenants reaching into
//! another tenant (`tenants.rs`), sent with that caller's key.

mod accounts;
mod changes;
mod decisions;
mod engine;
mod errors_table;
mod fixture;
mod invitations;
mod lookups;
mod members;
mod previews;
mod roles;
mod sharing;
mod tenants;

use std::collections::{BTreeMap, BTreeSet};

use access_service::grpc::middleware::{KeyScope, SERVICE, scope_of};
use access_service::grpc::pb::FILE_DESCRIPTOR_SET;
use prost::Message;
use prost_types::FileDescriptorSet;
use tonic::Code;

use crate::support::{TestApp, error_reason};
pub(crate) use engine::{Expect, Row, answers, bad, denied, exhausted, exists, lacks, missing, precondition};
use errors_table::documented_codes;
pub(crate) use fixture::Fixture;

/// Every row of the catalogue.
fn rows(fx: &Fixture) -> Vec<Row> {
    [
        accounts::rows(fx),
        changes::rows(fx),
        decisions::rows(fx),
        invitations::rows(fx),
        lookups::rows(fx),
        members::rows(fx),
        previews::rows(),
        roles::rows(fx),
        sharing::rows(fx),
    ]
    .into_iter()
    .flatten()
    .map(|row| tenants::add(row, fx))
    .collect()
}

/// The service's methods as the compiled proto describes them: name, input
/// message name, server-streaming.
fn described_methods() -> Vec<(String, String, bool)> {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
    let (package, service) = SERVICE.rsplit_once('.').expect("package.Service");
    set.file
        .iter()
        .filter(|file| file.package() == package)
        .flat_map(|file| &file.service)
        .filter(|s| s.name() == service)
        .flat_map(|s| &s.method)
        .map(|m| {
            let input = m.input_type().rsplit('.').next().unwrap_or_default().to_owned();
            (m.name().to_owned(), input, m.server_streaming())
        })
        .collect()
}

/// Complete by construction: every RPC of the descriptor has exactly one
/// row, every row names an RPC, and each row's requests are that RPC's
/// message (unary or streaming as the RPC is).
#[test]
fn every_rpc_has_a_row() {
    let rows = rows(&Fixture::placeholder());
    let methods = described_methods();
    let described: BTreeSet<&str> = methods.iter().map(|(name, _, _)| name.as_str()).collect();
    let mut listed = BTreeSet::new();
    for row in &rows {
        assert!(listed.insert(row.method), "{} has two rows", row.method);
    }
    let without_row: Vec<&&str> = described.difference(&listed).collect();
    assert!(
        without_row.is_empty(),
        "RPCs without a row in the abuse catalogue (tests/it/properties/abuse/): {without_row:?}"
    );
    let unknown: Vec<&&str> = listed.difference(&described).collect();
    assert!(unknown.is_empty(), "rows for no RPC: {unknown:?}");
    for row in &rows {
        let (_, input, streaming) = methods
            .iter()
            .find(|(name, _, _)| name == row.method)
            .expect("checked above");
        assert!(!row.cases.is_empty(), "{}: a row without cases", row.method);
        assert!(
            row.cases.iter().any(|case| case.key.is_some()),
            "{}: no case of a caller bound to tenants reaching into another (tenants.rs)",
            row.method
        );
        for (what, request) in
            std::iter::once(("sample", &row.sample)).chain(row.cases.iter().map(|c| (c.what, &c.request)))
        {
            assert_eq!(
                (request.input, request.streaming),
                (input.as_str(), *streaming),
                "{} / {what}: the request is not this RPC's",
                row.method
            );
        }
    }
}

/// The keys of [`crate::support::keys`] that hold and that lack `scope`.
fn keys_for(scope: KeyScope) -> (&'static str, &'static str) {
    match scope {
        KeyScope::Check => (
            "check-secret-long-enough-for-tests",
            "no-check-secret-long-enough-for-tests",
        ),
        KeyScope::Read => (crate::support::WEB_KEY, "no-read-secret-long-enough-for-tests"),
        KeyScope::Write => (crate::support::WEB_KEY, "no-write-secret-long-enough-for-tests"),
        KeyScope::Platform => (
            "platform-secret-long-enough-for-tests",
            "no-platform-secret-long-enough-for-tests",
        ),
        KeyScope::InvitationTokens => panic!("no RPC needs invitation_tokens"),
    }
}

/// The replica the cases go to: it requires API keys, its email limits are
/// full for the fixture's people (one email an hour per actor; an invitation
/// is not sent again within an hour), and it holds few watches open, so the
/// rows meet them.
fn keyed_and_limited(config: &mut access_service::Config) {
    crate::support::keys(config);
    config.email.email_limit_per_actor = 1;
    config.email.invitation_resend_cooldown_secs = 3600;
    // The gauge of open watches, waited on after each stream.
    config.metrics_addr = Some("127.0.0.1:0".parse().expect("an address"));
    config.watch.watch_max_open = changes::MAX_OPEN;
    config.watch.watch_max_open_per_caller = changes::MAX_OPEN_PER_CALLER;
}

/// Runs every case of every row against a replica that requires API keys
/// (the fixture is written through the open server), checking each answer
/// and that nothing was written; reports every case that failed at once.
async fn every_abuse_is_refused_precisely_and_writes_nothing(app: TestApp) {
    let fx = Fixture::seed(&app).await;
    let keyed = app.replica_with(keyed_and_limited).await;
    let mut failures = Vec::new();
    let mut cases = 0;
    // One reason, one code: every case that answered a reason, by reason.
    let mut codes_of: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut counts = app.table_counts().await;
    let digest = app.table_digests().await;
    let mut digests = digest.read(&app).await;
    for row in rows(&fx) {
        let path = format!("/{SERVICE}/{}", row.method);
        let Some(scope) = scope_of(&path) else {
            failures.push(format!("{}: no scope in METHOD_SCOPES", row.method));
            continue;
        };
        let (holding, lacking) = keys_for(scope);
        let auth = [
            (
                "no key",
                None,
                &row.sample,
                Expect::Refused(Code::Unauthenticated, "API_KEY_MISSING"),
            ),
            (
                "a key without the RPC's scope",
                Some(lacking),
                &row.sample,
                denied("SCOPE_MISSING"),
            ),
        ];
        let runs = auth
            .iter()
            .map(|(what, key, request, expect)| (*what, *key, *request, expect))
            .chain(row.cases.iter().map(|case| {
                (
                    case.what,
                    Some(case.key.unwrap_or(holding)),
                    &case.request,
                    &case.expect,
                )
            }));
        for (what, key, request, expect) in runs {
            cases += 1;
            let outcome = (request.send)(keyed.channel.clone(), key, path.clone()).await;
            if request.streaming {
                // Its streams closed, and let go by the server, so the next
                // case finds no cap on open watches taken.
                until_no_watches(&keyed).await;
            }
            if let Err(why) = expect.judge(&outcome) {
                failures.push(format!("{} / {what}: expected {expect}, {why}", row.method));
            }
            if let Err(status) = &outcome {
                let reason = error_reason(status);
                if !reason.is_empty() {
                    codes_of
                        .entry(reason)
                        .or_default()
                        .entry(format!("{:?}", status.code()))
                        .or_insert_with(|| format!("{} / {what}", row.method));
                }
            }
            let now = app.table_counts().await;
            if now != counts {
                failures.push(format!(
                    "{} / {what}: wrote rows: {:?}",
                    row.method,
                    changed(&counts, &now)
                ));
                counts = now;
            }
            let now = digest.read(&app).await;
            if now != digests {
                let tables: Vec<&String> = now
                    .iter()
                    .filter(|(table, digest)| digests.get(*table) != Some(digest))
                    .map(|(table, _)| table)
                    .collect();
                failures.push(format!("{} / {what}: changed rows of {tables:?}", row.method));
                digests = now;
            }
        }
    }
    let documented = documented_codes().unwrap_or_else(|err| panic!("{err}"));
    for (reason, codes) in codes_of {
        if codes.len() > 1 {
            failures.push(format!("{reason} comes with more than one code: {codes:?}"));
        }
        for (code, case) in codes {
            match documented.get(&reason) {
                Some(listed) if *listed == code => {}
                Some(listed) => failures.push(format!(
                    "{case}: {reason} came with {code}, docs/errors.md gives it {listed}"
                )),
                None => failures.push(format!("{case}: {reason} ({code}) is not in docs/errors.md")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} abuse cases answered otherwise:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Waits until the server holds no watch open (failing after a minute).
async fn until_no_watches(app: &TestApp) {
    for _ in 0..3000 {
        if app.metric("access_watches_open", &[]).await == 0.0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the server still holds watches a minute after their clients closed them");
}

/// The tables whose counts differ: (table, before, after).
fn changed(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> Vec<(String, i64, i64)> {
    after
        .iter()
        .filter(|(table, n)| before.get(*table) != Some(n))
        .map(|(table, n)| (table.clone(), before.get(table).copied().unwrap_or(0), *n))
        .collect()
}

crate::on_both_databases!(every_abuse_is_refused_precisely_and_writes_nothing);
