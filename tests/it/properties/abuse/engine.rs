//! The catalogue's parts: a request to an RPC sent raw (so the no-key and
//! wrong-scope cases share it), what a case expects, and a row of cases.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::support::{bad_fields, error_reason};

/// What a case got: the answer's Debug text, or the refusal.
pub(super) type Outcome = Result<String, Status>;

/// gRPC metadata a case sends besides the API key.
pub(super) type Metadata = &'static [(&'static str, &'static str)];

/// Sends one request to `path` with an optional API key.
pub(super) type Sender = Arc<
    dyn Fn(Channel, Option<&'static str>, String) -> Pin<Box<dyn Future<Output = Outcome> + Send>>
        + Send
        + Sync,
>;

/// One request to one RPC, with its message type's name (checked against the
/// descriptor, so a row cannot send another RPC's message).
#[derive(Clone)]
pub(crate) struct Request {
    pub(super) input: &'static str,
    pub(super) streaming: bool,
    pub(super) send: Sender,
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
    fn streaming<Req>(request: Req, metadata: Metadata) -> Self
    where
        Req: Message + Clone + Send + Sync + 'static,
    {
        Self::streaming_holding(request, metadata, &[])
    }

    /// A server-streaming request sent while `holds` streams of the same
    /// request are open, each `(key, how many)`: what a caller past a cap
    /// on open streams gets. They are opened first, one after the other,
    /// and closed once the outcome is in.
    fn streaming_holding<Req>(request: Req, metadata: Metadata, holds: Holds) -> Self
    where
        Req: Message + Clone + Send + Sync + 'static,
    {
        let send: Sender = Arc::new(move |channel, key, path| {
            let request = request.clone();
            Box::pin(async move {
                let mut held = Vec::new();
                for (holder, n) in holds {
                    for _ in 0..*n {
                        let (mut grpc, path) = ready(channel.clone(), path.clone()).await?;
                        let open = grpc
                            .server_streaming::<Req, (), _>(
                                keyed(request.clone(), Some(holder), metadata),
                                path,
                                tonic_prost::ProstCodec::default(),
                            )
                            .await;
                        held.push(open.map_err(|status| {
                            Status::new(
                                status.code(),
                                format!("a stream the case holds was refused: {}", status.message()),
                            )
                        })?);
                    }
                }
                let (mut grpc, path) = ready(channel, path).await?;
                let mut stream = grpc
                    .server_streaming::<Req, (), _>(
                        keyed(request, key, metadata),
                        path,
                        tonic_prost::ProstCodec::default(),
                    )
                    .await?
                    .into_inner();
                let outcome = match tokio::time::timeout(Duration::from_secs(5), stream.message()).await {
                    Ok(first) => first.map(|message| format!("{message:?}")),
                    Err(_) => Ok("a stream that stayed open".to_owned()),
                };
                drop(held);
                outcome
            })
        });
        Self {
            input: short_type_name::<Req>(),
            streaming: true,
            send,
        }
    }
}

/// Streams a case holds open while it is sent: `(key, how many)`.
pub(super) type Holds = &'static [(&'static str, usize)];

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
    pub(super) fn judge(&self, outcome: &Outcome) -> Result<(), String> {
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

/// `RESOURCE_EXHAUSTED` with `reason`.
pub(crate) fn exhausted(reason: &'static str) -> Expect {
    Expect::Refused(Code::ResourceExhausted, reason)
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
pub(super) struct Case {
    pub(super) what: &'static str,
    pub(super) request: Request,
    pub(super) expect: Expect,
    /// The key it is sent with: `None` for a key holding the RPC's scope
    /// and every tenant; a tenant-bound key for a case reaching into
    /// another tenant.
    pub(super) key: Option<&'static str>,
}

/// Every abuse of one RPC.
pub(crate) struct Row {
    pub(super) method: &'static str,
    /// A well-formed request: what the no-key and wrong-scope cases send.
    pub(super) sample: Request,
    pub(super) cases: Vec<Case>,
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

    /// A case sent with `key`, a key bound to tenants (and holding every
    /// scope), reaching outside them.
    pub(crate) fn outside<Req: Message + Clone + Send + Sync + 'static>(
        mut self,
        key: &'static str,
        what: &'static str,
        request: Req,
        expect: Expect,
    ) -> Self {
        let request = if self.sample.streaming {
            Request::streaming(request, &[])
        } else {
            Request::unary(request, &[])
        };
        self.cases.push(Case {
            what,
            request,
            expect,
            key: Some(key),
        });
        self
    }

    /// [`outside`](Self::outside) for a case answered OK whose answer
    /// `expect` reads (as `Resp`): what a listing shows such a caller.
    pub(crate) fn outside_read<Req, Resp>(
        mut self,
        key: &'static str,
        what: &'static str,
        request: Req,
        expect: Expect,
    ) -> Self
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + std::fmt::Debug + Send + 'static,
    {
        self.cases.push(Case {
            what,
            request: Request::answered::<Req, Resp>(request, &[]),
            expect,
            key: Some(key),
        });
        self
    }

    /// A case of a server-streaming row sent with `key` while `holds`
    /// streams of the same request are open: a cap on open streams.
    pub(crate) fn holding<Req: Message + Clone + Send + Sync + 'static>(
        mut self,
        key: &'static str,
        what: &'static str,
        holds: Holds,
        request: Req,
        expect: Expect,
    ) -> Self {
        assert!(self.sample.streaming, "{what}: only a stream is held open");
        self.cases.push(Case {
            what,
            request: Request::streaming_holding(request, &[], holds),
            expect,
            key: Some(key),
        });
        self
    }

    fn with(mut self, what: &'static str, request: Request, expect: Expect) -> Self {
        self.cases.push(Case {
            what,
            request,
            expect,
            key: None,
        });
        self
    }
}
