//! The cache's Lua scripts, each run with EVAL in one step on Redis: what
//! each takes (KEYS, ARGV) and answers. The scripts themselves are the
//! `.lua` files beside this one.

/// Renews this replica's lease. KEYS: leases, revoked, epoch; ARGV: replica,
/// term (ms). Returns {status, epoch}: status 0 when the lease was live, 1
/// when it had lapsed, 2 when a writer had revoked it. The epoch moves when
/// no replica held a live lease: writes may then have committed without
/// reaching Redis, so every entry stored before is left behind. It moves to
/// Redis's clock in ms when that is ahead, and past the caller's own epoch
/// (ARGV 3), so that a restarted (emptied) Redis never hands out an epoch
/// handed out before, even with its clock behind.
pub(super) const RENEW: &str = include_str!("scripts/renew.lua");

/// Moves the epoch once per database fence generation. KEYS: epoch, fence;
/// ARGV: the generation read from the database, the caller's epoch (a floor,
/// should Redis come back with its clock behind). Returns the epoch.
pub(super) const FENCE: &str = include_str!("scripts/fence.lua");

/// The live leases but the writer's own, with the ms each has left (Redis
/// time). KEYS: leases; ARGV: the writer.
pub(super) const LEASES: &str = include_str!("scripts/leases.lua");

/// Revokes the leases of replicas that did not acknowledge in time: their
/// next renewal tells them to drop everything. Returns the ms each still
/// has (it can no longer be extended). KEYS: leases, revoked; ARGV: how long
/// to remember revocations (ms), then the replicas.
pub(super) const REVOKE: &str = include_str!("scripts/revoke.lua");

/// Stores an entry only if the account's generation is still the one the
/// filler saw. KEYS: facts hash, generation; ARGV: user, generation seen,
/// entry, TTL (ms) of the hash, TTL (ms) of the generation.
pub(super) const FILL: &str = include_str!("scripts/fill.lua");

/// A write changed the account: new generation, entries dropped, in one
/// step. KEYS: facts hash, generation; ARGV: TTL (ms) of the generation.
/// The generation outlives every entry stamped with it (twice the entries'
/// TTL, renewed by every fill), so by the time it expires and starts again
/// from 0, no entry that could match an old value is left.
pub(super) const INVALIDATE: &str = include_str!("scripts/invalidate.lua");
