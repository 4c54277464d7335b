import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { events, programs, users } from "../../../db/schema/mod.ts";
import {
  api,
  type ApiResponse,
  createTestContext,
} from "../../helpers/context.ts";
import {
  latestEmail,
  makeProgram,
  makeUserAndLogin,
  PASSWORD,
  tokenFromLink,
  uniqueEmail,
} from "../../helpers/factories.ts";

/** What LiteFS writes on a replica: the primary's hostname, `<machine id>.vm.<app>.internal`. */
const PRIMARY_HOST = "e2865641c40e86.vm.lectern-school.internal";
const REPLAY = "instance=e2865641c40e86";
const TXID = 0x4d2n;
const CHECKSUM = "a1b2c3d4e5f60718";

const hex16 = (txid: bigint) => txid.toString(16).padStart(16, "0");
/** `$LITEFS_DIR/<db>-pos` as LiteFS writes it: `%016x/%016x\n`. */
const writePos = (dir: string, txid: bigint) =>
  Deno.writeTextFile(`${dir}/lectern.db-pos`, `${hex16(txid)}/${CHECKSUM}\n`);
const becomeReplica = (dir: string) =>
  Deno.writeTextFile(`${dir}/.primary`, PRIMARY_HOST);
const becomePrimary = (dir: string) => Deno.remove(`${dir}/.primary`);

function assertReplayed(res: ApiResponse, what: string) {
  assert.equal(res.status, 409, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.headers.get("fly-replay"), REPLAY, what);
  assert.equal(res.body.success, false, what);
  assert.equal(res.body.error.code, "REPLICA", what);
  assert.equal(res.body.error.details.primary, PRIMARY_HOST, what);
  assert.equal(typeof res.body.requestId, "string", what);
}

function assertServed(res: ApiResponse, what: string, txid = TXID) {
  assert.equal(res.status, 200, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.headers.get("fly-replay"), null, what);
  assert.equal(res.headers.get("X-Lectern-Txid"), hex16(txid), what);
}

