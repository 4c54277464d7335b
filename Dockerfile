# Lectern server image: Debian-based Deno with LiteFS, dependencies cached in their own layer.
#
# On Fly.io (fly.toml) the entrypoint is `litefs mount`: LiteFS mounts /litefs, joins the cluster,
# then runs the `exec` commands of litefs.yml (migrations on the primary, then the server on
# PORT 8081 behind the LiteFS proxy on 8080).
#
# Without LiteFS (one machine, any Docker host) override the entrypoint and run the server directly;
# it migrates on start and the database is a plain file, DATA_DIR/lectern.db:
#   docker run --entrypoint deno -p 8000:8081 -v lectern:/data \
#     -e APP_URL=https://school.example -e JWT_SECRET=... lectern \
#     run --allow-net --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run=ffmpeg,ffprobe server/main.ts
# `litefs mount` needs /dev/fuse (Fly machines have it; plain Docker needs --device /dev/fuse
# --cap-add SYS_ADMIN), and litefs.yml is written for Fly (Consul lease, fly-replay), so outside
# Fly use the command above.
FROM flyio/litefs:0.5.11 AS litefs

FROM denoland/deno:debian-2.9.6

# fuse3: LiteFS's FUSE mount. ca-certificates: HTTPS to Consul, SMTP over TLS, S3, Stripe.
# sqlite3: inspecting /litefs/lectern.db from `fly ssh console`. ffmpeg: media processing.
RUN apt-get update -y \
  && apt-get install -y --no-install-recommends ca-certificates fuse3 sqlite3 ffmpeg \
  && rm -rf /var/lib/apt/lists/*

# The official LiteFS binary, pinned (0.5.x: the proxy serves /litefs/health, exec takes a list).
COPY --from=litefs /usr/local/bin/litefs /usr/local/bin/litefs

WORKDIR /app

# Dependencies first (every npm: import in deno.json, pinned by deno.lock), so a code change does not
# download them again.
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY . .
RUN deno cache --frozen server/main.ts cli/main.ts \
  && mkdir -p /data
COPY litefs.yml /etc/litefs.yml

# This image runs as root, on purpose: mounting a FUSE file system needs root (CAP_SYS_ADMIN and
# /dev/fuse), and a FUSE mount is only usable by the user who mounted it unless `allow-other` is
# set. LiteFS mounts /litefs as root and starts the server as its child, so the server runs as root
# too, inside the machine's own VM (Fly) or container. LiteFS's documentation recommends exactly
# this rather than a USER line.
ENV LECTERN_ENV=production \
    DATA_DIR=/data/app \
    PORT=8081 \
    TRUST_PROXY=true
# 8080: the LiteFS proxy (fly.toml internal_port); 8081: the server itself.
EXPOSE 8080 8081
VOLUME ["/data"]

HEALTHCHECK --interval=30s --timeout=3s CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '8000'}/healthz`); Deno.exit(r.ok ? 0 : 1)"]

ENTRYPOINT ["litefs", "mount"]
