//! The permission catalogue of docs/domain.md, its compile-time constants and
//! permission sets; the built-in roles are in `roles`. Together they are the
//! single source the database is seeded from.

mod roles;

pub use roles::{ADMIN_ROLE, BUILTIN_ROLES, BuiltinRole, OWNER_ROLE, builtin_role};

use fnv::FnvHashMap;
use std::fmt;
use std::sync::LazyLock;

use crate::domain::error::{FieldViolation, echo};

/// Every permission a check may name, with what it lets a person do.
/// The position in this table is the permission's bit in a [`PermissionSet`].
pub const CATALOGUE: &[(&str, &str)] = &[
    ("account.view", "See the account"),
    ("account.edit", "Change the account name and settings"),
    ("account.security", "Require two-factor authentication"),
    ("account.export", "Export the account"),
    ("account.close", "Close the account"),
    ("account.transfer", "Transfer ownership (owner only)"),
    ("users.view", "See the user list and the activity log"),
    ("users.invite", "Invite users, resend and cancel invitations"),
    ("users.edit", "Change roles and scopes, decide access requests"),
    ("users.remove", "Deactivate, reactivate and remove users"),
    ("billing.view", "See the plan, invoices and deposits"),
    ("billing.edit", "Change billing information"),
    ("api_keys.manage", "Manage API keys"),
    ("integrations.manage", "Manage integrations"),
    ("monitoring.manage", "Manage real-time monitoring alerts"),
    ("lists.view", "See lists"),
    ("lists.edit", "Edit list settings"),
    ("lists.import", "Import lists"),
    ("lists.export", "Export lists"),
    ("contacts.view", "See subscriber details"),
    ("contacts.add", "Add subscribers"),
    ("contacts.edit", "Edit and unsubscribe subscribers"),
    ("contacts.delete", "Delete subscribers"),
    ("segments.view", "See segments"),
    ("segments.edit", "Edit segments"),
    ("templates.view", "See templates"),
    ("templates.edit", "Create templates and edit drafts"),
    ("templates.delete", "Delete templates"),
    ("templates.publish", "Publish templates to the gallery"),
    ("templates.lock", "Lock and unlock template sections"),
    ("templates.labels", "Create, edit and delete template labels"),
    ("templates.share", "Share templates to child accounts"),
    ("campaigns.view", "See campaigns"),
    ("campaigns.edit", "Create and edit campaigns"),
    ("campaigns.send", "Send campaigns"),
    ("campaigns.pause", "Pause campaigns"),
    ("campaigns.delete", "Delete campaigns"),
    ("automations.view", "See automation workflows"),
    ("automations.edit", "Edit automation workflows"),
    ("transactional.view", "See transactional templates"),
    ("transactional.edit", "Suggest changes to transactional templates"),
    ("transactional.publish", "Publish transactional templates"),
    ("reports.view", "See reports"),
    ("reports.subscriber", "See subscriber-level reports"),
    ("reports.export", "Export reports (XLS, PDF)"),
    ("conversations.view", "See conversations"),
    ("subaccounts.view", "See child accounts"),
    ("subaccounts.manage", "Create child accounts"),
    ("suppressions.view", "See suppression lists"),
    ("suppressions.edit", "Edit suppression lists"),
];

/// One permission of the catalogue. Cheap to copy; made only by parsing a
/// name or from the constants below, so it is always a catalogue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission(u8);

