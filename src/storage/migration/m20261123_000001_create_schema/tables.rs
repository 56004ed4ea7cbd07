//! The names of the first schema's tables and columns.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(super) enum Accounts {
    Table,
    Id,
    Name,
    ParentId,
    State,
    RequireTwoFactor,
    MaxMembers,
    MaxRestrictedMembers,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
pub(super) enum Users {
    Table,
    Id,
    Email,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(super) enum Permissions {
    Table,
    Name,
    Description,
}

#[derive(DeriveIden)]
pub(super) enum Roles {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    Builtin,
    Restricted,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(super) enum RolePermissions {
    Table,
    RoleId,
    Permission,
}

#[derive(DeriveIden)]
pub(super) enum Memberships {
    Table,
    AccountId,
    UserId,
    RoleId,
    OwnerSlot,
    Status,
    InvitedBy,
    JoinedAt,
    LastSignInAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(super) enum MembershipScopes {
    Table,
    AccountId,
    UserId,
    ResourceType,
    ResourceId,
}

#[derive(DeriveIden)]
pub(super) enum MembershipGrants {
    Table,
    AccountId,
    UserId,
    Permission,
}

#[derive(DeriveIden)]
pub(super) enum Invitations {
    Table,
    Id,
    AccountId,
    Email,
    RoleId,
    RoleName,
    State,
    PendingEmail,
    TokenHash,
    InvitedBy,
    Message,
    SendCount,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
    AcceptedBy,
}

#[derive(DeriveIden)]
pub(super) enum InvitationScopes {
    Table,
    InvitationId,
    ResourceType,
    ResourceId,
}

#[derive(DeriveIden)]
pub(super) enum SharedTemplates {
    Table,
    ParentAccountId,
    TemplateId,
    AllChildren,
    SharedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(super) enum SharedTemplateChildren {
    Table,
    ParentAccountId,
    TemplateId,
    ChildAccountId,
}

#[derive(DeriveIden)]
pub(super) enum ActivityLog {
    Table,
    Id,
    AccountId,
    Actor,
    Action,
    Target,
    Details,
    CreatedAt,
}
