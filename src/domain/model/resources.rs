//! Resources of other services: their kinds, and scopes that limit a
//! membership to chosen ids. What a parent shares with its children is
//! `sharing.rs`.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::error::FieldViolation;
use crate::domain::ids::ResourceId;
use crate::domain::permissions::{Permission, PermissionSet};

/// Kinds of resource that checks, scopes and shares name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    /// A contact list.
    List,
    /// A campaign.
    Campaign,
    /// An automation workflow.
    Automation,
    /// A segment (Mailigen group).
    Segment,
    /// An email template.
    Template,
    /// A suppression list.
    SuppressionList,
}

impl ResourceType {
    /// Every type, for listings.
    pub const ALL: [Self; 6] = [
        Self::List,
        Self::Campaign,
        Self::Automation,
        Self::Segment,
        Self::Template,
        Self::SuppressionList,
    ];

    /// Stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Campaign => "campaign",
            Self::Automation => "automation",
            Self::Segment => "segment",
            Self::Template => "template",
            Self::SuppressionList => "suppression_list",
        }
    }

    /// Reads a storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The permission areas a check may name with a resource of this type:
    /// what a scope on the type narrows (rule 2). Contacts live in lists and
    /// segments; a campaign's and an automation's reports are theirs; a
    /// template is used by campaigns (rule 5) and transactional mail.
    pub fn areas(self) -> &'static [&'static str] {
        match self {
            Self::List => &["lists", "contacts"],
            Self::Segment => &["segments", "contacts"],
            Self::Campaign => &["campaigns", "reports"],
            Self::Automation => &["automations", "reports"],
            Self::Template => &["templates", "campaigns", "transactional"],
            Self::SuppressionList => &["suppressions"],
        }
    }

    /// Whether a check of `permission` may name a resource of this type; any
    /// other pairing would silently skip the scope, and is refused instead.
    pub fn admits(self, permission: Permission) -> bool {
        self.areas().contains(&permission.area())
    }

    /// Whether `permissions` reach resources of this type at all: some
    /// permission of them may be checked against one (rule 2's table). A
    /// scope on a type the permissions do not reach narrows nothing (rule 6).
    pub fn reached_by(self, permissions: PermissionSet) -> bool {
        permissions.iter().any(|permission| self.admits(permission))
    }
}

/// A resource of another service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its type.
    pub resource_type: ResourceType,
    /// Its id in its own service.
    pub id: ResourceId,
}

/// Resource types on which a membership is limited to chosen ids.
/// A type absent from the map is unrestricted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeMap<ResourceType, BTreeSet<ResourceId>>);

/// Most ids one scope may list.
pub const MAX_SCOPE_IDS: usize = 1000;

impl Scopes {
    /// Builds scopes from (type, ids) pairs; an empty id list is refused, since
    /// "scoped to nothing" would silently deny everything of that type.
    pub fn build(
        field: &str,
        entries: impl IntoIterator<Item = (ResourceType, Vec<ResourceId>)>,
    ) -> Result<Self, FieldViolation> {
        let mut map: BTreeMap<ResourceType, BTreeSet<ResourceId>> = BTreeMap::new();
        for (resource_type, ids) in entries {
            if ids.is_empty() {
                return Err(FieldViolation::new(
                    field,
                    format!(
                        "the {} scope lists no ids: name at least one, or leave the type out to allow all",
                        resource_type.as_str()
                    ),
                ));
            }
            map.entry(resource_type).or_default().extend(ids);
        }
        if map.values().any(|ids| ids.len() > MAX_SCOPE_IDS) {
            return Err(FieldViolation::new(
                field,
                format!("a scope may list at most {MAX_SCOPE_IDS} ids"),
            ));
        }
        Ok(Self(map))
    }

    /// Adds one scoped id (used when reading rows back).
    pub fn insert(&mut self, resource_type: ResourceType, id: ResourceId) {
        self.0.entry(resource_type).or_default().insert(id);
    }

    /// Whether `resource` is inside the scope of its type (or its type is unscoped).
    pub fn allows(&self, resource: &Resource) -> bool {
        self.0
            .get(&resource.resource_type)
            .is_none_or(|ids| ids.contains(&resource.id))
    }

    /// These scopes without the given entries; a type whose every id is
    /// taken out stays scoped, to nothing (rule 17: an ended entry never
    /// widens a scope).
    #[must_use]
    pub fn without<'a>(&self, entries: impl IntoIterator<Item = (ResourceType, &'a ResourceId)>) -> Self {
        let mut kept = self.clone();
        for (resource_type, id) in entries {
            if let Some(ids) = kept.0.get_mut(&resource_type) {
                ids.remove(id);
            }
        }
        kept
    }

    /// How many ids every type's scope lists together.
    pub fn id_count(&self) -> usize {
        self.0.values().map(BTreeSet::len).sum()
    }

    /// Whether no type is scoped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids a type is limited to, or None when the type is unscoped.
    pub fn ids_of(&self, resource_type: ResourceType) -> Option<&BTreeSet<ResourceId>> {
        self.0.get(&resource_type)
    }

    /// (type, ids) pairs in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (ResourceType, &BTreeSet<ResourceId>)> {
        self.0.iter().map(|(t, ids)| (*t, ids))
    }

    /// The first scoped type that `permissions` do not reach: a scope there
    /// would be accepted and narrow nothing (rule 2 of docs/domain.md:
    /// SCOPE_WITHOUT_PERMISSION).
    pub fn unreached_type(&self, permissions: PermissionSet) -> Option<ResourceType> {
        self.0
            .keys()
            .copied()
            .find(|resource_type| !resource_type.reached_by(permissions))
    }
}