Deno.test("a LiteFS replica: writes are replayed on the primary, reads are served with the position", async (t) => {
  const litefsDir = await Deno.makeTempDir({ prefix: "lectern-litefs-" });
  await writePos(litefsDir, TXID);
  // A primary while the context migrates; `.primary` turns it into a replica below.
  const ctx = await createTestContext({ LITEFS_DIR: litefsDir });
  const userByEmail = async (email: string) =>
    (await ctx.deps.db.select().from(users).where(eq(users.email, email)))[0];
  const viewsOf = async (programId: string) => {
    await ctx.deps.background.idle();
    return (await ctx.deps.db.select().from(events).where(
      and(eq(events.type, "program.viewed"), eq(events.programId, programId)),
    )).length;
  };
  try {
    const teacher = await makeUserAndLogin(ctx, { role: "instructor" });
    const program = await makeProgram(ctx, teacher.user, {
      title: "Replicated Program",
    });
    const pending = uniqueEmail("pending");

    await t.step(
      "as the primary (no .primary file) writes go through and carry the position",
      async () => {
        const res = await api(ctx, "POST", "/api/auth/register", {
          body: { name: "Pending Learner", email: pending, password: PASSWORD },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.headers.get("fly-replay"), null);
        assert.equal(res.headers.get("X-Lectern-Txid"), hex16(TXID));
      },
    );
    const mail = await latestEmail(ctx, pending, "verify_email");
    const token = tokenFromLink(mail.text, "verify-email");

    await becomeReplica(litefsDir);

    await t.step(
      "POST, PUT, PATCH and DELETE are 409 REPLICA with fly-replay naming the primary's machine, and write nothing",
      async () => {
        const email = uniqueEmail("replica-reg");
        assertReplayed(
          await api(ctx, "POST", "/api/auth/register", {
            body: { name: "Nobody", email, password: PASSWORD },
          }),
          "POST /api/auth/register",
        );
        assert.equal(await userByEmail(email), undefined, "no user created");

        assertReplayed(
          await api(ctx, "PUT", `/api/programs/${program.id}`, {
            token: teacher.token,
            body: { title: "Renamed On A Replica" },
          }),
          "PUT /api/programs/:id",
        );
        assertReplayed(
          await api(ctx, "DELETE", `/api/programs/${program.id}`, {
            token: teacher.token,
          }),
          "DELETE /api/programs/:id",
        );
        const [row] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, program.id),
        );
        assert.equal(row?.title, "Replicated Program");
        assert.equal(row?.deletedAt, null);

        assertReplayed(
          await api(ctx, "PATCH", "/api/user/preferences", {
            token: teacher.token,
            body: {},
          }),
          "PATCH",
        );
        assertReplayed(
          await api(ctx, "POST", "/api/auth/login", {
            body: { email: pending, password: PASSWORD },
          }),
          "POST /api/auth/login",
        );
      },
    );

    await t.step(
      "GETs that write are replayed: email verification (page and API), the OAuth callback, quiz attempts, certificate downloads",
      async () => {
        for (
          const path of [
            `/verify-email/${token}`,
            `/api/auth/verify-email/${token}`,
            "/api/auth/oauth/github/callback?code=abc&state=xyz",
            "/api/auth/oauth/google/callback",
            "/api/quizzes/attempts/some-attempt",
            "/api/certificates/some-certificate/download",
          ]
        ) {
          assertReplayed(await api(ctx, "GET", path), `GET ${path}`);
        }
        assert.equal(
          (await userByEmail(pending))?.emailVerifiedAt,
          null,
          "still unverified: the token was not used here",
        );
      },
    );

    await t.step(
      "a plain GET is served with X-Lectern-Txid equal to the pos file's TXID",
      async () => {
        const list = await api(ctx, "GET", "/api/programs");
        assertServed(list, "GET /api/programs");
        assert.ok(
          list.body.programs.some((p: { id: string }) => p.id === program.id),
        );
        assertServed(await api(ctx, "GET", "/healthz"), "GET /healthz");
        const missing = await api(ctx, "GET", "/api/programs/no-such-program");
        assert.equal(missing.status, 404, "an error is not replayed either");
        assert.equal(missing.headers.get("fly-replay"), null);
        assert.equal(missing.headers.get("X-Lectern-Txid"), hex16(TXID));
        const head = await ctx.app.request("/healthz", { method: "HEAD" });
        await head.body?.cancel();
        assert.notEqual(head.status, 409, "HEAD is not replayed");
        assert.equal(head.headers.get("fly-replay"), null);
        assert.match(
          (await api(ctx, "GET", "/api/programs")).headers.get(
            "X-Lectern-Txid",
          ) ?? "",
          /^[0-9a-f]{16}$/,
        );
      },
    );

    await t.step(
      "a program page served by a replica records no program.viewed",
      async () => {
        assertServed(
          await api(ctx, "GET", `/api/programs/${program.id}`),
          "GET /api/programs/:id",
        );
        assertServed(
          await api(ctx, "GET", `/api/programs/${program.slug}`, {
            headers: { "User-Agent": "another visitor" },
          }),
          "by slug",
        );
        assert.equal(await viewsOf(program.id), 0);
      },
    );

    await t.step(
      "promotion (.primary removed) takes effect on the very next request; so does a demotion",
      async () => {
        await becomePrimary(litefsDir);
        const email = uniqueEmail("promoted");
        const res = await api(ctx, "POST", "/api/auth/register", {
          body: { name: "After Promotion", email, password: PASSWORD },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.headers.get("fly-replay"), null);
        assert.ok(await userByEmail(email));

        const verified = await api(
          ctx,
          "GET",
          `/api/auth/verify-email/${token}`,
        );
        assert.equal(verified.status, 200, JSON.stringify(verified.body));
        assert.notEqual((await userByEmail(pending))?.emailVerifiedAt, null);

        // The primary counts views again (so the replica's zero above was the replica's doing).
        assert.equal(
          (await api(ctx, "GET", `/api/programs/${program.id}`)).status,
          200,
        );
        assert.equal(await viewsOf(program.id), 1);

        await becomeReplica(litefsDir);
        const again = uniqueEmail("demoted");
        assertReplayed(
          await api(ctx, "POST", "/api/auth/register", {
            body: { name: "After Demotion", email: again, password: PASSWORD },
          }),
          "POST after the demotion",
        );
        assert.equal(await userByEmail(again), undefined);
      },
    );

    await t.step(
      "X-Lectern-Txid at or behind the position (or unreadable) is served at once",
      async () => {
        for (const sent of [hex16(TXID), hex16(TXID - 1n), "4D2", "nonsense"]) {
          assertServed(
            await api(ctx, "GET", "/api/programs", {
              headers: { "X-Lectern-Txid": sent },
            }),
            `X-Lectern-Txid: ${sent}`,
          );
        }
      },
    );

    await t.step(
      "X-Lectern-Txid ahead of the position: served once the replica catches up",
      async () => {
        const ahead = TXID + 5n;
        const pending = api(ctx, "GET", "/api/programs", {
          headers: { "X-Lectern-Txid": hex16(ahead) },
        });
        const caughtUp = new Promise<void>((resolve, reject) =>
          setTimeout(
            () => writePos(litefsDir, ahead).then(resolve, reject),
            100,
          )
        );
        const [res] = await Promise.all([pending, caughtUp]);
        assertServed(res, "after catching up", ahead);
      },
    );

    await t.step({
      name:
        "a write with X-Lectern-Txid ahead of the position is replayed at once, without waiting for the replica",
      fn: async () => {
        const ahead = TXID + 7n;
        let caughtUp = false;
        const timer = setTimeout(() => {
          caughtUp = true;
          void writePos(litefsDir, ahead);
        }, 200);
        try {
          const res = await api(ctx, "POST", "/api/auth/register", {
            headers: { "X-Lectern-Txid": hex16(ahead) },
            body: { name: "X", email: uniqueEmail("x"), password: PASSWORD },
          });
          assertReplayed(res, "a write ahead of the position");
          assert.equal(
            caughtUp,
            false,
            "answered before the replica caught up: a write waits for nothing",
          );
        } finally {
          clearTimeout(timer);
        }
      },
    });

    await t.step(
      "X-Lectern-Txid ahead of a position that never catches up: replayed on the primary (waits 5 s)",
      async () => {
        const res = await api(ctx, "GET", "/api/programs", {
          headers: { "X-Lectern-Txid": hex16(TXID + 1000n) },
        });
        assertReplayed(res, "never caught up");
        assert.match(res.body.error.message, /not caught up/);
      },
    );
  } finally {
    await ctx.close();
    await Deno.remove(litefsDir, { recursive: true });
  }
});

