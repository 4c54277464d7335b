import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { users } from "../../../db/schema/mod.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import {
  latestEmail,
  PASSWORD,
  tokenFromLink,
  uniqueEmail,
} from "../../helpers/factories.ts";

Deno.test("registration and email verification", async (t) => {
  const ctx = await createTestContext();
  try {
    await t.step(
      "POST /api/auth/register creates an unverified student and emails a verification link",
      async () => {
        const email = uniqueEmail("reg");
        const res = await api(ctx, "POST", "/api/auth/register", {
          body: {
            name: "  Ada Lovelace ",
            email: `  ${email.toUpperCase()} `,
            password: PASSWORD,
          },
        });
        assert.equal(res.status, 201);
        assert.equal(res.body.success, true);
        assert.equal(
          res.body.message,
          "Registration successful. Please verify your email.",
        );
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, res.body.userId),
        );
        assert.equal(row?.email, email, "email is trimmed and lower-cased");
        assert.equal(row?.name, "Ada Lovelace");
        assert.equal(row?.role, "student");
        assert.equal(row?.emailVerifiedAt, null);
        assert.match(row!.passwordHash!, /^\$argon2id\$/);
        const mail = await latestEmail(ctx, email);
        assert.equal(mail.template, "verify_email");
        assert.equal(
          mail.status,
          "logged",
          "no SMTP configured: kept in the outbox",
        );
        assert.ok(mail.text.includes("http://lectern.test/verify-email/"));
        assert.ok(mail.html.includes("http://lectern.test/verify-email/"));
      },
    );

    await t.step(
      "asking for the instructor role creates a student with the request on file",
      async () => {
        const email = uniqueEmail("inst");
        const res = await api(ctx, "POST", "/api/auth/register", {
          body: { name: "Ian", email, password: PASSWORD, role: "instructor" },
        });
        assert.equal(res.status, 201);
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, res.body.userId),
        );
        assert.equal(row?.role, "student");
        assert.equal(row?.requestedRole, "instructor");
      },
    );

    await t.step("asking for admin is a validation error", async () => {
      const res = await api(ctx, "POST", "/api/auth/register", {
        body: {
          name: "Eve",
          email: uniqueEmail(),
          password: PASSWORD,
          role: "admin",
        },
      });
      assert.equal(res.status, 422);
      assert.equal(res.body.error.fields, undefined);
      assert.ok(res.body.error.details.fields.role);
    });

    await t.step(
      "a duplicate email is 409 EMAIL_TAKEN, whatever its case",
      async () => {
        const email = uniqueEmail("dup");
        await api(ctx, "POST", "/api/auth/register", {
          body: { name: "A", email, password: PASSWORD },
        });
        const res = await api(ctx, "POST", "/api/auth/register", {
          body: { name: "B", email: email.toUpperCase(), password: PASSWORD },
        });
        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, "EMAIL_TAKEN");
        assert.equal(res.body.success, false);
        assert.match(res.body.requestId, /^[0-9A-Z]{26}$/);
      },
    );

    await t.step(
      "weak, short and malformed input is 422 with a message per field, and nothing is written",
      async () => {
        const email = uniqueEmail("weak");
        const cases: [Record<string, unknown>, string, RegExp][] = [
          [{ name: "A", email, password: "short" }, "password", /at least 10/],
          [
            { name: "A", email, password: "password123" },
            "password",
            /too common/,
          ],
          [
            { name: "A", email, password: "aaaaaaaaaaaa" },
            "password",
            /predictable|common/,
          ],
          [
            { name: "A", email: "not-an-email", password: PASSWORD },
            "email",
            /valid email/,
          ],
          [{ email, password: PASSWORD }, "name", /./],
        ];
        for (const [body, field, message] of cases) {
          const res = await api(ctx, "POST", "/api/auth/register", { body });
          assert.equal(res.status, 422, JSON.stringify(body));
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.match(res.body.error.details.fields[field], message);
        }
        const rows = await ctx.deps.db.select().from(users).where(
          eq(users.email, email),
        );
        assert.equal(rows.length, 0);
      },
    );

    await t.step(
      "GET /api/auth/verify-email/:token verifies once; the link then stops working",
      async () => {
        const email = uniqueEmail("verify");
        await api(ctx, "POST", "/api/auth/register", {
          body: { name: "V", email, password: PASSWORD },
        });
        const token = tokenFromLink(
          (await latestEmail(ctx, email)).text,
          "verify-email",
        );
        const before = await api(ctx, "POST", "/api/auth/login", {
          body: { email, password: PASSWORD },
        });
        assert.equal(before.status, 403);
        assert.equal(before.body.error.code, "EMAIL_NOT_VERIFIED");
        const ok = await api(ctx, "GET", `/api/auth/verify-email/${token}`);
        assert.equal(ok.status, 200);
        assert.deepEqual(ok.body, {
          success: true,
          message: "Email verified successfully",
        });
        const again = await api(ctx, "GET", `/api/auth/verify-email/${token}`);
        assert.equal(again.status, 400);
        assert.equal(again.body.error.code, "INVALID_VERIFICATION_TOKEN");
        const after = await api(ctx, "POST", "/api/auth/login", {
          body: { email, password: PASSWORD },
        });
        assert.equal(after.status, 200);
      },
    );

    await t.step(
      "an unknown or malformed verification token is rejected",
      async () => {
        const unknown = await api(
          ctx,
          "GET",
          `/api/auth/verify-email/${"a".repeat(52)}`,
        );
        assert.equal(unknown.status, 400);
        assert.equal(unknown.body.error.code, "INVALID_VERIFICATION_TOKEN");
        const malformed = await api(
          ctx,
          "GET",
          "/api/auth/verify-email/NOT!valid",
        );
        assert.equal(malformed.status, 422);
      },
    );

    await t.step(
      "the HTML page /verify-email/:token verifies and answers JSON when asked",
      async () => {
        const email = uniqueEmail("page");
        await api(ctx, "POST", "/api/auth/register", {
          body: { name: "P", email, password: PASSWORD },
        });
        const token = tokenFromLink(
          (await latestEmail(ctx, email)).text,
          "verify-email",
        );
        const page = await ctx.app.request(`/verify-email/${token}`, {
          headers: { Accept: "text/html" },
        });
        assert.equal(page.status, 200);
        assert.match(page.headers.get("content-type")!, /text\/html/);
        const html = await page.text();
        assert.match(html, /Email verified/);
        assert.match(html, /name="viewport"/);
        assert.doesNotMatch(html, /<script/);
        const reused = await ctx.app.request(`/verify-email/${token}`);
        assert.equal(reused.status, 400);
        assert.match(await reused.text(), /This link does not work/);
        const json = await api(ctx, "GET", `/verify-email/${token}`, {
          headers: { Accept: "application/json" },
        });
        assert.equal(json.status, 400);
        assert.equal(json.body.error.code, "INVALID_VERIFICATION_TOKEN");
      },
    );

    await t.step(
      "POST /api/auth/resend-verification answers the same for unknown emails and sends a new link",
      async () => {
        const email = uniqueEmail("resend");
        await api(ctx, "POST", "/api/auth/register", {
          body: { name: "R", email, password: PASSWORD },
        });
        const first = await latestEmail(ctx, email);
        const unknown = await api(
          ctx,
          "POST",
          "/api/auth/resend-verification",
          { body: { email: uniqueEmail("ghost") } },
        );
        const throttled = await api(
          ctx,
          "POST",
          "/api/auth/resend-verification",
          { body: { email } },
        );
        assert.equal(unknown.status, 200);
        assert.deepEqual(
          unknown.body,
          throttled.body,
          "the answer reveals nothing",
        );
        assert.equal(
          (await latestEmail(ctx, email)).id,
          first.id,
          "a second link within a minute is not sent",
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
