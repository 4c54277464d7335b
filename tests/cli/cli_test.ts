import assert from "node:assert/strict";
import { EXTERNAL_WRITE_POLL_MS } from "../../db/write_generation.ts";
import { count, eq } from "drizzle-orm";
import { users } from "../../db/schema/mod.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../helpers/context.ts";
import {
  latestEmail,
  login,
  PASSWORD,
  uniqueEmail,
} from "../helpers/factories.ts";
import { ok, REPO_ROOT, runCli } from "../helpers/cli.ts";

const ADMIN_PASSWORD = "quartz meadow telescope 31";

const lines = (text: string) => text.trim().split("\n").filter(Boolean);

Deno.test("the lectern CLI, run as a subprocess", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "lectern-cli-test-" });
  const cli = (args: string[], stdin?: string) => runCli(dataDir, args, stdin);
  let ctx: TestContext | undefined;
  const adminEmail = uniqueEmail("admin");
  try {
    await t.step(
      "db migrate applies the migrations on a fresh database, then says it is up to date",
      async () => {
        const journal = JSON.parse(
          await Deno.readTextFile(`${REPO_ROOT}migrations/meta/_journal.json`),
        ) as {
          entries: { tag: string }[];
        };
        const tags = journal.entries.map((e) => e.tag);
        assert.ok(tags.length > 0);
        const first = ok(await cli(["db", "migrate"]), "first migrate");
        assert.equal(
          first.trim(),
          `Applied ${tags.length} migration(s): ${tags.join(", ")}`,
        );
        const second = ok(await cli(["db", "migrate"]), "second migrate");
        assert.equal(second.trim(), "Database is up to date");
        const json = ok(
          await cli(["db", "migrate", "--json"]),
          "migrate --json",
        );
        assert.deepEqual(JSON.parse(json), { applied: [] });
      },
    );

    // The same database, opened in-process the way the server would: the CLI and the API must agree.
    ctx = await createTestContext({
      DATA_DIR: dataDir,
      DATABASE_URL: `file:${dataDir}/lectern.db`,
    });
    const app = ctx;

    await t.step(
      "users create --password-stdin creates a verified admin and prints one line",
      async () => {
        const stdout = ok(
          await cli(
            [
              "users",
              "create",
              "--email",
              adminEmail.toUpperCase(),
              "--name",
              "Ada Admin",
              "--role",
              "admin",
              "--password-stdin",
            ],
            ADMIN_PASSWORD + "\n",
          ),
          "users create",
        );
        assert.equal(lines(stdout).length, 1, stdout);
        assert.match(
          stdout.trim(),
          new RegExp(
            `^Created admin ${
              adminEmail.replace(/[.]/g, "\\.")
            } \\([0-9A-Z]{26}\\)$`,
          ),
        );

        const shown = JSON.parse(
          ok(
            await cli(["users", "show", adminEmail, "--json"]),
            "users show --json",
          ),
        );
        assert.equal(shown.email, adminEmail, "stored lower-cased");
        assert.equal(shown.name, "Ada Admin");
        assert.equal(shown.role, "admin");
        assert.equal(shown.emailVerified, true);
        assert.equal(shown.status, "active");
        assert.equal(shown.banReason, null);
        assert.equal(shown.passwordHash, undefined, "no hash in the output");

        const session = await login(app, adminEmail, ADMIN_PASSWORD); // the trailing newline was not part of it
        assert.equal(session.user.id, shown.id);
      },
    );

    await t.step(
      "users create with a weak password fails on stderr, prints nothing on stdout, writes nothing",
      async () => {
        const email = uniqueEmail("weak");
        const result = await cli([
          "users",
          "create",
          "--email",
          email,
          "--name",
          "Weak",
          "--password-stdin",
        ], "short\n");
        assert.notEqual(result.code, 0);
        assert.equal(result.stdout, "");
        assert.match(result.stderr, /VALIDATION_FAILED/);
        assert.match(result.stderr, /password: Must be at least 10 characters/);
        const rows = await app.deps.db.select().from(users).where(
          eq(users.email, email),
        );
        assert.equal(rows.length, 0);
      },
    );

    await t.step(
      "users create refuses a taken email (exit 1, EMAIL_TAKEN) and a missing password without a terminal",
      async () => {
        const [duplicate, noTerminal] = await Promise.all([
          cli([
            "users",
            "create",
            "--email",
            adminEmail,
            "--name",
            "Copy",
            "--password-stdin",
          ], ADMIN_PASSWORD),
          cli([
            "users",
            "create",
            "--email",
            uniqueEmail("nopw"),
            "--name",
            "No Password",
          ]),
        ]);
        assert.equal(duplicate.code, 1);
        assert.equal(duplicate.stdout, "");
        assert.match(duplicate.stderr, /EMAIL_TAKEN/);
        assert.notEqual(noTerminal.code, 0);
        assert.equal(noTerminal.stdout, "");
        assert.match(noTerminal.stderr, /--password-stdin/);
      },
    );

    const student = uniqueEmail("student");
    await t.step(
      "users list --json counts every account; set-role changes the role; a bad role is refused",
      async () => {
        const registered = await api(app, "POST", "/api/auth/register", {
          body: { name: "Sam Student", email: student, password: PASSWORD },
        });
        assert.equal(registered.status, 201);
        const [{ n }] =
          (await app.deps.db.select({ n: count() }).from(users)) as [
            { n: number },
          ];

        const list = JSON.parse(
          ok(await cli(["users", "list", "--json"]), "users list --json"),
        );
        assert.equal(list.total, n);
        assert.equal(list.total, 2);
        assert.deepEqual(
          list.users.map((u: { email: string }) => u.email).sort(),
          [adminEmail, student].sort(),
        );
        assert.equal(list.page, 1);

        const [changed, invalid] = await Promise.all([
          cli(["users", "set-role", student, "instructor"]),
          cli(["users", "set-role", student, "wizard"]),
        ]);
        assert.equal(
          ok(changed, "set-role").trim(),
          `${student} is now instructor`,
        );
        assert.notEqual(invalid.code, 0);
        assert.equal(invalid.stdout, "");
        assert.match(invalid.stderr, /wizard/);
        const [row] = await app.deps.db.select().from(users).where(
          eq(users.email, student),
        );
        assert.equal(row?.role, "instructor");
      },
    );

    await t.step(
      "users verify marks an unverified account verified, so it can sign in",
      async () => {
        const before = await api(app, "POST", "/api/auth/login", {
          body: { email: student, password: PASSWORD },
        });
        assert.equal(before.status, 403);
        assert.equal(before.body.error.code, "EMAIL_NOT_VERIFIED");
        assert.equal(
          ok(await cli(["users", "verify", student]), "users verify").trim(),
          `Email verified for ${student}`,
        );
        await login(app, student);
      },
    );

    await t.step(
      "users ban ends sessions and records the reason; unban lifts it; a second unban is NOT_BANNED",
      async () => {
        const session = await login(app, student);
        assert.equal(
          ok(
            await cli(["users", "ban", student, "--reason", "spam"]),
            "users ban",
          ).trim(),
          `Banned ${student}`,
        );
        const shown = JSON.parse(
          ok(
            await cli(["users", "show", student, "--json"]),
            "users show --json",
          ),
        );
        assert.equal(shown.status, "banned");
        assert.equal(shown.banReason, "spam");

        const me = await api(app, "GET", "/api/auth/me", {
          token: session.token,
        });
        assert.equal(me.status, 403);
        assert.equal(me.body.error.code, "ACCOUNT_BANNED");
        const blocked = await api(app, "POST", "/api/auth/login", {
          body: { email: student, password: PASSWORD },
        });
        assert.equal(blocked.status, 403);
        assert.equal(blocked.body.error.code, "ACCOUNT_BANNED");

        assert.equal(
          ok(await cli(["users", "unban", student]), "users unban").trim(),
          `Unbanned ${student}`,
        );
        const [row] = await app.deps.db.select().from(users).where(
          eq(users.email, student),
        );
        assert.equal(row?.status, "active");
        assert.equal(row?.banReason, null);
        // The server sees another process's writes within a poll interval (decision 005).
        await new Promise((r) => setTimeout(r, EXTERNAL_WRITE_POLL_MS * 2));
        const afterUnban = await api(app, "GET", "/api/auth/me", {
          token: session.token,
        });
        assert.equal(
          afterUnban.status,
          401,
          "the ban ended the old session for good",
        );
        assert.equal(afterUnban.body.error.code, "SESSION_REVOKED");
        await login(app, student);

        const again = await cli(["users", "unban", student]);
        assert.equal(again.code, 1);
        assert.equal(again.stdout, "");
        assert.match(again.stderr, /NOT_BANNED/);
      },
    );

    await t.step(
      "users show and users ban of an unknown account exit 1 with 'not found' on stderr",
      async () => {
        const [show, ban] = await Promise.all([
          cli(["users", "show", "nobody@x.test"]),
          cli(["users", "ban", "nobody@x.test", "--reason", "x"]),
        ]);
        for (const result of [show, ban]) {
          assert.equal(result.code, 1);
          assert.equal(result.stdout, "");
          assert.match(result.stderr, /not found/i);
        }
      },
    );

    await t.step(
      "outbox list shows the queued email, and outbox show prints it with its link",
      async () => {
        const mail = await latestEmail(app, student, "verify_email");
        const list = ok(await cli(["outbox", "list"]), "outbox list");
        const line = lines(list).find((l) =>
          l.includes(student) && l.includes("Verify your email")
        );
        assert.ok(line, list);
        const [id] = line.split(/\s+/);
        assert.equal(id, mail.id);
        assert.match(line, /logged/);
        assert.match(line, /Verify your email address/);

        const [shown, missing] = await Promise.all([
          cli(["outbox", "show", id!]),
          cli(["outbox", "show", "01NOPE0000000000000000000"]),
        ]);
        const text = ok(shown, "outbox show");
        assert.match(
          text,
          new RegExp(`^To: ${student.replace(/[.]/g, "\\.")}$`, "m"),
        );
        assert.match(text, /^Subject: Verify your email address$/m);
        assert.match(text, /^Status: logged \(attempts 0\)$/m);
        assert.match(text, /http:\/\/lectern\.test\/verify-email\/[a-z2-7]+/);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /not found/i);
      },
    );
  } finally {
    await ctx?.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
