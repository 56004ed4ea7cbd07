//! The abuse catalogue (issue 10 item 5, issue 9 item 2): every RPC of
//! `access.v1.AccessService` against what a careless or hostile caller sends
//! (no key, a key of the wrong scope, an empty request, oversized and
//! malformed fields, unknown ids, another account's ids, escalation
//! attempts, replayed or revoked tokens), each answering the one status
//! docs/errors.md gives its condition, and writing nothing: every table's
//! row count, the activity log's included, is the same after each case.
//!
//! One [`Row`] per RPC, in a file per area. The catalogue is complete by
//! construction: `every_rpc_has_a_row` reads the service's methods from the
//! compiled descriptor and fails for a method without a row, a row for no
//! method, or a request of the wrong type. Adding an RPC means adding a row:
//! `Row::new("Method", a_well_formed_request)` then `.case(what, request,
//! expected)` per abuse; the well-formed request is what the no-key and
//! wrong-scope cases send.

mod accounts;
mod decisions;
mod fixture;
mod invitations;
mod members;
mod roles;
mod templates;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use access_service::grpc::middleware::{SERVICE, Scope, scope_of};
use access_service::grpc::pb::FILE_DESCRIPTOR_SET;
use prost::Message;
use prost_types::FileDescriptorSet;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::helpers::{TestApp, bad_fields, error_reason};
pub(crate) use fixture::Fixture;

/// What a case got: the answer's Debug text, or the refusal.
type Outcome = Result<String, Status>;

/// gRPC metadata a case sends besides the API key.
type Metadata = &'static [(&'static str, &'static str)];

/// Sends one request to `path` with an optional API key.
type Sender = Arc<
    dyn Fn(Channel, Option<&'static str>, String) -> Pin<Box<dyn Future<Output = Outcome> + Send>>
        + Send
        + Sync,
>;

/// One request to one RPC, with its message type's name (checked against the
/// descriptor, so a row cannot send another RPC's message).
#[derive(Clone)]
pub(crate) struct Request {
    input: &'static str,
    streaming: bool,
    send: Sender,
}

impl Request {
    /// A unary request whose answer is not read (only its status is).
    fn unary<Req>(request: Req, metadata: Metadata) -> Self
    where
        Req: Message + Clone + Send + Sync + 'static,
    {
        Self::answered::<Req, ()>(request, metadata)
    }

    /// A unary request whose answer (as Debug text) an [`Expect::Answers`] reads.
    fn answered<Req, Resp>(request: Req, metadata: Metadata) -> Self
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + std::fmt::Debug + Send + 'static,
    {
        let send: Sender = Arc::new(move |channel, key, path| {
            let request = request.clone();
            Box::pin(async move {
                let (mut grpc, path) = ready(channel, path).await?;
                grpc.unary::<Req, Resp, _>(
                    keyed(request, key, metadata),
                    path,
                    tonic_prost::ProstCodec::default(),
                )
                .await
                .map(|answer| format!("{:?}", answer.into_inner()))
            })
        });
        Self {
            input: short_type_name::<Req>(),
            streaming: false,
            send,
        }
    }

    /// A server-streaming request: its outcome is the first message or the
    /// refusal (a stream that stays open without either is a failure).
    #[allow(dead_code)] // Used once a streaming RPC (WatchChanges) has a row.
    fn streaming<Req>(request: Req, metadata: Metadata) -> Self
    where
        Req: Message + Clone + Send + Sync + 'static,
    {
        let send: Sender = Arc::new(move |channel, key, path| {
            let request = request.clone();
            Box::pin(async move {
                let (mut grpc, path) = ready(channel, path).await?;
                let mut stream = grpc
                    .server_streaming::<Req, (), _>(
                        keyed(request, key, metadata),
                        path,
                        tonic_prost::ProstCodec::default(),
                    )
                    .await?
                    .into_inner();
                match tokio::time::timeout(Duration::from_secs(5), stream.message()).await {
                    Ok(first) => first.map(|message| format!("{message:?}")),
                    Err(_) => Ok("a stream that stayed open".to_owned()),
                }
            })
        });
        Self {
            input: short_type_name::<Req>(),
            streaming: true,
            send,
        }
    }
}

/// A client on `channel` ready to call `path`.
async fn ready(
    channel: Channel,
    path: String,
) -> Result<(tonic::client::Grpc<Channel>, http::uri::PathAndQuery), Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|err| Status::unavailable(err.to_string()))?;
    Ok((grpc, http::uri::PathAndQuery::try_from(path).expect("a path")))
}

