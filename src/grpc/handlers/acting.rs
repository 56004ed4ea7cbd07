//! Who is acting on a call made for a person (docs/domain.md rule 15): the
//! subject of a verified actor token, or, in the caller's-word mode, the
//! person the request names. One function, [`GrpcHandlers::acting`], runs
//! first in every handler of such a call, and every request type says where
//! it names its person ([`ActsFor`]), so a new RPC cannot skip the check
//! without the compiler noticing it lacks the trait.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Status};

use super::GrpcHandlers;
use crate::actor_tokens::{ActorTokens, TokenRefusal};
use crate::domain::model::{ActorProof, ActorSession};
use crate::domain::{DomainError, ErrorReason, UseCases};
use crate::grpc::convert::{self, ACTOR_MFA_HEADER};
use crate::grpc::pb;
use crate::grpc::status::with_error_info;

/// The metadata key carrying the acting person's token (a JWT, as the
/// identity provider issued it); `authorization` stays the caller's API key.
pub const ACTOR_TOKEN_HEADER: &str = "x-actor-token";

/// How this server knows who is acting.
#[derive(Clone, Debug, Default)]
pub struct ActorTrust {
    /// Verifies actor tokens; none: a token sent is refused.
    pub tokens: Option<Arc<ActorTokens>>,
    /// Every call that acts for a person must carry a token (the token
    /// mode); otherwise the request's word is taken when it carries none.
    pub require_token: bool,
}

/// Where a request names the person it acts for.
pub enum Acting<'a> {
    /// This field names the person: always a call for a person. Left
    /// empty, it is filled with the token's subject.
    Person(&'a mut String),
    /// This field names the person when set; empty, the call is the
    /// platform's own (it acts for no one) unless a token is sent.
    MaybePerson(&'a mut String),
    /// A call for a person the request does not name (answering an
    /// invitation by its token): with a token, the token's subject.
    Unnamed,
}

/// A request of a call that may act for a person.
pub trait ActsFor {
    /// Where it names that person.
    fn acting(&mut self) -> Acting<'_>;
}

macro_rules! acts_for {
    ($($message:ident => $field:ident,)*) => {
        $(impl ActsFor for pb::$message {
            fn acting(&mut self) -> Acting<'_> {
                Acting::Person(&mut self.$field)
            }
        })*
    };
}

acts_for! {
    UpdateAccountPolicyRequest => actor_user_id,
    CloseAccountRequest => actor_user_id,
    ListAccountsRequest => user_id,
    InviteRequest => actor_user_id,
    ResendInvitationRequest => actor_user_id,
    RevokeInvitationRequest => actor_user_id,
    UpdateInvitationRequest => actor_user_id,
    ListInvitationsRequest => actor_user_id,
    ListUsersRequest => actor_user_id,
    UpdateMemberRequest => actor_user_id,
    DeactivateMemberRequest => actor_user_id,
    ReactivateMemberRequest => actor_user_id,
    RemoveMemberRequest => actor_user_id,
    LeaveAccountRequest => user_id,
    TransferOwnershipRequest => actor_user_id,
    RecordSignInRequest => user_id,
    ListRolesRequest => actor_user_id,
    CreateRoleRequest => actor_user_id,
    UpdateRoleRequest => actor_user_id,
    DeleteRoleRequest => actor_user_id,
    RequestAccessRequest => user_id,
    DecideAccessRequestRequest => actor_user_id,
    ListAccessRequestsRequest => actor_user_id,
    ListActivityRequest => actor_user_id,
    ShareTemplateRequest => actor_user_id,
    UnshareTemplateRequest => actor_user_id,
    ListSharedTemplatesRequest => actor_user_id,
    ShareSuppressionListRequest => actor_user_id,
    UnshareSuppressionListRequest => actor_user_id,
    ListSharedSuppressionListsRequest => actor_user_id,
}

impl ActsFor for pb::CreateAccountRequest {
    fn acting(&mut self) -> Acting<'_> {
        // A child account is created by a person of the parent; a top-level
        // one by the platform.
        if self.parent_account_id.is_empty() {
            Acting::MaybePerson(&mut self.actor_user_id)
        } else {
            Acting::Person(&mut self.actor_user_id)
        }
    }
}

impl ActsFor for pb::GetAccountRequest {
    fn acting(&mut self) -> Acting<'_> {
        Acting::MaybePerson(&mut self.actor_user_id)
    }
}

impl ActsFor for pb::WatchChangesRequest {
    fn acting(&mut self) -> Acting<'_> {
        Acting::MaybePerson(&mut self.actor_user_id)
    }
}

impl ActsFor for pb::PreviewInvitationEmailRequest {
    fn acting(&mut self) -> Acting<'_> {
        match &mut self.invite {
            Some(invite) => invite.acting(),
            // Refused as a missing field by the conversion that follows.
            None => Acting::Unnamed,
        }
    }
}

impl ActsFor for pb::AcceptInvitationRequest {
    fn acting(&mut self) -> Acting<'_> {
        match &mut self.user {
            Some(user) => Acting::Person(&mut user.user_id),
            // Refused as a missing field by the conversion that follows.
            None => Acting::Unnamed,
        }
    }
}

