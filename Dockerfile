# syntax=docker/dockerfile:1

# One image runs every dataflow subcommand: serve (the default), work,
# migrate, seed and omniflow-standin. Build it with:
#   docker build -t dataflow:local .

# The builder is Debian bookworm so that the binary links against the same
# glibc major version as the distroless runtime (Debian 12).
# NOTE: go.mod requires Go 1.26.8 and the official image sets
# GOTOOLCHAIN=local, so the pulled 1.26 tag must be 1.26.8 or newer.
FROM golang:1.26-bookworm AS builder

# mattn/go-sqlite3 is a cgo package, so the binary needs cgo and glibc.
ENV CGO_ENABLED=1 \
    GOOS=linux

WORKDIR /src

# Download modules in their own layer so that source edits reuse it.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w" -o /out/dataflow .

# config/ is optional in the source tree. Creating it here keeps the COPY
# below valid when it is absent. /data/uploads is prepared so that a new
# named volume mounted on /data starts out owned by the nonroot user.
RUN mkdir -p /src/config /out/data/uploads

# base-debian12 carries glibc, which the cgo binary needs, and no shell.
FROM gcr.io/distroless/base-debian12:nonroot

WORKDIR /app
COPY --from=builder /out/dataflow /app/dataflow
COPY --from=builder /src/config /app/config
COPY --from=builder --chown=65532:65532 /out/data /data

# Without ConnectionStrings__DataFlow the binary falls back to SQLite under
# ./data, which is not writable here, so the image points SQLite at the
# volume instead. compose.yaml overrides it with SQL Server.
ENV ImportStorage__BasePath=/data/uploads \
    ConnectionStrings__DataFlow=file:/data/dataflow.db \
    Urls=http://0.0.0.0:5000

# Uploaded files must survive container restarts and be shared by serve and
# work, so /data is a volume.
VOLUME ["/data"]

# The distroless image has no curl or shell, and dataflow has no healthcheck
# subcommand yet, so there is no HEALTHCHECK. Probe GET /health from outside.
EXPOSE 5000

USER nonroot:nonroot
ENTRYPOINT ["/app/dataflow"]
CMD ["serve"]
