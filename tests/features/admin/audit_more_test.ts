import assert from "node:assert/strict";
import { hashToken } from "../../../server/lib/secrets.ts";
import { and, eq } from "drizzle-orm";
import {
  auditLog,
  categories,
  instructorApplications,
  notifications,
  programs,
  reviews,
  subscriptions,
  users,
} from "../../../db/schema/mod.ts";
import { banUser } from "../../../server/features/users/service.ts";
import {
  api,
  type ApiResponse,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  ADMIN_ACTOR,
  enroll,
  makeProgram,
  makeUser,
  makeUserAndLogin,
  PASSWORD,
  uniqueEmail,
} from "../../helpers/factories.ts";
import { ok, runCli } from "../../helpers/cli.ts";

/** The address our (trusted) proxy says the admin came from. */
const ADMIN_IP = "203.0.113.77";

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

type Account = Awaited<ReturnType<typeof makeUserAndLogin>>;

const countAudit = (ctx: TestContext) => ctx.deps.db.$count(auditLog);

/** Every entry matching the filter, through the admin API (newest first). */
async function entriesOf(
  ctx: TestContext,
  token: string,
  filter: Record<string, string>,
): Promise<Entry[]> {
  const res = await api(
    ctx,
    "GET",
    `/api/admin/audit?${new URLSearchParams({ limit: "100", ...filter })}`,
    { token },
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.entries as Entry[];
}

/** The one entry of this action on this record. */
async function onlyEntry(
  ctx: TestContext,
  token: string,
  action: string,
  targetType: string,
  targetId: string,
): Promise<Entry> {
  const entries = await entriesOf(ctx, token, {
    action,
    targetType,
    targetId,
  });
  assert.equal(entries.length, 1, JSON.stringify(entries));
  return entries[0]!;
}

/** Made over HTTP by this admin: their id and email, this request's id, the forwarded address. */
function assertFromRequest(entry: Entry, admin: Account, res: ApiResponse) {
  assert.equal(entry.via, "api");
  assert.deepEqual(entry.actor, {
    id: admin.user.id,
    label: admin.user.email,
  });
  const requestId = res.headers.get("x-request-id");
  assert.ok(requestId, "the response carries its request id");
  assert.equal(entry.requestId, requestId);
  assert.equal(entry.ip, ADMIN_IP);
}

/** Made by the CLI: no account, labelled with the operating-system user, no address. */
function assertFromCli(entry: Entry) {
  assert.equal(entry.via, "cli");
  assert.equal(entry.actor.id, null);
  assert.match(entry.actor.label, /^cli:./);
  assert.equal(entry.ip, null);
  assert.equal(entry.requestId, null);
}

Deno.test("more administrative actions are audited: categories, reviews, subscriptions, accounts, program edits", async (t) => {
  const ctx = await createTestContext({ TRUST_PROXY: "true" });
  const cli = (args: string[], stdin?: string) =>
    runCli(ctx.dataDir, args, stdin);
  try {
    const admin = await makeUserAndLogin(ctx, {
      role: "admin",
      name: "Ada Admin",
    });
    const owner = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Olga Owner",
    });
    const student = await makeUserAndLogin(ctx, { name: "Stu Student" });
    const asAdmin = (method: string, path: string, body?: unknown) =>
      api(ctx, method, path, {
        token: admin.token,
        headers: { "X-Forwarded-For": ADMIN_IP },
        ...(body !== undefined ? { body } : {}),
      });

    await t.step(
      "POST, PUT and DELETE /api/categories write category.create, .rename and .delete, from the request",
      async () => {
        let count = await countAudit(ctx);
        const created = await asAdmin("POST", "/api/categories", {
          name: "  Quantum Basics ",
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const id = created.body.category.id as string;
        assert.equal(created.body.category.name, "Quantum Basics");
        assert.equal(await countAudit(ctx), ++count, "one entry for create");
        const create = await onlyEntry(
          ctx,
          admin.token,
          "category.create",
          "category",
          id,
        );
        assert.deepEqual(create.target, { type: "category", id });
        assert.equal(create.before, null);
        assert.deepEqual(create.after, { name: "Quantum Basics" });
        assertFromRequest(create, admin, created);

        // By name, in another case: the reference the form would send.
        const renamed = await asAdmin(
          "PUT",
          `/api/categories/${encodeURIComponent("quantum basics")}`,
          { name: "Quantum Computing" },
        );
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
        assert.equal(renamed.body.category.id, id);
        assert.equal(await countAudit(ctx), ++count, "one entry for rename");
        const rename = await onlyEntry(
          ctx,
          admin.token,
          "category.rename",
          "category",
          id,
        );
        assert.deepEqual(rename.before, { name: "Quantum Basics" });
        assert.deepEqual(rename.after, { name: "Quantum Computing" });
        assertFromRequest(rename, admin, renamed);

        const removed = await asAdmin(
          "DELETE",
          `/api/categories/${renamed.body.category.slug}`,
        );
        assert.equal(removed.status, 200, JSON.stringify(removed.body));
        assert.equal(await countAudit(ctx), ++count, "one entry for delete");
        const remove = await onlyEntry(
          ctx,
          admin.token,
          "category.delete",
          "category",
          id,
        );
        assert.deepEqual(remove.before, { name: "Quantum Computing" });
        assert.equal(remove.after, null);
        assertFromRequest(remove, admin, removed);
        assert.equal(
          await ctx.deps.db.$count(categories, eq(categories.id, id)),
          0,
          "the category is gone",
        );
      },
    );

    await t.step(
      "category requests that change nothing write nothing: a taken name, a category in use, a non-admin",
      async () => {
        // A program holds "Development", so it cannot be removed.
        await makeProgram(ctx, owner.user, { category: "Development" });
        const count = await countAudit(ctx);
        const taken = await asAdmin("POST", "/api/categories", {
          name: "development",
        });
        assert.equal(taken.status, 409, JSON.stringify(taken.body));
        assert.equal(taken.body.error.code, "CATEGORY_EXISTS");
        const inUse = await asAdmin("DELETE", "/api/categories/Development");
        assert.equal(inUse.status, 409, JSON.stringify(inUse.body));
        assert.equal(inUse.body.error.code, "CATEGORY_IN_USE");
        const unknown = await asAdmin("PUT", "/api/categories/no-such-thing", {
          name: "Anything",
        });
        assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
        for (const token of [student.token, owner.token]) {
          const res = await api(ctx, "POST", "/api/categories", {
            token,
            body: { name: "Sneaky Category" },
          });
          assert.equal(res.status, 403, JSON.stringify(res.body));
        }
        assert.equal(await countAudit(ctx), count, "no entry was written");
        assert.equal(
          await ctx.deps.db.$count(
            categories,
            eq(categories.name, "Sneaky Category"),
          ),
          0,
        );
      },
    );

    await t.step(
      "the CLI's categories add, rename and remove write the same actions, via cli",
      async () => {
        const count = await countAudit(ctx);
        assert.match(
          ok(await cli(["categories", "add", "Marine Biology"]), "add"),
          /^Added "Marine Biology" \(marine-biology\)\n$/,
        );
        const [row] = await ctx.deps.db.select().from(categories).where(
          eq(categories.slug, "marine-biology"),
        );
        assert.ok(row, "the CLI's category is stored");
        assert.match(
          ok(
            await cli([
              "categories",
              "rename",
              "marine-biology",
              "Ocean Science",
            ]),
            "rename",
          ),
          /^Renamed to "Ocean Science" \(ocean-science\)\n$/,
        );
        assert.match(
          ok(await cli(["categories", "remove", row.id]), "remove"),
          /^Removed "Ocean Science"\n$/,
        );
        assert.equal(await countAudit(ctx), count + 3);

        const onCategory = await entriesOf(ctx, admin.token, {
          targetType: "category",
          targetId: row.id,
        });
        assert.deepEqual(
          onCategory.map((e) => e.action),
          ["category.delete", "category.rename", "category.create"],
          "newest first",
        );
        const [remove, rename, create] = onCategory as [Entry, Entry, Entry];
        for (const entry of onCategory) {
          assertFromCli(entry);
          assert.deepEqual(entry.target, { type: "category", id: row.id });
        }
        assert.equal(create.before, null);
        assert.deepEqual(create.after, { name: "Marine Biology" });
        assert.deepEqual(rename.before, { name: "Marine Biology" });
        assert.deepEqual(rename.after, { name: "Ocean Science" });
        assert.deepEqual(remove.before, { name: "Ocean Science" });
        assert.equal(remove.after, null);
      },
    );

    // Two learners review one program; one removes their own review, the admin removes the other.
    const reviewed = await makeProgram(ctx, owner.user, {
      title: "Reviewed Program",
    });
    const critic = await makeUserAndLogin(ctx, { name: "Cris Critic" });
    await enroll(ctx, student.user.id, reviewed.id);
    await enroll(ctx, critic.user.id, reviewed.id);
    const review = async (who: Account, rating: number, comment: string) => {
      const res = await api(
        ctx,
        "POST",
        `/api/programs/${reviewed.id}/reviews`,
        {
          token: who.token,
          body: { rating, comment },
        },
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.review.id as string;
    };
    const ownReview = await review(student, 4, "Solid, if a little dry.");
    const spamReview = await review(
      critic,
      1,
      "Buy cheap watches at spam.test",
    );
    let moderation: ApiResponse | undefined;

    await t.step(
      "a learner deleting their own review writes no entry",
      async () => {
        const count = await countAudit(ctx);
        const res = await api(
          ctx,
          "DELETE",
          `/api/programs/${reviewed.id}/reviews/${ownReview}`,
          { token: student.token },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(
          await ctx.deps.db.$count(reviews, eq(reviews.id, ownReview)),
          0,
          "the review is gone",
        );
        assert.equal(await countAudit(ctx), count, "no audit entry");
        assert.deepEqual(
          await entriesOf(ctx, admin.token, { action: "review.delete" }),
          [],
        );
      },
    );

    await t.step(
      "a learner cannot delete someone else's review (403), and nothing is written",
      async () => {
        const count = await countAudit(ctx);
        const res = await api(
          ctx,
          "DELETE",
          `/api/programs/${reviewed.id}/reviews/${spamReview}`,
          { token: student.token },
        );
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(
          await ctx.deps.db.$count(reviews, eq(reviews.id, spamReview)),
          1,
        );
        assert.equal(await countAudit(ctx), count);
      },
    );

    await t.step(
      "an admin deleting someone else's review writes review.delete with the review as it was",
      async () => {
        const count = await countAudit(ctx);
        moderation = await asAdmin(
          "DELETE",
          `/api/programs/${reviewed.id}/reviews/${spamReview}`,
        );
        assert.equal(
          moderation.status,
          200,
          JSON.stringify(moderation.body),
        );
        assert.equal(await countAudit(ctx), count + 1);
        const entry = await onlyEntry(
          ctx,
          admin.token,
          "review.delete",
          "review",
          spamReview,
        );
        assert.deepEqual(entry.before, {
          programId: reviewed.id,
          userId: critic.user.id,
          rating: 1,
          comment: "Buy cheap watches at spam.test",
        });
        assert.equal(entry.after, null);
        assert.equal(entry.via, "api");
        assert.equal(entry.actor.id, admin.user.id);
        const [program] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, reviewed.id),
        );
        assert.equal(program!.reviewCount, 0, "both reviews are gone");
        assert.equal(program!.ratingSum, 0);
      },
    );

    await t.step({
      name:
        "review.delete says who and from where like every other API entry (email, request id, address)",
      fn: async () => {
        assert.ok(moderation, "the previous step deleted the review");
        const entry = await onlyEntry(
          ctx,
          admin.token,
          "review.delete",
          "review",
          spamReview,
        );
        assertFromRequest(entry, admin, moderation);
      },
    });

    await t.step(
      "CLI subscriptions set --tier basic --until writes subscription.set on the user, via cli",
      async () => {
        const count = await countAudit(ctx);
        assert.match(
          ok(
            await cli([
              "subscriptions",
              "set",
              "--user",
              student.user.email,
              "--tier",
              "basic",
              "--until",
              "2099-12-31",
            ]),
            "subscriptions set",
          ),
          /is on basic until 2099-12-31T23:59:59\.999Z\n$/,
        );
        assert.equal(await countAudit(ctx), count + 1);
        const entry = await onlyEntry(
          ctx,
          admin.token,
          "subscription.set",
          "user",
          student.user.id,
        );
        assertFromCli(entry);
        assert.deepEqual(entry.after, {
          tier: "basic",
          until: "2099-12-31T23:59:59.999Z",
          now: "basic",
        });
        const live = await ctx.deps.db.select().from(subscriptions).where(
          and(
            eq(subscriptions.userId, student.user.id),
            eq(subscriptions.source, "admin"),
          ),
        );
        assert.equal(live.length, 1);
        assert.equal(live[0]!.planId, "basic");

        // A refused command (a date in the past) writes nothing.
        const refused = await cli([
          "subscriptions",
          "set",
          "--user",
          student.user.email,
          "--tier",
          "basic",
          "--until",
          "2001-01-01",
        ]);
        assert.notEqual(refused.code, 0, refused.stdout);
        assert.equal(await countAudit(ctx), count + 1);
      },
    );

    await t.step(
      "CLI users create --password-stdin writes user.create with the stored email and role",
      async () => {
        const count = await countAudit(ctx);
        const email = uniqueEmail("Cli.Made");
        const out = ok(
          await cli(
            [
              "users",
              "create",
              "--email",
              email,
              "--name",
              "Cli Made",
              "--role",
              "instructor",
              "--password-stdin",
            ],
            `${PASSWORD}\n`,
          ),
          "users create",
        );
        const [made] = await ctx.deps.db.select().from(users).where(
          eq(users.email, email.toLowerCase()),
        );
        assert.ok(made, `the account exists: ${out}`);
        assert.equal(out, `Created instructor ${made.email} (${made.id})\n`);
        assert.equal(await countAudit(ctx), count + 1);
        const entry = await onlyEntry(
          ctx,
          admin.token,
          "user.create",
          "user",
          made.id,
        );
        assertFromCli(entry);
        assert.equal(entry.before, null);
        assert.deepEqual(entry.after, {
          email: email.toLowerCase(),
          role: "instructor",
        });
        // The password came through stdin: the new account can sign in with it.
        const signIn = await api(ctx, "POST", "/api/auth/login", {
          body: { email: made.email, password: PASSWORD },
        });
        assert.equal(signIn.status, 200, JSON.stringify(signIn.body));

        // A taken address is refused and audited nowhere.
        const again = await cli(
          [
            "users",
            "create",
            "--email",
            email,
            "--name",
            "Twice",
            "--password-stdin",
          ],
          `${PASSWORD}\n`,
        );
        assert.notEqual(again.code, 0, again.stdout);
        assert.equal(await countAudit(ctx), count + 1);
      },
    );

    await t.step(
      "CLI users verify writes user.verify_email once; verifying a verified address writes nothing",
      async () => {
        const unverified = await makeUser(ctx, {
          name: "Una Verified",
          verified: false,
        });
        const count = await countAudit(ctx);
        assert.equal(
          ok(await cli(["users", "verify", unverified.email]), "verify"),
          `Email verified for ${unverified.email}\n`,
        );
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, unverified.id),
        );
        assert.ok(row!.emailVerifiedAt instanceof Date);
        assert.equal(await countAudit(ctx), count + 1);
        const entry = await onlyEntry(
          ctx,
          admin.token,
          "user.verify_email",
          "user",
          unverified.id,
        );
        assertFromCli(entry);
        assert.deepEqual(entry.before, { emailVerifiedAt: null });
        assert.deepEqual(entry.after, {
          emailVerifiedAt: row!.emailVerifiedAt!.toISOString(),
        });

        // Already verified (this one, and an account made verified): success, no entry.
        ok(await cli(["users", "verify", unverified.id]), "verify again");
        ok(await cli(["users", "verify", student.user.email]), "verify other");
        assert.equal(await countAudit(ctx), count + 1);
        assert.deepEqual(
          await entriesOf(ctx, admin.token, {
            action: "user.verify_email",
            targetId: student.user.id,
          }),
          [],
        );
      },
    );

    const edited = await makeProgram(ctx, owner.user, {
      title: "Edited Program",
      description: "A short description",
      level: "Beginner",
    });
    const LONG = "abcdefghij".repeat(45);
    const editAsAdmin = (body: Record<string, unknown>) =>
      asAdmin("PUT", `/api/programs/${edited.id}`, body);
    const programUpdates = () =>
      entriesOf(ctx, admin.token, {
        action: "program.update",
        targetType: "program",
        targetId: edited.id,
      });

    await t.step(
      "an admin changing only the level writes program.update with just that field",
      async () => {
        const count = await countAudit(ctx);
        const res = await editAsAdmin({ level: "Advanced" });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(await countAudit(ctx), count + 1);
        const [entry] = await programUpdates();
        assert.ok(entry);
        assert.deepEqual(entry.target, { type: "program", id: edited.id });
        assert.deepEqual(entry.before, { level: "Beginner" });
        assert.deepEqual(entry.after, { level: "Advanced" });
        assertFromRequest(entry, admin, res);
      },
    );

    await t.step(
      "an admin's long description is cut to 200 characters plus its length",
      async () => {
        const count = await countAudit(ctx);
        const res = await editAsAdmin({ description: LONG });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(await countAudit(ctx), count + 1);
        const entries = await programUpdates();
        assert.equal(entries.length, 2);
        const entry = entries[0]!;
        assert.deepEqual(entry.before, { description: "A short description" });
        assert.deepEqual(entry.after, {
          description: `${LONG.slice(0, 200)}… (450 characters, sha256 ${
            hashToken(LONG).slice(0, 12)
          })`,
        });
        const [row] = await ctx.deps.db.select().from(programs).where(
          eq(programs.id, edited.id),
        );
        assert.equal(row!.description, LONG, "the program keeps it whole");
      },
    );

    await t.step(
      "two fields at once are both listed, and nothing else (no updatedAt)",
      async () => {
        const count = await countAudit(ctx);
        const res = await editAsAdmin({
          description: "Short again",
          duration: "6 weeks",
          level: "Advanced", // unchanged: not listed
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(await countAudit(ctx), count + 1);
        const [entry] = await programUpdates();
        assert.deepEqual(entry!.before, {
          description: `${LONG.slice(0, 200)}… (450 characters, sha256 ${
            hashToken(LONG).slice(0, 12)
          })`,
          duration: "",
        });
        assert.deepEqual(entry!.after, {
          description: "Short again",
          duration: "6 weeks",
        });
      },
    );

    await t.step(
      "an admin edit that changes nothing, and the owner's own edits, write no entry",
      async () => {
        const count = await countAudit(ctx);
        const same = await editAsAdmin({
          description: "Short again",
          level: "Advanced",
        });
        assert.equal(same.status, 200, JSON.stringify(same.body));
        const byOwner = await api(ctx, "PUT", `/api/programs/${edited.id}`, {
          token: owner.token,
          body: { description: "Written by its owner", level: "Intermediate" },
        });
        assert.equal(byOwner.status, 200, JSON.stringify(byOwner.body));
        assert.equal(byOwner.body.program.level, "Intermediate");
        assert.equal(await countAudit(ctx), count);
      },
    );

    await t.step({
      name:
        "an admin edit past the first 200 characters of a long text is still audited",
      fn: async () => {
        const first = await editAsAdmin({ description: LONG });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const count = await countAudit(ctx);
        const tail = `${LONG.slice(0, 300)}${"ABCDEFGHIJ".repeat(15)}`;
        assert.equal(tail.length, LONG.length);
        const res = await editAsAdmin({ description: tail });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.program.description, tail);
        assert.equal(await countAudit(ctx), count + 1, "the edit is audited");
        const [entry] = await programUpdates();
        assert.deepEqual(Object.keys(entry!.after ?? {}), ["description"]);
        assert.notDeepEqual(entry!.before, entry!.after);
      },
    });
  } finally {
    await ctx.close();
  }
});

