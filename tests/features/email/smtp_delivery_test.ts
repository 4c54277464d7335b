import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  deliverDue,
  RETRY_DELAYS_MS,
} from "../../../server/features/email/service.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { latestEmail, PASSWORD, uniqueEmail } from "../../helpers/factories.ts";
import { decodeQuotedPrintable, startSmtpServer } from "../../helpers/smtp.ts";

Deno.test("email through a real SMTP server", async (t) => {
  const smtp = await startSmtpServer();
  const ctx = await createTestContext({
    SMTP_URL: smtp.url,
    MAIL_FROM: "Lectern <school@lectern.test>",
  });
  try {
    await t.step(
      "registration delivers the verification email; its link verifies the account",
      async () => {
        const email = uniqueEmail("smtp");
        await api(ctx, "POST", "/api/auth/register", {
          body: { name: "Sam", email, password: PASSWORD },
        });
        await ctx.deps.background.idle();
        const message = smtp.received.find((m) => m.to.includes(email));
        assert.ok(message, "the SMTP server received the message");
        assert.equal(message.from, "school@lectern.test");
        const text = decodeQuotedPrintable(message.raw);
        assert.match(text, /Subject: Verify your email address/);
        assert.match(text, /Content-Type: text\/html/);
        const link = text.match(
          /http:\/\/lectern\.test\/verify-email\/([a-z2-7]+)/,
        );
        assert.ok(link, "the message carries the link");
        const stored = await latestEmail(ctx, email);
        assert.equal(stored.status, "sent");
        assert.ok(stored.sentAt);
        const verified = await api(ctx, "GET", `/verify-email/${link[1]}`, {
          headers: { Accept: "application/json" },
        });
        assert.equal(verified.status, 200);
        assert.equal(
          (await api(ctx, "POST", "/api/auth/login", {
            body: { email, password: PASSWORD },
          })).status,
          200,
        );
      },
    );

    await t.step(
      "a refused delivery is retried with backoff until the server takes it",
      async () => {
        const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
        try {
          smtp.failNext(2);
          const email = uniqueEmail("retry");
          await api(ctx, "POST", "/api/auth/register", {
            body: { name: "Rita", email, password: PASSWORD },
          });
          await ctx.deps.background.idle();
          let stored = await latestEmail(ctx, email);
          assert.equal(stored.status, "pending");
          assert.equal(stored.attempts, 1);
          assert.match(
            stored.lastError ?? "",
            /Mailbox temporarily unavailable/,
          );
          assert.equal(
            stored.nextAttemptAt!.getTime() - Date.now(),
            RETRY_DELAYS_MS[0],
          );

          assert.equal(await deliverDue(ctx.deps), 0, "not due yet");
          clock.tick(RETRY_DELAYS_MS[0]!);
          assert.equal(
            await deliverDue(ctx.deps),
            0,
            "second attempt refused too",
          );
          stored = await latestEmail(ctx, email);
          assert.equal(stored.attempts, 2);
          assert.equal(
            stored.nextAttemptAt!.getTime() - Date.now(),
            RETRY_DELAYS_MS[1],
          );

          clock.tick(RETRY_DELAYS_MS[1]!);
          assert.equal(await deliverDue(ctx.deps), 1);
          stored = await latestEmail(ctx, email);
          assert.equal(stored.status, "sent");
          assert.equal(stored.attempts, 3);
          assert.ok(smtp.received.some((m) => m.to.includes(email)));
        } finally {
          clock.uninstall();
        }
      },
    );

    await t.step(
      "after the last retry a message is marked failed and left for an administrator",
      async () => {
        const clock = FakeTimers.install({ toFake: ["Date"], now: Date.now() });
        try {
          smtp.failNext(RETRY_DELAYS_MS.length + 1);
          const email = uniqueEmail("dead");
          await api(ctx, "POST", "/api/auth/register", {
            body: { name: "Dee", email, password: PASSWORD },
          });
          await ctx.deps.background.idle();
          for (const delay of RETRY_DELAYS_MS) {
            clock.tick(delay);
            await deliverDue(ctx.deps);
          }
          const stored = await latestEmail(ctx, email);
          assert.equal(stored.status, "failed");
          assert.equal(stored.attempts, RETRY_DELAYS_MS.length + 1);
          assert.equal(stored.nextAttemptAt, null);
        } finally {
          clock.uninstall();
        }
      },
    );
  } finally {
    await ctx.close();
    await smtp.close();
  }
});

Deno.test("without SMTP_URL an email stays in the outbox and its text, links included, is logged", async () => {
  const ctx = await createTestContext();
  try {
    const email = uniqueEmail("nosmtp");
    await api(ctx, "POST", "/api/auth/forgot-password", { body: { email } });
    await api(ctx, "POST", "/api/auth/register", {
      body: { name: "Olga", email, password: PASSWORD },
    });
    const stored = await latestEmail(ctx, email);
    assert.equal(stored.status, "logged");
    const line = ctx.logger.lines.find((l) => l.outboxId === stored.id);
    assert.ok(line, "the email is in the log");
    assert.match(
      String(line.text),
      /http:\/\/lectern\.test\/verify-email\/[a-z2-7]+/,
    );
    assert.equal(await deliverDue(ctx.deps), 0);
  } finally {
    await ctx.close();
  }
});