fn keyed<Req>(request: Req, key: Option<&'static str>, metadata: Metadata) -> tonic::Request<Req> {
    let mut request = tonic::Request::new(request);
    for (name, value) in metadata {
        request
            .metadata_mut()
            .insert(*name, value.parse().expect("ASCII metadata"));
    }
    if let Some(key) = key {
        let value = format!("Bearer {key}").parse().expect("an ASCII key");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// `CreateAccountRequest` of `access_service::grpc::pb::CreateAccountRequest`.
fn short_type_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

/// The answer a case must get.
pub(crate) enum Expect {
    /// INVALID_ARGUMENT whose google.rpc.BadRequest names exactly these fields.
    Bad(&'static [&'static str]),
    /// NOT_FOUND with a google.rpc.ResourceInfo of this resource type.
    Missing(&'static str),
    /// This code with this google.rpc.ErrorInfo reason.
    Refused(Code, &'static str),
    /// OK, and the answer's Debug text holds this (a read that finds
    /// nothing, a decision that denies).
    Answers(&'static str),
}

impl Expect {
    /// Whether `outcome` is what is expected; why not, if it is not.
    fn judge(&self, outcome: &Outcome) -> Result<(), String> {
        let status = match (self, outcome) {
            (Self::Answers(text), Ok(answer)) if answer.contains(text) => return Ok(()),
            (Self::Answers(text), Ok(answer)) => {
                return Err(format!("answered without {text:?}: {}", clip(answer)));
            }
            (Self::Answers(_), Err(status)) => return Err(format!("refused: {}", describe(status))),
            (Self::Bad(_) | Self::Missing(_) | Self::Refused(..), Ok(answer)) => {
                return Err(format!("answered OK: {}", clip(answer)));
            }
            (Self::Bad(_) | Self::Missing(_) | Self::Refused(..), Err(status)) => status,
        };
        let matches = match self {
            Self::Bad(fields) => {
                let mut named = bad_fields(status);
                named.sort();
                let mut wanted: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
                wanted.sort();
                status.code() == Code::InvalidArgument && named == wanted
            }
            Self::Missing(kind) => {
                status.code() == Code::NotFound
                    && status
                        .get_details_resource_info()
                        .is_some_and(|info| info.resource_type == *kind)
            }
            Self::Refused(code, reason) => status.code() == *code && error_reason(status) == *reason,
            Self::Answers(_) => unreachable!("judged above"),
        };
        if matches {
            Ok(())
        } else {
            Err(format!("got {}", describe(status)))
        }
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bad(fields) => write!(f, "InvalidArgument {fields:?}"),
            Self::Missing(kind) => write!(f, "NotFound {kind}"),
            Self::Refused(code, reason) => write!(f, "{code:?} {reason}"),
            Self::Answers(text) => write!(f, "OK with {text:?}"),
        }
    }
}

/// A status as the catalogue reports it: code, reason or fields, message.
fn describe(status: &Status) -> String {
    let detail = if status.code() == Code::InvalidArgument {
        format!("{:?}", bad_fields(status))
    } else if let Some(info) = status.get_details_resource_info() {
        info.resource_type
    } else {
        error_reason(status)
    };
    format!("{:?} {detail} ({})", status.code(), clip(status.message()))
}

fn clip(text: &str) -> String {
    text.chars().take(160).collect()
}

/// `INVALID_ARGUMENT` naming `fields`.
pub(crate) fn bad(fields: &'static [&'static str]) -> Expect {
    Expect::Bad(fields)
}

/// `NOT_FOUND` of a resource `kind`.
pub(crate) fn missing(kind: &'static str) -> Expect {
    Expect::Missing(kind)
}

/// `PERMISSION_DENIED` with `reason`.
pub(crate) fn denied(reason: &'static str) -> Expect {
    Expect::Refused(Code::PermissionDenied, reason)
}

/// `PERMISSION_DENIED` PERMISSION_NOT_GRANTED: the actor lacks the
/// permission the RPC needs (handing out more than one holds is
/// PRIVILEGE_ESCALATION instead).
pub(crate) fn lacks() -> Expect {
    denied("PERMISSION_NOT_GRANTED")
}

/// `FAILED_PRECONDITION` with `reason`.
pub(crate) fn precondition(reason: &'static str) -> Expect {
    Expect::Refused(Code::FailedPrecondition, reason)
}

/// `ALREADY_EXISTS` with `reason`.
pub(crate) fn exists(reason: &'static str) -> Expect {
    Expect::Refused(Code::AlreadyExists, reason)
}

/// An OK answer whose Debug text holds `text`.
pub(crate) fn answers(text: &'static str) -> Expect {
    Expect::Answers(text)
}

/// One abuse of one RPC and what it must answer.
struct Case {
    what: &'static str,
    request: Request,
    expect: Expect,
}

/// Every abuse of one RPC.
pub(crate) struct Row {
    method: &'static str,
    /// A well-formed request: what the no-key and wrong-scope cases send.
    sample: Request,
    cases: Vec<Case>,
}

impl Row {
    /// The row of `method` (its name in the proto), whose well-formed
    /// request is `sample`.
    pub(crate) fn new<Req: Message + Clone + Send + Sync + 'static>(
        method: &'static str,
        sample: Req,
    ) -> Self {
        Self {
            method,
            sample: Request::unary(sample, &[]),
            cases: Vec::new(),
        }
    }

    /// The row of a server-streaming `method`.
    #[allow(dead_code)] // Used once a streaming RPC (WatchChanges) has a row.
    pub(crate) fn streaming<Req: Message + Clone + Send + Sync + 'static>(
        method: &'static str,
        sample: Req,
    ) -> Self {
        Self {
            method,
            sample: Request::streaming(sample, &[]),
            cases: Vec::new(),
        }
    }

    /// A case whose answer is not read: it must be refused.
    pub(crate) fn case<Req: Message + Clone + Send + Sync + 'static>(
        self,
        what: &'static str,
        request: Req,
        expect: Expect,
    ) -> Self {
        self.case_with(what, &[], request, expect)
    }

    /// A case that also sends `metadata` (the actor's session, say).
    pub(crate) fn case_with<Req: Message + Clone + Send + Sync + 'static>(
        self,
        what: &'static str,
        metadata: Metadata,
        request: Req,
        expect: Expect,
    ) -> Self {
        let request = if self.sample.streaming {
            Request::streaming(request, metadata)
        } else {
            Request::unary(request, metadata)
        };
        self.with(what, request, expect)
    }

    /// A case answered OK whose answer `expect` reads (as `Resp`).
    pub(crate) fn read<Req, Resp>(self, what: &'static str, request: Req, expect: Expect) -> Self
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + std::fmt::Debug + Send + 'static,
    {
        self.with(what, Request::answered::<Req, Resp>(request, &[]), expect)
    }

    fn with(mut self, what: &'static str, request: Request, expect: Expect) -> Self {
        self.cases.push(Case {
            what,
            request,
            expect,
        });
        self
    }
}

