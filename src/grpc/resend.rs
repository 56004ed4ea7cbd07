//! What a tonic caller must send again by itself.

/// Whether a call failed before the server handled any of it, so sending it
/// again cannot do it twice (docs/operations.md, "Connections that end"):
/// hyper cancels the requests it had queued on a connection that received
/// GOAWAY (tonic reports CANCELLED), streams above the GOAWAY's last stream
/// id were not processed (HTTP/2 section 6.8; tonic reports INTERNAL), and
/// REFUSED_STREAM means the same. grpc-go and grpc-java resend these
/// transparently; tonic does not, so its callers do.
pub fn never_sent(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(err) = source {
        if let Some(hyper) = err.downcast_ref::<hyper::Error>()
            && hyper.is_canceled()
        {
            return true;
        }
        if let Some(h2) = err.downcast_ref::<h2::Error>()
            && ((h2.is_go_away() && h2.is_remote()) || h2.reason() == Some(h2::Reason::REFUSED_STREAM))
        {
            return true;
        }
        source = err.source();
    }
    false
}
