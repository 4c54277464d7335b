import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { auditLog, programs } from "../../../db/schema/mod.ts";
import { banUser } from "../../../server/features/users/service.ts";
import {
  api,
  type ApiResponse,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  makeProgram,
  makeUser,
  makeUserAndLogin,
} from "../../helpers/factories.ts";

/** The address our (trusted) proxy says the admin came from. */
const ADMIN_IP = "203.0.113.9";

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

const ENTRY_KEYS = [
  "action",
  "actor",
  "after",
  "before",
  "createdAt",
  "id",
  "ip",
  "requestId",
  "target",
  "via",
];

/** What an entry's before or after must be; a function when it depends on the server's answer. */
type Expected =
  | Record<string, unknown>
  | null
  | ((
    res: ApiResponse,
  ) => Record<string, unknown> | Promise<Record<string, unknown>>);

const countAudit = (ctx: TestContext) => ctx.deps.db.$count(auditLog);

Deno.test("the audit log: every admin action once, with who, what, before and after, from where", async (t) => {
  const ctx = await createTestContext({ TRUST_PROXY: "true" });
  try {
    const admin = await makeUserAndLogin(ctx, {
      role: "admin",
      name: "Audrey Admin",
    });
    const instructor = await makeUserAndLogin(ctx, { role: "instructor" });
    const student = await makeUserAndLogin(ctx, { name: "Sam Student" });

    /** A request as the admin, through the trusted proxy. */
    const asAdmin = (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) =>
      api(ctx, method, path, {
        token: admin.token,
        headers: { "X-Forwarded-For": ADMIN_IP, ...headers },
        ...(body !== undefined ? { body } : {}),
      });

    /** The entries of one action on one record, through the API. */
    const entriesOf = async (action: string, type: string, id: string) => {
      const res = await api(
        ctx,
        "GET",
        `/api/admin/audit?action=${action}&targetType=${type}&targetId=${id}`,
        { token: admin.token },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.entries as Entry[];
    };

    /**
     * Runs one admin request and checks that it wrote exactly one audit entry, of this action on
     * this record, with this before and after; returns the entry and the response.
     */
    const audited = async (
      request: () => Promise<ApiResponse>,
      expected: {
        status: number;
        action: string;
        targetType: string;
        targetId: (res: ApiResponse) => string;
        before: Expected;
        after: Expected;
      },
    ) => {
      const countBefore = await countAudit(ctx);
      const res = await request();
      assert.equal(res.status, expected.status, JSON.stringify(res.body));
      assert.equal(
        await countAudit(ctx),
        countBefore + 1,
        `${expected.action}: exactly one new entry`,
      );
      const targetId = expected.targetId(res);
      const entries = await entriesOf(
        expected.action,
        expected.targetType,
        targetId,
      );
      assert.equal(entries.length, 1, JSON.stringify(entries));
      const entry = entries[0]!;
      assert.deepEqual(Object.keys(entry).sort(), ENTRY_KEYS);
      assert.equal(entry.action, expected.action);
      assert.deepEqual(entry.target, {
        type: expected.targetType,
        id: targetId,
      });
      const resolve = async (value: Expected) =>
        typeof value === "function" ? await value(res) : value;
      assert.deepEqual(entry.before, await resolve(expected.before));
      assert.deepEqual(entry.after, await resolve(expected.after));
      assert.equal(entry.via, "api");
      assert.equal(entry.actor.id, admin.user.id);
      assert.ok(Date.now() - Date.parse(entry.createdAt) < 600_000);
      return { entry, res };
    };

    /** Who and from where: the admin's email, this request's id, the forwarded address. */
    const assertWho = (entry: Entry, res: ApiResponse) => {
      assert.deepEqual(entry.actor, {
        id: admin.user.id,
        label: admin.user.email,
      });
      const requestId = res.headers.get("x-request-id");
      assert.ok(requestId, "the response carries its request id");
      assert.equal(entry.requestId, requestId);
      assert.equal(entry.ip, ADMIN_IP);
    };

    const victim = await makeUser(ctx, { name: "Vera Victim" });
    const program = await makeProgram(ctx, instructor.user, {
      title: "Audited Program",
    });

    await t.step("user.ban", async () => {
      const { entry, res } = await audited(
        () =>
          asAdmin("POST", `/api/admin/users/${victim.id}/ban`, {
            reason: "Spam",
          }),
        {
          status: 200,
          action: "user.ban",
          targetType: "user",
          targetId: () => victim.id,
          before: { status: "active", banReason: null },
          after: { status: "banned", banReason: "Spam" },
        },
      );
      assertWho(entry, res);
    });

    await t.step("user.unban", async () => {
      const { entry, res } = await audited(
        () => asAdmin("POST", `/api/admin/users/${victim.id}/unban`),
        {
          status: 200,
          action: "user.unban",
          targetType: "user",
          targetId: () => victim.id,
          before: { status: "banned", banReason: "Spam" },
          after: { status: "active", banReason: null },
        },
      );
      assertWho(entry, res);
    });

    await t.step("user.role", async () => {
      const { entry, res } = await audited(
        () =>
          asAdmin("PUT", `/api/admin/users/${victim.id}/role`, {
            role: "instructor",
          }),
        {
          status: 200,
          action: "user.role",
          targetType: "user",
          targetId: () => victim.id,
          before: { role: "student" },
          after: { role: "instructor" },
        },
      );
      assertWho(entry, res);
    });

    await t.step(
      "refused and no-op admin actions leave no entry",
      async () => {
        const before = await countAudit(ctx);
        const same = await asAdmin(
          "PUT",
          `/api/admin/users/${victim.id}/role`,
          {
            role: "instructor",
          },
        );
        assert.equal(same.status, 200, "setting the role it has is a no-op");
        const self = await asAdmin(
          "POST",
          `/api/admin/users/${admin.user.id}/ban`,
          { reason: "x" },
        );
        assert.equal(self.status, 403);
        const notBanned = await asAdmin(
          "POST",
          `/api/admin/users/${victim.id}/unban`,
        );
        assert.equal(notBanned.status, 409);
        const lastAdmin = await asAdmin(
          "PUT",
          `/api/admin/users/${admin.user.id}/role`,
          { role: "student" },
        );
        assert.equal(lastAdmin.status, 409);
        assert.equal(await countAudit(ctx), before);
      },
    );

    await t.step("program.feature and program.unfeature", async () => {
      const featured = await audited(
        () => asAdmin("POST", `/api/admin/programs/${program.id}/feature`),
        {
          status: 200,
          action: "program.feature",
          targetType: "program",
          targetId: () => program.id,
          before: { featured: false },
          after: { featured: true },
        },
      );
      assertWho(featured.entry, featured.res);
      const unfeatured = await audited(
        () => asAdmin("POST", `/api/admin/programs/${program.id}/unfeature`),
        {
          status: 200,
          action: "program.unfeature",
          targetType: "program",
          targetId: () => program.id,
          before: { featured: true },
          after: { featured: false },
        },
      );
      assertWho(unfeatured.entry, unfeatured.res);
    });

    await t.step(
      "program.update: an admin's PUT /api/programs/:id, with only the changed fields",
      async () => {
        const { entry, res } = await audited(
          () =>
            asAdmin("PUT", `/api/programs/${program.id}`, {
              title: "Audited Program, Renamed",
              freeQuestionsCount: 7,
              description: "A new description",
            }),
          {
            status: 200,
            action: "program.update",
            targetType: "program",
            targetId: () => program.id,
            before: {
              title: "Audited Program",
              freeQuestionsCount: 0,
              description: "A program made by a test",
            },
            after: {
              title: "Audited Program, Renamed",
              freeQuestionsCount: 7,
              description: "A new description",
            },
          },
        );
        assertWho(entry, res);
        assert.equal(res.body.program.description, "A new description");
      },
    );

    await t.step(
      "an instructor editing or deleting their own program leaves no entry",
      async () => {
        const own = await makeProgram(ctx, instructor.user, {
          title: "Instructor's Own",
        });
        const before = await countAudit(ctx);
        const edited = await api(ctx, "PUT", `/api/programs/${own.id}`, {
          token: instructor.token,
          body: { title: "Instructor's Own, Edited", status: "draft" },
        });
        assert.equal(edited.status, 200, JSON.stringify(edited.body));
        assert.equal(edited.body.program.title, "Instructor's Own, Edited");
        const deleted = await api(ctx, "DELETE", `/api/programs/${own.id}`, {
          token: instructor.token,
        });
        assert.equal(deleted.status, 200);
        assert.equal(await countAudit(ctx), before);
        assert.deepEqual(
          await entriesOf("program.update", "program", own.id),
          [],
        );
      },
    );

    await t.step(
      "program.delete: an admin's DELETE /api/programs/:id",
      async () => {
        const doomed = await makeProgram(ctx, instructor.user, {
          title: "Doomed Program",
        });
        const { entry, res } = await audited(
          () => asAdmin("DELETE", `/api/programs/${doomed.id}`),
          {
            status: 200,
            action: "program.delete",
            targetType: "program",
            targetId: () => doomed.id,
            before: { deletedAt: null },
            // The deletion time is the server's: the one stored on the program.
            after: async () => {
              const [row] = await ctx.deps.db.select().from(programs).where(
                eq(programs.id, doomed.id),
              );
              assert.ok(row!.deletedAt, "soft-deleted");
              return { deletedAt: row!.deletedAt.toISOString() };
            },
          },
        );
        assertWho(entry, res);
        assert.ok(
          Date.now() - Date.parse(String(entry.after!.deletedAt)) < 600_000,
        );
      },
    );

    const certificate: { id: string; replacementId?: string } = { id: "" };

    await t.step(
      "certificate.issue: POST /api/admin/certificates/issue",
      async () => {
        const issued = await audited(
          () =>
            asAdmin("POST", "/api/admin/certificates/issue", {
              userId: student.user.id,
              programId: program.id,
              reason: "Passed the paper exam",
            }),
          {
            status: 201,
            action: "certificate.issue",
            targetType: "certificate",
            targetId: (res) => res.body.certificate.id,
            before: null,
            after: (res) => ({
              code: res.body.certificate.verificationCode,
              userId: student.user.id,
              programId: program.id,
              status: "valid",
              reason: "Passed the paper exam",
            }),
          },
        );
        assert.equal(issued.res.body.created, true);
        certificate.id = issued.entry.target.id;
        assertWho(issued.entry, issued.res);
      },
    );

    await t.step("certificate.reissue", async () => {
      const shown = await api(
        ctx,
        "GET",
        `/api/certificates/${certificate.id}`,
        { token: admin.token },
      );
      assert.equal(shown.status, 200);
      const oldCode = shown.body.certificate.verificationCode;
      const reissued = await audited(
        () =>
          asAdmin("POST", `/api/admin/certificates/${certificate.id}/reissue`, {
            name: "Samuel Student",
            reason: "Name corrected",
          }),
        {
          status: 201,
          action: "certificate.reissue",
          targetType: "certificate",
          targetId: () => certificate.id,
          before: {
            code: oldCode,
            userId: student.user.id,
            programId: program.id,
            status: "valid",
          },
          after: (res) => ({
            replacedBy: res.body.certificate.id,
            code: res.body.certificate.verificationCode,
            recipientName: "Samuel Student",
            reason: "Name corrected",
          }),
        },
      );
      certificate.replacementId = reissued.res.body.certificate.id;
      assertWho(reissued.entry, reissued.res);
    });

    await t.step("certificate.revoke", async () => {
      const revoked = await audited(
        () =>
          asAdmin(
            "POST",
            `/api/admin/certificates/${certificate.replacementId}/revoke`,
            { reason: "Exam misconduct" },
          ),
        {
          status: 200,
          action: "certificate.revoke",
          targetType: "certificate",
          targetId: () => certificate.replacementId!,
          before: { status: "valid" },
          after: { status: "revoked", reason: "Exam misconduct" },
        },
      );
      assertWho(revoked.entry, revoked.res);
    });

    const apply = async (who: { token: string }) => {
      const res = await api(ctx, "POST", "/api/instructors/apply", {
        token: who.token,
        body: {
          bio: "I have taught chemistry for twelve years.",
          expertise: ["Chemistry"],
        },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.applicationId as string;
    };

    await t.step("application.approve", async () => {
      const applicant = await makeUserAndLogin(ctx, { name: "Andy Applicant" });
      const applicationId = await apply(applicant);
      const { entry, res } = await audited(
        () =>
          asAdmin(
            "POST",
            `/api/instructors/applications/${applicationId}/approve`,
          ),
        {
          status: 200,
          action: "application.approve",
          targetType: "instructor_application",
          targetId: () => applicationId,
          before: { status: "pending", role: "student" },
          after: {
            status: "approved",
            role: "instructor",
            userId: applicant.user.id,
          },
        },
      );
      assertWho(entry, res);
      assert.equal(res.body.application.status, "approved");
    });

    await t.step("application.reject", async () => {
      const applicant = await makeUserAndLogin(ctx, { name: "Rita Rejected" });
      const applicationId = await apply(applicant);
      const { entry, res } = await audited(
        () =>
          asAdmin(
            "POST",
            `/api/instructors/applications/${applicationId}/reject`,
            { reason: "Please add sample work." },
          ),
        {
          status: 200,
          action: "application.reject",
          targetType: "instructor_application",
          targetId: () => applicationId,
          before: { status: "pending" },
          after: {
            status: "rejected",
            reason: "Please add sample work.",
            userId: applicant.user.id,
          },
        },
      );
      assertWho(entry, res);
    });

    await t.step(
      "with TRUST_PROXY the last X-Forwarded-For address is recorded",
      async () => {
        const someone = await makeUser(ctx);
        const { entry } = await audited(
          () =>
            asAdmin(
              "POST",
              `/api/admin/users/${someone.id}/ban`,
              { reason: "Proxy check" },
              { "X-Forwarded-For": "198.51.100.1, 198.51.100.77" },
            ),
          {
            status: 200,
            action: "user.ban",
            targetType: "user",
            targetId: () => someone.id,
            before: { status: "active", banReason: null },
            after: { status: "banned", banReason: "Proxy check" },
          },
        );
        assert.equal(entry.ip, "198.51.100.77", "the address our proxy added");
      },
    );

    await t.step(
      "without TRUST_PROXY a client's X-Forwarded-For is not believed",
      async () => {
        const plain = await createTestContext();
        try {
          const otherAdmin = await makeUserAndLogin(plain, { role: "admin" });
          const target = await makeUser(plain);
          const res = await api(
            plain,
            "POST",
            `/api/admin/users/${target.id}/ban`,
            {
              token: otherAdmin.token,
              headers: { "X-Forwarded-For": "198.51.100.66" },
              body: { reason: "Spoof check" },
            },
          );
          assert.equal(res.status, 200);
          const [entry] = await plain.deps.db.select().from(auditLog);
          assert.equal(entry!.action, "user.ban");
          assert.notEqual(entry!.ip, "198.51.100.66");
        } finally {
          await plain.close();
        }
      },
    );

    const otherAdmin = await makeUserAndLogin(ctx, {
      role: "admin",
      name: "Otto Other",
    });
    const cliVictim = await makeUser(ctx);
    const otherTarget = await makeUser(ctx);

    await t.step(
      "GET /api/admin/audit filters by action, actor, target and via",
      async () => {
        // One entry from the CLI and one from another admin, to tell apart.
        await banUser(ctx.deps, ADMIN_ACTOR, cliVictim.id, "From the terminal");
        const byOther = await api(
          ctx,
          "POST",
          `/api/admin/users/${otherTarget.id}/ban`,
          { token: otherAdmin.token, body: { reason: "Other admin" } },
        );
        assert.equal(byOther.status, 200);
        const total = await countAudit(ctx);
        const get = async (query: string) => {
          const res = await api(ctx, "GET", `/api/admin/audit${query}`, {
            token: admin.token,
          });
          assert.equal(
            res.status,
            200,
            `${query}: ${JSON.stringify(res.body)}`,
          );
          return res.body as {
            entries: Entry[];
            pagination: { total: number };
          };
        };

        const all = await get("?limit=100");
        assert.equal(all.pagination.total, total);
        assert.equal(all.entries.length, total);

        const bans = await get("?action=user.ban&limit=100");
        assert.ok(bans.entries.length >= 4);
        assert.ok(bans.entries.every((e) => e.action === "user.ban"));
        assert.equal(bans.pagination.total, bans.entries.length);

        const cli = await get("?via=cli");
        assert.equal(cli.pagination.total, 1);
        const [fromCli] = cli.entries;
        assert.equal(fromCli!.via, "cli");
        assert.equal(fromCli!.actor.id, null);
        assert.match(fromCli!.actor.label, /^cli:/);
        assert.deepEqual(fromCli!.target, { type: "user", id: cliVictim.id });
        assert.equal(fromCli!.ip, null);
        assert.equal(fromCli!.requestId, null);
        const fromApi = await get("?via=api&limit=100");
        assert.equal(fromApi.pagination.total, total - 1);
        assert.ok(fromApi.entries.every((e) => e.via === "api"));

        const other = await get(`?actorId=${otherAdmin.user.id}`);
        assert.equal(other.pagination.total, 1);
        assert.deepEqual(other.entries[0]!.actor, {
          id: otherAdmin.user.id,
          label: otherAdmin.user.email,
        });
        assert.equal(other.entries[0]!.target.id, otherTarget.id);
        const mine = await get(`?actorId=${admin.user.id}&limit=100`);
        assert.equal(mine.pagination.total, total - 2);

        const onPrograms = await get("?targetType=program&limit=100");
        assert.ok(onPrograms.entries.every((e) => e.target.type === "program"));
        assert.deepEqual(
          onPrograms.entries.map((e) => e.action).sort(),
          [
            "program.delete",
            "program.feature",
            "program.unfeature",
            "program.update",
          ],
        );
        const onProgram = await get(
          `?targetType=program&targetId=${program.id}&limit=100`,
        );
        assert.deepEqual(
          onProgram.entries.map((e) => e.action).sort(),
          ["program.feature", "program.unfeature", "program.update"],
        );
        const onVictim = await get(`?targetId=${victim.id}`);
        assert.deepEqual(
          onVictim.entries.map((e) => e.action).sort(),
          ["user.ban", "user.role", "user.unban"],
        );
        // Newest first.
        assert.deepEqual(
          onVictim.entries.map((e) => e.action),
          ["user.role", "user.unban", "user.ban"],
        );

        const combined = await get(
          `?action=user.ban&via=api&actorId=${admin.user.id}&targetId=${victim.id}`,
        );
        assert.equal(combined.pagination.total, 1);
        const nothing = await get("?action=user.delete");
        assert.deepEqual(nothing.entries, []);
        assert.equal(nothing.pagination.total, 0);
      },
    );

    await t.step(
      "GET /api/admin/audit pages newest first with a Link header",
      async () => {
        const total = await countAudit(ctx);
        const seen: Entry[] = [];
        const pages = Math.ceil(total / 4);
        for (let page = 1; page <= pages; page++) {
          const res = await api(
            ctx,
            "GET",
            `/api/admin/audit?limit=4&page=${page}`,
            { token: admin.token },
          );
          assert.equal(res.status, 200);
          assert.deepEqual(res.body.pagination, {
            currentPage: page,
            totalPages: pages,
            total,
            limit: 4,
            hasNext: page < pages,
            hasPrev: page > 1,
          });
          const link = res.headers.get("link") ?? "";
          assert.match(link, new RegExp(`page=${pages}>; rel="last"`));
          if (page < pages) {
            assert.match(
              link,
              new RegExp(
                `/api/admin/audit\\?limit=4&page=${page + 1}>; rel="next"`,
              ),
            );
          } else assert.doesNotMatch(link, /rel="next"/);
          seen.push(...res.body.entries);
        }
        assert.equal(seen.length, total);
        assert.equal(new Set(seen.map((e) => e.id)).size, total, "no repeats");
        const times = seen.map((e) => Date.parse(e.createdAt));
        assert.deepEqual(times, [...times].sort((a, b) => b - a));
        const defaults = await api(ctx, "GET", "/api/admin/audit", {
          token: admin.token,
        });
        assert.equal(defaults.body.pagination.limit, 12);
      },
    );

    await t.step(
      "GET /api/admin/audit: 401 anonymous, 403 for non-admins, 422 for bad filters",
      async () => {
        const anonymous = await api(ctx, "GET", "/api/admin/audit");
        assert.equal(anonymous.status, 401);
        for (const who of [student, instructor]) {
          const res = await api(ctx, "GET", "/api/admin/audit", {
            token: who.token,
          });
          assert.equal(res.status, 403);
          assert.equal(res.body.entries, undefined, "nothing leaks");
        }
        for (
          const [query, field] of [
            ["?via=web", "via"],
            ["?limit=0", "limit"],
            ["?limit=500", "limit"],
            ["?page=-1", "page"],
            [`?action=${"a".repeat(61)}`, "action"],
          ] as const
        ) {
          const res = await api(ctx, "GET", `/api/admin/audit${query}`, {
            token: admin.token,
          });
          assert.equal(res.status, 422, query);
          assert.ok(res.body.error.details.fields[field], query);
        }
      },
    );
  } finally {
    await ctx.close();
  }
});
