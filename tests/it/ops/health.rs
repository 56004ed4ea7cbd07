//! The standard side services: grpc.health.v1 and server reflection.

use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::support::{TestApp, expect_code};

/// The server as a whole and the AccessService both report SERVING.
async fn health_reports_serving(app: TestApp) {
    let mut health = HealthClient::new(app.channel.clone());
    for service in ["", "access.v1.AccessService"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of '{service}': {status:?}"))
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "'{service}'");
    }
    expect_code(
        health
            .check(HealthCheckRequest {
                service: "no.such.Service".into(),
            })
            .await,
        Code::NotFound,
    );
}

/// Reflection (v1) lists the AccessService, so grpcurl can describe the API.
async fn reflection_lists_the_service(app: TestApp) {
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let first = answers
        .message()
        .await
        .expect("a reflection response")
        .expect("the stream holds one response");
    let Some(MessageResponse::ListServicesResponse(list)) = first.message_response else {
        panic!("expected a service list, got {first:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"access.v1.AccessService"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

crate::on_both_databases!(health_reports_serving, reflection_lists_the_service);

/// `access-service health`, the container's HEALTHCHECK: succeeds against
/// a serving server, for the server and for the service; fails for a
/// service it does not serve and where nothing listens.
#[tokio::test]
async fn the_health_command_tells_serving_from_not() {
    use access_service::config::HealthArgs;

    let app = TestApp::spawn_with(crate::support::Db::Sqlite, |_| {}).await;
    let ask = |addr, service: &str| HealthArgs {
        addr: Some(addr),
        service: service.to_owned(),
        timeout_ms: 3_000,
    };
    for service in ["", "access.v1.AccessService"] {
        access_service::app::health(&ask(app.addr, service), &app.config)
            .await
            .unwrap_or_else(|err| panic!("'{service}': {err:#}"));
    }
    let unknown = access_service::app::health(&ask(app.addr, "no.such.Service"), &app.config)
        .await
        .expect_err("not served");
    assert!(format!("{unknown:#}").contains("did not answer"), "{unknown:#}");
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let nobody = free.local_addr().expect("its address");
    drop(free);
    let refused = access_service::app::health(&ask(nobody, ""), &app.config)
        .await
        .expect_err("nothing listens");
    assert!(format!("{refused:#}").contains("nothing answers"), "{refused:#}");
}
