# tilepress: the CLI in a distroless image for the Kubernetes CronJobs/Jobs in infra/k8s.
#
#   docker build -t ghcr.io/tilepress/tilepress:0.1.0 .
#   docker run --rm ghcr.io/tilepress/tilepress:0.1.0 publish /etc/tilepress/tilesets/default.toml --to s3://…
#
# Layout of the image:
#   /usr/local/bin/tilepress           the binary (ENTRYPOINT; Kubernetes sets command: ["tilepress"])
#   /etc/tilepress/tilesets/*.toml     the repository's tilesets (Kubernetes mounts the tilesets ConfigMap here)
#   /etc/tilepress/fixtures/           the source files those tilesets name (../fixtures/… from the tileset)
#   /var/lib/tilepress                 working directory, owned by 65532 (an emptyDir in Kubernetes, where
#                                      the root filesystem is read-only): builds go to out/ below it
# Runs as 65532:65532 (distroless "nonroot"); no shell, no package manager.
#
# A batch job has no HEALTHCHECK: the process runs once and its exit code is the result (0 ok, 2-8 see the
# README); Kubernetes ignores Docker's HEALTHCHECK anyway and the Jobs use activeDeadlineSeconds instead.
# checkov:skip=CKV_DOCKER_2: batch CLI, no long-running process to probe (see above)

FROM rust:1.95-bookworm AS builder
WORKDIR /src

# 1. Dependencies only, in a layer of their own: rebuilt when Cargo.toml or Cargo.lock change, not when src/
#    does. Placeholder sources stand in for the crate (and for the declared benches, which cargo wants to see).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/clip.rs \
    && echo 'fn main() {}' > benches/encode.rs \
    && echo 'fn main() {}' > benches/render.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/.fingerprint/tilepress-* target/release/deps/tilepress-* \
        target/release/deps/libtilepress-* target/release/tilepress

# 2. The crate itself. COPY keeps the files' modification times, which may be older than step 1's build:
#    touching them makes sure cargo rebuilds the crate and not just relinks the placeholder.
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/tilepress /out/tilepress \
    && install -d -m 0755 /out/workdir

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="tilepress" \
      org.opencontainers.image.description="Build map tilesets into MBTiles and publish them atomically" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"

# Root-owned and read-only for the user that runs it; the working directory belongs to that user.
COPY --from=builder /out/tilepress /usr/local/bin/tilepress
COPY --from=builder --chown=65532:65532 /out/workdir/ /var/lib/tilepress/
# The tilesets and only the fixtures they read (fixtures/README.md carries their ODbL attribution).
COPY tilesets/ /etc/tilepress/tilesets/
COPY fixtures/README.md fixtures/countries.geojson fixtures/lakes.geojson fixtures/valletta.geojson \
     fixtures/monaco.geojson fixtures/monaco.geojsonl fixtures/malta-sample.fgb /etc/tilepress/fixtures/

USER 65532:65532
WORKDIR /var/lib/tilepress
# Fails the build if the binary cannot start here (a shared library that distroless/cc lacks, say):
# exec form, since the image has no shell.
RUN ["tilepress", "--version"]

ENTRYPOINT ["tilepress"]
CMD ["--help"]
