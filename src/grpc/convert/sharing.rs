//! Shared resources: a parent account shares a template or a suppression
//! list with its children. One parser per shape, the field names given by
//! the RPC.

use super::{named, page, present, timestamp};
use crate::domain::ids::{AccountId, ResourceId, UserId, Violations};
use crate::domain::model::{MAX_SHARED_CHILDREN, SharedResource};
use crate::domain::service::{ListSharedResources, ShareResource, Shareable, SharedId, UnshareResource};
use crate::domain::{DomainError, FieldViolation};
use crate::grpc::pb;

/// The fields of a share request, whatever the type.
struct ShareFields<'a> {
    actor_user_id: &'a str,
    account_id: &'a str,
    /// The id field's name in the request, and its value.
    resource: (&'static str, &'a str),
    child_account_ids: &'a [String],
}

fn share(kind: Shareable, raw: ShareFields<'_>) -> Result<ShareResource, DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", raw.actor_user_id));
    let account_id = v.check(AccountId::parse("account_id", raw.account_id));
    let (id_field, id) = raw.resource;
    let resource_id = v.check(ResourceId::parse(id_field, id));
    // Past the limit the ids are not looked at: one violation, not a thousand.
    let children: Vec<Option<AccountId>> = if raw.child_account_ids.len() > MAX_SHARED_CHILDREN {
        v.push(FieldViolation::new(
            "child_account_ids",
            format!(
                "names {} children, at most {MAX_SHARED_CHILDREN} are allowed: leave it empty to share with every child",
                raw.child_account_ids.len()
            ),
        ));
        Vec::new()
    } else {
        raw.child_account_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                v.check(named(AccountId::parse("child_account_ids", id), || {
                    format!("child_account_ids[{i}]")
                }))
            })
            .collect()
    };
    v.finish()?;
    Ok(ShareResource {
        actor: present(actor)?,
        account_id: present(account_id)?,
        resource: SharedId {
            kind,
            id: present(resource_id)?,
        },
        children: children.into_iter().map(present).collect::<Result<_, _>>()?,
    })
}

fn unshare(
    kind: Shareable,
    actor_user_id: &str,
    account_id: &str,
    (id_field, id): (&'static str, &str),
) -> Result<UnshareResource, DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", actor_user_id));
    let account_id = v.check(AccountId::parse("account_id", account_id));
    let resource_id = v.check(ResourceId::parse(id_field, id));
    v.finish()?;
    Ok(UnshareResource {
        actor: present(actor)?,
        account_id: present(account_id)?,
        resource: SharedId {
            kind,
            id: present(resource_id)?,
        },
    })
}

fn list(
    kind: Shareable,
    actor_user_id: &str,
    account_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<ListSharedResources, DomainError> {
    let mut v = Violations::default();
    let actor = v.check(UserId::parse("actor_user_id", actor_user_id));
    let account_id = v.check(AccountId::parse("account_id", account_id));
    let page = page(&mut v, page_size, page_token);
    v.finish()?;
    Ok(ListSharedResources {
        actor: present(actor)?,
        account_id: present(account_id)?,
        kind,
        page: present(page)?,
    })
}

impl TryFrom<pb::ShareTemplateRequest> for ShareResource {
    type Error = DomainError;

    fn try_from(raw: pb::ShareTemplateRequest) -> Result<Self, Self::Error> {
        share(
            Shareable::Template,
            ShareFields {
                actor_user_id: &raw.actor_user_id,
                account_id: &raw.account_id,
                resource: ("template_id", &raw.template_id),
                child_account_ids: &raw.child_account_ids,
            },
        )
    }
}

impl TryFrom<pb::ShareSuppressionListRequest> for ShareResource {
    type Error = DomainError;

    fn try_from(raw: pb::ShareSuppressionListRequest) -> Result<Self, Self::Error> {
        share(
            Shareable::SuppressionList,
            ShareFields {
                actor_user_id: &raw.actor_user_id,
                account_id: &raw.account_id,
                resource: ("suppression_list_id", &raw.suppression_list_id),
                child_account_ids: &raw.child_account_ids,
            },
        )
    }
}

impl TryFrom<pb::UnshareTemplateRequest> for UnshareResource {
    type Error = DomainError;

    fn try_from(raw: pb::UnshareTemplateRequest) -> Result<Self, Self::Error> {
        unshare(
            Shareable::Template,
            &raw.actor_user_id,
            &raw.account_id,
            ("template_id", &raw.template_id),
        )
    }
}

impl TryFrom<pb::UnshareSuppressionListRequest> for UnshareResource {
    type Error = DomainError;

    fn try_from(raw: pb::UnshareSuppressionListRequest) -> Result<Self, Self::Error> {
        unshare(
            Shareable::SuppressionList,
            &raw.actor_user_id,
            &raw.account_id,
            ("suppression_list_id", &raw.suppression_list_id),
        )
    }
}

impl TryFrom<pb::ListSharedTemplatesRequest> for ListSharedResources {
    type Error = DomainError;

    fn try_from(raw: pb::ListSharedTemplatesRequest) -> Result<Self, Self::Error> {
        list(
            Shareable::Template,
            &raw.actor_user_id,
            &raw.account_id,
            raw.page_size,
            &raw.page_token,
        )
    }
}

impl TryFrom<pb::ListSharedSuppressionListsRequest> for ListSharedResources {
    type Error = DomainError;

    fn try_from(raw: pb::ListSharedSuppressionListsRequest) -> Result<Self, Self::Error> {
        list(
            Shareable::SuppressionList,
            &raw.actor_user_id,
            &raw.account_id,
            raw.page_size,
            &raw.page_token,
        )
    }
}

impl From<SharedResource> for pb::SharedTemplate {
    fn from(shared: SharedResource) -> Self {
        Self {
            parent_account_id: shared.parent_account_id.to_string(),
            template_id: shared.resource.id.to_string(),
            all_children: shared.all_children,
            child_account_ids: shared.child_account_ids.iter().map(ToString::to_string).collect(),
            shared_by: shared.shared_by.to_string(),
            create_time: Some(timestamp(shared.created_at)),
        }
    }
}

impl From<SharedResource> for pb::SharedSuppressionList {
    fn from(shared: SharedResource) -> Self {
        Self {
            parent_account_id: shared.parent_account_id.to_string(),
            suppression_list_id: shared.resource.id.to_string(),
            all_children: shared.all_children,
            child_account_ids: shared.child_account_ids.iter().map(ToString::to_string).collect(),
            shared_by: shared.shared_by.to_string(),
            create_time: Some(timestamp(shared.created_at)),
        }
    }
}
