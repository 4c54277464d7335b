import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { api, createTestContext } from "../helpers/context.ts";
import { makeUserAndLogin } from "../helpers/factories.ts";

Deno.test("HTTP conventions shared by every route", async (t) => {
  const ctx = await createTestContext({
    CORS_ORIGINS: "https://app.school.test",
    BODY_LIMIT_BYTES: "2048",
  });
  try {
    await t.step(
      "GET /healthz answers while the process is alive; GET /readyz checks the database and migrations",
      async () => {
        assert.deepEqual((await api(ctx, "GET", "/healthz")).body, {
          status: "ok",
        });
        const ready = await api(ctx, "GET", "/readyz");
        assert.equal(ready.status, 200);
        assert.deepEqual(ready.body, { status: "ready" });
      },
    );

    await t.step(
      "every response carries X-Request-Id; a well-formed incoming one is echoed, a bad one replaced",
      async () => {
        const fresh = await api(ctx, "GET", "/healthz");
        assert.match(fresh.headers.get("x-request-id")!, /^[0-9A-Z]{26}$/);
        const echoed = await api(ctx, "GET", "/healthz", {
          headers: { "X-Request-Id": "trace-abc-12345" },
        });
        assert.equal(echoed.headers.get("x-request-id"), "trace-abc-12345");
        const replaced = await api(ctx, "GET", "/healthz", {
          headers: { "X-Request-Id": "bad id <script>" },
        });
        assert.match(replaced.headers.get("x-request-id")!, /^[0-9A-Z]{26}$/);
      },
    );

    await t.step(
      "an unknown /api route is a 404 in the envelope, with the request id",
      async () => {
        const res = await api(ctx, "GET", "/api/does-not-exist", {
          headers: { "X-Request-Id": "req-404-check" },
        });
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, {
          success: false,
          error: {
            code: "NOT_FOUND",
            message: "No route for GET /api/does-not-exist",
            details: {},
          },
          requestId: "req-404-check",
        });
      },
    );

    await t.step(
      "malformed JSON is 400 INVALID_JSON, a non-JSON body 415, a body over the limit 413",
      async () => {
        const bad = await api(ctx, "POST", "/api/auth/login", {
          body: '{"email":',
        });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error.code, "INVALID_JSON");
        const form = await api(ctx, "POST", "/api/auth/login", {
          body: "email=a@b.c",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(form.status, 415);
        assert.equal(form.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
        const big = await api(ctx, "POST", "/api/auth/login", {
          body: { email: "a@b.c", password: "x".repeat(5000) },
        });
        assert.equal(big.status, 413);
        assert.equal(big.body.error.code, "PAYLOAD_TOO_LARGE");
      },
    );

    await t.step(
      "one structured log line per request with method, path, status, duration, request id and user id",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        await api(ctx, "GET", "/api/auth/me", {
          token,
          headers: { "X-Request-Id": "req-log-check" },
        });
        const lines = ctx.logger.lines.filter((l) =>
          l.msg === "request" && l.requestId === "req-log-check"
        );
        assert.equal(lines.length, 1);
        const line = lines[0]!;
        assert.equal(line.method, "GET");
        assert.equal(line.path, "/api/auth/me");
        assert.equal(line.status, 200);
        assert.equal(typeof line.durationMs, "number");
        assert.equal(line.userId, user.id);
      },
    );

    await t.step(
      "secure headers are set and CORS answers only the configured origin",
      async () => {
        const res = await ctx.app.request("/api/auth/login", {
          method: "OPTIONS",
          headers: {
            Origin: "https://app.school.test",
            "Access-Control-Request-Method": "POST",
          },
        });
        assert.equal(
          res.headers.get("access-control-allow-origin"),
          "https://app.school.test",
        );
        const other = await ctx.app.request("/api/auth/me", {
          headers: { Origin: "https://evil.test" },
        });
        assert.notEqual(
          other.headers.get("access-control-allow-origin"),
          "https://evil.test",
        );
        assert.equal(other.headers.get("x-content-type-options"), "nosniff");
        assert.ok(other.headers.get("x-frame-options"));
        assert.ok(other.headers.get("strict-transport-security"));
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("an unexpected error is a 500 in the envelope that shows nothing internal, and is logged", async () => {
  const ctx = await createTestContext();
  try {
    const { token } = await makeUserAndLogin(ctx);
    const sessionId = JSON.parse(
      atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")),
    ).sid;
    await ctx.deps.db.run(sql`DROP TABLE refresh_tokens`);
    await ctx.deps.db.run(sql`DROP TABLE sessions`); // a real failure deep in the request
    const res = await api(ctx, "GET", "/api/auth/me", {
      token,
      headers: { "X-Request-Id": "req-500-check" },
    });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, {
      success: false,
      error: {
        code: "INTERNAL_ERROR",
        message: "Something went wrong on our side; try again later",
        details: {},
      },
      requestId: "req-500-check",
    });
    const logged = ctx.logger.lines.find((l) =>
      l.msg === "unhandled error" && l.requestId === "req-500-check"
    );
    assert.ok(logged, "the error is logged with its request id");
    assert.match(String(logged.error), /sessions/);
    assert.ok(
      !String(logged.error).includes(sessionId),
      "query parameters are redacted",
    );
    const notReady = await api(ctx, "GET", "/readyz");
    assert.equal(
      notReady.status,
      200,
      "readiness checks the connection and migrations, not every table",
    );
  } finally {
    await ctx.close();
  }
});