impl Permission {
    /// Looks a permission up by name; an unknown name is a field error, never a silent deny.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldViolation::new(field, "must not be empty"));
        }
        Self::lookup(name).ok_or_else(|| {
            FieldViolation::new(
                field,
                format!(
                    "'{}' is not a known permission (e.g. 'campaigns.send', 'users.invite')",
                    echo(name)
                ),
            )
        })
    }

    /// The permission with this exact name, if the catalogue has it.
    pub fn lookup(name: &str) -> Option<Self> {
        BY_NAME.get(name).copied()
    }

    /// The catalogue name, e.g. `campaigns.send`.
    pub fn name(self) -> &'static str {
        CATALOGUE[usize::from(self.0)].0
    }

    /// Every permission, in catalogue order.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..CATALOGUE.len()).filter_map(|index| u8::try_from(index).ok().map(Self))
    }

    /// The `area` of `area.action`.
    pub fn area(self) -> &'static str {
        self.name().split_once('.').map_or("", |(area, _)| area)
    }

    fn bit(self) -> u128 {
        1u128 << self.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Names catalogue entries in code: each constant is found in [`CATALOGUE`]
/// while compiling, so a misspelt permission stops the build instead of
/// failing a request at run time.
macro_rules! permission_constants {
    ($($constant:ident = $name:literal,)*) => {
        impl Permission {
            $(
                #[doc = concat!("`", $name, "` from the catalogue.")]
                pub const $constant: Self = Self::named($name);
            )*
        }

        // Associated constants are evaluated only where used; this free one is
        // evaluated in every build, which turns a name missing from the
        // catalogue into a build error even before anything uses the constant.
        const _: &[Permission] = &[$(Permission::$constant),*];

        /// Every constant with the name it was made from, for the round-trip test.
        #[cfg(test)]
        const CONSTANTS: &[(Permission, &str)] = &[$((Permission::$constant, $name),)*];
    };
}

permission_constants! {
    ACCOUNT_VIEW = "account.view",
    ACCOUNT_EDIT = "account.edit",
    ACCOUNT_SECURITY = "account.security",
    ACCOUNT_EXPORT = "account.export",
    ACCOUNT_CLOSE = "account.close",
    ACCOUNT_TRANSFER = "account.transfer",
    USERS_VIEW = "users.view",
    USERS_INVITE = "users.invite",
    USERS_EDIT = "users.edit",
    USERS_REMOVE = "users.remove",
    BILLING_VIEW = "billing.view",
    BILLING_EDIT = "billing.edit",
    API_KEYS_MANAGE = "api_keys.manage",
    INTEGRATIONS_MANAGE = "integrations.manage",
    MONITORING_MANAGE = "monitoring.manage",
    LISTS_VIEW = "lists.view",
    LISTS_EDIT = "lists.edit",
    LISTS_IMPORT = "lists.import",
    LISTS_EXPORT = "lists.export",
    CONTACTS_VIEW = "contacts.view",
    CONTACTS_ADD = "contacts.add",
    CONTACTS_EDIT = "contacts.edit",
    CONTACTS_DELETE = "contacts.delete",
    SEGMENTS_VIEW = "segments.view",
    SEGMENTS_EDIT = "segments.edit",
    TEMPLATES_VIEW = "templates.view",
    TEMPLATES_EDIT = "templates.edit",
    TEMPLATES_DELETE = "templates.delete",
    TEMPLATES_PUBLISH = "templates.publish",
    TEMPLATES_LOCK = "templates.lock",
    TEMPLATES_LABELS = "templates.labels",
    TEMPLATES_SHARE = "templates.share",
    CAMPAIGNS_VIEW = "campaigns.view",
    CAMPAIGNS_EDIT = "campaigns.edit",
    CAMPAIGNS_SEND = "campaigns.send",
    CAMPAIGNS_PAUSE = "campaigns.pause",
    CAMPAIGNS_DELETE = "campaigns.delete",
    AUTOMATIONS_VIEW = "automations.view",
    AUTOMATIONS_EDIT = "automations.edit",
    TRANSACTIONAL_VIEW = "transactional.view",
    TRANSACTIONAL_EDIT = "transactional.edit",
    TRANSACTIONAL_PUBLISH = "transactional.publish",
    REPORTS_VIEW = "reports.view",
    REPORTS_SUBSCRIBER = "reports.subscriber",
    REPORTS_EXPORT = "reports.export",
    CONVERSATIONS_VIEW = "conversations.view",
    SUBACCOUNTS_VIEW = "subaccounts.view",
    SUBACCOUNTS_MANAGE = "subaccounts.manage",
    SUPPRESSIONS_VIEW = "suppressions.view",
    SUPPRESSIONS_EDIT = "suppressions.edit",
}

// A permission is a bit of a u128 and its index must fit the u8 inside `Permission`.
const _: () = assert!(CATALOGUE.len() <= 128);

impl Permission {
    /// The catalogue entry called `name`, for constants only: evaluated while
    /// compiling, where the panic is a build error pointing at the constant.
    const fn named(name: &str) -> Self {
        let mut index = 0;
        while index < CATALOGUE.len() {
            if const_str_eq(CATALOGUE[index].0, name) {
                // In range: the assertion above keeps the catalogue within 128 entries.
                return Self(index as u8);
            }
            index += 1;
        }
        panic!("a permission constant names an entry missing from the catalogue");
    }
}

/// `a == b` for const evaluation, where `str`'s `PartialEq` is not available.
const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The catalogue by name, built once: `lookup` runs on every check. Hashed
/// with FNV-1a: the names are fixed and few, so a lookup needs no defence
/// against chosen collisions (an unknown name costs one probe whatever it
/// hashes to), and FNV costs a third of SipHash on a name.
static BY_NAME: LazyLock<FnvHashMap<&'static str, Permission>> = LazyLock::new(|| {
    Permission::all()
        .map(|permission| (permission.name(), permission))
        .collect()
});