/// Every row of the catalogue.
fn rows(fx: &Fixture) -> Vec<Row> {
    [
        accounts::rows(fx),
        decisions::rows(fx),
        invitations::rows(fx),
        members::rows(fx),
        roles::rows(fx),
        templates::rows(fx),
    ]
    .into_iter()
    .flatten()
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
        "RPCs without a row in the abuse catalogue (tests/it/abuse/): {without_row:?}"
    );
    let unknown: Vec<&&str> = listed.difference(&described).collect();
    assert!(unknown.is_empty(), "rows for no RPC: {unknown:?}");
    for row in &rows {
        let (_, input, streaming) = methods
            .iter()
            .find(|(name, _, _)| name == row.method)
            .expect("checked above");
        assert!(!row.cases.is_empty(), "{}: a row without cases", row.method);
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

/// docs/errors.md, the table every RPC follows.
const ERRORS_MD: &str = include_str!("../../../docs/errors.md");

/// Each ErrorInfo reason of the table in docs/errors.md with its code, as
/// tonic names it (`PermissionDenied`); a reason listed under two codes is
/// an error of the table.
fn documented_codes() -> Result<BTreeMap<String, String>, String> {
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
    ] {
        assert_eq!(codes.get(reason).map(String::as_str), Some(code), "{reason}");
    }
}

/// The keys of [`crate::auth::keys`] that hold and that lack `scope`.
fn keys_for(scope: Scope) -> (&'static str, &'static str) {
    match scope {
        Scope::Check => ("check-secret", "no-check-secret"),
        Scope::Admin => ("new-admin-secret", "no-admin-secret"),
        Scope::Platform => ("platform-secret", "no-platform-secret"),
    }
}

/// Runs every case of every row against a replica that requires API keys
/// (the fixture is written through the open server), checking each answer
/// and that nothing was written; reports every case that failed at once.
async fn every_abuse_is_refused_precisely_and_writes_nothing(app: TestApp) {
    let fx = Fixture::seed(&app).await;
    let keyed = app.replica_with(crate::auth::keys).await;
    let mut failures = Vec::new();
    let mut cases = 0;
    // One reason, one code: every case that answered a reason, by reason.
    let mut codes_of: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut counts = app.table_counts().await;
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
            .chain(
                row.cases
                    .iter()
                    .map(|case| (case.what, Some(holding), &case.request, &case.expect)),
            );
        for (what, key, request, expect) in runs {
            cases += 1;
            let outcome = (request.send)(keyed.channel.clone(), key, path.clone()).await;
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

/// The tables whose counts differ: (table, before, after).
fn changed(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> Vec<(String, i64, i64)> {
    after
        .iter()
        .filter(|(table, n)| before.get(*table) != Some(n))
        .map(|(table, n)| (table.clone(), before.get(table).copied().unwrap_or(0), *n))
        .collect()
}

crate::on_both_databases!(every_abuse_is_refused_precisely_and_writes_nothing);
