# Lectern server image: Debian-based Deno, dependencies cached in their own layer, runs as non-root.
FROM denoland/deno:debian-2.9.6

WORKDIR /app

# Dependencies first (every npm: import in deno.json, pinned by deno.lock), so a code change does not
# download them again.
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY . .
RUN deno cache --frozen server/main.ts cli/main.ts \
  && mkdir -p /data && chown -R deno:deno /data /app

USER deno
ENV LECTERN_ENV=production \
    DATA_DIR=/data \
    PORT=8000 \
    TRUST_PROXY=true
EXPOSE 8000
VOLUME ["/data"]

HEALTHCHECK --interval=30s --timeout=3s CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:8000/healthz'); Deno.exit(r.ok ? 0 : 1)"]

CMD ["deno", "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys", "server/main.ts"]
