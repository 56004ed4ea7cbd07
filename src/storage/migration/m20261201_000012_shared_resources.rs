//! Rule 5's "the same mechanism serves shared suppression lists": the two
//! template-sharing tables become `shared_resources` and
//! `shared_resource_children`, keyed by resource type as well as id (a
//! template and a suppression list of another service may share an id).
//! Existing template shares are copied over; `down` copies them back and
//! drops the shares of other types, which the old tables cannot hold.
//!
//! A rolling upgrade runs replicas of the previous version against the
//! migrated schema until they are replaced, and their every check reads the
//! old tables: without them each of their checks would fail. So the old
//! names stay, as read-only views of the template rows (an old replica's
//! attempt to share through one fails; its unshare deletes the right row),
//! until a later migration drops them once no such replica can be running.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_schema::{create_shared_templates, fk};

/// Replaces the template-only sharing tables with typed ones.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Length of id columns, as in the first migration.
const ID: u32 = 128;
/// Length of a resource type's storage name (`suppression_list`, ...).
const RESOURCE_TYPE: u32 = 32;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SharedResources {
    Table,
    ParentAccountId,
    ResourceType,
    ResourceId,
    AllChildren,
    SharedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SharedResourceChildren {
    Table,
    ParentAccountId,
    ResourceType,
    ResourceId,
    ChildAccountId,
}

/// The first migration's tables, dropped here (created there, and again by `down`).
#[derive(DeriveIden)]
enum SharedTemplates {
    Table,
}

#[derive(DeriveIden)]
enum SharedTemplateChildren {
    Table,
}

/// A view under an old table's name, for replicas of the previous version.
struct CompatView {
    name: &'static str,
    create: &'static str,
}

/// The two template-sharing tables, as the previous version reads them.
const COMPAT_VIEWS: [CompatView; 2] = [
    CompatView {
        name: "shared_templates",
        create: "CREATE VIEW shared_templates AS \
                 SELECT parent_account_id, resource_id AS template_id, all_children, shared_by, created_at \
                 FROM shared_resources WHERE resource_type = 'template'",
    },
    CompatView {
        name: "shared_template_children",
        create: "CREATE VIEW shared_template_children AS \
                 SELECT parent_account_id, resource_id AS template_id, child_account_id \
                 FROM shared_resource_children WHERE resource_type = 'template'",
    },
];

async fn create_shared_resources(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(super::binary_collation(
            manager,
            Table::create()
                .table(SharedResources::Table)
                .col(string_len(SharedResources::ParentAccountId, ID))
                .col(string_len(SharedResources::ResourceType, RESOURCE_TYPE))
                .col(string_len(SharedResources::ResourceId, ID))
                .col(boolean(SharedResources::AllChildren))
                .col(string_len(SharedResources::SharedBy, ID))
                .col(big_integer(SharedResources::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(SharedResources::ParentAccountId)
                        .col(SharedResources::ResourceType)
                        .col(SharedResources::ResourceId),
                )
                .foreign_key(&mut fk(
                    "fk_shared_resources_parent",
                    (
                        SharedResources::Table,
                        vec![SharedResources::ParentAccountId.into_iden()],
                    ),
                    (Accounts::Table, vec![Accounts::Id.into_iden()]),
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        ))
        .await?;
    manager
        .create_table(super::binary_collation(
            manager,
            Table::create()
                .table(SharedResourceChildren::Table)
                .col(string_len(SharedResourceChildren::ParentAccountId, ID))
                .col(string_len(SharedResourceChildren::ResourceType, RESOURCE_TYPE))
                .col(string_len(SharedResourceChildren::ResourceId, ID))
                .col(string_len(SharedResourceChildren::ChildAccountId, ID))
                .primary_key(
                    Index::create()
                        .col(SharedResourceChildren::ParentAccountId)
                        .col(SharedResourceChildren::ResourceType)
                        .col(SharedResourceChildren::ResourceId)
                        .col(SharedResourceChildren::ChildAccountId),
                )
                .foreign_key(&mut fk(
                    "fk_shared_resource_children_share",
                    (
                        SharedResourceChildren::Table,
                        vec![
                            SharedResourceChildren::ParentAccountId.into_iden(),
                            SharedResourceChildren::ResourceType.into_iden(),
                            SharedResourceChildren::ResourceId.into_iden(),
                        ],
                    ),
                    (
                        SharedResources::Table,
                        vec![
                            SharedResources::ParentAccountId.into_iden(),
                            SharedResources::ResourceType.into_iden(),
                            SharedResources::ResourceId.into_iden(),
                        ],
                    ),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_shared_resource_children_child",
                    (
                        SharedResourceChildren::Table,
                        vec![SharedResourceChildren::ChildAccountId.into_iden()],
                    ),
                    (Accounts::Table, vec![Accounts::Id.into_iden()]),
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        ))
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_shared_resources(manager).await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO shared_resources \
             (parent_account_id, resource_type, resource_id, all_children, shared_by, created_at) \
             SELECT parent_account_id, 'template', template_id, all_children, shared_by, created_at \
             FROM shared_templates",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO shared_resource_children \
             (parent_account_id, resource_type, resource_id, child_account_id) \
             SELECT parent_account_id, 'template', template_id, child_account_id \
             FROM shared_template_children",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(SharedTemplateChildren::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SharedTemplates::Table).to_owned())
            .await?;
        for view in COMPAT_VIEWS {
            db.execute_unprepared(view.create).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for view in COMPAT_VIEWS {
            db.execute_unprepared(&format!("DROP VIEW IF EXISTS {}", view.name))
                .await?;
        }
        create_shared_templates(manager).await?;
        db.execute_unprepared(
            "INSERT INTO shared_templates \
             (parent_account_id, template_id, all_children, shared_by, created_at) \
             SELECT parent_account_id, resource_id, all_children, shared_by, created_at \
             FROM shared_resources WHERE resource_type = 'template'",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO shared_template_children \
             (parent_account_id, template_id, child_account_id) \
             SELECT parent_account_id, resource_id, child_account_id \
             FROM shared_resource_children WHERE resource_type = 'template'",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(SharedResourceChildren::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SharedResources::Table).to_owned())
            .await
    }
}
