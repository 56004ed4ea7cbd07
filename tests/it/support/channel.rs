//! The channel every TestApp client sends through: the server's own, and,
//! for a server in the token mode, one that adds to each call for a person
//! the actor token an honest web app would send: a token for the person the
//! request names, with a second factor where the call vouched for one
//! (`x-actor-mfa-verified: true`, removed), and the address the request
//! gives when it accepts an invitation. So any scenario written against
//! the caller's word runs unchanged against the token mode.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use access_service::grpc::{ACTOR_TOKEN_HEADER, Acting, ActsFor, never_sent, pb};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use serde_json::json;
use tonic::body::Body;
use tonic::transport::Channel;

use super::issuer::TestIssuer;

/// A client's channel: plain, or adding actor tokens.
#[derive(Clone)]
pub struct TestChannel {
    channel: Channel,
    issuer: Option<Arc<TestIssuer>>,
}

/// A client of the service, as tests hold it.
pub type Client = pb::access_service_client::AccessServiceClient<TestChannel>;

impl TestChannel {
    /// Sends what it is given.
    pub fn plain(channel: Channel) -> Self {
        Self {
            channel,
            issuer: None,
        }
    }

    /// Adds a token from `issuer` to each call for a person.
    pub fn minting(channel: Channel, issuer: Arc<TestIssuer>) -> Self {
        Self {
            channel,
            issuer: Some(issuer),
        }
    }
}

type Answer = Result<http::Response<Body>, tonic::transport::Error>;

impl tower::Service<http::Request<Body>> for TestChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::poll_ready(&mut self.channel, cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let issuer = self.issuer.clone();
        // The channel that was polled ready takes the call (tower's contract).
        let fresh = self.channel.clone();
        let mut channel = std::mem::replace(&mut self.channel, fresh);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let bytes = body.collect().await.expect("the request's body").to_bytes();
            if let Some(issuer) = issuer
                && !parts.headers.contains_key(ACTOR_TOKEN_HEADER)
                && let Some((person, email)) = person_of(parts.uri.path(), &bytes)
            {
                let mfa = parts
                    .headers
                    .remove("x-actor-mfa-verified")
                    .is_some_and(|value| value == "true");
                let mut claims = json!({ "amr": if mfa { json!(["pwd", "mfa"]) } else { json!(["pwd"]) } });
                if let Some(email) = email {
                    claims["email"] = json!(email);
                }
                let token = issuer.token(&person, claims);
                parts
                    .headers
                    .insert(ACTOR_TOKEN_HEADER, token.parse().expect("an ASCII token"));
            }
            // As grpc-go and grpc-java clients do, a call its connection's
            // GOAWAY kept from the server is sent again (tonic does not).
            let mut attempt = 1;
            loop {
                let request = http::Request::from_parts(parts.clone(), Body::new(Full::new(bytes.clone())));
                let answer = tower::ServiceExt::ready(&mut channel).await?.call(request).await;
                match answer {
                    Err(err) if attempt < 3 && never_sent(&err) => attempt += 1,
                    answer => return answer,
                }
            }
        })
    }
}

/// Generates, from one table of the RPCs whose requests can name the person
/// acting (each type holds the server's `ActsFor`, or this does not compile),
/// [`NAMING_A_PERSON`] and [`person_of`].
macro_rules! naming_a_person {
    ($($method:literal => $message:ident,)*) => {
        /// The RPCs whose requests can name the person acting: the channel
        /// mints a token for that person on each (a test holds this list to
        /// the API's, so a new RPC must be placed here or named as acting
        /// for no one).
        pub const NAMING_A_PERSON: &[&str] = &["AcceptInvitation", $($method,)*];

        /// The person a request names as acting, and the address it claims for
        /// them (AcceptInvitation): read from the one uncompressed message of a
        /// unary call or a stream's request.
        fn person_of(path: &str, framed: &Bytes) -> Option<(String, Option<String>)> {
            let message = framed.get(5..)?;
            match path.rsplit('/').next()? {
                "AcceptInvitation" => {
                    let request = pb::AcceptInvitationRequest::decode(message).ok()?;
                    let user = request.user?;
                    (!user.user_id.is_empty()).then(|| (user.user_id, Some(user.email)))
                }
                $($method => named(&mut pb::$message::decode(message).ok()?).map(|person| (person, None)),)*
                _ => None,
            }
        }
    };
}

naming_a_person! {
    "CreateAccount" => CreateAccountRequest,
    "GetAccount" => GetAccountRequest,
    "UpdateAccountPolicy" => UpdateAccountPolicyRequest,
    "CloseAccount" => CloseAccountRequest,
    "ListAccounts" => ListAccountsRequest,
    "Invite" => InviteRequest,
    "PreviewInvitationEmail" => PreviewInvitationEmailRequest,
    "ResendInvitation" => ResendInvitationRequest,
    "RevokeInvitation" => RevokeInvitationRequest,
    "UpdateInvitation" => UpdateInvitationRequest,
    "ListInvitations" => ListInvitationsRequest,
    "ListUsers" => ListUsersRequest,
    "UpdateMember" => UpdateMemberRequest,
    "DeactivateMember" => DeactivateMemberRequest,
    "ReactivateMember" => ReactivateMemberRequest,
    "RemoveMember" => RemoveMemberRequest,
    "LeaveAccount" => LeaveAccountRequest,
    "TransferOwnership" => TransferOwnershipRequest,
    "RecordSignIn" => RecordSignInRequest,
    "ListRoles" => ListRolesRequest,
    "CreateRole" => CreateRoleRequest,
    "UpdateRole" => UpdateRoleRequest,
    "DeleteRole" => DeleteRoleRequest,
    "RequestAccess" => RequestAccessRequest,
    "DecideAccessRequest" => DecideAccessRequestRequest,
    "ListAccessRequests" => ListAccessRequestsRequest,
    "ListActivity" => ListActivityRequest,
    "WatchChanges" => WatchChangesRequest,
    "ShareTemplate" => ShareTemplateRequest,
    "UnshareTemplate" => UnshareTemplateRequest,
    "ListSharedTemplates" => ListSharedTemplatesRequest,
    "ShareSuppressionList" => ShareSuppressionListRequest,
    "UnshareSuppressionList" => UnshareSuppressionListRequest,
    "ListSharedSuppressionLists" => ListSharedSuppressionListsRequest,
}

fn named<T: ActsFor>(request: &mut T) -> Option<String> {
    match request.acting() {
        Acting::Person(person) | Acting::MaybePerson(person) if !person.is_empty() => Some(person.clone()),
        Acting::Person(_) | Acting::MaybePerson(_) | Acting::Unnamed => None,
    }
}
