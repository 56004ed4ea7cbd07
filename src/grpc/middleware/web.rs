//! gRPC-Web on the gRPC port, when ACCESS_GRPC_WEB is on: tonic-web
//! translates each gRPC-Web call into a gRPC call before the rest of the
//! stack sees it (so keys, limits, metrics and spans treat both alike) and
//! its answer back, trailers in the body; with allowed origins, tower-http
//! answers the browsers' CORS preflights and marks the answers.
//!
//! Off, calls pass straight through: no translation, no body boxed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Request, Response, header};
use http_body_util::Either;
use tonic::body::Body;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};

use crate::grpc::handlers::ACTOR_TOKEN_HEADER;

/// Adds [`BrowserCalls`] around a service.
#[derive(Clone, Debug, Default)]
pub struct BrowserCallsLayer {
    /// `None`: gRPC-Web off. `Some(None)`: on, same-origin only.
    web: Option<Option<CorsLayer>>,
}

impl BrowserCallsLayer {
    /// gRPC-Web off.
    pub fn off() -> Self {
        Self::default()
    }

    /// gRPC-Web on; browsers on `origins` may call across origins.
    pub fn on(origins: &[String]) -> anyhow::Result<Self> {
        if origins.is_empty() {
            return Ok(Self { web: Some(None) });
        }
        let origins = origins
            .iter()
            .map(|origin| HeaderValue::from_str(origin))
            .collect::<Result<Vec<_>, _>>()?;
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static("x-grpc-web"),
                HeaderName::from_static("x-user-agent"),
                HeaderName::from_static("grpc-timeout"),
                HeaderName::from_static(ACTOR_TOKEN_HEADER),
            ])
            .expose_headers([
                HeaderName::from_static("grpc-status"),
                HeaderName::from_static("grpc-message"),
                HeaderName::from_static("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(24 * 60 * 60));
        Ok(Self {
            web: Some(Some(cors)),
        })
    }
}

impl<S> Layer<S> for BrowserCallsLayer {
    type Service = BrowserCalls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        match &self.web {
            None => BrowserCalls::Plain(inner),
            Some(None) => BrowserCalls::Web(GrpcWebLayer::new().layer(inner)),
            Some(Some(cors)) => BrowserCalls::Cors(Box::new(cors.layer(GrpcWebLayer::new().layer(inner)))),
        }
    }
}

/// The service, with gRPC-Web or without.
#[derive(Clone, Debug)]
pub enum BrowserCalls<S> {
    /// gRPC only.
    Plain(S),
    /// gRPC and gRPC-Web, same-origin.
    Web(GrpcWebService<S>),
    /// gRPC and gRPC-Web, with CORS for the allowed origins (boxed: the
    /// CORS rules are large beside a bare service).
    Cors(Box<Cors<GrpcWebService<S>>>),
}

impl<S, ResBody> Service<Request<Body>> for BrowserCalls<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tower::BoxError> + std::fmt::Display,
{
    type Response = Response<Either<ResBody, Body>>;
    type Error = S::Error;
    type Future = BrowserFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self {
            Self::Plain(inner) => inner.poll_ready(cx),
            Self::Web(inner) => Service::<Request<Body>>::poll_ready(inner, cx),
            Self::Cors(inner) => Service::<Request<Body>>::poll_ready(&mut **inner, cx),
        }
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match self {
            Self::Plain(inner) => BrowserFuture::Plain {
                future: inner.call(request),
            },
            Self::Web(inner) => BrowserFuture::Web {
                future: inner.call(request),
            },
            Self::Cors(inner) => BrowserFuture::Cors {
                future: inner.call(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`BrowserCalls`].
    #[project = BrowserProjection]
    pub enum BrowserFuture<F> {
        /// gRPC only.
        Plain { #[pin] future: F },
        /// Through tonic-web.
        Web { #[pin] future: tonic_web::ResponseFuture<F> },
        /// Through CORS and tonic-web.
        Cors { #[pin] future: tower_http::cors::ResponseFuture<tonic_web::ResponseFuture<F>> },
    }
}

impl<F, ResBody, E> Future for BrowserFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tower::BoxError> + std::fmt::Display,
{
    type Output = Result<Response<Either<ResBody, Body>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            BrowserProjection::Plain { future } => {
                future.poll(cx).map_ok(|response| response.map(Either::Left))
            }
            BrowserProjection::Web { future } => {
                future.poll(cx).map_ok(|response| response.map(Either::Right))
            }
            BrowserProjection::Cors { future } => {
                future.poll(cx).map_ok(|response| response.map(Either::Right))
            }
        }
    }
}
