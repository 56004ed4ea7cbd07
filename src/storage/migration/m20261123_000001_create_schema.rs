//! The first schema: accounts, users, roles, memberships, invitations,
//! shared templates and the activity log. Times are Unix milliseconds in
//! BIGINT columns, which behave the same on MySQL and SQLite.

use sea_orm_migration::{prelude::*, schema::*};

mod tables;

use tables::*;

/// Creates the whole first schema.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Length of id columns (ids are validated to fit).
const ID: u32 = 128;
/// Length of email and name columns.
const TEXT: u32 = 255;

/// A named foreign key from `from` (table, columns) to `to`; later
/// migrations that create tables use it too.
pub(super) fn fk(
    name: &str,
    from: (impl IntoIden, Vec<DynIden>),
    to: (impl IntoIden, Vec<DynIden>),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    let mut key = ForeignKey::create();
    key.name(name).from_tbl(from.0).to_tbl(to.0).on_delete(on_delete);
    for column in from.1 {
        key.from_col(column);
    }
    for column in to.1 {
        key.to_col(column);
    }
    key
}

/// The template-sharing tables of this first schema; migration 000012
/// replaces them with typed ones and creates them again on its way down.
pub(super) async fn create_shared_templates(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(super::binary_collation(
            manager,
            Table::create()
                .table(SharedTemplates::Table)
                .col(string_len(SharedTemplates::ParentAccountId, ID))
                .col(string_len(SharedTemplates::TemplateId, ID))
                .col(boolean(SharedTemplates::AllChildren))
                .col(string_len(SharedTemplates::SharedBy, ID))
                .col(big_integer(SharedTemplates::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(SharedTemplates::ParentAccountId)
                        .col(SharedTemplates::TemplateId),
                )
                .foreign_key(&mut fk(
                    "fk_shared_templates_parent",
                    (
                        SharedTemplates::Table,
                        vec![SharedTemplates::ParentAccountId.into_iden()],
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
                .table(SharedTemplateChildren::Table)
                .col(string_len(SharedTemplateChildren::ParentAccountId, ID))
                .col(string_len(SharedTemplateChildren::TemplateId, ID))
                .col(string_len(SharedTemplateChildren::ChildAccountId, ID))
                .primary_key(
                    Index::create()
                        .col(SharedTemplateChildren::ParentAccountId)
                        .col(SharedTemplateChildren::TemplateId)
                        .col(SharedTemplateChildren::ChildAccountId),
                )
                .foreign_key(&mut fk(
                    "fk_shared_template_children_share",
                    (
                        SharedTemplateChildren::Table,
                        vec![
                            SharedTemplateChildren::ParentAccountId.into_iden(),
                            SharedTemplateChildren::TemplateId.into_iden(),
                        ],
                    ),
                    (
                        SharedTemplates::Table,
                        vec![
                            SharedTemplates::ParentAccountId.into_iden(),
                            SharedTemplates::TemplateId.into_iden(),
                        ],
                    ),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_shared_template_children_child",
                    (
                        SharedTemplateChildren::Table,
                        vec![SharedTemplateChildren::ChildAccountId.into_iden()],
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
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(Accounts::Table)
                    .col(string_len(Accounts::Id, ID).primary_key())
                    .col(string_len(Accounts::Name, TEXT))
                    .col(string_len_null(Accounts::ParentId, ID))
                    .col(string_len(Accounts::State, 16))
                    .col(boolean(Accounts::RequireTwoFactor))
                    .col(integer_null(Accounts::MaxMembers))
                    .col(integer_null(Accounts::MaxRestrictedMembers))
                    .col(big_integer(Accounts::CreatedAt))
                    .col(big_integer_null(Accounts::ClosedAt))
                    .foreign_key(&mut fk(
                        "fk_accounts_parent",
                        (Accounts::Table, vec![Accounts::ParentId.into_iden()]),
                        (Accounts::Table, vec![Accounts::Id.into_iden()]),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_parent")
                    .table(Accounts::Table)
                    .col(Accounts::ParentId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(Users::Table)
                    .col(string_len(Users::Id, ID).primary_key())
                    .col(string_len_uniq(Users::Email, TEXT))
                    .col(string_len(Users::Name, TEXT))
                    .col(big_integer(Users::CreatedAt))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(Permissions::Table)
                    .col(string_len(Permissions::Name, 64).primary_key())
                    .col(string_len(Permissions::Description, TEXT))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(Roles::Table)
                    .col(string_len(Roles::Id, ID).primary_key())
                    .col(string_len_null(Roles::AccountId, ID))
                    .col(string_len(Roles::Name, 64))
                    .col(string_len(Roles::Description, TEXT))
                    .col(boolean(Roles::Builtin))
                    .col(boolean(Roles::Restricted))
                    .col(big_integer(Roles::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_roles_account",
                        (Roles::Table, vec![Roles::AccountId.into_iden()]),
                        (Accounts::Table, vec![Accounts::Id.into_iden()]),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_roles_account_name")
                    .table(Roles::Table)
                    .col(Roles::AccountId)
                    .col(Roles::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(RolePermissions::Table)
                    .col(string_len(RolePermissions::RoleId, ID))
                    .col(string_len(RolePermissions::Permission, 64))
                    .primary_key(
                        Index::create()
                            .col(RolePermissions::RoleId)
                            .col(RolePermissions::Permission),
                    )
                    .foreign_key(&mut fk(
                        "fk_role_permissions_role",
                        (RolePermissions::Table, vec![RolePermissions::RoleId.into_iden()]),
                        (Roles::Table, vec![Roles::Id.into_iden()]),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_role_permissions_permission",
                        (
                            RolePermissions::Table,
                            vec![RolePermissions::Permission.into_iden()],
                        ),
                        (Permissions::Table, vec![Permissions::Name.into_iden()]),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_table(super::binary_collation(manager, Table::create()
                    .table(Memberships::Table)
                    .col(string_len(Memberships::AccountId, ID))
                    .col(string_len(Memberships::UserId, ID))
                    .col(string_len(Memberships::RoleId, ID))
                    // 1 on the owner's membership, NULL on every other: the
                    // unique index below allows at most one owner per account,
                    // and the check ties the slot to the owner role.
                    .col(tiny_integer_null(Memberships::OwnerSlot))
                    .col(string_len(Memberships::Status, 16))
                    .col(string_len_null(Memberships::InvitedBy, ID))
                    .col(big_integer(Memberships::JoinedAt))
                    .col(big_integer_null(Memberships::LastSignInAt))
                    .col(big_integer(Memberships::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Memberships::AccountId)
                            .col(Memberships::UserId),
                    )
                    .check(Expr::cust(
                        // NULL-safe on purpose: a CHECK that evaluates to NULL passes.
                        "(owner_slot IS NOT NULL AND owner_slot = 1 AND role_id = 'owner' AND status = 'active') \
                         OR (owner_slot IS NULL AND role_id <> 'owner')",
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_account",
                        (Memberships::Table, vec![Memberships::AccountId.into_iden()]),
                        (Accounts::Table, vec![Accounts::Id.into_iden()]),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_user",
                        (Memberships::Table, vec![Memberships::UserId.into_iden()]),
                        (Users::Table, vec![Users::Id.into_iden()]),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_role",
                        (Memberships::Table, vec![Memberships::RoleId.into_iden()]),
                        (Roles::Table, vec![Roles::Id.into_iden()]),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned()),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_memberships_one_owner")
                    .table(Memberships::Table)
                    .col(Memberships::AccountId)
                    .col(Memberships::OwnerSlot)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_user")
                    .table(Memberships::Table)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(MembershipScopes::Table)
                    .col(string_len(MembershipScopes::AccountId, ID))
                    .col(string_len(MembershipScopes::UserId, ID))
                    .col(string_len(MembershipScopes::ResourceType, 32))
                    .col(string_len(MembershipScopes::ResourceId, ID))
                    .primary_key(
                        Index::create()
                            .col(MembershipScopes::AccountId)
                            .col(MembershipScopes::UserId)
                            .col(MembershipScopes::ResourceType)
                            .col(MembershipScopes::ResourceId),
                    )
                    .foreign_key(&mut fk(
                        "fk_membership_scopes_membership",
                        (
                            MembershipScopes::Table,
                            vec![
                                MembershipScopes::AccountId.into_iden(),
                                MembershipScopes::UserId.into_iden(),
                            ],
                        ),
                        (
                            Memberships::Table,
                            vec![
                                Memberships::AccountId.into_iden(),
                                Memberships::UserId.into_iden(),
                            ],
                        ),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(MembershipGrants::Table)
                    .col(string_len(MembershipGrants::AccountId, ID))
                    .col(string_len(MembershipGrants::UserId, ID))
                    .col(string_len(MembershipGrants::Permission, 64))
                    .primary_key(
                        Index::create()
                            .col(MembershipGrants::AccountId)
                            .col(MembershipGrants::UserId)
                            .col(MembershipGrants::Permission),
                    )
                    .foreign_key(&mut fk(
                        "fk_membership_grants_membership",
                        (
                            MembershipGrants::Table,
                            vec![
                                MembershipGrants::AccountId.into_iden(),
                                MembershipGrants::UserId.into_iden(),
                            ],
                        ),
                        (
                            Memberships::Table,
                            vec![
                                Memberships::AccountId.into_iden(),
                                Memberships::UserId.into_iden(),
                            ],
                        ),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_membership_grants_permission",
                        (
                            MembershipGrants::Table,
                            vec![MembershipGrants::Permission.into_iden()],
                        ),
                        (Permissions::Table, vec![Permissions::Name.into_iden()]),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(Invitations::Table)
                    .col(string_len(Invitations::Id, ID).primary_key())
                    .col(string_len(Invitations::AccountId, ID))
                    .col(string_len(Invitations::Email, TEXT))
                    // The role offered; NULL once a custom role is deleted, while
                    // role_name keeps what the invitation offered for history.
                    .col(string_len_null(Invitations::RoleId, ID))
                    .col(string_len(Invitations::RoleName, 64))
                    .col(string_len(Invitations::State, 16))
                    // The email while pending, NULL otherwise: the unique index
                    // keeps one pending invitation per (account, email).
                    .col(string_len_null(Invitations::PendingEmail, TEXT))
                    .col(string_len(Invitations::TokenHash, 64))
                    .col(string_len(Invitations::InvitedBy, ID))
                    .col(text(Invitations::Message))
                    .col(integer(Invitations::SendCount))
                    .col(big_integer(Invitations::ExpiresAt))
                    .col(big_integer(Invitations::CreatedAt))
                    .col(big_integer(Invitations::UpdatedAt))
                    .col(string_len_null(Invitations::AcceptedBy, ID))
                    .foreign_key(&mut fk(
                        "fk_invitations_account",
                        (Invitations::Table, vec![Invitations::AccountId.into_iden()]),
                        (Accounts::Table, vec![Accounts::Id.into_iden()]),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_invitations_role",
                        (Invitations::Table, vec![Invitations::RoleId.into_iden()]),
                        (Roles::Table, vec![Roles::Id.into_iden()]),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_invitations_pending")
                    .table(Invitations::Table)
                    .col(Invitations::AccountId)
                    .col(Invitations::PendingEmail)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_token")
                    .table(Invitations::Table)
                    .col(Invitations::TokenHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(InvitationScopes::Table)
                    .col(string_len(InvitationScopes::InvitationId, ID))
                    .col(string_len(InvitationScopes::ResourceType, 32))
                    .col(string_len(InvitationScopes::ResourceId, ID))
                    .primary_key(
                        Index::create()
                            .col(InvitationScopes::InvitationId)
                            .col(InvitationScopes::ResourceType)
                            .col(InvitationScopes::ResourceId),
                    )
                    .foreign_key(&mut fk(
                        "fk_invitation_scopes_invitation",
                        (
                            InvitationScopes::Table,
                            vec![InvitationScopes::InvitationId.into_iden()],
                        ),
                        (Invitations::Table, vec![Invitations::Id.into_iden()]),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            ))
            .await?;
        create_shared_templates(manager).await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(ActivityLog::Table)
                    .col(big_pk_auto(ActivityLog::Id))
                    .col(string_len(ActivityLog::AccountId, ID))
                    .col(string_len(ActivityLog::Actor, ID))
                    .col(string_len(ActivityLog::Action, 64))
                    .col(string_len(ActivityLog::Target, TEXT))
                    .col(text(ActivityLog::Details))
                    .col(big_integer(ActivityLog::CreatedAt))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activity_account")
                    .table(ActivityLog::Table)
                    .col(ActivityLog::AccountId)
                    .col(ActivityLog::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never block a drop.
        for table in [
            ActivityLog::Table.into_iden(),
            SharedTemplateChildren::Table.into_iden(),
            SharedTemplates::Table.into_iden(),
            InvitationScopes::Table.into_iden(),
            Invitations::Table.into_iden(),
            MembershipGrants::Table.into_iden(),
            MembershipScopes::Table.into_iden(),
            Memberships::Table.into_iden(),
            RolePermissions::Table.into_iden(),
            Roles::Table.into_iden(),
            Permissions::Table.into_iden(),
            Users::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
