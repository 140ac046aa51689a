# The Miroir control plane (`miroir serve`) for docker-compose.yml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p miroir

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/miroir /usr/local/bin/miroir
VOLUME /var/lib/miroir
# The HTTP API (task registry, admin, /metrics) and xDS.
EXPOSE 7701 18000
ENTRYPOINT ["miroir"]
CMD ["serve", "--listen=0.0.0.0:7701", "--xds-listen=0.0.0.0:18000", "--data-dir=/var/lib/miroir"]
