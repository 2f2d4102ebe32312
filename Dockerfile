# syntax=docker/dockerfile:1
#
# One image, two binaries:
#   /connector      the Freshchat -> Kafka connector (entrypoint; default command "run")
#   /freshchat-sim  the Freshchat API simulator, for local trials
#                   (docker run --entrypoint /freshchat-sim IMAGE -addr :8080 -token ...)
#
# Build:  docker build -t freshchat-kafka:local \
#           --build-arg VERSION=$(git describe --always --dirty) \
#           --build-arg REVISION=$(git rev-parse HEAD) \
#           --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) .

# The golang:1.26 tag follows the newest 1.26 patch release; go.mod asks for
# at least 1.26.8 and the image does not download toolchains (GOTOOLCHAIN=local).
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
# VERSION and REVISION reach the binary ("connector version", the build_info
# metric) and the image labels; .git is not in the build context, so the
# commit comes from REVISION.
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src

# Dependencies first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    export CGO_ENABLED=0 GOOS="${TARGETOS:-linux}" GOARCH="${TARGETARCH:-amd64}"; \
    go build -trimpath -ldflags "-s -w -X github.com/freshstream/freshchat-kafka/buildinfo.version=${VERSION} -X github.com/freshstream/freshchat-kafka/buildinfo.commit=${REVISION}" -o /out/connector ./cmd/connector; \
    go build -trimpath -ldflags "-s -w" -o /out/freshchat-sim ./cmd/freshchat-sim

# Static binaries on distroless: CA certificates, tzdata and /tmp (the
# default download directory), no shell, runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED
LABEL org.opencontainers.image.title="freshchat-kafka" \
      org.opencontainers.image.description="Streams Freshchat raw reports into Kafka exactly once as typed Avro; also holds the Freshchat API simulator (/freshchat-sim)." \
      org.opencontainers.image.source="https://github.com/freshstream/freshchat-kafka" \
      org.opencontainers.image.url="https://github.com/freshstream/freshchat-kafka" \
      org.opencontainers.image.vendor="freshstream" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"

COPY --from=build /out/connector /connector
COPY --from=build /out/freshchat-sim /freshchat-sim

# A writable working directory, so that "connector demo" can keep its
# default ./.freshchat-demo data folder.
WORKDIR /home/nonroot
USER nonroot:nonroot

# /metrics, /healthz and /readyz (metrics.addr)
EXPOSE 9464
ENTRYPOINT ["/connector"]
CMD ["run"]