/// Permissions every role has implicitly.
pub const IMPLICIT: &[Permission] = &[Permission::ACCOUNT_VIEW];
/// Permissions only the owner can hold; never in a custom role or a grant.
pub const OWNER_ONLY: &[Permission] = &[Permission::ACCOUNT_TRANSFER];
/// Template permissions that a child account never has on a template shared
/// from its parent (rule 5 in docs/domain.md).
pub const SHARED_TEMPLATE_READ_ONLY: &[Permission] = &[
    Permission::TEMPLATES_EDIT,
    Permission::TEMPLATES_DELETE,
    Permission::TEMPLATES_PUBLISH,
    Permission::TEMPLATES_LOCK,
    Permission::TEMPLATES_LABELS,
    Permission::TEMPLATES_SHARE,
];

/// Suppression-list permissions that a child account never has on a
/// suppression list shared from its parent (rule 5 in docs/domain.md).
pub const SHARED_SUPPRESSION_LIST_READ_ONLY: &[Permission] = &[Permission::SUPPRESSIONS_EDIT];

/// A set of permissions as a bit set: membership tests on the Authorize hot path are one AND.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u128);

impl PermissionSet {
    /// No permission at all.
    pub const EMPTY: Self = Self(0);

    /// The set of these permissions, usable in constants.
    pub const fn of(permissions: &[Permission]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < permissions.len() {
            bits |= 1u128 << permissions[i].0;
            i += 1;
        }
        Self(bits)
    }

    /// [`SHARED_TEMPLATE_READ_ONLY`] as a set, for the check made on every Authorize.
    pub const SHARED_TEMPLATE_READ_ONLY: Self = Self::of(SHARED_TEMPLATE_READ_ONLY);
    /// [`SHARED_SUPPRESSION_LIST_READ_ONLY`] as a set.
    pub const SHARED_SUPPRESSION_LIST_READ_ONLY: Self = Self::of(SHARED_SUPPRESSION_LIST_READ_ONLY);

    /// The set as bits, bit `i` for the catalogue's `i`-th permission: a
    /// compact form for caches, valid only with the same catalogue.
    pub fn bits(self) -> u128 {
        self.0
    }

    /// The set from [`PermissionSet::bits`]; bits past the catalogue are dropped.
    pub fn from_bits(bits: u128) -> Self {
        Self(bits & Self::all().0)
    }

    /// Every permission of the catalogue.
    pub fn all() -> Self {
        Permission::all().collect()
    }

    /// Whether the set holds `permission`.
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Adds one permission.
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// Both sets together.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The permissions in both sets.
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The permissions of `self` that `other` lacks.
    pub fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Whether every permission of `self` is in `other`.
    pub fn is_subset(self, other: Self) -> bool {
        self.difference(other).is_empty()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::all().filter(move |permission| self.contains(*permission))
    }

    /// The names, sorted alphabetically (the order the API documents).
    pub fn names(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.iter().map(Permission::name).collect();
        names.sort_unstable();
        names
    }

    /// Builds a set from catalogue names; names not in the catalogue are ignored,
    /// which only matters for rows written by a newer version of the service.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names.into_iter().filter_map(Permission::lookup).collect()
    }

    /// The implicit permissions every role has.
    pub const fn implicit() -> Self {
        Self::of(IMPLICIT)
    }

    /// These permissions plus the implicit ones: what a role's stored
    /// permissions (and a member's grants) actually give.
    #[must_use]
    pub fn with_implicit(self) -> Self {
        self.union(Self::implicit())
    }

    /// Owner-only permissions.
    pub const fn owner_only() -> Self {
        Self::of(OWNER_ONLY)
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_fits_the_bit_set_and_has_unique_names() {
        assert!(CATALOGUE.len() <= 128);
        let mut names: Vec<_> = CATALOGUE.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
    }

    #[test]
    fn unknown_permission_is_a_field_error() {
        let err = Permission::parse("permission", "campaigns.launch").unwrap_err();
        assert_eq!(err.field, "permission");
        assert!(err.description.contains("campaigns.launch"));
    }

    #[test]
    fn every_constant_is_the_catalogue_entry_of_its_name() {
        for (constant, name) in CONSTANTS {
            assert_eq!(constant.name(), *name);
            assert_eq!(Permission::lookup(name), Some(*constant), "{name}");
        }
    }

    #[test]
    fn every_catalogue_entry_has_a_constant_and_round_trips_by_name() {
        assert_eq!(CONSTANTS.len(), CATALOGUE.len());
        for permission in Permission::all() {
            assert_eq!(Permission::lookup(permission.name()), Some(permission));
            assert!(
                CONSTANTS.iter().any(|(constant, _)| *constant == permission),
                "no constant for {permission}"
            );
        }
        assert_eq!(Permission::lookup("campaigns.launch"), None);
    }
}
