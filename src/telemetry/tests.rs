use std::io;
use std::sync::mpsc;

use opentelemetry::trace::TraceContextExt;
use tracing_subscriber::layer::SubscriberExt;

use super::*;

/// A log destination the test reads back: each write goes down a channel.
#[derive(Clone)]
struct Captured(mpsc::Sender<Vec<u8>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| io::Error::other("the test stopped reading"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Everything written so far, as text.
fn drain(received: &mpsc::Receiver<Vec<u8>>) -> String {
    let bytes: Vec<u8> = received.try_iter().flatten().collect();
    String::from_utf8(bytes).expect("log lines are UTF-8")
}

/// Runs `log` under a subscriber logging in `format` (through the
/// OpenTelemetry layer, as `init` does for JSON) and returns what it wrote.
fn logged(format: LogFormat, ansi: bool, log: impl FnOnce()) -> String {
    let (sender, received) = mpsc::channel();
    let provider = SdkTracerProvider::builder().build();
    let subscriber = Registry::default()
        .with(trace_layer(provider.tracer(SERVICE_NAME)))
        .with(log_layer(format, ansi, Captured(sender)).with_filter(EnvFilter::new("info")));
    tracing::subscriber::with_default(subscriber, log);
    drain(&received)
}

#[test]
fn json_lines_carry_the_trace_and_span_ids_of_the_current_span() {
    let mut ids = None;
    let output = logged(LogFormat::Json, false, || {
        // A request's span (only there do traces start).
        let span = tracing::debug_span!(target: "access_service::grpc::middleware::trace", "rpc", account_id = "acme");
        let _entered = span.enter();
        let context = span.context();
        let span_context = context.span().span_context().clone();
        ids = Some((
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
        ));
        tracing::info!(decision = "allowed", "checked");
    });
    let (trace_id, span_id) = ids.expect("the span ran");
    assert_ne!(trace_id, "00000000000000000000000000000000");
    let line: serde_json::Value =
        serde_json::from_str(output.trim()).unwrap_or_else(|err| panic!("{err}: {output}"));
    assert_eq!(line["trace_id"], trace_id.as_str(), "{line}");
    assert_eq!(line["span_id"], span_id.as_str(), "{line}");
    assert_eq!(line["message"], "checked", "{line}");
    assert_eq!(line["decision"], "allowed", "{line}");
    assert_eq!(line["level"], "INFO", "{line}");
    // The request's span is at DEBUG: its fields are not logged at `info`,
    // its ids are.
    assert!(line.get("span").is_none(), "{line}");
    assert!(!output.contains('\u{1b}'), "{output}");
}

#[test]
fn json_lines_outside_any_span_have_no_ids() {
    let output = logged(LogFormat::Json, false, || tracing::info!("starting"));
    let line: serde_json::Value =
        serde_json::from_str(output.trim()).unwrap_or_else(|err| panic!("{err}: {output}"));
    assert_eq!(line["message"], "starting", "{line}");
    assert!(line.get("trace_id").is_none(), "{line}");
    assert!(line.get("span_id").is_none(), "{line}");
}

#[test]
fn text_lines_have_no_escape_codes_off_a_terminal() {
    let log = || {
        let span = tracing::info_span!("checking", account_id = "acme");
        let _entered = span.enter();
        tracing::warn!(decision = "denied", "checked");
    };
    let plain = logged(LogFormat::Text, false, log);
    assert!(
        plain.contains("checked") && plain.contains("account_id"),
        "{plain}"
    );
    assert!(!plain.contains('\u{1b}'), "escape codes in {plain:?}");
    // The same line on a terminal is coloured: the check above can fail.
    let coloured = logged(LogFormat::Text, true, log);
    assert!(coloured.contains('\u{1b}'), "{coloured:?}");
}
