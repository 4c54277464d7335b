import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { accessGrants, subscriptions, users } from "../../db/schema/mod.ts";
import { api, createTestContext } from "../helpers/context.ts";
import {
  latestEmail,
  makeProgram,
  makeUserAndLogin,
} from "../helpers/factories.ts";
import { ok, runCli } from "../helpers/cli.ts";

/** Waits for the server's view to catch up with a CLI write (another process; see decision 005). */
const afterExternalWrite = () => new Promise((r) => setTimeout(r, 400));

Deno.test("the enrollment CLI: grants, revokes, lists and plans without Stripe", async (t) => {
  // No STRIPE_* variables: the school runs without payments and grants access by hand.
  const ctx = await createTestContext();
  const cli = (args: string[]) => runCli(ctx.dataDir, args);
  try {
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });
    const learner = await makeUserAndLogin(ctx, { name: "Lin Learner" });
    const program = await makeProgram(ctx, owner.user, {
      title: "Field Recording",
      level: "Advanced",
    });
    const module = await api(
      ctx,
      "POST",
      `/api/programs/${program.id}/modules`,
      {
        token: owner.token,
        body: { title: "Microphones" },
      },
    );
    const lesson = await api(
      ctx,
      "POST",
      `/api/programs/${program.id}/modules/${module.body.module.id}/lessons`,
      { token: owner.token, body: { title: "Patterns", content: "Cardioid" } },
    );
    const lessonPath =
      `/api/programs/${program.id}/lessons/${lesson.body.lesson.id}`;
    const read = () => api(ctx, "GET", lessonPath, { token: learner.token });

    await t.step(
      "without Stripe, paying is 503 PAYMENTS_DISABLED",
      async () => {
        const res = await api(ctx, "POST", "/api/payments/create-intent", {
          token: learner.token,
          body: { programId: program.id, accessType: "documentation" },
        });
        assert.equal(res.status, 503);
        assert.equal(res.body.error.code, "PAYMENTS_DISABLED");
        assert.deepEqual(res.body.error.details.env, [
          "STRIPE_SECRET_KEY",
          "STRIPE_WEBHOOK_SECRET",
        ]);
        assert.equal((await read()).status, 402);
      },
    );

    await t.step(
      "enrollments grant gives access for good and emails the learner; granting again changes nothing",
      async () => {
        const out = ok(
          await cli([
            "enrollments",
            "grant",
            "--user",
            learner.user.email,
            "--program",
            program.slug,
            "--access",
            "documentation",
          ]),
          "grant",
        );
        assert.match(out, /granted documentation access to "Field Recording"/);
        await afterExternalWrite();
        assert.equal((await read()).status, 200);
        const email = await latestEmail(ctx, learner.user.email);
        assert.equal(email.template, "enrollment_confirmed");
        const again = ok(
          await cli([
            "enrollments",
            "grant",
            "--user",
            learner.user.id,
            "--program",
            program.id,
            "--access",
            "documentation",
          ]),
          "grant again",
        );
        assert.match(again, /already had documentation access/);
        const grants = await ctx.deps.db.select().from(accessGrants).where(
          eq(accessGrants.userId, learner.user.id),
        );
        assert.equal(grants.length, 1);
        assert.equal(grants[0]!.source, "admin");
      },
    );

    await t.step(
      "enrollments list shows the grant, as text and JSON",
      async () => {
        const out = ok(
          await cli(["enrollments", "list", "--program", program.id]),
          "list",
        );
        assert.match(
          out,
          new RegExp(
            `${learner.user.email}\\s+"Field Recording"\\s+in_progress\\s+documentation:active\\(admin\\)`,
          ),
        );
        const json = JSON.parse(
          ok(
            await cli([
              "enrollments",
              "list",
              "--user",
              learner.user.email,
              "--json",
            ]),
            "list --json",
          ),
        );
        assert.equal(json.enrollments.length, 1);
        assert.equal(json.enrollments[0].grants[0].status, "active");
      },
    );

    await t.step(
      "enrollments revoke ends access with a reason; revoking nothing fails",
      async () => {
        const out = ok(
          await cli([
            "enrollments",
            "revoke",
            "--user",
            learner.user.email,
            "--program",
            program.id,
            "--reason",
            "chargeback",
          ]),
          "revoke",
        );
        assert.match(out, /revoked 1 grant/);
        await afterExternalWrite();
        assert.equal((await read()).status, 402);
        const [grant] = await ctx.deps.db.select().from(accessGrants).where(
          eq(accessGrants.userId, learner.user.id),
        );
        assert.equal(grant!.status, "revoked");
        assert.equal(grant!.revokeReason, "chargeback");
        const none = await cli([
          "enrollments",
          "revoke",
          "--user",
          learner.user.email,
          "--program",
          program.id,
        ]);
        assert.equal(none.code, 1);
        assert.match(none.stderr, /NOTHING_TO_REVOKE/);
      },
    );

    await t.step(
      "subscriptions set gives a plan until a date, and free takes it back",
      async () => {
        const out = ok(
          await cli([
            "subscriptions",
            "set",
            "--user",
            learner.user.email,
            "--tier",
            "premium",
            "--until",
            "2099-01-31",
          ]),
          "set premium",
        );
        assert.match(out, /is on premium until 2099-01-31T23:59:59\.999Z/);
        await afterExternalWrite();
        assert.equal(
          (await read()).status,
          200,
          "premium covers Advanced programs",
        );
        const current = await api(ctx, "GET", "/api/subscriptions/current", {
          token: learner.token,
        });
        assert.equal(current.body.planId, "premium");
        assert.equal(current.body.subscription.source, "admin");
        const [user] = await ctx.deps.db.select().from(users).where(
          eq(users.id, learner.user.id),
        );
        assert.equal(user!.subscriptionTier, "premium");

        ok(
          await cli([
            "subscriptions",
            "set",
            "--user",
            learner.user.id,
            "--tier",
            "free",
          ]),
          "set free",
        );
        await afterExternalWrite();
        assert.equal((await read()).status, 402);
        const live = await ctx.deps.db.select().from(subscriptions).where(and(
          eq(subscriptions.userId, learner.user.id),
          eq(subscriptions.status, "active"),
        ));
        assert.equal(live.length, 0);
      },
    );

    await t.step(
      "bad input fails with a clear message and exit code 1",
      async () => {
        const past = await cli([
          "subscriptions",
          "set",
          "--user",
          learner.user.email,
          "--tier",
          "basic",
          "--until",
          "2001-01-01",
        ]);
        assert.equal(past.code, 1);
        assert.match(past.stderr, /--until must be a date in the future/);
        const garbage = await cli([
          "subscriptions",
          "set",
          "--user",
          learner.user.email,
          "--tier",
          "basic",
          "--until",
          "someday",
        ]);
        assert.equal(garbage.code, 1);
        assert.match(garbage.stderr, /--until must be a date such as/);
        const badType = await cli([
          "enrollments",
          "grant",
          "--user",
          learner.user.email,
          "--program",
          program.id,
          "--access",
          "everything",
        ]);
        assert.notEqual(badType.code, 0);
        assert.match(
          badType.stderr,
          /Allowed choices are chatbot, documentation, examSimulator, bundle/,
        );
        const nobody = await cli([
          "enrollments",
          "grant",
          "--user",
          "nobody@school.test",
          "--program",
          program.id,
          "--access",
          "bundle",
        ]);
        assert.equal(nobody.code, 1);
        assert.match(nobody.stderr, /User not found/);
      },
    );
  } finally {
    await ctx.close();
  }
});
