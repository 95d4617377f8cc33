# mcr, the registry, as an image (two stages, no VOLUME, no USER,
# WORKDIR /srv/mcr, version injected at build). Built offline from a local Node base
# (docs/install.md, "Container images"):
#   sudo deploy/images/node-base.sh
#   podman build -f deploy/Containerfile.mcr --build-arg VERSION="$(git describe --tags --always --dirty)" -t mcr .
# The build context is a checkout after scripts/setup.sh: its node_modules were built for
# the node the base carries, so nothing is downloaded or compiled (.containerignore).
# Run with the home mounted: podman run -v /srv/mcr:/srv/mcr -p 8443:8443 mcr
ARG NODE_BASE=localhost/metacircular/node-base:20

FROM ${NODE_BASE} AS builder
WORKDIR /build
COPY . .
ARG VERSION=
RUN MCP_VERSION="${VERSION}" node scripts/build.mjs \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && mkdir /out && cp -a bin dist node_modules package.json /out/

FROM ${NODE_BASE}
COPY --from=builder /out /opt/metacircular
ENV NODE_ENV=production
WORKDIR /srv/mcr
EXPOSE 8443
# node's flags for the server (lib/process/node-flags.ts says why).
ENTRYPOINT ["node", "--initial-old-space-size=64", "/opt/metacircular/bin/mcr"]
CMD ["server", "--config", "/srv/mcr/mcr.toml"]
