import type { MiddlewareHandler } from "hono";
import type { Deps } from "../deps.ts";
import { clusterRole, replayTarget, replicationTxid } from "../lib/cluster.ts";
import type { AppEnv } from "../types.ts";

/** GET routes that write (a link in an email, an OAuth redirect, lazy work): only the primary can. */
const WRITING_GETS = [
  /^\/verify-email\//,
  /^\/api\/auth\/verify-email\//,
  /^\/api\/auth\/oauth\/[^/]+\/callback$/,
  /^\/api\/quizzes\/attempts\//,
  /^\/api\/quizzes\/[^/]+\/attempts$/,
  /^\/api\/certificates\/[^/]+\/download$/,
];
/** Reads only the primary can answer: uploaded files live on its volume (LiteFS copies the database only). */
const PRIMARY_ONLY_GETS = [/^\/media\//];
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The header that carries the replication position (hex TXID), both ways. */
export const TXID_HEADER = "X-Lectern-Txid";
const CATCH_UP_MS = 5_000;
const POLL_MS = 50;

const databaseName = (url: string) =>
  url.startsWith("file:")
    ? url.slice(5).split("?")[0]!.split("/").at(-1)!
    : "lectern.db";

/**
 * On a LiteFS cluster (LITEFS_DIR set): requests that write and reach a replica are answered with
 * `fly-replay` so Fly's proxy replays them on the primary (the LiteFS proxy does this for writes by
 * method; this also covers GETs that write). Every response says the replication position in
 * `X-Lectern-Txid`; a client that sends it back (one without cookies, which the LiteFS proxy uses)
 * is served by a replica only once the replica has caught up, or replayed on the primary.
 * Outside a cluster this does nothing.
 */
export function clusterAware(
  deps: Pick<Deps, "config">,
): MiddlewareHandler<AppEnv> {
  const dir = deps.config.litefsDir;
  const db = databaseName(deps.config.databaseUrl);
  return async (c, next) => {
    if (!dir) return await next();
    const role = clusterRole(dir);
    if (!role.primary) {
      const writes = !SAFE_METHODS.has(c.req.method) ||
        WRITING_GETS.some((pattern) => pattern.test(c.req.path)) ||
        PRIMARY_ONLY_GETS.some((pattern) => pattern.test(c.req.path));
      // A write is replayed anyway: no point waiting for this replica to catch up first.
      const wanted = writes ? undefined : parseTxid(c.req.header(TXID_HEADER));
      const behind = wanted !== undefined && !(await caughtUp(dir, db, wanted));
      if (writes || behind) {
        c.header("fly-replay", replayTarget(role.primaryHost));
        return c.json({
          success: false,
          error: {
            code: "REPLICA",
            message: writes
              ? "This machine is a read replica; the request is replayed on the primary"
              : "This replica has not caught up with your last write yet; the request is replayed on the primary",
            details: { primary: role.primaryHost },
          },
          requestId: c.get("requestId"),
        }, 409);
      }
    }
    await next();
    const position = replicationTxid(dir, db);
    if (position !== undefined) {
      const txid = position.toString(16).padStart(16, "0");
      c.header(TXID_HEADER, txid);
      // The LiteFS proxy sets its `__txid` cookie after non-GET requests only; a GET that wrote
      // (an email link, an OAuth callback) sets it here, so the next page waits for the replica.
      if (
        role.primary &&
        WRITING_GETS.some((pattern) => pattern.test(c.req.path))
      ) {
        c.header(
          "Set-Cookie",
          `__txid=${txid}; Path=/; Max-Age=300; HttpOnly; SameSite=Lax`,
          { append: true },
        );
      }
    }
  };
}

function parseTxid(value: string | undefined): bigint | undefined {
  return value && /^[0-9a-f]{1,16}$/i.test(value.trim())
    ? BigInt(`0x${value.trim()}`)
    : undefined;
}

async function caughtUp(dir: string, db: string, wanted: bigint) {
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    const position = replicationTxid(dir, db);
    if (position !== undefined && position >= wanted) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
