import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { users } from "../../../db/schema/mod.ts";
import {
  api,
  type ApiResponse,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  latestEmail,
  PASSWORD,
  tokenFromLink,
  uniqueEmail,
} from "../../helpers/factories.ts";

/** What LiteFS writes on a replica: the primary's hostname, `<machine id>.vm.<app>.internal`. */
const PRIMARY_HOST = "e2865641c40e86.vm.lectern-school.internal";
const REPLAY = "instance=e2865641c40e86";
const TXID_HEX = "00000000000004d2";
/** Far ahead of the pos file: a replica that waited for it would wait its full 5 s. */
const FAR_AHEAD = "7fffffffffffffff";

const becomeReplica = (dir: string) =>
  Deno.writeTextFile(`${dir}/.primary`, PRIMARY_HOST);
const becomePrimary = (dir: string) => Deno.remove(`${dir}/.primary`);

/** A LiteFS folder with a pos file, and a context made as the primary on it. */
async function clusterContext(
  env: Record<string, string> = {},
): Promise<{ ctx: TestContext; dir: string; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "lectern-litefs-" });
  await Deno.writeTextFile(
    `${dir}/lectern.db-pos`,
    `${TXID_HEX}/0000000000000000\n`,
  );
  const ctx = await createTestContext({ LITEFS_DIR: dir, ...env });
  return {
    ctx,
    dir,
    async close() {
      await ctx.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function assertReplayed(res: ApiResponse, what: string) {
  assert.equal(res.status, 409, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.headers.get("fly-replay"), REPLAY, what);
  assert.equal(res.body.success, false, what);
  assert.equal(res.body.error.code, "REPLICA", what);
  assert.equal(res.body.error.details.primary, PRIMARY_HOST, what);
}

/** The `__txid` cookies a response sets (there may be other cookies beside them). */
const txidCookies = (res: ApiResponse) =>
  res.headers.getSetCookie().filter((cookie) => cookie.startsWith("__txid="));

function assertTxidCookie(res: ApiResponse, what: string) {
  const cookies = txidCookies(res);
  assert.equal(cookies.length, 1, `${what}: ${JSON.stringify(cookies)}`);
  const cookie = cookies[0]!;
  assert.ok(
    cookie.startsWith(`__txid=${TXID_HEX}; Path=/;`),
    `${what}: ${cookie}`,
  );
  const attributes = cookie.split(";").map((part) => part.trim());
  assert.ok(attributes.includes("HttpOnly"), `${what}: ${cookie}`);
  assert.ok(attributes.includes("SameSite=Lax"), `${what}: ${cookie}`);
  assert.match(cookie, /Max-Age=\d+/, what);
  assert.equal(res.headers.get("X-Lectern-Txid"), TXID_HEX, what);
}

/** Resolves with the response, or with "timeout" if `ms` pass first; a bound, not a measure. */
async function raceAgainst(
  request: Promise<ApiResponse>,
  ms: number,
): Promise<ApiResponse | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([request, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a replica replays GET /media/* and GET /api/quizzes/:id/attempts; a write is not held for X-Lectern-Txid", async (t) => {
  const cluster = await clusterContext();
  const { ctx, dir } = cluster;
  try {
    await becomeReplica(dir);

    await t.step(
      "GET /media/<anything> is 409 REPLICA with fly-replay: the files live on the primary's volume",
      async () => {
        for (
          const path of [
            "/media/anything",
            "/media/ab/cd/0123456789abcdef.png",
            "/media/no-such-file.pdf",
          ]
        ) {
          const res = await api(ctx, "GET", path);
          assertReplayed(res, `GET ${path}`);
        }
      },
    );

    await t.step(
      "GET /api/quizzes/<id>/attempts is 409 REPLICA with fly-replay",
      async () => {
        for (const id of ["some-quiz", "01J0000000000000000000000"]) {
          assertReplayed(
            await api(ctx, "GET", `/api/quizzes/${id}/attempts`),
            `GET /api/quizzes/${id}/attempts`,
          );
        }
      },
    );

    await t.step(
      "near misses are served by the replica: /mediax/, a quiz itself, a path under attempts",
      async () => {
        for (
          const path of [
            "/mediax/anything",
            "/api/quizzes/some-quiz",
            "/api/quizzes/some-quiz/attempts/extra",
          ]
        ) {
          const res = await api(ctx, "GET", path);
          assert.notEqual(
            res.status,
            409,
            `${path}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.headers.get("fly-replay"), null, path);
          assert.equal(res.headers.get("X-Lectern-Txid"), TXID_HEX, path);
        }
      },
    );

    await t.step(
      "a replica never sets the __txid cookie, not even on a plain GET",
      async () => {
        const res = await api(ctx, "GET", "/api/programs");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(txidCookies(res), []);
      },
    );

    await t.step(
      "a POST with X-Lectern-Txid far ahead is replayed without waiting for the replica",
      async () => {
        const email = uniqueEmail("ahead");
        const res = await raceAgainst(
          api(ctx, "POST", "/api/auth/register", {
            headers: { "X-Lectern-Txid": FAR_AHEAD },
            body: { name: "Ahead", email, password: PASSWORD },
          }),
          4_000,
        );
        assert.notEqual(res, "timeout", "the write waited for the replica");
        assertReplayed(res as ApiResponse, "POST far ahead");
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.email, email),
        );
        assert.equal(row, undefined, "nothing written on the replica");
      },
    );

    await t.step(
      "GET /media/* and a writing GET with X-Lectern-Txid far ahead are replayed without waiting either",
      async () => {
        for (
          const path of ["/media/anything.png", "/api/quizzes/q/attempts"]
        ) {
          const res = await raceAgainst(
            api(ctx, "GET", path, { headers: { "X-Lectern-Txid": FAR_AHEAD } }),
            4_000,
          );
          assert.notEqual(res, "timeout", `${path} waited for the replica`);
          assertReplayed(res as ApiResponse, `GET ${path} far ahead`);
        }
      },
    );

    await t.step(
      "a CORS preflight is not a write: OPTIONS is answered by the replica",
      async () => {
        const res = await ctx.app.request("/api/auth/register", {
          method: "OPTIONS",
          headers: {
            Origin: "https://app.example",
            "Access-Control-Request-Method": "POST",
          },
        });
        await res.body?.cancel();
        assert.notEqual(res.status, 409);
        assert.equal(res.headers.get("fly-replay"), null);
      },
    );

    await becomePrimary(dir);

    await t.step(
      "on the primary, GET /media/* and GET /api/quizzes/:id/attempts are answered here",
      async () => {
        const media = await api(ctx, "GET", "/media/no-such-file.png");
        assert.notEqual(media.status, 409);
        assert.equal(media.headers.get("fly-replay"), null);
        const attempts = await api(
          ctx,
          "GET",
          "/api/quizzes/some-quiz/attempts",
        );
        assert.notEqual(attempts.status, 409);
        assert.equal(attempts.headers.get("fly-replay"), null);
        assert.equal(attempts.status, 401, JSON.stringify(attempts.body));
      },
    );
  } finally {
    await cluster.close();
  }
});

Deno.test("on the primary a GET that writes sets the __txid cookie; a plain GET does not", async (t) => {
  const cluster = await clusterContext();
  const { ctx } = cluster;
  const register = async (label: string) => {
    const email = uniqueEmail(label);
    const res = await api(ctx, "POST", "/api/auth/register", {
      body: { name: "Cookie Learner", email, password: PASSWORD },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    // The POST's cookie is the LiteFS proxy's job, not the app's.
    assert.deepEqual(txidCookies(res), []);
    const mail = await latestEmail(ctx, email, "verify_email");
    return { email, token: tokenFromLink(mail.text, "verify-email") };
  };
  const verifiedAt = async (email: string) =>
    (await ctx.deps.db.select().from(users).where(eq(users.email, email)))[0]
      ?.emailVerifiedAt;
  try {
    await t.step(
      "GET /api/auth/verify-email/<bad token>: an error, still with the cookie",
      async () => {
        const res = await api(
          ctx,
          "GET",
          "/api/auth/verify-email/not-a-real-token-at-all-0123456789",
        );
        assert.ok(res.status >= 400 && res.status < 500, String(res.status));
        assertTxidCookie(res, "bad token (API)");
      },
    );

    await t.step(
      "GET /verify-email/<bad token>: the page, with the cookie",
      async () => {
        const res = await api(ctx, "GET", "/verify-email/not-a-real-token");
        assert.equal(res.status, 400);
        assertTxidCookie(res, "bad token (page)");
      },
    );

    await t.step(
      "GET /api/auth/verify-email/<token>: verified, with the cookie",
      async () => {
        const { email, token } = await register("api-verify");
        const res = await api(ctx, "GET", `/api/auth/verify-email/${token}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assertTxidCookie(res, "good token (API)");
        assert.notEqual(await verifiedAt(email), null);
      },
    );

    await t.step(
      "GET /verify-email/<token>: the page verifies, with the cookie",
      async () => {
        const { email, token } = await register("page-verify");
        const res = await api(ctx, "GET", `/verify-email/${token}`);
        assert.equal(res.status, 200, String(res.body).slice(0, 300));
        assertTxidCookie(res, "good token (page)");
        assert.notEqual(await verifiedAt(email), null);
      },
    );

    await t.step(
      "a plain GET gets X-Lectern-Txid but no __txid cookie",
      async () => {
        for (
          const path of ["/api/programs", "/healthz", "/api/programs/nope"]
        ) {
          const res = await api(ctx, "GET", path);
          assert.equal(res.headers.get("X-Lectern-Txid"), TXID_HEX, path);
          assert.deepEqual(txidCookies(res), [], path);
        }
      },
    );
  } finally {
    await cluster.close();
  }
});

Deno.test("with CORS_ORIGINS a cross-origin GET exposes X-Lectern-Txid and X-Request-Id", async (t) => {
  const cluster = await clusterContext({ CORS_ORIGINS: "https://app.example" });
  const { ctx } = cluster;
  const exposed = (headers: Headers) =>
    (headers.get("Access-Control-Expose-Headers") ?? "").split(",").map((
      name,
    ) => name.trim().toLowerCase()).filter(Boolean);
  try {
    await t.step("from the allowed origin", async () => {
      const res = await api(ctx, "GET", "/api/programs", {
        headers: { Origin: "https://app.example" },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(
        res.headers.get("Access-Control-Allow-Origin"),
        "https://app.example",
      );
      const names = exposed(res.headers);
      assert.ok(names.includes("x-lectern-txid"), names.join());
      assert.ok(names.includes("x-request-id"), names.join());
      // And the headers it names are really there to read.
      assert.equal(res.headers.get("X-Lectern-Txid"), TXID_HEX);
      assert.ok(res.headers.get("X-Request-Id"));
    });

    await t.step("an error response exposes them too", async () => {
      const res = await api(ctx, "GET", "/api/programs/no-such-program", {
        headers: { Origin: "https://app.example" },
      });
      assert.equal(res.status, 404);
      const names = exposed(res.headers);
      assert.ok(names.includes("x-lectern-txid"), names.join());
      assert.ok(names.includes("x-request-id"), names.join());
    });

    await t.step("another origin is not allowed", async () => {
      const res = await api(ctx, "GET", "/api/programs", {
        headers: { Origin: "https://elsewhere.example" },
      });
      assert.equal(res.status, 200);
      assert.notEqual(
        res.headers.get("Access-Control-Allow-Origin"),
        "https://elsewhere.example",
      );
    });
  } finally {
    await cluster.close();
  }
});
