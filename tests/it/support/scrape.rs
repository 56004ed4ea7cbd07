//! The metrics endpoint read as a Prometheus server reads it: one scrape
//! over plain HTTP/1.1, parsed strictly (every sample after its TYPE).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::TestApp;

impl TestApp {
    /// The value of one sample of this server's metrics now (its
    /// ACCESS_METRICS_ADDR must be set): `name` with `labels`, 0 if absent.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let addr = self.metrics_addr.expect("ACCESS_METRICS_ADDR is set");
        scrape(addr).await.value(name, labels)
    }
}

/// One sample of the exposition: its labels and value.
pub type Labels = BTreeMap<String, String>;

/// A scrape, parsed: samples by name, each with its labels and value, and
/// the type of every family the exposition declares (samples or not).
pub struct Scrape(HashMap<String, Vec<(Labels, f64)>>, HashMap<String, String>);

impl Scrape {
    /// Whether `name` is a series this exposition can hold: a family it
    /// declares (a counter's with `_total`, a histogram's with `_bucket`,
    /// `_sum` or `_count`), whether or not it has samples yet.
    pub fn declares(&self, name: &str) -> bool {
        let kind = |family: &str| self.1.get(family).map(String::as_str);
        kind(name).is_some()
            || name
                .strip_suffix("_total")
                .is_some_and(|family| kind(family) == Some("counter") || kind(name) == Some("counter"))
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|family| kind(family) == Some("histogram"))
            })
    }

    /// Whether a sample of `name` has `labels` (among others).
    pub fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.0.get(name).into_iter().flatten().any(|(have, _)| {
            labels
                .iter()
                .all(|(k, v)| have.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The value of the sample `name` whose labels include `labels`; 0 when
    /// none has them (a counter that never moved is not exported yet).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<f64> = self
            .0
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(have, _)| {
                labels
                    .iter()
                    .all(|(k, v)| have.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, value)| *value)
            .collect();
        assert!(
            matching.len() <= 1,
            "{name}{labels:?} matches {} samples",
            matching.len()
        );
        matching.first().copied().unwrap_or(0.0)
    }
}

/// GETs /metrics over a plain HTTP/1.1 connection and checks the answer.
pub async fn scrape(addr: SocketAddr) -> Scrape {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("metrics endpoint accepts");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("request sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("response read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers end");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    parse_exposition(body)
}

/// Parses the text exposition format (version 0.0.4) strictly: every line
/// is a HELP, a TYPE or a sample of a family whose TYPE came before.
fn parse_exposition(text: &str) -> Scrape {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples: HashMap<String, Vec<(Labels, f64)>> = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _help) = rest.split_once(' ').expect("HELP has a text");
            assert!(valid_name(name), "HELP of a bad name: {line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert!(valid_name(name), "TYPE of a bad name: {line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "unknown type: {line}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE twice: {line}"
            );
        } else {
            let (name, labels, value) = parse_sample(line);
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix)
                        .filter(|base| types.get(*base).is_some_and(|kind| kind == "histogram"))
                })
                .unwrap_or(&name);
            assert!(types.contains_key(family), "sample before its TYPE: {line}");
            samples.entry(name.clone()).or_default().push((labels, value));
        }
    }
    Scrape(samples, types)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{key="value",...} value`, label values escaped as the format says.
fn parse_sample(line: &str) -> (String, Labels, f64) {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("not a sample: {line}"));
    let name = &line[..name_end];
    assert!(valid_name(name), "bad name: {line}");
    let mut rest = &line[name_end..];
    let mut labels = Labels::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let key: String = chars
                .by_ref()
                .take_while(|(_, c)| *c != '=')
                .map(|(_, c)| c)
                .collect();
            assert!(valid_name(&key), "bad label name in {line}");
            assert_eq!(
                chars.next().map(|(_, c)| c),
                Some('"'),
                "unquoted value in {line}"
            );
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(c @ ('\\' | '"')) => value.push(c),
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => panic!("unterminated value in {line}"),
                }
            }
            labels.insert(key, value);
            match chars.next() {
                Some((_, ',')) => {}
                Some((at, '}')) => {
                    rest = &inner[at + 1..];
                    break;
                }
                other => panic!("unexpected {other:?} in {line}"),
            }
        }
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no value: {line}"));
    let value = value.split(' ').next().expect("a value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    (name.to_owned(), labels, value)
}
