# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with dev dependencies, ship only runtime ones, run
# as the unprivileged "node" user. The same image runs every role:
#   docker run IMAGE            web + worker in one process (like `npm start`)
#   docker run IMAGE web        the web server only (`npm run web`)
#   docker run IMAGE worker     a worker only (`npm run worker`)
#   docker run IMAGE check example.com
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY scripts/bundle-cli.mjs ./scripts/bundle-cli.mjs
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    MXDOCTOR_WORKER_PORT=3001
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY views ./views
COPY docs ./docs
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000 3001
ENTRYPOINT ["node", "bin/mxdoctor.js"]
CMD ["serve"]
