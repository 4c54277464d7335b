import assert from "node:assert/strict";
import { and, asc, eq } from "drizzle-orm";
import {
  notificationDeliveries,
  notifications,
  outboxMessages,
} from "../../../db/schema/mod.ts";
import { notify } from "../../../server/features/notifications/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { enroll, makeProgram } from "../../helpers/factories.ts";
import {
  deliverEvent,
  signedEvent,
  startFakeStripe,
} from "../../helpers/fake_stripe.ts";
import { startSmtpServer } from "../../helpers/smtp.ts";
import { certifiedLearner } from "../certificates/support.ts";
import { type Learner, learner, startPayment } from "../payments/support.ts";

const FREE = { chatbot: 0, documentation: 0, examSimulator: 0, bundle: 0 };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A user's notifications of one type (about one record, when named), oldest first. */
async function noticesOf(
  ctx: TestContext,
  userId: string,
  type: string,
  relatedId?: string,
) {
  return await ctx.deps.db.select().from(notifications).where(and(
    eq(notifications.userId, userId),
    eq(notifications.type, type),
    relatedId ? eq(notifications.relatedId, relatedId) : undefined,
  )).orderBy(asc(notifications.createdAt));
}

/** Every delivery-log row of one notification, oldest first. */
async function deliveriesOf(ctx: TestContext, notificationId: string) {
  return await ctx.deps.db.select().from(notificationDeliveries).where(
    eq(notificationDeliveries.notificationId, notificationId),
  ).orderBy(asc(notificationDeliveries.createdAt));
}

/** The outbox email stored for a notification, if any, found through the delivery log. */
async function emailOf(ctx: TestContext, notificationId: string) {
  const withOutbox = (await deliveriesOf(ctx, notificationId)).filter((d) =>
    d.outboxId !== null
  );
  if (withOutbox.length === 0) return undefined;
  const ids = new Set(withOutbox.map((d) => d.outboxId));
  assert.equal(ids.size, 1, "one email per notification");
  const [message] = await ctx.deps.db.select().from(outboxMessages).where(
    eq(outboxMessages.id, withOutbox[0]!.outboxId!),
  );
  assert.ok(message, "the logged email is in the outbox");
  return message;
}

/**
 * Exactly one notification of `type` reached `who` (about `relatedId`, when named): in the app (read
 * through the API when a token is given) and as an email of `template` to their address.
 */
async function expectNotified(
  ctx: TestContext,
  who: { user: { id: string; email: string }; token?: string },
  type: string,
  expected: {
    relatedId?: string;
    template: string;
    message?: RegExp;
    text?: RegExp;
    subject?: string;
  },
) {
  const rows = await noticesOf(ctx, who.user.id, type, expected.relatedId);
  assert.equal(
    rows.length,
    1,
    `one ${type} notification for ${who.user.email}`,
  );
  const notice = rows[0]!;
  if (expected.message) assert.match(notice.message, expected.message);
  if (who.token) {
    const listed = await api(ctx, "GET", "/api/notifications?limit=100", {
      token: who.token,
    });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const seen = listed.body.notifications.find((n: { id: string }) =>
      n.id === notice.id
    );
    assert.ok(seen, `${type} is listed for its reader`);
    assert.equal(seen.type, type);
    assert.equal(seen.read, false);
  }
  const email = await emailOf(ctx, notice.id);
  assert.ok(email, `${type}: an email was stored`);
  assert.equal(email.to, who.user.email);
  assert.equal(email.template, expected.template);
  if (expected.subject) assert.equal(email.subject, expected.subject);
  if (expected.text) assert.match(email.text, expected.text);
  const log = await deliveriesOf(ctx, notice.id);
  assert.deepEqual(
    log.map((d) => [d.channel, d.status]),
    [["in_app", "delivered"], ["email", "logged"]],
    `${type}: delivered in the app, kept in the outbox without SMTP`,
  );
  return notice;
}

const putPreferences = (ctx: TestContext, token: string, body: unknown) =>
  api(ctx, "PUT", "/api/user/preferences", { token, body });

const enrollFree = (ctx: TestContext, who: Learner, programId: string) =>
  api(ctx, "POST", `/api/programs/${programId}/enroll`, {
    token: who.token,
    body: { accessType: "bundle" },
  });