Deno.test("LITEFS_DIR set, without a pos file: no X-Lectern-Txid; without .primary: a primary", async () => {
  const litefsDir = await Deno.makeTempDir({ prefix: "lectern-litefs-" });
  const ctx = await createTestContext({ LITEFS_DIR: litefsDir });
  try {
    const health = await api(ctx, "GET", "/healthz");
    assert.equal(health.status, 200);
    assert.equal(health.headers.get("X-Lectern-Txid"), null);
    const res = await api(ctx, "POST", "/api/auth/register", {
      body: { name: "Primary", email: uniqueEmail("p"), password: PASSWORD },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("fly-replay"), null);
    assert.equal(res.headers.get("X-Lectern-Txid"), null);
  } finally {
    await ctx.close();
    await Deno.remove(litefsDir, { recursive: true });
  }
});

Deno.test("without LITEFS_DIR: no cluster headers, even with a .primary file lying around", async () => {
  const stray = await Deno.makeTempDir({ prefix: "lectern-litefs-" });
  await becomeReplica(stray);
  await writePos(stray, TXID);
  const ctx = await createTestContext();
  try {
    assert.equal(ctx.deps.config.litefsDir, undefined);
    const teacher = await makeUserAndLogin(ctx, { role: "instructor" });
    const program = await makeProgram(ctx, teacher.user);
    for (
      const [method, path, status, body] of [
        ["GET", "/healthz", 200, undefined],
        ["GET", "/api/programs", 200, undefined],
        ["GET", "/api/auth/verify-email/nosuchtoken", 400, undefined],
        ["POST", "/api/auth/register", 201, {
          name: "Plain",
          email: uniqueEmail("plain"),
          password: PASSWORD,
        }],
      ] as const
    ) {
      const res = await api(ctx, method, path, body ? { body } : {});
      assert.equal(res.status, status, `${method} ${path}`);
      assert.equal(res.headers.get("fly-replay"), null, `${method} ${path}`);
      assert.equal(
        res.headers.get("X-Lectern-Txid"),
        null,
        `${method} ${path}`,
      );
    }
    assert.equal(
      (await api(ctx, "GET", `/api/programs/${program.id}`)).status,
      200,
    );
    await ctx.deps.background.idle();
    const viewed = await ctx.deps.db.select().from(events).where(
      and(eq(events.type, "program.viewed"), eq(events.programId, program.id)),
    );
    assert.equal(viewed.length, 1, "views are recorded");
  } finally {
    await ctx.close();
    await Deno.remove(stray, { recursive: true });
  }
});
