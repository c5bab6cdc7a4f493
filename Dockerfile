# syntax=docker/dockerfile:1

# Pinguin's one image: the api, scheduler and worker as static binaries on
# distroless (no shell, no package manager, a non-root user). Compose picks
# the binary with `command`; as there is no curl, healthchecks run the binary
# itself: `pinguin-api healthcheck http://127.0.0.1:8080/healthz`.
#
#   docker build -t pinguin:local .
#   docker buildx build --platform linux/amd64,linux/arm64 -t pinguin:local .

# The build runs on the builder's own platform and cross-compiles (no cgo),
# so a multi-platform image needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src

# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
# -o /out/ with ./cmd/... writes one binary per command: api, scheduler, worker.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/...

# static-debian12 carries CA certificates and time zone data, which the
# worker's HTTPS checks need, and nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/api /usr/local/bin/pinguin-api
COPY --from=build /out/scheduler /usr/local/bin/pinguin-scheduler
COPY --from=build /out/worker /usr/local/bin/pinguin-worker
# nonroot, by number so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
CMD ["/usr/local/bin/pinguin-api"]
