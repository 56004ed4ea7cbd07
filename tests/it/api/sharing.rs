//! Sharing, docs/domain.md rule 5: a team parent shares templates and
//! suppression lists down to its children, never upward or sideways; one
//! mechanism, one module per kind of resource shared.

mod scopes;
mod suppression_lists;
mod templates;