impl ActsFor for pb::DeclineInvitationRequest {
    fn acting(&mut self) -> Acting<'_> {
        Acting::Unnamed
    }
}

/// Why a call for a person was refused before its handler ran.
#[derive(Debug)]
enum ActorRefusal {
    Missing,
    NotAccepted,
    Token(TokenRefusal),
    NotSubject { named: String },
    MfaHeaderWithToken,
}

impl From<ActorRefusal> for Status {
    fn from(refusal: ActorRefusal) -> Self {
        let (code, reason, message) = match refusal {
            ActorRefusal::Missing => (
                Code::Unauthenticated,
                ErrorReason::ActorTokenMissing,
                format!(
                    "this call acts for a person, and this server takes the person only from an actor \
                     token: send the person's token from the identity provider as `{ACTOR_TOKEN_HEADER}` metadata"
                ),
            ),
            ActorRefusal::NotAccepted => (
                Code::Unauthenticated,
                ErrorReason::ActorTokensNotAccepted,
                format!(
                    "this server verifies no actor tokens (no issuer is configured): remove the \
                     `{ACTOR_TOKEN_HEADER}` metadata, or configure the issuer (docs/operations.md)"
                ),
            ),
            ActorRefusal::Token(refusal @ TokenRefusal::Invalid(_)) => (
                Code::Unauthenticated,
                ErrorReason::ActorTokenInvalid,
                refusal.to_string(),
            ),
            ActorRefusal::Token(refusal @ TokenRefusal::Expired(_)) => (
                Code::Unauthenticated,
                ErrorReason::ActorTokenExpired,
                refusal.to_string(),
            ),
            ActorRefusal::Token(refusal @ TokenRefusal::KeysUnavailable(_)) => (
                Code::Unavailable,
                ErrorReason::ActorKeysUnavailable,
                refusal.to_string(),
            ),
            ActorRefusal::NotSubject { named } => (
                Code::PermissionDenied,
                ErrorReason::ActorNotTokenSubject,
                format!(
                    "the request acts for '{}', but the actor token is another person's: name the \
                     token's subject, or leave the field empty to act for them",
                    crate::domain::error::echo(&named)
                ),
            ),
            ActorRefusal::MfaHeaderWithToken => {
                return DomainError::invalid(
                    ACTOR_MFA_HEADER,
                    "metadata is not read where actor tokens are: two-factor comes from the token \
                     (its amr or acr claim); remove it",
                )
                .into();
            }
        };
        with_error_info(code, reason, HashMap::new(), message)
    }
}

fn actor_token(metadata: &MetadataMap) -> Result<Option<&str>, Status> {
    match metadata.get(ACTOR_TOKEN_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|token| Some(token.trim()))
            .map_err(|_| ActorRefusal::Token(TokenRefusal::Invalid("it is not ASCII text".into())).into()),
    }
}

impl GrpcHandlers {
    /// The use cases for a call made for a person, acting in that person's
    /// session: with an actor token, the token's subject (the request's
    /// field filled with it when empty, refused when it names someone else)
    /// with the token's two-factor and sign-in time; without one, in the
    /// caller's-word mode, the person the request names with the session
    /// its caller vouches for (rule 3; absent means two-factor not passed).
    /// In the token mode a call for a person without a token is refused.
    pub(super) async fn acting<T: ActsFor>(&self, request: &mut Request<T>) -> Result<UseCases, Status> {
        let token = actor_token(request.metadata())?.map(str::to_owned);
        let mfa_header = request.metadata().contains_key(ACTOR_MFA_HEADER);
        let acting = request.get_mut().acting();
        let for_person = match &acting {
            Acting::Person(_) | Acting::Unnamed => true,
            Acting::MaybePerson(named) => !named.is_empty(),
        };
        let Some(token) = token else {
            if self.actors.require_token {
                if for_person {
                    return Err(ActorRefusal::Missing.into());
                }
                if mfa_header {
                    return Err(ActorRefusal::MfaHeaderWithToken.into());
                }
                return Ok(self.calling(request)?.in_session(ActorSession::default()));
            }
            let session = convert::actor_session(request.metadata())?;
            return Ok(self.calling(request)?.in_session(session));
        };
        if mfa_header {
            return Err(ActorRefusal::MfaHeaderWithToken.into());
        }
        let Some(tokens) = &self.actors.tokens else {
            return Err(ActorRefusal::NotAccepted.into());
        };
        let verified = tokens.verify(&token).await.map_err(ActorRefusal::Token)?;
        let subject = verified.proven.subject.as_str();
        match request.get_mut().acting() {
            Acting::Person(named) | Acting::MaybePerson(named) => {
                if named.is_empty() {
                    subject.clone_into(named);
                } else if named != subject {
                    return Err(ActorRefusal::NotSubject { named: named.clone() }.into());
                }
            }
            Acting::Unnamed => {}
        }
        Ok(self.calling(request)?.in_session(ActorSession {
            mfa_verified: verified.mfa_verified,
            proof: ActorProof::Token(verified.proven),
        }))
    }
}
