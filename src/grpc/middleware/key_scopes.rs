//! The scopes an API key can hold ([`KeyScope`]: which systems may call
//! which RPCs), and the one table saying which scope each RPC of
//! `access.v1.AccessService` needs. Not a membership's resource scopes
//! (`domain::model::Scopes`), which narrow what a member may do.

use std::fmt;

/// What a caller's API key allows, by the kind of system that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyScope {
    /// Ask for decisions: what the campaign and billing services get.
    Check,
    /// Read accounts, members, roles, invitations, access requests, shares
    /// and the activity log, watch changes, preview emails: what a person
    /// sees in the web app, and reporting tools.
    Read,
    /// Change them on behalf of a person (the actor): invite, change and
    /// remove members, roles, policy, shares, access requests; the web app.
    Write,
    /// Provision accounts, set their plan quotas, close them for the
    /// platform, watch every account: the provisioning and billing systems.
    Platform,
    /// Receive the raw invitation token in the answers of Invite and
    /// ResendInvitation (with `write`): a system that delivers invitations
    /// itself. No RPC needs it; without it the answer's token is empty and
    /// the token only travels in the service's own email.
    InvitationTokens,
}

/// The scope name that stood for `read` and `write` together, still
/// accepted in key configuration (with a warning) so that existing entries
/// keep working with the reach they had.
pub const DEPRECATED_ADMIN: &str = "admin";

impl KeyScope {
    /// Every scope, in the order they are documented.
    pub const ALL: [Self; 5] = [
        Self::Check,
        Self::Read,
        Self::Write,
        Self::Platform,
        Self::InvitationTokens,
    ];

    /// The scope's name in key configuration and in refusals.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Read => "read",
            Self::Write => "write",
            Self::Platform => "platform",
            Self::InvitationTokens => "invitation_tokens",
        }
    }

    /// Reads a scope name back (exact, lower case). The deprecated `admin`
    /// is not a scope: [`KeyScopes::parse_name`] expands it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == name)
    }

    fn bit(self) -> u8 {
        match self {
            Self::Check => 1,
            Self::Read => 2,
            Self::Write => 4,
            Self::Platform => 8,
            Self::InvitationTokens => 16,
        }
    }
}

