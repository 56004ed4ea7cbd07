//! What the service trusts in Redis. Over TLS, as production runs it: a
//! `redis-server` of the test's own serving only TLS, requiring a client
//! certificate, with the default user off and one ACL user limited to the
//! deployment's namespace (the rules docs/operations.md gives); the service
//! connects with `rediss://user:password@…`, ACCESS_REDIS_CA_FILE and its
//! client certificate, and its cache works through it. And signed entries:
//! with ACCESS_REDIS_ENTRY_KEYS_FILE, an entry written to Redis by anyone
//! else, or moved from another user's key, is not believed.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rcgen::{ExtendedKeyUsagePurpose, SanType};

use access_service::grpc::pb::DecisionReason as R;
use access_service::redis_keys::Keys;

use super::coherence_faults::Pair;
use crate::support::cluster::{TestRedis, free_port, until_trusted};
use crate::support::pki::{Ca, Files};
use crate::support::{Db, TestApp, reason};

/// The namespace the ACL user is limited to.
const NAMESPACE: &str = "tenant1";

/// A TLS-only Redis, killed when dropped.
struct TlsRedis {
    port: u16,
    child: Child,
}

impl TlsRedis {
    fn start(files: &Files, ca: &Ca) -> Self {
        let server = ca.issue(
            "redis",
            vec![SanType::IpAddress([127, 0, 0, 1].into())],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let port = free_port();
        let port_text = port.to_string();
        let cert = files.put("redis.pem", &server.cert);
        let key = files.put("redis.key", &server.key);
        let ca_file = files.put("ca.pem", &ca.pem());
        let keys = format!("~{NAMESPACE}:*");
        let channels = format!("&{NAMESPACE}:*");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port_text, "--bind", "127.0.0.1"])
            .arg("--tls-cert-file")
            .arg(&cert)
            .arg("--tls-key-file")
            .arg(&key)
            .arg("--tls-ca-cert-file")
            .arg(&ca_file)
            .args(["--tls-auth-clients", "yes", "--save", "", "--appendonly", "no"])
            .args(["--user", "default", "off"])
            .args(["--user", "access", "on", ">secret", &keys, &channels])
            .args(["+@all", "-@dangerous", "+config|get"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/services installs it)");
        Self { port, child }
    }

    fn url(&self) -> String {
        format!("rediss://access:secret@127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_works_through_a_tls_redis_with_an_acl_user() {
    let files = Files::new();
    let ca = Ca::new("redis test CA");
    let redis = TlsRedis::start(&files, &ca);
    let client = ca.issue("access-service", vec![], ExtendedKeyUsagePurpose::ClientAuth);
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.redis_url = Some(redis.url());
        config.redis_namespace = NAMESPACE.to_owned();
        config.redis_security.redis_ca_file = Some(files.put("ca-for-client.pem", &ca.pem()));
        config.redis_security.redis_client_cert_file = Some(files.put("client.pem", &client.cert));
        config.redis_security.redis_client_key_file = Some(files.put("client.key", &client.key));
    })
    .await;
    until_trusted(&[&app]).await;
    app.account("acme", "olivia").await;
    let before = app.cache_counts();
    assert!(app.check("olivia", "acme", "campaigns.send").await.allowed);
    let after = app.cache_counts();
    assert_eq!(
        after.redis_errors, before.redis_errors,
        "Redis answered every command"
    );
    assert!(
        after.redis_fills > before.redis_fills,
        "the miss filled Redis: {after:?}"
    );
    assert!(app.cache().trusted(), "leases renew over TLS");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Olivia owns acme; her entry, signed by the replica, is copied in Redis
/// to Mallory's field of the same account (as anyone with write access to
/// Redis could), and a hand-made unsigned entry is put under Lee's. Neither
/// is believed: both checks read the database, which knows neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_not_signed_for_their_own_key_are_not_believed() {
    let files = Files::new();
    let redis = TestRedis::start().await;
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.redis_url = Some(redis.url());
        config.redis_namespace = "signed".to_owned();
        config.cache_max_bytes = 0; // every check looks in Redis
        config.redis_security.redis_entry_keys_file = Some(files.put(
            "entry-keys",
            "# the signing key first\nS2V5IGZvciBzaWduaW5nIGNhY2hlIGVudHJpZXMgb2YgdGVzdHMh\n",
        ));
    })
    .await;
    until_trusted(&[&app]).await;
    app.account("acme", "olivia").await;
    assert!(app.check("olivia", "acme", "campaigns.send").await.allowed);
    let olivia = app.check("olivia", "acme", "campaigns.send").await;
    assert!(olivia.allowed);
    assert!(
        app.cache_counts().redis_hits >= 1,
        "Olivia's signed entry is read back"
    );

    let mut conn = redis::Client::open(redis.url())
        .expect("a client")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let facts_key = "signed:{a:acme}:facts";
    let stored: Vec<u8> = redis::cmd("HGET")
        .arg(facts_key)
        .arg("olivia")
        .query_async(&mut conn)
        .await
        .expect("Olivia's entry");
    let unsigned = &stored[..stored.len() - 32];
    redis::cmd("HSET")
        .arg(facts_key)
        .arg("mallory")
        .arg(&stored)
        .arg("lee")
        .arg(unsigned)
        .query_async::<()>(&mut conn)
        .await
        .expect("planted");

    let before = app.cache_counts();
    for person in ["mallory", "lee"] {
        let check = app.check(person, "acme", "campaigns.send").await;
        assert_eq!(
            (check.allowed, reason(&check)),
            (false, R::NotAMember),
            "{person}"
        );
    }
    let after = app.cache_counts();
    assert_eq!(after.redis_entries_refused, before.redis_entries_refused + 2);
    assert_eq!(after.misses, before.misses + 2, "both read the database");
}

