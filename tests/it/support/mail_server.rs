//! A real SMTP server for the email tests: PyPI's aiosmtpd (installed into
//! .tools/aiosmtpd by scripts/services), run on a port of the test's
//! choosing, writing what it receives to a Maildir the test reads.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One delivered email, decoded by Python's `email` package.
#[derive(Clone, Debug)]
pub struct Mail {
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A running aiosmtpd; stopped (and its Maildir removed) when dropped.
pub struct MailServer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

/// The Python that has aiosmtpd.
fn python() -> PathBuf {
    std::env::var_os("ACCESS_TEST_AIOSMTPD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/aiosmtpd/bin/python"))
}

/// A port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The ACCESS_SMTP_URL of a server on `port`.
pub fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

const READ_MAILDIR: &str = r#"
import email, email.policy, json, os, sys
out = []
for sub in ("new", "cur"):
    folder = os.path.join(sys.argv[1], sub)
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name), "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        text, html = m.get_body(("plain",)), m.get_body(("html",))
        out.append({
            "message_id": str(m["Message-ID"] or ""), "from": str(m["From"] or ""),
            "to": str(m["To"] or ""), "subject": str(m["Subject"] or ""),
            "text": text.get_content() if text else "", "html": html.get_content() if html else "",
        })
print(json.dumps(out))
"#;

impl MailServer {
    /// Starts a server on `port` and waits until it accepts connections.
    pub async fn start_on(port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!("access-mail-{}", uuid::Uuid::new_v4().simple()));
        // aiosmtpd's Mailbox makes the Maildir (new/, cur/, tmp/) only when the path does not exist.
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run {} -m aiosmtpd ({err}): run scripts/services, which installs it",
                    python().display()
                )
            });
        let server = Self { port, dir, child };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// Starts a server on a free port.
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Its ACCESS_SMTP_URL.
    pub fn url(&self) -> String {
        smtp_url(self.port)
    }

    /// How many emails it has received.
    pub fn count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.dir.join(sub)).ok())
            .map(|entries| entries.count())
            .sum()
    }

    /// Every email received so far.
    pub fn mails(&self) -> Vec<Mail> {
        if self.count() == 0 {
            return Vec::new();
        }
        let output = Command::new(python())
            .args(["-c", READ_MAILDIR])
            .arg(&self.dir)
            .output()
            .expect("python reads the maildir");
        assert!(
            output.status.success(),
            "reading the maildir failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mails: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("maildir as JSON");
        let field = |mail: &serde_json::Value, name: &str| mail[name].as_str().unwrap_or_default().to_owned();
        mails
            .iter()
            .map(|mail| Mail {
                message_id: field(mail, "message_id"),
                from: field(mail, "from"),
                to: field(mail, "to"),
                subject: field(mail, "subject"),
                text: field(mail, "text"),
                html: field(mail, "html"),
            })
            .collect()
    }

    /// Waits (up to 30 s) until `n` emails have arrived, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..600 {
            if self.count() >= n {
                return self.mails();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} emails, got {}", self.count());
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
