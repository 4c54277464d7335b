import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { outboxMessages, users } from "../../../db/schema/mod.ts";
import {
  api,
  APP_URL,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  latestEmail,
  login,
  makeUserAndLogin,
  PASSWORD,
  tokenFromLink,
  uniqueEmail,
} from "../../helpers/factories.ts";

const NEW_PASSWORD = "violet tangerine lighthouse 7";
const FORGOT_ANSWER = {
  success: true,
  message: "If that account exists, a password reset link is on its way.",
};

/** Asks for a reset link and returns the token from the email it queued. */
async function requestReset(ctx: TestContext, email: string): Promise<string> {
  const res = await api(ctx, "POST", "/api/auth/forgot-password", {
    body: { email },
  });
  assert.equal(res.status, 200);
  const mail = await latestEmail(ctx, email);
  assert.equal(mail.template, "reset_password");
  return tokenFromLink(mail.text, "reset-password");
}

/** Submits the HTML form the way a browser does. */
async function submitForm(
  ctx: TestContext,
  token: string,
  fields: Record<string, string>,
) {
  const response = await ctx.app.request(`/reset-password/${token}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "text/html",
    },
    body: new URLSearchParams(fields).toString(),
  });
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    html: await response.text(),
  };
}

async function emailsTo(ctx: TestContext, to: string, template: string) {
  return await ctx.deps.db.select().from(outboxMessages)
    .where(
      and(eq(outboxMessages.to, to), eq(outboxMessages.template, template)),
    );
}

Deno.test("password reset by email link: API and HTML page", async (t) => {
  const ctx = await createTestContext();
  try {
    await t.step(
      "POST /api/auth/forgot-password answers the same for a known and an unknown email",
      async () => {
        const { user } = await makeUserAndLogin(ctx);
        const ghost = uniqueEmail("ghost");
        const known = await api(ctx, "POST", "/api/auth/forgot-password", {
          body: { email: user.email },
        });
        const unknown = await api(ctx, "POST", "/api/auth/forgot-password", {
          body: { email: ghost },
        });
        assert.equal(known.status, 200);
        assert.equal(unknown.status, 200);
        assert.deepEqual(known.body, FORGOT_ANSWER);
        assert.deepEqual(
          unknown.body,
          known.body,
          "the answer reveals nothing",
        );
        assert.equal(
          (await emailsTo(ctx, ghost, "reset_password")).length,
          0,
          "no email to an unknown address",
        );

        const mail = await latestEmail(ctx, user.email);
        assert.equal(mail.template, "reset_password");
        assert.equal(mail.status, "logged");
        assert.equal(mail.subject, "Reset your password");
        const token = tokenFromLink(mail.text, "reset-password");
        assert.ok(mail.text.includes(`${APP_URL}/reset-password/${token}`));
        assert.ok(mail.html.includes(`${APP_URL}/reset-password/${token}`));
      },
    );

    await t.step(
      "forgot-password sends at most one email a minute per user, with the same answer",
      async () => {
        const { user } = await makeUserAndLogin(ctx);
        await requestReset(ctx, user.email);
        const again = await api(ctx, "POST", "/api/auth/forgot-password", {
          body: { email: user.email.toUpperCase() },
        });
        assert.equal(again.status, 200);
        assert.deepEqual(again.body, FORGOT_ANSWER);
        assert.equal(
          (await emailsTo(ctx, user.email, "reset_password")).length,
          1,
        );
      },
    );

    await t.step(
      "forgot-password with a malformed email is 422 and with form data is 415",
      async () => {
        const bad = await api(ctx, "POST", "/api/auth/forgot-password", {
          body: { email: "nope" },
        });
        assert.equal(bad.status, 422);
        assert.ok(bad.body.error.details.fields.email);
        const form = await api(ctx, "POST", "/api/auth/forgot-password", {
          body: "email=a%40b.test",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(form.status, 415);
      },
    );

    await t.step(
      "GET /reset-password/:token is an HTML form without JavaScript and does not spend the token",
      async () => {
        const { user } = await makeUserAndLogin(ctx);
        const token = await requestReset(ctx, user.email);
        const page = await ctx.app.request(`/reset-password/${token}`, {
          headers: { Accept: "text/html" },
        });
        assert.equal(page.status, 200);
        assert.match(page.headers.get("content-type")!, /text\/html/);
        const html = await page.text();
        assert.match(html, /Choose a new password/);
        assert.match(
          html,
          new RegExp(`<form method="post" action="/reset-password/${token}"`),
        );
        assert.match(html, /name="password"/);
        assert.match(html, /name="confirm"/);
        assert.match(html, /minlength="10"/);
        assert.match(html, /name="viewport"/);
        assert.doesNotMatch(html, /<script/i);
        const json = await api(ctx, "GET", `/reset-password/${token}`, {
          headers: { Accept: "application/json" },
        });
        assert.equal(json.status, 200);
        assert.equal(json.body.success, true);
        const ok = await submitForm(ctx, token, {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(
          ok.status,
          200,
          "viewing the form twice left the link usable",
        );
      },
    );

    await t.step(
      "a hostile or unknown token gets the 'link does not work' page, with nothing of the URL executed",
      async () => {
        const page = await ctx.app.request(
          `/reset-password/%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E`,
        );
        assert.equal(page.status, 400);
        const html = await page.text();
        assert.doesNotMatch(html, /<script/i);
        assert.match(html, /This link does not work/);
        assert.doesNotMatch(
          html,
          /<form/,
          "no form for a link that cannot work",
        );
      },
    );

    await t.step(
      "POST /reset-password/:token with a mismatching confirm is a 422 page and the link still works",
      async () => {
        const { user } = await makeUserAndLogin(ctx);
        const token = await requestReset(ctx, user.email);
        const mismatch = await submitForm(ctx, token, {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD + "!",
        });
        assert.equal(mismatch.status, 422);
        assert.match(mismatch.contentType, /text\/html/);
        assert.match(mismatch.html, /The two passwords are not the same/);
        assert.match(mismatch.html, /role="alert"/);
        assert.match(
          mismatch.html,
          /<form method="post"/,
          "the form is shown again",
        );
        await login(ctx, user.email, PASSWORD); // nothing changed
        const ok = await submitForm(ctx, token, {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(ok.status, 200);
        await login(ctx, user.email, NEW_PASSWORD);
      },
    );

    await t.step(
      "POST /reset-password/:token with a weak password is a 422 page and the link still works",
      async () => {
        const { user } = await makeUserAndLogin(ctx);
        const token = await requestReset(ctx, user.email);
        const short = await submitForm(ctx, token, {
          password: "short",
          confirm: "short",
        });
        assert.equal(short.status, 422);
        assert.match(short.html, /Password: Must be at least 10 characters/);
        const common = await submitForm(ctx, token, {
          password: "password123",
          confirm: "password123",
        });
        assert.equal(common.status, 422);
        assert.match(common.html, /Password: Is too common/);
        const empty = await submitForm(ctx, token, {});
        assert.equal(
          empty.status,
          422,
          "a form with no fields is rejected, not a crash",
        );
        await login(ctx, user.email, PASSWORD);
        const ok = await submitForm(ctx, token, {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(ok.status, 200);
      },
    );

    await t.step(
      "a good password resets: old sessions end, the new password works, an email confirms, the link dies",
      async () => {
        const { user, token: accessToken, refreshToken } =
          await makeUserAndLogin(ctx);
        const resetToken = await requestReset(ctx, user.email);
        const ok = await submitForm(ctx, resetToken, {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(ok.status, 200);
        assert.match(ok.contentType, /text\/html/);
        assert.match(ok.html, /Password changed/);
        assert.doesNotMatch(ok.html, /<script/i);

        const me = await api(ctx, "GET", "/api/auth/me", {
          token: accessToken,
        });
        assert.equal(me.status, 401);
        assert.equal(me.body.error.code, "SESSION_REVOKED");
        const refreshed = await api(ctx, "POST", "/api/auth/refresh-token", {
          body: { refreshToken },
        });
        assert.equal(refreshed.status, 401);

        const old = await api(ctx, "POST", "/api/auth/login", {
          body: { email: user.email, password: PASSWORD },
        });
        assert.equal(old.status, 401);
        assert.equal(old.body.error.code, "INVALID_CREDENTIALS");
        await login(ctx, user.email, NEW_PASSWORD);

        const notice = await latestEmail(ctx, user.email);
        assert.equal(notice.template, "password_changed");
        assert.equal(notice.subject, "Your password was changed");

        const reused = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${resetToken}`,
          {
            body: { password: "another brand new phrase 9" },
          },
        );
        assert.equal(reused.status, 400);
        assert.equal(reused.body.error.code, "INVALID_RESET_TOKEN");
        const reusedPage = await submitForm(ctx, resetToken, {
          password: "another brand new phrase 9",
          confirm: "another brand new phrase 9",
        });
        assert.equal(reusedPage.status, 400);
        assert.match(reusedPage.html, /This link does not work/);
        await login(ctx, user.email, NEW_PASSWORD); // still the reset password
      },
    );

    await t.step(
      "POST /api/auth/reset-password/:token with {password} resets and signs every session out",
      async () => {
        const { user, token: accessToken } = await makeUserAndLogin(ctx);
        const resetToken = await requestReset(ctx, user.email);
        const res = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${resetToken}`,
          { body: { password: NEW_PASSWORD } },
        );
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {
          success: true,
          message:
            "Password reset successfully. Sign in with your new password.",
        });
        assert.equal(
          (await api(ctx, "GET", "/api/auth/me", { token: accessToken }))
            .status,
          401,
        );
        await login(ctx, user.email, NEW_PASSWORD);
        assert.equal(
          (await emailsTo(ctx, user.email, "password_changed")).length,
          1,
        );
        const twice = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${resetToken}`,
          { body: { password: NEW_PASSWORD } },
        );
        assert.equal(twice.status, 400);
        assert.equal(twice.body.error.code, "INVALID_RESET_TOKEN");
      },
    );

    await t.step(
      "the JSON API rejects a weak password with 422 on password and keeps the link usable",
      async () => {
        const { user } = await makeUserAndLogin(ctx);
        const resetToken = await requestReset(ctx, user.email);
        const weak = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${resetToken}`,
          { body: { password: "short" } },
        );
        assert.equal(weak.status, 422);
        assert.equal(weak.body.error.code, "VALIDATION_FAILED");
        assert.match(weak.body.error.details.fields.password, /at least 10/);
        const missing = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${resetToken}`,
          { body: {} },
        );
        assert.equal(missing.status, 422);
        assert.equal(
          (await emailsTo(ctx, user.email, "password_changed")).length,
          0,
        );
        const ok = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${resetToken}`,
          { body: { password: NEW_PASSWORD } },
        );
        assert.equal(ok.status, 200);
      },
    );

    await t.step(
      "unknown and malformed reset tokens are 400 INVALID_RESET_TOKEN / 422 (API) and 400 (page)",
      async () => {
        const unknown = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${"a".repeat(52)}`,
          {
            body: { password: NEW_PASSWORD },
          },
        );
        assert.equal(unknown.status, 400);
        assert.equal(unknown.body.error.code, "INVALID_RESET_TOKEN");
        const malformed = await api(
          ctx,
          "POST",
          "/api/auth/reset-password/NOT!valid",
          { body: { password: NEW_PASSWORD } },
        );
        assert.equal(malformed.status, 422);
        const page = await submitForm(ctx, "a".repeat(52), {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(page.status, 400);
        assert.match(page.html, /This link does not work/);
        const malformedPage = await submitForm(ctx, "NOT-valid", {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(malformedPage.status, 400);
        assert.match(malformedPage.html, /This link does not work/);
      },
    );

    await t.step(
      "a verify-email token is not accepted as a reset token",
      async () => {
        const email = uniqueEmail("crossover");
        await api(ctx, "POST", "/api/auth/register", {
          body: { name: "C", email, password: PASSWORD },
        });
        const verifyToken = tokenFromLink(
          (await latestEmail(ctx, email)).text,
          "verify-email",
        );
        const res = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${verifyToken}`,
          { body: { password: NEW_PASSWORD } },
        );
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, "INVALID_RESET_TOKEN");
      },
    );

    await t.step(
      "resetting the password of an unverified account also verifies its email",
      async () => {
        const email = uniqueEmail("unverified");
        const registered = await api(ctx, "POST", "/api/auth/register", {
          body: { name: "U", email, password: PASSWORD },
        });
        assert.equal(registered.status, 201);
        const resetToken = await requestReset(ctx, email);
        const ok = await submitForm(ctx, resetToken, {
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(ok.status, 200);
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.email, email),
        );
        assert.ok(row?.emailVerifiedAt instanceof Date);
        await login(ctx, email, NEW_PASSWORD);
      },
    );

    await t.step(
      "a reset link of an account deleted since is 400 INVALID_RESET_TOKEN, not 404",
      async () => {
        const { user, token } = await makeUserAndLogin(ctx);
        const resetToken = await requestReset(ctx, user.email);
        const deleted = await api(ctx, "DELETE", "/api/users/delete-account", {
          token,
          body: { password: PASSWORD },
        });
        assert.equal(deleted.status, 200);
        const res = await api(
          ctx,
          "POST",
          `/api/auth/reset-password/${resetToken}`,
          { body: { password: NEW_PASSWORD } },
        );
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "INVALID_RESET_TOKEN");
        const [row] = await ctx.deps.db.select().from(users).where(
          eq(users.id, user.id),
        );
        assert.equal(
          row?.passwordHash,
          null,
          "the deleted account got no password back",
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
