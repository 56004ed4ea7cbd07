//! Every `google.rpc.ErrorInfo.reason` (and `FieldViolation.reason`) this
//! service reports, at whichever layer refuses: one list, so a refusal
//! cannot misspell its reason and docs/errors.md can be checked against it.

/// Declares [`ErrorReason`] with its wire names and the list of all of them,
/// from one table, so a variant cannot be left out of [`ErrorReason::ALL`].
macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// Why a request was refused, as a program reads it. The wire name
        /// ([`ErrorReason::as_str`]) is part of the API: clients match on it,
        /// so a name never changes; docs/errors.md says which code each comes
        /// with and what metadata it carries.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorReason {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorReason {
            /// Every reason, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant),*];

            /// The stable SCREAMING_SNAKE_CASE name clients see.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

reasons! {
    // UNAUTHENTICATED, UNIMPLEMENTED, INTERNAL: the authentication layer.
    /// No API key and no client certificate.
    ApiKeyMissing => "API_KEY_MISSING",
    /// An `authorization` header that is not `Bearer <key>`.
    ApiKeyMalformed => "API_KEY_MALFORMED",
    /// A key the server does not know.
    ApiKeyUnknown => "API_KEY_UNKNOWN",
    /// A verified client certificate whose identity is mapped to no caller.
    ClientIdentityUnknown => "CLIENT_IDENTITY_UNKNOWN",
    /// A method this server does not serve.
    MethodUnknown => "METHOD_UNKNOWN",
    /// A handler that needs the caller ran without the authentication layer.
    NoCaller => "NO_CALLER",
    /// A call that acts for a person sent no actor token, and the server
    /// takes the acting person only from a token.
    ActorTokenMissing => "ACTOR_TOKEN_MISSING",
    /// The actor token failed verification: signature, algorithm, issuer,
    /// audience, or a claim this service needs.
    ActorTokenInvalid => "ACTOR_TOKEN_INVALID",
    /// The actor token's lifetime is over (or has not begun): get a new one.
    ActorTokenExpired => "ACTOR_TOKEN_EXPIRED",
    /// An actor token sent to a server that verifies none.
    ActorTokensNotAccepted => "ACTOR_TOKENS_NOT_ACCEPTED",

    // UNAVAILABLE.
    /// The identity provider's signing keys could not be fetched, and none
    /// is at hand that signed the token.
    ActorKeysUnavailable => "ACTOR_KEYS_UNAVAILABLE",

    // PERMISSION_DENIED.
    /// The request names an acting person other than the actor token's subject.
    ActorNotTokenSubject => "ACTOR_NOT_TOKEN_SUBJECT",
    /// A sensitive act needs a sign-in more recent than the actor token's.
    ReauthenticationRequired => "REAUTHENTICATION_REQUIRED",
    /// The actor token does not prove the address the act needs (not
    /// verified by the identity provider, or another address).
    EmailNotVerified => "EMAIL_NOT_VERIFIED",
    /// The caller's API key lacks the scope the RPC needs.
    ScopeMissing => "SCOPE_MISSING",
    /// The caller (its API key or client certificate identity) is bound to
    /// tenants, and the account named is not one of them (or does not exist).
    OutsideCallerTenants => "OUTSIDE_CALLER_TENANTS",
    /// Only the parent's owner may watch a team's changes.
    TeamOwnerOnly => "TEAM_OWNER_ONLY",
    /// The actor would hand out more than the actor holds.
    PrivilegeEscalation => "PRIVILEGE_ESCALATION",
    /// The member acted on reaches further than the actor.
    Outranked => "OUTRANKED",
    /// An approver deciding their own access request.
    SelfApproval => "SELF_APPROVAL",
    /// An invitation accepted by someone it was not sent to.
    InvitationEmailMismatch => "INVITATION_EMAIL_MISMATCH",
    /// The actor is not a member of the account.
    NotAMember => "NOT_A_MEMBER",
    /// The actor's membership is deactivated.
    MembershipInactive => "MEMBERSHIP_INACTIVE",
    /// The actor's role and grants lack the permission.
    PermissionNotGranted => "PERMISSION_NOT_GRANTED",
    /// The actor holds the permission, but not on that resource.
    OutOfScope => "OUT_OF_SCOPE",
    /// The account requires two-factor and the actor's session has not passed it.
    MfaRequired => "MFA_REQUIRED",
    /// A template shared by the parent is read-only in a child.
    SharedTemplateReadOnly => "SHARED_TEMPLATE_READ_ONLY",
    /// A suppression list shared by the parent is read-only in a child.
    SharedSuppressionListReadOnly => "SHARED_SUPPRESSION_LIST_READ_ONLY",
    /// What granted the permission has ended (metadata `ended`: membership,
    /// grant or scope; `subject`; `ended_at`).
    AccessExpired => "ACCESS_EXPIRED",

    // INVALID_ARGUMENT, on a field violation.
    /// A scope on a resource type the role and extra grants hold no permission for.
    ScopeWithoutPermission => "SCOPE_WITHOUT_PERMISSION",
    /// Text holding a control or format character (a bidi override, a
    /// zero-width space...), which would make it read otherwise than it is.
    InvisibleCharacter => "INVISIBLE_CHARACTER",

    // NOT_FOUND.
    /// An invitation token that opens no invitation.
    InvitationTokenUnknown => "INVITATION_TOKEN_UNKNOWN",

    // ALREADY_EXISTS.
    /// The account id is taken, by a different request if `differs` says so.
    AccountExists => "ACCOUNT_EXISTS",
    /// A role of that name exists in the account, or the name is a built-in role's.
    RoleExists => "ROLE_EXISTS",
    /// The invitee is a member already.
    AlreadyAMember => "ALREADY_A_MEMBER",
    /// A unique key of the store refused a row no rule saw coming.
    Duplicate => "DUPLICATE",

    // FAILED_PRECONDITION.
    /// An end time already past (beyond the tolerated clock skew).
    EndInPast => "END_IN_PAST",
    /// An end time further ahead than the configured maximum.
    EndTooFar => "END_TOO_FAR",
    /// An end time put on the owner's membership, which never ends.
    OwnerNeverEnds => "OWNER_NEVER_ENDS",
    /// `account.transfer` (owner only) put in a role, grants or a request.
    OwnerOnlyPermission => "OWNER_ONLY_PERMISSION",
    /// The owner role handed out.
    OwnerRoleNotAssignable => "OWNER_ROLE_NOT_ASSIGNABLE",
    /// An actor removing, deactivating or re-roling themselves.
    CannotActOnSelf => "CANNOT_ACT_ON_SELF",
    /// The owner removed, deactivated or re-roled.
    OwnerProtected => "OWNER_PROTECTED",
    /// The owner leaving the account.
    OwnerCannotLeave => "OWNER_CANNOT_LEAVE",
    /// Ownership handed to the owner.
    AlreadyOwner => "ALREADY_OWNER",
    /// Ownership handed to someone not an admin or account manager.
    TransferTargetNotAdmin => "TRANSFER_TARGET_NOT_ADMIN",
    /// The member acted on (not the actor) is deactivated.
    MemberDeactivated => "MEMBER_DEACTIVATED",
    /// The account is closed.
    AccountClosed => "ACCOUNT_CLOSED",
    /// An account created under a child account (teams are one level deep).
    NestedChildAccount => "NESTED_CHILD_ACCOUNT",
    /// A child account's owner named who is neither its creator nor an
    /// active member of the parent, by someone other than the parent's owner.
    ChildOwnerNotInTeam => "CHILD_OWNER_NOT_IN_TEAM",
    /// A seat limit set below the seats in use.
    LimitBelowUsage => "LIMIT_BELOW_USAGE",
    /// A user id registered with another email address.
    UserEmailMismatch => "USER_EMAIL_MISMATCH",
    /// An email held by another user.
    EmailInUse => "EMAIL_IN_USE",
    /// Sharing from an account that is itself a child.
    ShareNotFromParent => "SHARE_NOT_FROM_PARENT",
    /// Sharing to an account that is not a child of the sharer.
    NotAChildAccount => "NOT_A_CHILD_ACCOUNT",
    /// An access request for a permission the requester holds already.
    AlreadyGranted => "ALREADY_GRANTED",
    /// An access request decided already.
    AlreadyDecided => "ALREADY_DECIDED",
    /// The requester of an approval is no longer an active member.
    RequesterNotActive => "REQUESTER_NOT_ACTIVE",
    /// The token's invitations are accepted.
    InvitationAlreadyAccepted => "INVITATION_ALREADY_ACCEPTED",
    /// The token's invitations are revoked.
    InvitationRevoked => "INVITATION_REVOKED",
    /// The token's invitations are declined.
    InvitationDeclined => "INVITATION_DECLINED",
    /// The token's invitations are expired.
    InvitationExpired => "INVITATION_EXPIRED",
    /// The person who sent the invitation no longer holds what it offers.
    InviterLacksReach => "INVITER_LACKS_REACH",
    /// An invitation pending for the same person with other terms.
    InvitationPendingWithOtherTerms => "INVITATION_PENDING_WITH_OTHER_TERMS",
    /// One invitation naming accounts that are not one team.
    NotOneTeam => "NOT_ONE_TEAM",
    /// A built-in role changed or deleted.
    BuiltinRoleImmutable => "BUILTIN_ROLE_IMMUTABLE",
    /// A role deleted while members or invitations hold it.
    RoleInUse => "ROLE_IN_USE",
    /// A consistency token naming revisions this database never reached.
    ConsistencyTokenAhead => "CONSISTENCY_TOKEN_AHEAD",

    // RESOURCE_EXHAUSTED.
    /// The plan's member quota is full.
    MemberLimitReached => "MEMBER_LIMIT_REACHED",
    /// The plan's quota of restricted-role members is full.
    RestrictedRoleLimitReached => "RESTRICTED_ROLE_LIMIT_REACHED",
    /// The account holds the most pending invitations the server allows,
    /// whatever its plan.
    PendingInvitationLimitReached => "PENDING_INVITATION_LIMIT_REACHED",
    /// The caller (its API key or client certificate identity) has the most
    /// requests in flight the server allows one caller.
    CallerConcurrencyLimit => "CALLER_CONCURRENCY_LIMIT",
    /// An email limit is full (per account, per actor or per recipient):
    /// the invitation, resend or access request would write one more email
    /// than it allows in its window.
    EmailRateLimited => "EMAIL_RATE_LIMITED",
    /// The invitation was emailed more recently than the resend cooldown.
    ResendCooldown => "RESEND_COOLDOWN",
    /// The replica has the most WatchChanges streams open it allows.
    WatchLimitReached => "WATCH_LIMIT_REACHED",
    /// The caller has the most WatchChanges streams open the replica
    /// allows one caller.
    CallerWatchLimit => "CALLER_WATCH_LIMIT",
    /// A watch fell further behind the replica's new changes than it may;
    /// resume from the position given.
    WatchReaderTooSlow => "WATCH_READER_TOO_SLOW",
    /// A watch reached its maximum age; resume from the position given.
    WatchMaxAge => "WATCH_MAX_AGE",
}

impl std::fmt::Display for ErrorReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::ErrorReason;

    #[test]
    fn every_name_is_distinct_and_screaming_snake_case() {
        let mut seen = HashSet::new();
        for reason in ErrorReason::ALL {
            let name = reason.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(name.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{name}");
        }
    }
}
