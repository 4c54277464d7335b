import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import {
  auditLog,
  instructorApplications,
  notifications,
  users,
} from "../../db/schema/mod.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../helpers/context.ts";
import { latestEmail } from "../helpers/factories.ts";
import { type CliResult, ok, runCli } from "../helpers/cli.ts";
import { type Learner, learner } from "../features/payments/support.ts";

/** The command failed with exit code 1 and one message on stderr, nothing on stdout. */
function failed(result: CliResult, what: string): string {
  assert.equal(result.code, 1, `${what} should exit 1:\n${result.stderr}`);
  assert.equal(result.stdout, "", `${what} printed to stdout`);
  assert.ok(result.stderr.trim().length > 0, `${what}: nothing on stderr`);
  return result.stderr;
}

/**
 * The server notices another process's commits by polling (decision 005), so a cached session may
 * last a moment after a CLI write: ask again until `done`, a few seconds at most.
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

async function applicationRow(ctx: TestContext, id: string) {
  const [row] = await ctx.deps.db.select().from(instructorApplications).where(
    eq(instructorApplications.id, id),
  );
  assert.ok(row, `application ${id}`);
  return row;
}

async function roleOf(ctx: TestContext, userId: string) {
  const [row] = await ctx.deps.db.select({ role: users.role }).from(users)
    .where(eq(users.id, userId));
  return row!.role;
}

async function auditOf(ctx: TestContext, targetId: string) {
  return await ctx.deps.db.select().from(auditLog).where(
    eq(auditLog.targetId, targetId),
  );
}

async function noticesOf(ctx: TestContext, userId: string, type: string) {
  return await ctx.deps.db.select().from(notifications).where(and(
    eq(notifications.userId, userId),
    eq(notifications.type, type),
  ));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

Deno.test("the instructors CLI: list, approve and reject applications", async (t) => {
  const ctx = await createTestContext();
  const cli = (args: string[]) => runCli(ctx.dataDir, args);
  try {
    const admin = await learner(ctx, "admin");
    const applicants: Learner[] = [];
    const ids: string[] = [];
    const days: string[] = [];
    for (const subject of ["Astronomy", "Botany", "Chemistry", "Drawing"]) {
      const who = await learner(ctx);
      const res = await api(ctx, "POST", "/api/instructors/apply", {
        token: who.token,
        body: {
          bio: `I have taught ${subject} to adults for many years.`,
          expertise: [subject, "Teaching"],
        },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      applicants.push(who);
      ids.push(res.body.applicationId);
      days.push(res.body.application.appliedAt.slice(0, 10));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const [ann, ben, cid, dee] = applicants as [
      Learner,
      Learner,
      Learner,
      Learner,
    ];

    await t.step(
      "applications list: one line per application, newest first, a total; --status filters; --json; a bad status fails",
      async () => {
        const [text, approved, json, bad] = await Promise.all([
          cli(["instructors", "applications", "list"]),
          cli(["instructors", "applications", "list", "--status", "approved"]),
          cli([
            "instructors",
            "applications",
            "list",
            "--status",
            "pending",
            "--limit",
            "2",
            "--json",
          ]),
          cli(["instructors", "applications", "list", "--status", "maybe"]),
        ]);
        const lines = ok(text, "list").trimEnd().split("\n");
        assert.equal(lines.length, 5, lines.join("\n"));
        assert.equal(lines[4], "4 of 4 application(s)");
        const newestFirst = [...applicants].reverse();
        const subjects = ["Drawing", "Chemistry", "Botany", "Astronomy"];
        newestFirst.forEach((who, i) => {
          assert.equal(
            lines[i],
            `${ids[3 - i]}  pending   ${
              days[3 - i]
            }  ${who.user.email}  ${who.user.name}  [${subjects[i]}, Teaching]`,
          );
        });

        assert.equal(ok(approved, "list approved"), "0 of 0 application(s)\n");

        const parsed = JSON.parse(ok(json, "list --json"));
        assert.equal(parsed.total, 4);
        assert.equal(parsed.page, 1);
        assert.equal(parsed.limit, 2);
        assert.deepEqual(
          parsed.applications.map((a: { id: string }) => a.id),
          [ids[3], ids[2]],
        );
        const [first] = parsed.applications;
        assert.equal(first.status, "pending");
        assert.deepEqual(first.user, {
          id: dee.user.id,
          name: dee.user.name,
          email: dee.user.email,
          avatar: null,
        });
        assert.deepEqual(first.expertise, ["Drawing", "Teaching"]);
        assert.equal(first.rejectionReason, null);

        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /maybe/);
        assert.match(bad.stderr, /pending, approved, rejected/);
        assert.equal(bad.stdout, "");
      },
    );

    await t.step(
      "approve ID: exit 0 and one line; the applicant is an instructor, notified and emailed; audited via cli",
      async () => {
        const before = await api(ctx, "GET", "/api/instructors/dashboard", {
          token: ann.token,
        });
        assert.equal(before.status, 403, "a student before approval");

        const out = ok(
          await cli(["instructors", "approve", ids[0]!]),
          "approve",
        );
        assert.equal(out, `Approved: ${ann.user.email} is now an instructor\n`);

        const row = await applicationRow(ctx, ids[0]!);
        assert.equal(row.status, "approved");
        assert.equal(row.reviewedBy, null, "the CLI is no account");
        assert.ok(row.reviewedAt);
        assert.equal(await roleOf(ctx, ann.user.id), "instructor");
        const [notice] = await noticesOf(
          ctx,
          ann.user.id,
          "application_approved",
        );
        assert.ok(notice, "the applicant is notified");
        assert.equal(notice.relatedId, ids[0]);
        const email = await latestEmail(ctx, ann.user.email, "notification");
        assert.equal(email.subject, "You are now an instructor");

        const entries = await auditOf(ctx, ids[0]!);
        assert.equal(entries.length, 1);
        const [entry] = entries;
        assert.equal(entry!.action, "application.approve");
        assert.equal(entry!.via, "cli");
        assert.equal(entry!.actorId, null);
        assert.match(entry!.actorLabel, /^cli:/);
        assert.equal(entry!.targetType, "instructor_application");
        assert.deepEqual(entry!.before, { status: "pending", role: "student" });
        assert.deepEqual(entry!.after, {
          status: "approved",
          role: "instructor",
          userId: ann.user.id,
        });
        const viaApi = await api(
          ctx,
          "GET",
          "/api/admin/audit?action=application.approve&via=cli",
          { token: admin.token },
        );
        assert.equal(viaApi.status, 200);
        assert.deepEqual(
          viaApi.body.entries.map((e: { target: { id: string } }) =>
            e.target.id
          ),
          [ids[0]],
        );
        assert.equal(viaApi.body.entries[0].actor.id, null);

        // The running server sees the new role (another process wrote it).
        await eventually(
          () =>
            api(ctx, "GET", "/api/instructors/dashboard", { token: ann.token }),
          (res) => res.status === 200,
          "the dashboard opens for the new instructor",
        );
      },
    );

    await t.step(
      "reject ID --reason: without --reason or with a blank one it fails and nothing changes; with one, exit 0, stored, emailed, audited",
      async () => {
        const [missing, blank] = await Promise.all([
          cli(["instructors", "reject", ids[1]!]),
          cli(["instructors", "reject", ids[1]!, "--reason", "   "]),
        ]);
        assert.notEqual(missing.code, 0);
        assert.match(missing.stderr, /--reason/);
        assert.equal(missing.stdout, "");
        assert.match(failed(blank, "blank reason"), /VALIDATION_FAILED/);
        assert.match(blank.stderr, /reason/);
        assert.equal((await applicationRow(ctx, ids[1]!)).status, "pending");
        assert.equal((await auditOf(ctx, ids[1]!)).length, 0);

        const reason = "Please send a recorded sample lesson.";
        const out = ok(
          await cli(["instructors", "reject", ids[1]!, "--reason", reason]),
          "reject",
        );
        assert.equal(out, `Rejected the application of ${ben.user.email}\n`);
        const row = await applicationRow(ctx, ids[1]!);
        assert.equal(row.status, "rejected");
        assert.equal(row.rejectionReason, reason);
        assert.equal(row.reviewedBy, null);
        assert.equal(await roleOf(ctx, ben.user.id), "student");
        const [notice] = await noticesOf(
          ctx,
          ben.user.id,
          "application_rejected",
        );
        assert.ok(notice);
        assert.ok(notice.message.includes(reason), notice.message);
        const email = await latestEmail(ctx, ben.user.email, "notification");
        assert.match(email.text, new RegExp(escape(reason)));

        const [entry] = await auditOf(ctx, ids[1]!);
        assert.equal(entry!.action, "application.reject");
        assert.equal(entry!.via, "cli");
        assert.equal(entry!.actorId, null);
        assert.equal(entry!.after?.reason, reason);
      },
    );

    await t.step(
      "unknown ids exit 1 with 'not found'; deciding twice exits 1 with APPLICATION_DECIDED and changes nothing",
      async () => {
        const unknown = "01J0000000000000000000000Z";
        const [approveUnknown, rejectUnknown, approveTwice, rejectDecided] =
          await Promise.all([
            cli(["instructors", "approve", unknown]),
            cli(["instructors", "reject", unknown, "--reason", "Who?"]),
            cli(["instructors", "approve", ids[0]!]),
            cli(["instructors", "reject", ids[1]!, "--reason", "Again"]),
          ]);
        assert.match(failed(approveUnknown, "approve unknown"), /not found/i);
        assert.match(failed(rejectUnknown, "reject unknown"), /not found/i);
        assert.match(
          failed(approveTwice, "approve twice"),
          /APPLICATION_DECIDED/,
        );
        assert.match(
          failed(rejectDecided, "reject a rejected one"),
          /APPLICATION_DECIDED/,
        );
        assert.equal((await applicationRow(ctx, ids[0]!)).status, "approved");
        const rejected = await applicationRow(ctx, ids[1]!);
        assert.equal(rejected.status, "rejected");
        assert.equal(
          rejected.rejectionReason,
          "Please send a recorded sample lesson.",
        );
        assert.equal((await auditOf(ctx, ids[0]!)).length, 1);
        assert.equal((await auditOf(ctx, ids[1]!)).length, 1);
        assert.equal(
          (await noticesOf(ctx, ann.user.id, "application_approved")).length,
          1,
        );
      },
    );

    await t.step(
      "approve and reject --json print the decided application; list --status shows each decision",
      async () => {
        const [approved, rejected] = await Promise.all([
          cli(["instructors", "approve", ids[2]!, "--json"]),
          cli([
            "instructors",
            "reject",
            ids[3]!,
            "--reason",
            "Not enough detail",
            "--json",
          ]),
        ]);
        const a = JSON.parse(ok(approved, "approve --json"));
        assert.equal(a.id, ids[2]);
        assert.equal(a.status, "approved");
        assert.equal(a.user.email, cid.user.email);
        assert.ok(a.reviewedAt);
        const r = JSON.parse(ok(rejected, "reject --json"));
        assert.equal(r.id, ids[3]);
        assert.equal(r.status, "rejected");
        assert.equal(r.rejectionReason, "Not enough detail");
        assert.equal(await roleOf(ctx, cid.user.id), "instructor");
        assert.equal(await roleOf(ctx, dee.user.id), "student");

        const [listApproved, listRejected] = await Promise.all([
          cli(["instructors", "applications", "list", "--status", "approved"]),
          cli(["instructors", "applications", "list", "--status", "rejected"]),
        ]);
        const approvedLines = ok(listApproved, "list approved").trimEnd()
          .split("\n");
        assert.equal(approvedLines.at(-1), "2 of 2 application(s)");
        assert.ok(approvedLines[0]!.startsWith(`${ids[2]}  approved  `));
        assert.ok(approvedLines[1]!.startsWith(`${ids[0]}  approved  `));
        const rejectedLines = ok(listRejected, "list rejected").trimEnd()
          .split("\n");
        assert.equal(rejectedLines.at(-1), "2 of 2 application(s)");
        assert.ok(rejectedLines[0]!.startsWith(`${ids[3]}  rejected  `));
        assert.ok(rejectedLines[1]!.startsWith(`${ids[1]}  rejected  `));
      },
    );
  } finally {
    await ctx.close();
  }
});
