# Easel: multi-stage build. The steps mirror the README's: build the web
# client with npm, build the server with cargo, run the binary.

FROM node:20-bookworm-slim AS web
WORKDIR /src/web-client
COPY web-client/package.json web-client/package-lock.json ./
RUN npm ci
COPY web-client/ ./
RUN npm run build

FROM rust:1-bookworm AS server
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/ crates/
COPY tests/ tests/
RUN cargo build --release --locked -p easel

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/easel easel \
    && mkdir -p /var/lib/easel/data \
    && chown -R easel /var/lib/easel
COPY --from=server /src/target/release/easel /usr/local/bin/easel
COPY --from=web /src/web-client/dist /usr/share/easel/web
USER 10001
ENV EASEL_LISTEN=0.0.0.0:8080 \
    EASEL_DATA_DIR=/var/lib/easel/data \
    EASEL_WEB_DIR=/usr/share/easel/web \
    EASEL_LOG_JSON=true
VOLUME ["/var/lib/easel/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["curl", "-fsS", "http://127.0.0.1:8080/readyz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["easel"]
CMD ["serve"]