impl fmt::Display for KeyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of key scopes (a key's).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyScopes(u8);

impl KeyScopes {
    /// Every scope: what callers have when authentication is off.
    pub fn all() -> Self {
        KeyScope::ALL.into_iter().fold(Self::default(), Self::with)
    }

    /// This set and `scope`.
    pub fn with(self, scope: KeyScope) -> Self {
        Self(self.0 | scope.bit())
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: KeyScope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes one configured name stands for: a scope, or the
    /// deprecated `admin` (`read+write`); `None` for an unknown name.
    pub fn parse_name(name: &str) -> Option<Self> {
        if name == DEPRECATED_ADMIN {
            return Some(Self::default().with(KeyScope::Read).with(KeyScope::Write));
        }
        KeyScope::parse(name).map(|scope| Self::default().with(scope))
    }

    /// This set and every scope of `other`.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl fmt::Debug for KeyScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for KeyScopes {
    /// As configured: `check+admin`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = KeyScope::ALL
            .into_iter()
            .filter(|scope| self.contains(*scope))
            .map(KeyScope::as_str)
            .collect();
        f.write_str(&names.join("+"))
    }
}

/// The gRPC service the table below covers.
pub const SERVICE: &str = "access.v1.AccessService";

/// The scope each RPC of [`SERVICE`] needs: the one place that says it. A new
/// RPC must be added here (a test compares this table with the service's
/// descriptor); until it is, the authentication layer answers UNIMPLEMENTED.
///
/// `read` is every call that changes nothing (PreviewInvitationEmail renders
/// an email it does not send); `write` every change a person makes, their
/// own included (LeaveAccount, RecordSignIn, RequestAccess, answering an
/// invitation). CreateAccount is the platform's even for a child account
/// (the platform creates it when a member asks, and the member's
/// `subaccounts.manage` is still checked). CloseAccount is a member's act
/// (it needs the actor's `account.close`); CloseAccountAsPlatform is the
/// same close by the platform itself, with no member acting. WatchChanges
/// is a read (a person watches an account or a team); watching every
/// account also needs the `platform` scope, which the handler checks, since
/// a method has one scope here.
pub const METHOD_SCOPES: &[(&str, KeyScope)] = &[
    // Accounts
    ("CreateAccount", KeyScope::Platform),
    ("GetAccount", KeyScope::Read),
    ("UpdateAccountPolicy", KeyScope::Write),
    // Quotas come from the plan: the billing system sets them, never a member.
    ("SetAccountLimits", KeyScope::Platform),
    ("CloseAccount", KeyScope::Write),
    ("CloseAccountAsPlatform", KeyScope::Platform),
    ("ListAccounts", KeyScope::Read),
    // Decisions
    ("Authorize", KeyScope::Check),
    ("BatchAuthorize", KeyScope::Check),
    ("GetEffectivePermissions", KeyScope::Check),
    // What Authorize would answer about a named person, many at once.
    ("LookupAccounts", KeyScope::Check),
    ("LookupResources", KeyScope::Check),
    // Lists an account's people, which no check reveals: a read.
    ("LookupMembers", KeyScope::Read),
    // Invitations
    ("Invite", KeyScope::Write),
    ("PreviewInvitationEmail", KeyScope::Read),
    ("AcceptInvitation", KeyScope::Write),
    ("DeclineInvitation", KeyScope::Write),
    ("ResendInvitation", KeyScope::Write),
    ("RevokeInvitation", KeyScope::Write),
    ("UpdateInvitation", KeyScope::Write),
    ("ListInvitations", KeyScope::Read),
    // Members
    ("ListUsers", KeyScope::Read),
    ("UpdateMember", KeyScope::Write),
    ("DeactivateMember", KeyScope::Write),
    ("ReactivateMember", KeyScope::Write),
    ("RemoveMember", KeyScope::Write),
    ("LeaveAccount", KeyScope::Write),
    ("TransferOwnership", KeyScope::Write),
    ("RecordSignIn", KeyScope::Write),
    // Roles
    ("ListRoles", KeyScope::Read),
    ("CreateRole", KeyScope::Write),
    ("UpdateRole", KeyScope::Write),
    ("DeleteRole", KeyScope::Write),
    // Access requests
    ("RequestAccess", KeyScope::Write),
    ("DecideAccessRequest", KeyScope::Write),
    ("ListAccessRequests", KeyScope::Read),
    // Activity
    ("ListActivity", KeyScope::Read),
    ("WatchChanges", KeyScope::Read),
    // Shared templates
    ("ShareTemplate", KeyScope::Write),
    ("UnshareTemplate", KeyScope::Write),
    ("ListSharedTemplates", KeyScope::Read),
    // Shared suppression lists
    ("ShareSuppressionList", KeyScope::Write),
    ("UnshareSuppressionList", KeyScope::Write),
    ("ListSharedSuppressionLists", KeyScope::Read),
];

/// The scope a request path (`/access.v1.AccessService/Authorize`) needs;
/// `None` for a path outside the table.
pub fn scope_of(path: &str) -> Option<KeyScope> {
    let method = path.strip_prefix('/')?.strip_prefix(SERVICE)?.strip_prefix('/')?;
    METHOD_SCOPES
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, scope)| *scope)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::*;
    use crate::grpc::pb::FILE_DESCRIPTOR_SET;

    /// Every RPC of the service, as the compiled proto describes it.
    fn rpcs() -> BTreeSet<String> {
        let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
        let service = set
            .file
            .iter()
            .filter(|file| file.package() == "access.v1")
            .flat_map(|file| &file.service)
            .find(|service| service.name() == "AccessService")
            .expect("the descriptor holds access.v1.AccessService");
        service.method.iter().map(|m| m.name().to_owned()).collect()
    }

    #[test]
    fn every_rpc_has_exactly_one_scope() {
        let table: Vec<&str> = METHOD_SCOPES.iter().map(|(name, _)| *name).collect();
        let unique: BTreeSet<String> = table.iter().map(|name| (*name).to_owned()).collect();
        assert_eq!(unique.len(), table.len(), "a method is listed twice: {table:?}");
        assert_eq!(
            unique,
            rpcs(),
            "METHOD_SCOPES must list exactly the RPCs of access.v1.AccessService"
        );
    }

    /// The service config clients load (api/service-config.json) retries
    /// UNAVAILABLE only on reads, names only RPCs that exist, and places
    /// every read: a write sent twice could apply twice.
    #[test]
    fn the_service_config_retries_exactly_the_reads() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../../../api/service-config.json"))
                .expect("the service config is JSON");
        let mut retried = BTreeSet::new();
        for group in config["methodConfig"].as_array().expect("methodConfig") {
            let names = group["name"].as_array().expect("name");
            let methods: Vec<&str> = names.iter().filter_map(|name| name["method"].as_str()).collect();
            for name in names {
                assert_eq!(name["service"], "access.v1.AccessService", "{name}");
            }
            if group.get("retryPolicy").is_some() {
                assert_eq!(
                    methods.len(),
                    names.len(),
                    "a retried group names each method: {group}"
                );
                assert_eq!(
                    group["retryPolicy"]["retryableStatusCodes"],
                    serde_json::json!(["UNAVAILABLE"])
                );
                retried.extend(methods);
            }
        }
        let reads: BTreeSet<&str> = METHOD_SCOPES
            .iter()
            .filter(|(_, scope)| matches!(scope, KeyScope::Check | KeyScope::Read))
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(retried, reads, "retried methods must be exactly the reads");
        let rpcs = rpcs();
        assert!(retried.iter().all(|method| rpcs.contains(*method)));
        assert_eq!(
            config["loadBalancingConfig"][0]["round_robin"],
            serde_json::json!({})
        );
    }

    #[test]
    fn paths_map_to_their_scope_and_nothing_else_does() {
        assert_eq!(
            scope_of("/access.v1.AccessService/Authorize"),
            Some(KeyScope::Check)
        );
        assert_eq!(
            scope_of("/access.v1.AccessService/SetAccountLimits"),
            Some(KeyScope::Platform)
        );
        assert_eq!(scope_of("/access.v1.AccessService/Invite"), Some(KeyScope::Write));
        assert_eq!(
            scope_of("/access.v1.AccessService/ListUsers"),
            Some(KeyScope::Read)
        );
        for path in [
            "/access.v1.AccessService/NoSuchMethod",
            "/access.v1.AccessService/",
            "/access.v1.AccessServiceX/Authorize",
            "/other.v1.AccessService/Authorize",
            "access.v1.AccessService/Authorize",
            "/grpc.health.v1.Health/Check",
        ] {
            assert_eq!(scope_of(path), None, "{path}");
        }
    }

    #[test]
    fn scope_sets_read_and_print_as_configured() {
        let set = KeyScopes::default()
            .with(KeyScope::Check)
            .with(KeyScope::Platform);
        assert!(set.contains(KeyScope::Check) && set.contains(KeyScope::Platform));
        assert!(!set.contains(KeyScope::Read) && !set.contains(KeyScope::Write));
        assert_eq!(set.to_string(), "check+platform");
        assert_eq!(
            KeyScopes::all().to_string(),
            "check+read+write+platform+invitation_tokens"
        );
        for scope in KeyScope::ALL {
            assert_eq!(KeyScope::parse(scope.as_str()), Some(scope));
            assert_eq!(
                KeyScopes::parse_name(scope.as_str()),
                Some(KeyScopes::default().with(scope))
            );
        }
        assert_eq!(KeyScope::parse("Read"), None);
        assert_eq!(KeyScope::parse("admin"), None, "admin is no scope of its own");
        assert_eq!(
            KeyScopes::parse_name("admin").map(|set| set.to_string()),
            Some("read+write".into()),
            "the deprecated admin keeps the reach it had"
        );
        assert_eq!(KeyScopes::parse_name("root"), None);
    }

    #[test]
    fn reads_change_nothing_and_writes_are_a_persons_changes() {
        // Every RPC whose name says it only reads needs `read`, and no other does.
        for (method, scope) in METHOD_SCOPES {
            let reads = ["Get", "List", "Lookup", "Watch", "Preview"]
                .iter()
                .any(|verb| method.starts_with(verb));
            let decision = matches!(*scope, KeyScope::Check | KeyScope::Platform);
            if !decision {
                assert_eq!(reads, *scope == KeyScope::Read, "{method} needs {scope}");
            }
        }
    }
}
