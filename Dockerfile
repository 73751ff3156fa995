# syntax=docker/dockerfile:1
# Payment ingest service image. Build: docker build -t payment-ingest:local .
FROM denoland/deno:2.9.6

# The deno image ships the unprivileged user "deno" (uid 1993) and DENO_DIR=/deno-dir owned by it.
WORKDIR /app
RUN chown deno:deno /app
USER deno

ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    PORT=8080

# Dependencies first: this layer is rebuilt only when deno.json or deno.lock change.
# --frozen fails the build when deno.lock does not match deno.json.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

# Then the code; caching the entry points type-checks nothing but downloads and compiles
# every module they reach, so the container never fetches at start-up. The same image runs the
# reference consumer (payment-consumer) with the command `deno task consumer`, PORT=8081.
COPY --chown=deno:deno src/ ./src/
RUN deno cache --frozen src/main.ts src/consumer/main.ts

EXPOSE 8080

# No curl in the image: the health check is a one-line Deno fetch.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "--no-lock", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '8080'}/health/live`).catch(() => null); Deno.exit(r?.ok ? 0 : 1);"]

CMD ["deno", "task", "start"]