Deno.test("notifications: the inbox, every producer, preferences and the delivery log", async (t) => {
  const stripe = startFakeStripe();
  const ctx = await createTestContext(stripe.env);
  try {
    const admin = await learner(ctx, "admin");
    const teacher = await learner(ctx, "instructor");
    const reader = await learner(ctx);
    const other = await learner(ctx);
    const readerIds: string[] = [];

    await t.step(
      "GET /api/notifications: newest first, unreadCount, pagination, ?unread=true; only one's own",
      async () => {
        for (let i = 1; i <= 5; i++) {
          const notice = await notify(ctx.deps, {
            userId: reader.user.id,
            type: "enrollment",
            title: `Notice ${i}`,
            message: `Message ${i}`,
            link: `/api/programs/p${i}`,
            relatedId: `p${i}`,
          });
          assert.ok(notice);
          readerIds.push(notice.id);
          await pause(2);
        }
        await notify(ctx.deps, {
          userId: other.user.id,
          type: "enrollment",
          title: "Not yours",
          message: "For someone else",
        });

        const res = await api(ctx, "GET", "/api/notifications", {
          token: reader.token,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        assert.equal(res.body.unreadCount, 5);
        assert.deepEqual(
          res.body.notifications.map((n: { title: string }) => n.title),
          ["Notice 5", "Notice 4", "Notice 3", "Notice 2", "Notice 1"],
        );
        const [first] = res.body.notifications;
        assert.deepEqual(Object.keys(first).sort(), [
          "createdAt",
          "id",
          "link",
          "message",
          "read",
          "readAt",
          "relatedId",
          "title",
          "type",
        ]);
        assert.equal(first.id, readerIds[4]);
        assert.equal(first.type, "enrollment");
        assert.equal(first.message, "Message 5");
        assert.equal(first.link, "/api/programs/p5");
        assert.equal(first.relatedId, "p5");
        assert.equal(first.read, false);
        assert.equal(first.readAt, null);
        assert.ok(!Number.isNaN(Date.parse(first.createdAt)));
        assert.deepEqual(res.body.pagination, {
          currentPage: 1,
          totalPages: 1,
          total: 5,
          limit: 12,
          hasNext: false,
          hasPrev: false,
        });

        const page2 = await api(
          ctx,
          "GET",
          "/api/notifications?limit=2&page=2",
          {
            token: reader.token,
          },
        );
        assert.deepEqual(
          page2.body.notifications.map((n: { title: string }) => n.title),
          ["Notice 3", "Notice 2"],
        );
        assert.equal(page2.body.pagination.totalPages, 3);
        assert.equal(page2.body.pagination.hasNext, true);
        assert.equal(page2.body.pagination.hasPrev, true);
        assert.equal(page2.body.unreadCount, 5, "the count covers every page");

        const read = await api(
          ctx,
          "PUT",
          `/api/notifications/${readerIds[1]}/read`,
          { token: reader.token },
        );
        assert.equal(read.status, 200);
        const unread = await api(ctx, "GET", "/api/notifications?unread=true", {
          token: reader.token,
        });
        assert.equal(unread.body.unreadCount, 4);
        assert.equal(unread.body.pagination.total, 4);
        assert.ok(
          unread.body.notifications.every((n: { read: boolean }) => !n.read),
        );
        assert.ok(
          !unread.body.notifications.some((n: { id: string }) =>
            n.id === readerIds[1]
          ),
        );
        const all = await api(ctx, "GET", "/api/notifications?unread=false", {
          token: reader.token,
        });
        assert.equal(all.body.pagination.total, 5, "unread=false lists all");

        for (const query of ["unread=yes", "limit=0", "limit=101", "page=0"]) {
          const bad = await api(ctx, "GET", `/api/notifications?${query}`, {
            token: reader.token,
          });
          assert.equal(bad.status, 422, query);
        }
        assert.equal((await api(ctx, "GET", "/api/notifications")).status, 401);
      },
    );

    await t.step(
      "PUT /api/notifications/:id/read: one's own only (another's is 404 and stays unread); again keeps readAt",
      async () => {
        const id = readerIds[2]!;
        const stranger = await api(
          ctx,
          "PUT",
          `/api/notifications/${id}/read`,
          {
            token: other.token,
          },
        );
        assert.equal(stranger.status, 404);
        assert.equal(stranger.body.error.code, "NOT_FOUND");
        const [row] = await ctx.deps.db.select().from(notifications).where(
          eq(notifications.id, id),
        );
        assert.equal(row!.readAt, null, "still unread");

        const res = await api(ctx, "PUT", `/api/notifications/${id}/read`, {
          token: reader.token,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.notification.id, id);
        assert.equal(res.body.notification.read, true);
        assert.ok(res.body.notification.readAt);
        assert.equal(res.body.unreadCount, 3);
        const again = await api(ctx, "PUT", `/api/notifications/${id}/read`, {
          token: reader.token,
        });
        assert.equal(again.status, 200);
        assert.equal(
          again.body.notification.readAt,
          res.body.notification.readAt,
        );
        assert.equal(again.body.unreadCount, 3);

        for (const unknown of ["01J0000000000000000000000Z", "not-an-id"]) {
          const missing = await api(
            ctx,
            "PUT",
            `/api/notifications/${unknown}/read`,
            { token: reader.token },
          );
          assert.equal(missing.status, 404, unknown);
        }
        assert.equal(
          (await api(ctx, "PUT", `/api/notifications/${id}/read`)).status,
          401,
        );
      },
    );

    await t.step(
      "PUT /api/notifications/read-all marks every one of one's own read, nobody else's",
      async () => {
        const res = await api(ctx, "PUT", "/api/notifications/read-all", {
          token: reader.token,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.updated, 3);
        assert.equal(res.body.unreadCount, 0);
        const list = await api(ctx, "GET", "/api/notifications", {
          token: reader.token,
        });
        assert.equal(list.body.unreadCount, 0);
        assert.ok(
          list.body.notifications.every((n: { read: boolean }) => n.read),
        );
        const again = await api(ctx, "PUT", "/api/notifications/read-all", {
          token: reader.token,
        });
        assert.equal(again.body.updated, 0);
        const theirs = await api(ctx, "GET", "/api/notifications", {
          token: other.token,
        });
        assert.equal(
          theirs.body.unreadCount,
          1,
          "the other reader is untouched",
        );
      },
    );

    await t.step(
      "DELETE /api/notifications/:id: one's own only; another's is 404 and stays",
      async () => {
        const id = readerIds[0]!;
        const stranger = await api(ctx, "DELETE", `/api/notifications/${id}`, {
          token: other.token,
        });
        assert.equal(stranger.status, 404);
        assert.equal(
          (await ctx.deps.db.select().from(notifications).where(
            eq(notifications.id, id),
          )).length,
          1,
          "still there",
        );
        const res = await api(ctx, "DELETE", `/api/notifications/${id}`, {
          token: reader.token,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.success, true);
        const list = await api(ctx, "GET", "/api/notifications", {
          token: reader.token,
        });
        assert.equal(list.body.pagination.total, 4);
        assert.ok(
          !list.body.notifications.some((n: { id: string }) => n.id === id),
        );
        const twice = await api(ctx, "DELETE", `/api/notifications/${id}`, {
          token: reader.token,
        });
        assert.equal(twice.status, 404);
        // The delivery log outlives the notification.
        const log = await ctx.deps.db.select().from(notificationDeliveries)
          .where(and(
            eq(notificationDeliveries.userId, reader.user.id),
            eq(notificationDeliveries.channel, "in_app"),
          ));
        assert.equal(log.length, 5);
      },
    );

    await t.step(
      "a free enrollment: the learner gets `enrollment`, the instructor `new_student`",
      async () => {
        const program = await makeProgram(ctx, teacher.user, {
          title: "Free Knots",
          pricing: FREE,
        });
        const student = await learner(ctx);
        const res = await enrollFree(ctx, student, program.id);
        assert.equal(res.status, 201, JSON.stringify(res.body));
        await expectNotified(ctx, student, "enrollment", {
          relatedId: program.id,
          template: "enrollment_confirmed",
          message: /Free Knots/,
          text: /Free Knots/,
        });
        await expectNotified(ctx, teacher, "new_student", {
          relatedId: program.id,
          template: "notification",
          subject: "New student enrolled",
          message: new RegExp(`${student.user.name} enrolled in Free Knots`),
        });
        assert.equal(
          (await noticesOf(ctx, teacher.user.id, "enrollment")).length,
          0,
        );
        assert.equal(
          (await noticesOf(ctx, student.user.id, "new_student")).length,
          0,
        );
        // Enrolling again tells nobody anything new.
        await enrollFree(ctx, student, program.id);
        assert.equal(
          (await noticesOf(ctx, teacher.user.id, "new_student", program.id))
            .length,
          1,
        );
        assert.equal(
          (await noticesOf(ctx, student.user.id, "enrollment", program.id))
            .length,
          1,
        );
      },
    );

    const paidProgram = await makeProgram(ctx, teacher.user, {
      title: "Paid Sailing",
    });

    await t.step(
      "a signed payment_intent.succeeded: `payment_succeeded` for the learner, `new_student` for the instructor",
      async () => {
        const buyer = await learner(ctx);
        const { piId, transactionId } = await startPayment(
          ctx,
          buyer,
          paidProgram.id,
        );
        const hook = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", stripe.succeed(piId)),
        );
        assert.equal(hook.status, 200);
        assert.equal(hook.body.outcome, "granted");
        await expectNotified(ctx, buyer, "payment_succeeded", {
          relatedId: transactionId,
          template: "enrollment_confirmed",
          message: /Payment received: 34\.99 USD/,
          text: /Payment received: 34\.99 USD/,
        });
        assert.equal(
          (await noticesOf(ctx, buyer.user.id, "enrollment")).length,
          0,
          "a paid enrollment is announced as a payment",
        );
        await expectNotified(ctx, teacher, "new_student", {
          relatedId: paidProgram.id,
          template: "notification",
          message: new RegExp(buyer.user.name),
        });
        // Stripe retries the event: nothing is announced twice.
        const replay = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", stripe.succeed(piId)),
        );
        assert.equal(replay.status, 200);
        assert.equal(
          (await noticesOf(ctx, buyer.user.id, "payment_succeeded")).length,
          1,
        );
      },
    );

    await t.step(
      "paying for more of a program one already learns in: a receipt, but no second `new_student`",
      async () => {
        const program = await makeProgram(ctx, teacher.user, {
          title: "Free Docs Rowing",
          pricing: {
            chatbot: 9.99,
            documentation: 0,
            examSimulator: 19.99,
            bundle: 34.99,
          },
        });
        const upgrader = await learner(ctx);
        const free = await api(
          ctx,
          "POST",
          `/api/programs/${program.id}/enroll`,
          {
            token: upgrader.token,
            body: { accessType: "documentation" },
          },
        );
        assert.equal(free.status, 201, JSON.stringify(free.body));
        assert.equal(
          (await noticesOf(ctx, teacher.user.id, "new_student", program.id))
            .length,
          1,
        );
        const { piId, transactionId } = await startPayment(
          ctx,
          upgrader,
          program.id,
        );
        const hook = await deliverEvent(
          ctx,
          await signedEvent("payment_intent.succeeded", stripe.succeed(piId)),
        );
        assert.equal(hook.body.outcome, "granted");
        await expectNotified(ctx, upgrader, "payment_succeeded", {
          relatedId: transactionId,
          template: "enrollment_confirmed",
        });
        assert.equal(
          (await noticesOf(ctx, teacher.user.id, "new_student", program.id))
            .length,
          1,
          "the instructor already knows this student",
        );
      },
    );

    await t.step(
      "payment_intent.payment_failed: `payment_failed` with the bank's reason; a full refund: `refund`",
      async () => {
        const buyer = await learner(ctx);
        const failed = await startPayment(ctx, buyer, paidProgram.id);
        const res = await deliverEvent(
          ctx,
          await signedEvent(
            "payment_intent.payment_failed",
            stripe.fail(failed.piId, "Your card has insufficient funds."),
          ),
        );
        assert.equal(res.body.outcome, "payment failed");
        const notice = await expectNotified(ctx, buyer, "payment_failed", {
          relatedId: failed.transactionId,
          template: "payment_failed",
          message: /insufficient funds/,
          text: /insufficient funds/,
        });
        assert.equal(
          notice.link,
          `/api/payments/status/${failed.transactionId}`,
        );

        const payer = await learner(ctx);
        const paid = await startPayment(ctx, payer, paidProgram.id);
        await deliverEvent(
          ctx,
          await signedEvent(
            "payment_intent.succeeded",
            stripe.succeed(paid.piId),
          ),
        );
        const refund = await deliverEvent(
          ctx,
          await signedEvent("charge.refunded", stripe.refundCharge(paid.piId)),
        );
        assert.equal(refund.body.outcome, "refunded, access revoked");
        await expectNotified(ctx, payer, "refund", {
          relatedId: paid.transactionId,
          template: "access_refunded",
          message: /34\.99 USD was refunded/,
          text: /34\.99 USD/,
        });
      },
    );

    await t.step(
      "certificates: `certificate_issued`, `certificate_reissued` with the old code, `certificate_revoked` with the reason",
      async () => {
        const { admin: certAdmin, student, certificate } =
          await certifiedLearner(ctx, { title: "Celestial Navigation" });
        const learnerView = { user: student.user, token: student.token };
        const issued = await expectNotified(
          ctx,
          learnerView,
          "certificate_issued",
          {
            relatedId: certificate.id,
            template: "certificate_issued",
            text: new RegExp(certificate.code.replace(/[*$]/g, "\\$&")),
          },
        );
        assert.equal(issued.link, `/verify/${certificate.code}`);

        const reissued = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${certificate.id}/reissue`,
          { token: certAdmin.token, body: { reason: "Name corrected" } },
        );
        assert.equal(reissued.status, 201, JSON.stringify(reissued.body));
        const newId = reissued.body.certificate.id;
        const notice = await expectNotified(
          ctx,
          learnerView,
          "certificate_reissued",
          { relatedId: newId, template: "certificate_reissued" },
        );
        assert.ok(notice.message.includes(certificate.code), notice.message);
        assert.ok(
          notice.message.includes(reissued.body.certificate.verificationCode),
        );
        await ctx.deps.background.idle();
        assert.equal(
          (await noticesOf(ctx, student.user.id, "certificate_issued")).length,
          1,
          "a reissue is not announced as a new certificate",
        );

        const revoked = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${newId}/revoke`,
          { token: certAdmin.token, body: { reason: "Exam misconduct" } },
        );
        assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
        await expectNotified(ctx, learnerView, "certificate_revoked", {
          relatedId: newId,
          template: "certificate_revoked",
          message: /Exam misconduct/,
          text: /Exam misconduct/,
        });
      },
    );

    await t.step(
      "applications: `application_approved` and `application_rejected` to the applicant",
      async () => {
        const hopeful = await learner(ctx);
        const doubtful = await learner(ctx);
        const ids: string[] = [];
        for (const who of [hopeful, doubtful]) {
          const res = await api(ctx, "POST", "/api/instructors/apply", {
            token: who.token,
            body: {
              bio: "Twenty years of sailing and teaching sailing.",
              expertise: ["Sailing"],
            },
          });
          assert.equal(res.status, 201, JSON.stringify(res.body));
          ids.push(res.body.applicationId);
        }
        await expectNotified(ctx, admin, "application_submitted", {
          relatedId: ids[0]!,
          template: "notification",
          subject: "New instructor application",
        });
        assert.equal(
          (await api(
            ctx,
            "POST",
            `/api/instructors/applications/${ids[0]}/approve`,
            { token: admin.token },
          )).status,
          200,
        );
        assert.equal(
          (await api(
            ctx,
            "POST",
            `/api/instructors/applications/${ids[1]}/reject`,
            { token: admin.token, body: { reason: "Not enough detail." } },
          )).status,
          200,
        );
        await expectNotified(ctx, hopeful, "application_approved", {
          relatedId: ids[0]!,
          template: "notification",
          subject: "You are now an instructor",
        });
        await expectNotified(ctx, doubtful, "application_rejected", {
          relatedId: ids[1]!,
          template: "notification",
          message: /Not enough detail\./,
          text: /Not enough detail\./,
        });
        assert.equal(
          (await noticesOf(ctx, hopeful.user.id, "application_rejected"))
            .length,
          0,
        );
        assert.equal(
          (await noticesOf(ctx, doubtful.user.id, "application_approved"))
            .length,
          0,
        );
      },
    );

    await t.step(
      "a review: `new_review` to the program's instructor, not to the reviewer",
      async () => {
        const program = await makeProgram(ctx, teacher.user, {
          title: "Reviewed Rigging",
        });
        const critic = await learner(ctx);
        await enroll(ctx, critic.user.id, program.id);
        const res = await api(
          ctx,
          "POST",
          `/api/programs/${program.id}/reviews`,
          {
            token: critic.token,
            body: { rating: 4, comment: "Clear and practical" },
          },
        );
        assert.equal(res.status, 201, JSON.stringify(res.body));
        await expectNotified(ctx, teacher, "new_review", {
          relatedId: res.body.review.id,
          template: "notification",
          subject: "New review of Reviewed Rigging",
          message: /4 out of 5: "Clear and practical"/,
          text: /Clear and practical/,
        });
        assert.equal(
          (await noticesOf(ctx, critic.user.id, "new_review")).length,
          0,
        );
      },
    );

    await t.step(
      "a ban: `account_banned` with the reason (the session ends); an unban: `account_unbanned`",
      async () => {
        const rowdy = await learner(ctx);
        const ban = await api(
          ctx,
          "POST",
          `/api/admin/users/${rowdy.user.id}/ban`,
          {
            token: admin.token,
            body: { reason: "Spamming the forums" },
          },
        );
        assert.equal(ban.status, 200, JSON.stringify(ban.body));
        // The banned person cannot read the inbox: the row and the email say it.
        await expectNotified(ctx, { user: rowdy.user }, "account_banned", {
          template: "notification",
          subject: "Your account has been banned",
          message: /Spamming the forums/,
          text: /Spamming the forums/,
        });
        assert.equal(
          (await api(ctx, "GET", "/api/notifications", { token: rowdy.token }))
            .status,
          403,
        );
        const unban = await api(
          ctx,
          "POST",
          `/api/admin/users/${rowdy.user.id}/unban`,
          { token: admin.token },
        );
        assert.equal(unban.status, 200, JSON.stringify(unban.body));
        await expectNotified(ctx, { user: rowdy.user }, "account_unbanned", {
          template: "notification",
          subject: "Your account has been restored",
        });
      },
    );

    await t.step(
      "GET /api/user/preferences: every optional type on by default; account notices cannot be turned off",
      async () => {
        const res = await api(ctx, "GET", "/api/user/preferences", {
          token: other.token,
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.preferences.emailNotifications, true);
        assert.equal(res.body.preferences.theme, "system");
        const toggles = res.body.preferences.emails;
        assert.ok(Object.keys(toggles).length >= 12);
        assert.ok(Object.values(toggles).every((on) => on === true));
        assert.equal("account_banned" in toggles, false);
        const byType = Object.fromEntries(
          res.body.notificationTypes.map((
            t: { type: string; emailOptional: boolean; email: boolean },
          ) => [t.type, t]),
        );
        assert.equal(byType.account_banned.emailOptional, false);
        assert.equal(byType.account_unbanned.emailOptional, false);
        assert.equal(byType.new_review.emailOptional, true);
        assert.equal(byType.new_review.email, true);
        assert.equal(typeof byType.new_review.description, "string");
        assert.equal(
          (await api(ctx, "GET", "/api/user/preferences")).status,
          401,
        );
      },
    );

    await t.step(
      "PUT /api/user/preferences: unknown types, non-booleans and unknown fields are 422; nothing changes",
      async () => {
        const cases: [string, unknown, string][] = [
          ["unknown type", { emails: { bogus: false } }, "emails.bogus"],
          [
            "a mandatory type",
            { emails: { account_banned: false } },
            "emails.account_banned",
          ],
          [
            "non-boolean toggle",
            { emails: { new_review: "no" } },
            "emails.new_review",
          ],
          [
            "non-boolean master switch",
            { emailNotifications: "false" },
            "emailNotifications",
          ],
          ["unknown theme", { theme: "neon" }, "theme"],
          ["unknown field", { sms: true }, "sms"],
          ["emails not an object", { emails: true }, "emails"],
        ];
        for (const [label, body, field] of cases) {
          const res = await putPreferences(ctx, other.token, body);
          assert.equal(
            res.status,
            422,
            `${label}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.equal(
            typeof res.body.error.details.fields[field],
            "string",
            `${label}: ${JSON.stringify(res.body.error.details)}`,
          );
        }
        assert.equal(
          (await api(ctx, "PUT", "/api/user/preferences", {
            body: { theme: "dark" },
          })).status,
          401,
        );
        const after = await api(ctx, "GET", "/api/user/preferences", {
          token: other.token,
        });
        assert.equal(after.body.preferences.theme, "system");
        assert.equal(after.body.preferences.emailNotifications, true);
        assert.ok(
          Object.values(after.body.preferences.emails).every((on) =>
            on === true
          ),
        );
      },
    );

    await t.step(
      "PUT /api/user/preferences merges: fields not sent keep their value, per type too",
      async () => {
        let res = await putPreferences(ctx, other.token, {
          emails: { new_review: false },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.preferences.emails.new_review, false);
        assert.equal(res.body.preferences.emails.refund, true);
        res = await putPreferences(ctx, other.token, { theme: "dark" });
        assert.equal(res.body.preferences.theme, "dark");
        assert.equal(res.body.preferences.emails.new_review, false, "kept");
        res = await putPreferences(ctx, other.token, {
          emails: { refund: false },
        });
        assert.equal(res.body.preferences.emails.refund, false);
        assert.equal(res.body.preferences.emails.new_review, false, "kept");
        assert.equal(res.body.preferences.theme, "dark", "kept");
        res = await putPreferences(ctx, other.token, {
          emailNotifications: false,
        });
        assert.equal(res.body.preferences.emailNotifications, false);
        assert.equal(res.body.preferences.theme, "dark");
        const byType = Object.fromEntries(
          res.body.notificationTypes.map((
            t: { type: string; email: boolean },
          ) => [t.type, t.email]),
        );
        assert.equal(byType.enrollment, false, "the master switch is off");
        assert.equal(byType.account_banned, true, "account notices still go");
        res = await putPreferences(ctx, other.token, {
          emailNotifications: true,
          emails: { new_review: true },
        });
        assert.equal(res.body.preferences.emails.new_review, true);
        assert.equal(res.body.preferences.emails.refund, false, "kept");
        const stored = await api(ctx, "GET", "/api/user/preferences", {
          token: other.token,
        });
        assert.deepEqual(stored.body.preferences, res.body.preferences);
      },
    );

    await t.step(
      "emails.new_review off: the review is still in the app, no email, the log says `suppressed`; other types still email",
      async () => {
        const quiet = await learner(ctx, "instructor");
        const res = await putPreferences(ctx, quiet.token, {
          emails: { new_review: false },
        });
        assert.equal(res.status, 200);
        const program = await makeProgram(ctx, quiet.user, {
          title: "Quiet Knots",
          pricing: FREE,
        });
        const critic = await learner(ctx);
        assert.equal((await enrollFree(ctx, critic, program.id)).status, 201);
        const review = await api(
          ctx,
          "POST",
          `/api/programs/${program.id}/reviews`,
          {
            token: critic.token,
            body: { rating: 5 },
          },
        );
        assert.equal(review.status, 201, JSON.stringify(review.body));

        const [notice] = await noticesOf(ctx, quiet.user.id, "new_review");
        assert.ok(notice, "the in-app notification is still created");
        const inbox = await api(ctx, "GET", "/api/notifications", {
          token: quiet.token,
        });
        assert.ok(
          inbox.body.notifications.some((n: { id: string }) =>
            n.id === notice.id
          ),
        );
        assert.equal(await emailOf(ctx, notice.id), undefined, "no email");
        const mails = await ctx.deps.db.select().from(outboxMessages).where(
          and(
            eq(outboxMessages.to, quiet.user.email),
            eq(outboxMessages.subject, "New review of Quiet Knots"),
          ),
        );
        assert.equal(mails.length, 0);

        const log = await api(
          ctx,
          "GET",
          `/api/notifications/log?notificationId=${notice.id}`,
          { token: admin.token },
        );
        assert.equal(log.status, 200);
        assert.deepEqual(
          log.body.deliveries.map((d: { channel: string; status: string }) =>
            `${d.channel}:${d.status}`
          ).sort(),
          ["email:suppressed", "in_app:delivered"],
        );
        const suppressed = log.body.deliveries.find((
          d: { status: string },
        ) => d.status === "suppressed");
        assert.equal(suppressed.outboxId, null);
        assert.equal(suppressed.recipient, null);
        assert.equal(suppressed.type, "new_review");
        assert.equal(suppressed.userId, quiet.user.id);

        // Only that type is off: the new student is still emailed.
        await expectNotified(ctx, quiet, "new_student", {
          relatedId: program.id,
          template: "notification",
        });
      },
    );

    await t.step(
      "emailNotifications:false suppresses optional emails, yet account_banned is emailed",
      async () => {
        const muted = await learner(ctx);
        assert.equal(
          (await putPreferences(ctx, muted.token, {
            emailNotifications: false,
          }))
            .status,
          200,
        );
        const program = await makeProgram(ctx, teacher.user, {
          title: "Muted Knots",
          pricing: FREE,
        });
        assert.equal((await enrollFree(ctx, muted, program.id)).status, 201);
        const [enrolled] = await noticesOf(ctx, muted.user.id, "enrollment");
        assert.ok(enrolled, "in the app");
        assert.equal(await emailOf(ctx, enrolled.id), undefined);
        assert.deepEqual(
          (await deliveriesOf(ctx, enrolled.id)).map((d) =>
            `${d.channel}:${d.status}`
          ),
          ["in_app:delivered", "email:suppressed"],
        );
        const ban = await api(
          ctx,
          "POST",
          `/api/admin/users/${muted.user.id}/ban`,
          {
            token: admin.token,
            body: { reason: "Ban evasion" },
          },
        );
        assert.equal(ban.status, 200);
        await expectNotified(ctx, { user: muted.user }, "account_banned", {
          template: "notification",
          text: /Ban evasion/,
        });
        const mails = await ctx.deps.db.select().from(outboxMessages).where(
          eq(outboxMessages.to, muted.user.email),
        );
        assert.equal(mails.length, 1, "the ban email, and nothing else");
      },
    );

    await t.step(
      "GET /api/notifications/log: admin only; filters by channel, status, type and user; paginated",
      async () => {
        assert.equal(
          (await api(ctx, "GET", "/api/notifications/log", {
            token: reader.token,
          })).status,
          403,
        );
        assert.equal(
          (await api(ctx, "GET", "/api/notifications/log", {
            token: teacher.token,
          })).status,
          403,
        );
        assert.equal(
          (await api(ctx, "GET", "/api/notifications/log")).status,
          401,
        );
        const log = (query: string) =>
          api(ctx, "GET", `/api/notifications/log?limit=100&${query}`, {
            token: admin.token,
          });

        const everything = await log("");
        assert.equal(everything.status, 200);
        assert.ok(everything.body.pagination.total > 20);
        assert.deepEqual(Object.keys(everything.body.deliveries[0]).sort(), [
          "attempt",
          "channel",
          "createdAt",
          "error",
          "id",
          "notificationId",
          "outboxId",
          "recipient",
          "status",
          "type",
          "userId",
        ]);
        const times = everything.body.deliveries.map((
          d: { createdAt: string },
        ) => Date.parse(d.createdAt));
        assert.deepEqual(
          times,
          [...times].sort((a, b) => b - a),
          "newest first",
        );

        const email = await log("channel=email");
        assert.ok(email.body.deliveries.length > 0);
        assert.ok(
          email.body.deliveries.every((d: { channel: string }) =>
            d.channel === "email"
          ),
        );
        const inApp = await log("channel=in_app");
        assert.ok(
          inApp.body.deliveries.every((
            d: { channel: string; status: string },
          ) => d.channel === "in_app" && d.status === "delivered"),
        );
        assert.equal(
          email.body.pagination.total + inApp.body.pagination.total,
          everything.body.pagination.total,
        );

        const suppressed = await log("status=suppressed");
        assert.ok(suppressed.body.deliveries.length >= 2);
        assert.ok(
          suppressed.body.deliveries.every((d: { status: string }) =>
            d.status === "suppressed"
          ),
        );
        const reviews = await log("type=new_review");
        assert.ok(reviews.body.deliveries.length >= 2);
        assert.ok(
          reviews.body.deliveries.every((d: { type: string }) =>
            d.type === "new_review"
          ),
        );

        const teachers = await log(`userId=${teacher.user.id}&channel=email`);
        assert.ok(teachers.body.deliveries.length > 0);
        for (const d of teachers.body.deliveries) {
          assert.equal(d.userId, teacher.user.id);
          assert.equal(d.status, "logged", "no SMTP: kept in the outbox");
          assert.equal(d.recipient, teacher.user.email);
          assert.ok(d.outboxId);
          assert.ok(d.notificationId);
        }

        const narrow = await log(
          `userId=${teacher.user.id}&type=new_review&channel=email&status=logged`,
        );
        assert.equal(
          narrow.body.pagination.total,
          1,
          "the review of Reviewed Rigging",
        );

        const page = await api(
          ctx,
          "GET",
          "/api/notifications/log?limit=3&page=2",
          {
            token: admin.token,
          },
        );
        assert.equal(page.body.deliveries.length, 3);
        assert.deepEqual(
          page.body.deliveries.map((d: { id: string }) => d.id),
          everything.body.deliveries.slice(3, 6).map((d: { id: string }) =>
            d.id
          ),
        );

        for (const query of ["channel=sms", "status=lost"]) {
          assert.equal((await log(query)).status, 422, query);
        }
      },
    );

    await t.step(
      "with a real SMTP server, a delivered email logs a `sent` attempt; a refused one logs `retrying` with the error",
      async () => {
        const smtp = await startSmtpServer();
        const mailCtx = await createTestContext({
          SMTP_URL: smtp.url,
          MAIL_FROM: "Lectern <school@lectern.test>",
        });
        try {
          const boss = await learner(mailCtx, "admin");
          const target = await learner(mailCtx);
          const ban = await api(
            mailCtx,
            "POST",
            `/api/admin/users/${target.user.id}/ban`,
            { token: boss.token, body: { reason: "Testing delivery" } },
          );
          assert.equal(ban.status, 200, JSON.stringify(ban.body));
          await mailCtx.deps.background.idle();
          assert.ok(
            smtp.received.some((m) => m.to.includes(target.user.email)),
            "the SMTP server received the ban email",
          );
          const [banned] = await noticesOf(
            mailCtx,
            target.user.id,
            "account_banned",
          );
          assert.ok(banned);
          const sentLog = await api(
            mailCtx,
            "GET",
            `/api/notifications/log?notificationId=${banned.id}&channel=email`,
            { token: boss.token },
          );
          const rows = [...sentLog.body.deliveries].reverse();
          assert.deepEqual(
            rows.map((d: { status: string; attempt: number }) =>
              `${d.status}#${d.attempt}`
            ),
            ["queued#0", "sent#1"],
          );
          for (const row of rows) {
            assert.equal(row.type, "account_banned");
            assert.equal(row.userId, target.user.id);
            assert.equal(row.recipient, target.user.email);
            assert.equal(row.error, null);
          }
          assert.equal(rows[0].outboxId, rows[1].outboxId);
          const sent = await api(
            mailCtx,
            "GET",
            `/api/notifications/log?status=sent&userId=${target.user.id}`,
            { token: boss.token },
          );
          assert.equal(sent.body.pagination.total, 1);

          smtp.failNext(1);
          const unban = await api(
            mailCtx,
            "POST",
            `/api/admin/users/${target.user.id}/unban`,
            { token: boss.token },
          );
          assert.equal(unban.status, 200);
          await mailCtx.deps.background.idle();
          const [restored] = await noticesOf(
            mailCtx,
            target.user.id,
            "account_unbanned",
          );
          assert.ok(restored);
          const retryLog = await api(
            mailCtx,
            "GET",
            `/api/notifications/log?notificationId=${restored.id}&channel=email`,
            { token: boss.token },
          );
          const retry = [...retryLog.body.deliveries].reverse();
          assert.deepEqual(
            retry.map((d: { status: string; attempt: number }) =>
              `${d.status}#${d.attempt}`
            ),
            ["queued#0", "retrying#1"],
          );
          assert.match(retry[1].error, /Mailbox temporarily unavailable/);
          assert.equal(retry[1].type, "account_unbanned");
        } finally {
          await mailCtx.close();
          await smtp.close();
        }
      },
    );
  } finally {
    await ctx.close();
    await stripe.close();
  }
});
