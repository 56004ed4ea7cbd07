//! The commands beside `serve` and `migrate` that help set up and watch a
//! server: a development actor token, an API key and its configured line, a
//! health check for a container's HEALTHCHECK. Each prints what a person
//! needs next; none needs the database.

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::actor_tokens::dev::{self, DevToken};
use crate::config::{Config, DevTokenArgs, HashKeyArgs, HealthArgs};
use crate::grpc::middleware::ApiKeys;

/// `access-service dev-token`: prints a token made with the local
/// development key (stdout), and how to start a server that accepts it
/// (stderr).
pub fn dev_token(args: &DevTokenArgs) -> anyhow::Result<()> {
    let token = dev::mint(
        &args.dir,
        &DevToken {
            subject: args.sub.clone(),
            email: args.email.clone(),
            mfa: args.mfa,
            ttl_secs: args.ttl_secs,
        },
    )?;
    let (_, jwks) = dev::dev_files(&args.dir);
    eprintln!(
        "a development token for '{}' (loopback servers only); start the server with\n  \
         ACCESS_ACTOR_TOKEN_ISSUERS={issuer} ACCESS_ACTOR_TOKEN_AUDIENCES={issuer} \
         ACCESS_ACTOR_TOKEN_JWKS_FILE={} cargo run",
        args.sub,
        jwks.display(),
        issuer = dev::DEV_ISSUER,
    );
    println!("{token}");
    Ok(())
}

/// `access-service hash-key`: makes a key (32 random bytes, hex) or reads
/// one from `input`, and returns what to print: the key for the caller
/// (unless it was read) and the line that configures it, checked by the
/// same parser the server uses.
pub fn hash_key(args: &HashKeyArgs, config: &Config, input: impl BufRead) -> anyhow::Result<String> {
    let (key, made) = if args.stdin {
        let mut line = String::new();
        input
            .take(64 * 1024)
            .read_line(&mut line)
            .context("cannot read the key from stdin")?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes).map_err(|err| anyhow::anyhow!("no randomness for a key: {err}"))?;
        (hex::encode(bytes), true)
    };
    if key.len() < config.api_key_min_length {
        bail!(
            "the key is {} bytes; keys need at least {} (ACCESS_API_KEY_MIN_LENGTH): a key short enough to guess is no key",
            key.len(),
            config.api_key_min_length
        );
    }
    let line = format!("{}:{}:{}", args.name, args.scopes, ApiKeys::hash_of(&key));
    ApiKeys::parse(&line).context("that name or those scopes cannot configure a key")?;
    Ok(if made {
        format!(
            "key (give it to the caller; it is not stored): {key}\nconfigure (ACCESS_API_KEYS or its file): {line}\n"
        )
    } else {
        format!("{line}\n")
    })
}

/// `access-service health`: asks grpc.health.v1 at the address `args` or
/// `config` gives, over plaintext; Ok when it answers SERVING.
pub async fn health(args: &HealthArgs, config: &Config) -> anyhow::Result<()> {
    let addr = args
        .addr
        .unwrap_or_else(|| loopback_for(config.health_addr.unwrap_or(config.listen_addr)));
    let ask = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await
            .with_context(|| format!("nothing answers at {addr}"))?;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: args.service.clone(),
            })
            .await
            .with_context(|| format!("{addr} did not answer the health check"))?;
        anyhow::Ok(answer.into_inner().status())
    };
    let status = tokio::time::timeout(Duration::from_millis(args.timeout_ms), ask)
        .await
        .with_context(|| format!("no answer from {addr} within {} ms", args.timeout_ms))??;
    if status == ServingStatus::Serving {
        println!("{addr}: SERVING");
        Ok(())
    } else {
        bail!("{addr}: {}", status.as_str_name())
    }
}

/// Where to ask a server listening on `addr`: loopback when it listens on
/// every interface.
fn loopback_for(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port())),
        IpAddr::V4(_) | IpAddr::V6(_) => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(stdin: bool) -> HashKeyArgs {
        HashKeyArgs {
            name: "campaigns".into(),
            scopes: "check".into(),
            stdin,
        }
    }

    #[test]
    fn a_made_key_configures_a_key_the_server_identifies() {
        let config = Config::default();
        let printed = hash_key(&args(false), &config, std::io::empty()).expect("a key");
        let key = printed
            .lines()
            .next()
            .and_then(|l| l.rsplit(' ').next())
            .expect("the key line");
        let line = printed
            .lines()
            .nth(1)
            .and_then(|l| l.rsplit(' ').next())
            .expect("the configure line");
        assert_eq!(key.len(), 64);
        let keys = ApiKeys::parse(line).expect("the line parses");
        let caller = keys.identify(key.as_bytes()).expect("the key is identified");
        assert_eq!(caller.name(), "campaigns");
        // Two runs, two keys.
        let again = hash_key(&args(false), &config, std::io::empty()).expect("a key");
        assert_ne!(printed, again);
    }

    #[test]
    fn a_key_read_from_stdin_is_hashed_as_sha256sum_would() {
        let key = "k".repeat(40);
        let printed =
            hash_key(&args(true), &Config::default(), format!("{key}\n").as_bytes()).expect("a line");
        assert_eq!(printed, format!("campaigns:check:{}\n", ApiKeys::hash_of(&key)));
        let short = hash_key(&args(true), &Config::default(), "short\n".as_bytes()).expect_err("too short");
        assert!(short.to_string().contains("ACCESS_API_KEY_MIN_LENGTH"), "{short}");
        let bad = HashKeyArgs {
            scopes: "everything".into(),
            ..args(true)
        };
        assert!(hash_key(&bad, &Config::default(), format!("{key}\n").as_bytes()).is_err());
    }

    #[test]
    fn a_server_on_every_interface_is_asked_on_loopback() {
        assert_eq!(
            loopback_for("0.0.0.0:50051".parse().expect("addr")),
            "127.0.0.1:50051".parse().expect("addr")
        );
        assert_eq!(
            loopback_for("[::]:9".parse().expect("addr")),
            "[::1]:9".parse().expect("addr")
        );
        assert_eq!(
            loopback_for("10.0.0.5:1".parse().expect("addr")),
            "10.0.0.5:1".parse().expect("addr")
        );
    }
}
