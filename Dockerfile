# syntax=docker/dockerfile:1
# The access-service image: built in the Rust image, run from distroless as a
# non-root user. Build: docker build -t access-service .
# Checked by scripts/check-helm (hadolint); see the README, "Deploying on Kubernetes".

FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
# The source revision access_build_info reports (.git is not in the build
# context): docker build --build-arg ACCESS_BUILD_REVISION=$(git rev-parse --short=12 HEAD) .
ARG ACCESS_BUILD_REVISION=unknown
# protoc comes vendored (build.rs); TLS is rustls, so nothing but libc and
# libgcc is needed at run time. The caches only speed up rebuilds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin access-service \
 && install -D -m 0755 target/release/access-service /out/access-service

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/access-service /usr/local/bin/access-service
# Listen on every interface inside the container (the binary's own default is
# loopback). Everything else: ACCESS_* variables, see the README.
ENV ACCESS_LISTEN_ADDR=0.0.0.0:50051
# distroless's nonroot user; its home is the one writable directory, where the
# default SQLite file lands when no ACCESS_DATABASE_URL is given.
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 50051
# The image's own health check (Kubernetes uses its gRPC probes instead):
# asks grpc.health.v1 on ACCESS_HEALTH_ADDR, else the listen address.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s \
  CMD ["/usr/local/bin/access-service", "health"]
ENTRYPOINT ["/usr/local/bin/access-service"]
CMD ["serve"]
