import type { Context } from "hono";

/** Same URL, two readers: a browser gets HTML, a client that asks for JSON gets the API's answer. */
export function wantsJson(c: Context): boolean {
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}
