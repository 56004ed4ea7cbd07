//! Shared templates: a parent account shares a template with its children.

use super::{named, page, present, timestamp};
use crate::domain::ids::{AccountId, ResourceId, UserId, Violations};
use crate::domain::model::{MAX_SHARED_CHILDREN, SharedTemplate};
use crate::domain::service::{ListSharedTemplates, ShareTemplate, UnshareTemplate};
use crate::domain::{DomainError, FieldViolation};
use crate::grpc::pb;

impl TryFrom<pb::ShareTemplateRequest> for ShareTemplate {
    type Error = DomainError;

    fn try_from(raw: pb::ShareTemplateRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let template_id = v.check(ResourceId::parse("template_id", &raw.template_id));
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
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            template_id: present(template_id)?,
            children: children.into_iter().map(present).collect::<Result<_, _>>()?,
        })
    }
}

impl TryFrom<pb::UnshareTemplateRequest> for UnshareTemplate {
    type Error = DomainError;

    fn try_from(raw: pb::UnshareTemplateRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let template_id = v.check(ResourceId::parse("template_id", &raw.template_id));
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            template_id: present(template_id)?,
        })
    }
}

impl TryFrom<pb::ListSharedTemplatesRequest> for ListSharedTemplates {
    type Error = DomainError;

    fn try_from(raw: pb::ListSharedTemplatesRequest) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let actor = v.check(UserId::parse("actor_user_id", &raw.actor_user_id));
        let account_id = v.check(AccountId::parse("account_id", &raw.account_id));
        let page = page(&mut v, raw.page_size, &raw.page_token);
        v.finish()?;
        Ok(Self {
            actor: present(actor)?,
            account_id: present(account_id)?,
            page: present(page)?,
        })
    }
}

impl From<SharedTemplate> for pb::SharedTemplate {
    fn from(shared: SharedTemplate) -> Self {
        Self {
            parent_account_id: shared.parent_account_id.to_string(),
            template_id: shared.template_id.to_string(),
            all_children: shared.all_children,
            child_account_ids: shared.child_account_ids.iter().map(ToString::to_string).collect(),
            shared_by: shared.shared_by.to_string(),
            create_time: Some(timestamp(shared.created_at)),
        }
    }
}
