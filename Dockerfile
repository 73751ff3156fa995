# Payment ingest service image (also runs the reference consumer, src/consumer/main.ts).
# Build: docker build -t payment-ingest:local .   Without a registry: deno task compose:images
FROM denoland/deno:2.9.6

# The deno image ships the unprivileged user "deno" (uid 1993) and DENO_DIR=/deno-dir owned by it.
# /app/data exists and belongs to deno, so a volume mounted there is writable by the service.
WORKDIR /app
RUN mkdir -p /app/data && chown -R deno:deno /app
USER deno

ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    PORT=8080

# Dependencies first, so this layer is rebuilt only when deno.json or deno.lock change. They hold
# only what the programs run (tests and tools resolve through import_map.dev.json and
# deno.dev.lock), and --frozen fails the build unless deno.lock pins all of it.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

# Then the code: --frozen fails if an entry point reaches a package the layer above lacks, and
# caching compiles every module, so the container never fetches at start-up. The same image runs
# the reference consumer (payment-consumer in docker-compose.yml, src/consumer/main.ts, PORT=8081).
COPY --chown=deno:deno src/ ./src/
RUN deno cache --frozen src/main.ts src/consumer/main.ts

EXPOSE 8080

# No curl in the image: the health check is a one-line Deno fetch.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "--no-lock", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '8080'}/health/live`).catch(() => null); Deno.exit(r?.ok ? 0 : 1);"]

# Deno itself is PID 1 (no `deno task` shell in between), so SIGTERM reaches the service's
# graceful shutdown. The permissions are those of `deno task start` (writes: wherever DATA_DIR
# points; the unprivileged user can write only /app, /deno-dir and /tmp).
CMD ["deno", "run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "src/main.ts"]