/// B holds Lee's facts and hears no invalidation (its subscription is
/// silenced) while its lease renews. Whoever can publish on Redis sends A
/// acknowledgements in B's name for every write id, as fast as it can. A
/// believes none of them (they are not signed with the replicas' keys): it
/// revokes B, and B, when the removal has returned, answers from the
/// database. With unsigned acknowledgements, A would stop waiting for B on
/// a forged one, and B would still allow Lee.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledgements_not_signed_by_a_replica_are_not_believed() {
    let files = Files::new();
    let keys_file = files.put(
        "entry-keys",
        "S2V5IGZvciBzaWduaW5nIGNhY2hlIGVudHJpZXMgb2YgdGVzdHMh\n",
    );
    let pair = Pair::start(|config| {
        config.cache_lease_ms = 1000;
        config.cache_ack_timeout_ms = 250;
        config.redis_security.redis_entry_keys_file = Some(keys_file);
    })
    .await;
    pair.a.account("acme", "olivia").await;
    pair.a.member("olivia", "acme", "lee", "manager", vec![]).await;
    assert!(pair.b.check("lee", "acme", "campaigns.send").await.allowed);
    pair.silence_b();

    let redis_keys = Keys::new(&pair.a.config.redis_namespace);
    let mut conn = redis::Client::open(pair.redis.url())
        .expect("a client")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let replicas: Vec<String> = redis::cmd("ZRANGE")
        .arg(redis_keys.leases())
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("the leases");
    assert_eq!(replicas.len(), 2, "A and B hold leases");
    let forging = Arc::new(AtomicBool::new(true));
    let forger = {
        let forging = Arc::clone(&forging);
        tokio::spawn(async move {
            let mut sent = 0u64;
            while forging.load(Ordering::Acquire) {
                // Each replica's name on the other's channel: one of them is B's to A.
                for (to, from) in [(&replicas[0], &replicas[1]), (&replicas[1], &replicas[0])] {
                    let mut pipe = redis::pipe();
                    for write_id in 1..=64u64 {
                        pipe.cmd("PUBLISH")
                            .arg(redis_keys.acks(to))
                            .arg(format!("{write_id} {from}"))
                            .ignore();
                    }
                    pipe.query_async::<()>(&mut conn).await.expect("published");
                    sent += 64;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            sent
        })
    };

    let before = pair.a.cache_counts();
    pair.a.remove("olivia", "acme", "lee").await.expect("removed");
    let after = pair.a.cache_counts();
    forging.store(false, Ordering::Release);
    let forged = forger.await.expect("the forger ends");

    assert!(
        !pair.b.check("lee", "acme", "campaigns.send").await.allowed,
        "B answered from an entry older than the removal, which had returned"
    );
    assert_eq!(after.revocations, before.revocations + 1, "B's lease was revoked");
    assert!(
        forged > 0 && after.acks_refused > before.acks_refused,
        "forged acknowledgements arrived and were refused"
    );
    assert_eq!(after.acks_received, before.acks_received, "none was believed");
}