const APPLICATION_FORM = {
  bio: "I have taught marine biology at sea for a decade, mostly to adults.",
  expertise: ["Marine Biology", "Diving"],
  experience: "Ten years on research vessels",
  education: "PhD Oceanography",
  socialLinks: { website: "https://teacher.example/me" },
  sampleWork: "https://teacher.example/lesson-1",
};

async function applyToTeach(ctx: TestContext, who: Account) {
  const res = await api(ctx, "POST", "/api/instructors/apply", {
    token: who.token,
    body: APPLICATION_FORM,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.applicationId as string;
}

const decide = (
  ctx: TestContext,
  token: string,
  id: string,
  decision: "approve" | "reject",
  body?: unknown,
) =>
  api(ctx, "POST", `/api/instructors/applications/${id}/${decision}`, {
    token,
    ...(body !== undefined ? { body } : {}),
  });

async function applicationRow(ctx: TestContext, id: string) {
  const [row] = await ctx.deps.db.select().from(instructorApplications).where(
    eq(instructorApplications.id, id),
  );
  assert.ok(row, `application ${id} is stored`);
  return row;
}

async function userRow(ctx: TestContext, id: string) {
  const [row] = await ctx.deps.db.select().from(users).where(eq(users.id, id));
  assert.ok(row, `user ${id} is stored`);
  return row;
}

const notificationsOf = (ctx: TestContext, userId: string) =>
  ctx.deps.db.$count(notifications, eq(notifications.userId, userId));

const deleteAccount = (ctx: TestContext, who: Account) =>
  api(ctx, "DELETE", "/api/users/delete-account", {
    token: who.token,
    body: { password: PASSWORD },
  });

Deno.test("account deletion forgets notifications and applications; the last admin stays", async (t) => {
  const ctx = await createTestContext();
  try {
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const leaving = await makeUserAndLogin(ctx, { name: "Lea Leaving" });
    const staying = await makeUserAndLogin(ctx, { name: "Stan Staying" });

    // Leaving applied once and was declined (a notification), then applied again (pending).
    const declined = await applyToTeach(ctx, leaving);
    const rejected = await decide(ctx, admin.token, declined, "reject", {
      reason: "Please add a sample lesson",
    });
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    const pending = await applyToTeach(ctx, leaving);
    const other = await applyToTeach(ctx, staying);
    await ctx.deps.background.idle();

    await t.step(
      "DELETE /api/users/delete-account deletes the user's notifications, and only theirs",
      async () => {
        assert.ok(
          await notificationsOf(ctx, leaving.user.id) >= 1,
          "the declined application left a notification",
        );
        const adminNotes = await notificationsOf(ctx, admin.user.id);
        assert.ok(adminNotes >= 3, "admins were told of each application");
        const res = await deleteAccount(ctx, leaving);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(await notificationsOf(ctx, leaving.user.id), 0);
        assert.equal(
          await notificationsOf(ctx, admin.user.id),
          adminNotes,
          "other people's notifications stay",
        );
        assert.equal((await userRow(ctx, leaving.user.id)).status, "deleted");
      },
    );

    await t.step(
      "their applications are wiped; the pending one is rejected as Account deleted, the decided one keeps its decision",
      async () => {
        const wiped = {
          bio: "",
          expertise: [],
          experience: null,
          education: null,
          socialLinks: {},
          sampleWork: null,
        };
        const wasPending = await applicationRow(ctx, pending);
        assert.equal(wasPending.status, "rejected");
        assert.equal(wasPending.rejectionReason, "Account deleted");
        const wasDeclined = await applicationRow(ctx, declined);
        assert.equal(wasDeclined.status, "rejected");
        assert.equal(
          wasDeclined.rejectionReason,
          "Please add a sample lesson",
        );
        for (const row of [wasPending, wasDeclined]) {
          assert.deepEqual({
            bio: row.bio,
            expertise: row.expertise,
            experience: row.experience,
            education: row.education,
            socialLinks: row.socialLinks,
            sampleWork: row.sampleWork,
          }, wiped);
        }
        // Someone else's application is untouched and still waits.
        const untouched = await applicationRow(ctx, other);
        assert.equal(untouched.status, "pending");
        assert.equal(untouched.bio, APPLICATION_FORM.bio);
        assert.deepEqual(untouched.expertise, APPLICATION_FORM.expertise);

        const queue = await api(
          ctx,
          "GET",
          "/api/instructors/applications?status=pending",
          { token: admin.token },
        );
        assert.equal(queue.status, 200, JSON.stringify(queue.body));
        assert.deepEqual(
          queue.body.applications.map((a: { id: string }) => a.id),
          [other],
        );
        // Nobody can approve the deleted person's application any more.
        const approve = await decide(ctx, admin.token, pending, "approve");
        assert.equal(approve.status, 409, JSON.stringify(approve.body));
        assert.equal(approve.body.error.code, "APPLICATION_DECIDED");
      },
    );

    await t.step(
      "the only active admin cannot delete their account: 409 LAST_ADMIN, and nothing is removed",
      async () => {
        // A banned admin is no active admin: it does not help.
        const banned = await makeUser(ctx, { role: "admin" });
        await banUser(ctx.deps, ADMIN_ACTOR, banned.id, "Gone rogue");
        const adminNotes = await notificationsOf(ctx, admin.user.id);
        assert.ok(adminNotes > 0);
        const res = await deleteAccount(ctx, admin);
        assert.equal(res.status, 409, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "LAST_ADMIN");
        const row = await userRow(ctx, admin.user.id);
        assert.equal(row.status, "active");
        assert.equal(row.email, admin.user.email);
        assert.equal(
          await notificationsOf(ctx, admin.user.id),
          adminNotes,
          "the transaction rolled back: notifications stay",
        );
        const me = await api(ctx, "GET", "/api/auth/me", {
          token: admin.token,
        });
        assert.equal(me.status, 200, "the session still works");
      },
    );

    await t.step(
      "with a second active admin the first can leave; then the second is the last",
      async () => {
        const second = await makeUserAndLogin(ctx, { role: "admin" });
        const res = await deleteAccount(ctx, admin);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal((await userRow(ctx, admin.user.id)).status, "deleted");
        assert.equal(await notificationsOf(ctx, admin.user.id), 0);

        const last = await deleteAccount(ctx, second);
        assert.equal(last.status, 409, JSON.stringify(last.body));
        assert.equal(last.body.error.code, "LAST_ADMIN");
        assert.equal((await userRow(ctx, second.user.id)).status, "active");
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("instructor application decisions: a decided application cannot be decided again", async (t) => {
  const ctx = await createTestContext();
  try {
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const applicant = await makeUserAndLogin(ctx, { name: "Ann Applicant" });

    await t.step(
      "approving after a rejection is 409 APPLICATION_DECIDED; the role and the decision are unchanged",
      async () => {
        const id = await applyToTeach(ctx, applicant);
        const rejected = await decide(ctx, admin.token, id, "reject", {
          reason: "Not enough teaching experience",
        });
        assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
        const count = await countAudit(ctx);

        const approve = await decide(ctx, admin.token, id, "approve");
        assert.equal(approve.status, 409, JSON.stringify(approve.body));
        assert.equal(approve.body.error.code, "APPLICATION_DECIDED");
        const again = await decide(ctx, admin.token, id, "reject", {
          reason: "Twice",
        });
        assert.equal(again.status, 409, JSON.stringify(again.body));
        assert.equal(again.body.error.code, "APPLICATION_DECIDED");

        assert.equal((await userRow(ctx, applicant.user.id)).role, "student");
        const row = await applicationRow(ctx, id);
        assert.equal(row.status, "rejected");
        assert.equal(row.rejectionReason, "Not enough teaching experience");
        assert.equal(await countAudit(ctx), count, "no entry for refusals");
        assert.equal(
          await ctx.deps.db.$count(
            auditLog,
            and(
              eq(auditLog.action, "application.approve"),
              eq(auditLog.targetId, id),
            ),
          ),
          0,
        );
      },
    );

    await t.step(
      "an approve and a reject sent together: exactly one wins, and the role follows the winner",
      async () => {
        const id = await applyToTeach(ctx, applicant);
        const [approve, reject] = await Promise.all([
          decide(ctx, admin.token, id, "approve"),
          decide(ctx, admin.token, id, "reject", { reason: "Changed my mind" }),
        ]);
        assert.deepEqual(
          [approve.status, reject.status].sort(),
          [200, 409],
          `${JSON.stringify(approve.body)} ${JSON.stringify(reject.body)}`,
        );
        const loser = approve.status === 409 ? approve : reject;
        assert.equal(loser.body.error.code, "APPLICATION_DECIDED");
        const row = await applicationRow(ctx, id);
        const role = (await userRow(ctx, applicant.user.id)).role;
        if (approve.status === 200) {
          assert.equal(row.status, "approved");
          assert.equal(role, "instructor");
        } else {
          assert.equal(row.status, "rejected");
          assert.equal(role, "student");
        }
        const decisions = await ctx.deps.db.$count(
          auditLog,
          eq(auditLog.targetId, id),
        );
        assert.equal(decisions, 1, "one decision, one entry");
      },
    );
  } finally {
    await ctx.close();
  }
});
