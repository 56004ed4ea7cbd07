//! gRPC-Web on the gRPC port (ACCESS_GRPC_WEB): a gRPC-Web client over
//! HTTP/1.1 (tonic-web's own, as a browser library speaks it) is answered
//! like a gRPC one, refusals with their status and details; CORS answers
//! only the allowed origins; and with the setting off, HTTP/1.1 is refused.

use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tonic::Code;
use tonic::body::Body;
use tonic_types::StatusExt;
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};

use crate::support::{Db, TestApp};

type WebClient = AccessServiceClient<
    GrpcWebClientService<Client<hyper_util::client::legacy::connect::HttpConnector, GrpcWebCall<Body>>>,
>;

/// The service's client, speaking gRPC-Web over HTTP/1.1 to `app`.
fn web_client(app: &TestApp) -> WebClient {
    let http1 = Client::builder(TokioExecutor::new()).build_http();
    let service = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(http1);
    AccessServiceClient::with_origin(service, format!("http://{}", app.addr).parse().expect("a URI"))
}

fn authorize(permission: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        user_id: "owner".into(),
        account_id: "acme".into(),
        permission: permission.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_grpc_web_client_is_answered_like_a_grpc_one() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| config.web.grpc_web = true).await;
    app.account("acme", "owner").await;
    let mut web = web_client(&app);
    let answer = web
        .authorize(authorize("campaigns.send"))
        .await
        .expect("answered over gRPC-Web")
        .into_inner();
    assert!(answer.allowed, "{answer:?}");
    assert!(!answer.computed_at.is_empty());
    // A refusal: its code and its ErrorInfo come back in the trailers of the body.
    let refused = web
        .authorize(authorize("campaigns.fly"))
        .await
        .expect_err("not a permission");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.get_details_bad_request().is_some() || refused.get_details_error_info().is_some(),
        "the details travel too: {refused:?}"
    );
    // gRPC on the same port is untouched.
    assert!(app.check("owner", "acme", "campaigns.send").await.allowed);
}

#[tokio::test]
async fn without_the_setting_http1_is_refused() {
    let app = TestApp::spawn_with(Db::Sqlite, |_| {}).await;
    app.account("acme", "owner").await;
    let refused = web_client(&app)
        .authorize(authorize("campaigns.send"))
        .await
        .expect_err("the server speaks HTTP/2 only");
    assert_ne!(refused.code(), Code::Ok);
}

/// A browser's preflight from an allowed origin is answered with that
/// origin and the gRPC headers it may read; another origin gets no CORS
/// header, so its browser refuses the page the call.
#[tokio::test]
async fn cors_answers_the_allowed_origins_only() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.web.grpc_web = true;
        config.web.grpc_web_allowed_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let http1 = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let preflight = |origin: &'static str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri(format!("http://{}/access.v1.AccessService/Authorize", app.addr))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,authorization",
            )
            .body(Empty::new())
            .expect("a request")
    };
    let allowed = http1
        .request(preflight("https://app.example.com"))
        .await
        .expect("answered");
    assert_eq!(allowed.status(), StatusCode::OK);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], "https://app.example.com");
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .expect("text")
            .contains("authorization")
    );
    // The call itself: the page may read the status the trailers carry.
    let call = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{}/access.v1.AccessService/Authorize", app.addr))
        .header("origin", "https://app.example.com")
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        // One empty message: a 5-byte frame header of zeros.
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
        .expect("a request");
    let answered = Client::builder(TokioExecutor::new())
        .build_http::<Full<Bytes>>()
        .request(call)
        .await
        .expect("answered");
    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(
        answered.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        answered.headers()["access-control-expose-headers"]
            .to_str()
            .expect("text")
            .contains("grpc-status")
    );
    let other = http1
        .request(preflight("https://evil.example.net"))
        .await
        .expect("answered");
    assert!(
        other.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        other.headers()
    );
}

/// Origins that are no origin, or `*`, stop the server at start-up.
#[tokio::test]
async fn bad_origins_are_refused_at_start() {
    for origins in [vec!["*".to_owned()], vec!["app.example.com".to_owned()]] {
        let mut config = access_service::Config::default();
        config.web.grpc_web = true;
        config.web.grpc_web_allowed_origins = origins.clone();
        let refused = config.validate().expect_err("refused");
        assert!(
            refused.to_string().contains("ACCESS_GRPC_WEB_ALLOWED_ORIGINS"),
            "{origins:?}: {refused}"
        );
    }
}
