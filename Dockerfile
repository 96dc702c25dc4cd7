# syntax=docker/dockerfile:1
#
# One image for every Node process of the project:
#   API (default):  node dist/src/api/server.js
#   worker:         node dist/worker/main.js
#   dev fakes:      target `dev-fakes`: node dist/tooling/simulators/main.js crm|smtp
#
# The runtime image holds what production runs (dist/src, dist/worker, the workflow
# bundle) and production dependencies only; the dev tooling (tooling/: simulators, dev
# stack, chaos) is compiled in the build stage and shipped only in `dev-fakes`.
#
# Debian (glibc) rather than Alpine: the native core bridge of @temporalio/worker ships
# prebuilt binaries for *-unknown-linux-gnu only.

# The exact Node release of .node-version (the tests run on it; a unit test keeps the two
# equal). A digest (node:…@sha256:…) would pin it further; none could be looked up from the
# machines this was built on, which reach no container registry.
ARG NODE_IMAGE=node:26.10.0-bookworm-slim

# ---------------------------------------------------------------------------------------
# build: all dependencies, TypeScript compile, prebuilt workflow bundle
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

COPY . .
# scripts/build.mjs: TypeScript 7 (scripts/tsc.mjs) -p tsconfig.build.json, the same for the
# status page's browser modules (dist/src/api/console/client), then node
# dist/scripts/bundle-workflows.js (writes dist/workflow-bundle.js, which the worker loads
# instead of running webpack)
RUN npm run build \
 && test -f dist/src/api/server.js \
 && test -f dist/src/api/console/client/app.js \
 && test -f dist/worker/main.js \
 && test -f dist/workflow-bundle.js

# ---------------------------------------------------------------------------------------
# runtime: production dependencies + compiled output, non-root
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

# Owned by root and only readable by the `node` user: the processes never write here.
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/worker ./dist/worker
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# Automation definitions and email templates: read by the API and the workers at start-up.
COPY automations ./automations

USER node
# The public port only: the operations listener (OPS_PORT, /metrics, /ready, /codec,
# /console) is for the scraper and operators, published by choice (compose: loopback only).
EXPOSE 3000

# Liveness of the API process (GET /health does not touch Temporal; /ready, on the
# operations listener, does).
# Services that run another command from this image (the worker) override or
# disable this check in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/src/api/server.js"]

# ---------------------------------------------------------------------------------------
# dev-fakes: the CRM simulator and the SMTP sink (docker compose --profile dev-fakes).
# Built from the build stage, which has the dev dependencies they use (smtp-server,
# mailparser); never used for the API or the worker.
# ---------------------------------------------------------------------------------------
FROM build AS dev-fakes
ENV NODE_ENV=production
USER node
HEALTHCHECK NONE
CMD ["node", "dist/tooling/simulators/main.js", "crm"]
