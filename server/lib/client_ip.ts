import type { Context } from "hono";
import { getConnInfo } from "hono/deno";

/**
 * The caller's address. Proxy headers are believed only when TRUST_PROXY is set (on Fly.io the
 * proxy sets Fly-Client-IP); otherwise a client could pick its own rate-limit bucket.
 */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    // The last X-Forwarded-For entry is the one our proxy added; earlier ones are the client's say.
    const forwarded = c.req.header("fly-client-ip") ??
      c.req.header("x-forwarded-for")?.split(",").at(-1);
    if (forwarded?.trim()) return forwarded.trim();
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // app.request() in tests has no socket
  }
}
