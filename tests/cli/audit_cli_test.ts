import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import {
  accessGrants,
  enrollments,
  programs,
  users,
} from "../../db/schema/mod.ts";
import { api, createTestContext } from "../helpers/context.ts";
import {
  makeProgram,
  makeUser,
  makeUserAndLogin,
} from "../helpers/factories.ts";
import { type CliResult, ok, runCli } from "../helpers/cli.ts";

interface Entry {
  id: string;
  action: string;
  actor: { id: string | null; label: string };
  target: { type: string; id: string };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  via: string;
  ip: string | null;
  requestId: string | null;
  createdAt: string;
}

/** The command failed: a non-zero exit and a message on stderr. Returns stderr. */
function failed(result: CliResult, what: string): string {
  assert.notEqual(result.code, 0, `${what} should fail:\n${result.stdout}`);
  assert.ok(result.stderr.trim().length > 0, `${what}: nothing on stderr`);
  return result.stderr;
}

/**
 * The server notices another process's commits by polling (decision 005): ask again until `done`,
 * for a few seconds at most.
 */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  let value = await read();
  for (let tries = 0; !done(value) && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  assert.ok(done(value), `${what}: ${JSON.stringify(value)}`);
  return value;
}

Deno.test("the audit CLI: CLI actions are audited as via cli, and audit list shows them", async (t) => {
  const ctx = await createTestContext();
  const cli = (args: string[]) => runCli(ctx.dataDir, args);
  try {
    const admin = await makeUserAndLogin(ctx, {
      role: "admin",
      name: "Api Admin",
    });
    const banned = await makeUserAndLogin(ctx, { name: "Cli Banned" });
    const promoted = await makeUser(ctx, { name: "Cli Promoted" });
    const owner = await makeUser(ctx, { role: "instructor" });
    const learner = await makeUser(ctx, { name: "Cli Learner" });
    const apiBanned = await makeUser(ctx, { name: "Api Banned" });
    const program = await makeProgram(ctx, owner, {
      title: "Audit Trails 101",
    });

    // One action through the API, so the CLI's entries have something to be told apart from.
    const viaApi = await api(
      ctx,
      "POST",
      `/api/admin/users/${apiBanned.id}/ban`,
      { token: admin.token, body: { reason: "Banned over HTTP" } },
    );
    assert.equal(viaApi.status, 200, JSON.stringify(viaApi.body));

    await t.step(
      "users ban, users set-role, programs feature and enrollments grant do their work",
      async () => {
        assert.equal(
          ok(
            await cli([
              "users",
              "ban",
              banned.user.email,
              "--reason",
              "Spam from the terminal",
            ]),
            "users ban",
          ),
          `Banned ${banned.user.email}\n`,
        );
        assert.equal(
          ok(
            await cli(["users", "set-role", promoted.id, "instructor"]),
            "users set-role",
          ),
          `${promoted.email} is now instructor\n`,
        );
        assert.match(
          ok(await cli(["programs", "feature", program.id]), "feature"),
          new RegExp(`^Featured ${program.slug} \\(${program.id}\\)\\n$`),
        );
        assert.match(
          ok(
            await cli([
              "enrollments",
              "grant",
              "--user",
              learner.email,
              "--program",
              program.id,
              "--access",
              "bundle",
            ]),
            "enrollments grant",
          ),
          /^granted bundle access to "Audit Trails 101"/,
        );

        const [bannedRow] = await ctx.deps.db.select().from(users).where(
          eq(users.id, banned.user.id),
        );
        assert.equal(bannedRow!.status, "banned");
        assert.equal(bannedRow!.banReason, "Spam from the terminal");
        const [promotedRow] = await ctx.deps.db.select().from(users).where(
          eq(users.id, promoted.id),
        );
        assert.equal(promotedRow!.role, "instructor");
        const [programRow] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, program.id),
        );
        assert.equal(programRow!.featured, true);
        const grants = await ctx.deps.db.select().from(accessGrants).where(
          and(
            eq(accessGrants.userId, learner.id),
            eq(accessGrants.programId, program.id),
          ),
        );
        assert.equal(grants.length, 1);
        assert.equal(grants[0]!.accessType, "bundle");

        // The server sees the CLI's ban: the banned person's token stops working.
        await eventually(
          () => api(ctx, "GET", "/api/auth/me", { token: banned.token }),
          (res) => res.status === 403,
          "the banned token",
        );
      },
    );

    await t.step(
      "audit list prints one line per entry, newest first, CLI ones by cli:<user>",
      async () => {
        const out = ok(await cli(["audit", "list"]), "audit list");
        const lines = out.trimEnd().split("\n");
        assert.equal(lines.at(-1), "5 of 5 entries");
        const entries = lines.slice(0, -1);
        assert.equal(entries.length, 5);
        const lineOf = (action: string, target: string) => {
          const found = entries.filter((l) =>
            l.includes(` ${action} `) && l.includes(` ${target} `)
          );
          assert.equal(found.length, 1, `${action} on ${target}:\n${out}`);
          return found[0]!;
        };
        const [enrollment] = await ctx.deps.db.select().from(enrollments)
          .where(and(
            eq(enrollments.userId, learner.id),
            eq(enrollments.programId, program.id),
          ));
        for (
          const [action, target] of [
            ["user.ban", `user:${banned.user.id}`],
            ["user.role", `user:${promoted.id}`],
            ["program.feature", `program:${program.id}`],
            ["enrollment.grant", `enrollment:${enrollment!.id}`],
          ] as const
        ) {
          const line = lineOf(action, target);
          // Nothing between the label and the change: the CLI has no address.
          assert.match(line, / by cli:\S+ {2}(\{|—)/, line);
        }
        assert.match(
          lineOf("user.ban", `user:${banned.user.id}`),
          /"status":"banned".*"banReason":"Spam from the terminal"/,
        );
        assert.match(
          lineOf("user.role", `user:${promoted.id}`),
          /\{"role":"student"\} -> \{"role":"instructor"\}/,
        );
        assert.match(
          lineOf("user.ban", `user:${apiBanned.id}`),
          new RegExp(` by ${admin.user.email.replace(/\./g, "\\.")}`),
        );
        // Newest first: the API's ban came before every CLI command.
        assert.match(entries.at(-1)!, new RegExp(`user:${apiBanned.id}`));
        assert.match(entries[0]!, / enrollment\.grant /);
      },
    );

    await t.step(
      "audit list --json --action user.ban: both bans, the CLI's with via cli and no account",
      async () => {
        const parsed = JSON.parse(
          ok(
            await cli(["audit", "list", "--json", "--action", "user.ban"]),
            "audit list --json",
          ),
        );
        assert.equal(parsed.total, 2);
        const entries = parsed.entries as Entry[];
        assert.ok(entries.every((e) => e.action === "user.ban"));
        const fromCli = entries.find((e) => e.target.id === banned.user.id)!;
        assert.ok(fromCli, JSON.stringify(entries));
        assert.equal(fromCli.via, "cli");
        assert.equal(fromCli.actor.id, null);
        assert.match(fromCli.actor.label, /^cli:./);
        assert.equal(fromCli.target.type, "user");
        assert.deepEqual(fromCli.before, { status: "active", banReason: null });
        assert.deepEqual(fromCli.after, {
          status: "banned",
          banReason: "Spam from the terminal",
        });
        assert.equal(fromCli.ip, null);
        assert.equal(fromCli.requestId, null);
        const fromApi = entries.find((e) => e.target.id === apiBanned.id)!;
        assert.equal(fromApi.via, "api");
        assert.deepEqual(fromApi.actor, {
          id: admin.user.id,
          label: admin.user.email,
        });
      },
    );

    await t.step(
      "audit list --json --via cli and --target: only the CLI's entries, all labelled cli:",
      async () => {
        const viaCli = JSON.parse(
          ok(
            await cli(["audit", "list", "--json", "--via", "cli"]),
            "audit list --via cli",
          ),
        );
        assert.equal(viaCli.total, 4);
        const entries = viaCli.entries as Entry[];
        assert.deepEqual(
          entries.map((e) => e.action).sort(),
          ["enrollment.grant", "program.feature", "user.ban", "user.role"],
        );
        assert.ok(entries.every((e) => e.via === "cli"));
        assert.ok(entries.every((e) => e.actor.label.startsWith("cli:")));
        assert.equal(
          new Set(entries.map((e) => e.actor.label)).size,
          1,
          "one operating-system user ran them all",
        );
        const feature = entries.find((e) => e.action === "program.feature")!;
        assert.deepEqual(feature.target, { type: "program", id: program.id });
        assert.deepEqual(feature.before, { featured: false });
        assert.deepEqual(feature.after, { featured: true });
        const grant = entries.find((e) => e.action === "enrollment.grant")!;
        assert.equal(grant.target.type, "enrollment");
        assert.deepEqual(grant.after, {
          userId: learner.id,
          programId: program.id,
          accessType: "bundle",
        });

        const onProgram = JSON.parse(
          ok(
            await cli([
              "audit",
              "list",
              "--json",
              "--target",
              `program:${program.id}`,
            ]),
            "audit list --target",
          ),
        );
        assert.equal(onProgram.total, 1);
        assert.equal(onProgram.entries[0].action, "program.feature");

        // The API shows the same entries to administrators.
        const res = await api(ctx, "GET", "/api/admin/audit?via=cli", {
          token: admin.token,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(
          (res.body.entries as Entry[]).map((e) => e.id).sort(),
          entries.map((e) => e.id).sort(),
        );
      },
    );

    await t.step("a bad --via value exits non-zero", async () => {
      const stderr = failed(
        await cli(["audit", "list", "--via", "web"]),
        "--via web",
      );
      assert.match(stderr, /api, cli|api or cli|"api", "cli"/, stderr);
      failed(await cli(["audit", "list", "--limit", "0"]), "--limit 0");
    });
  } finally {
    await ctx.close();
  }
});
