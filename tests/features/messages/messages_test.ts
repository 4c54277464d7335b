import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import {
  messages,
  notifications,
  tutoringSessions,
  type TutoringSessionStatus,
} from "../../../db/schema/mod.ts";
import { newId } from "../../../server/lib/ids.ts";
import { banUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { ADMIN_ACTOR, makeUserAndLogin } from "../../helpers/factories.ts";

type Person = Awaited<ReturnType<typeof makeUserAndLogin>>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(ctx: TestContext, learner: Person, teacher: Person) {
  const asked = await api(ctx, "POST", "/api/relationships/request", {
    token: learner.token,
    body: { userId: teacher.user.id },
  });
  assert.equal(asked.status, 201, JSON.stringify(asked.body));
  const id: string = asked.body.relationship.id;
  const accepted = await api(ctx, "PUT", `/api/relationships/${id}/accept`, {
    token: teacher.token,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  return id;
}

async function session(
  ctx: TestContext,
  instructor: Person,
  learner: Person,
  status: TutoringSessionStatus,
) {
  const now = new Date();
  const startsAt = new Date(now.getTime() + 3 * 86_400_000);
  await ctx.deps.db.insert(tutoringSessions).values({
    id: newId(),
    instructorId: instructor.user.id,
    learnerId: learner.user.id,
    startsAt,
    endsAt: new Date(startsAt.getTime() + 3_600_000),
    topic: "Scales",
    status,
    access: "paid",
    price: 5000,
    currency: "usd",
    holdExpiresAt: status === "pending_payment"
      ? new Date(now.getTime() + 900_000)
      : null,
    createdAt: now,
    updatedAt: now,
  });
}

function send(ctx: TestContext, from: Person, to: string, body: unknown) {
  return api(ctx, "POST", `/api/messages/${to}`, { token: from.token, body });
}

async function messageNotices(ctx: TestContext, userId: string) {
  return await ctx.deps.db.select().from(notifications).where(and(
    eq(notifications.userId, userId),
    eq(notifications.type, "new_message"),
  ));
}

Deno.test("direct messages between teachers and learners", async (t) => {
  const ctx = await createTestContext();
  try {
    const lia = await makeUserAndLogin(ctx, { name: "Lia Learner" });
    const ian = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Ian Instructor",
    });
    const sam = await makeUserAndLogin(ctx, { name: "Sam Stranger" });
    const tia = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Tia Tutor",
    });
    const kim = await makeUserAndLogin(ctx, { name: "Kim Booked" });
    const pat = await makeUserAndLogin(ctx, { name: "Pat Pending" });
    const bea = await makeUserAndLogin(ctx, { name: "Bea Banned" });
    const liaIan = await connect(ctx, lia, ian);
    await connect(ctx, bea, ian);
    await banUser(ctx.deps, ADMIN_ACTOR, bea.user.id, "Spam");

    await t.step(
      "without an active relationship or session: 403 NOT_CONNECTED",
      async () => {
        for (
          const [from, to] of [[sam, ian], [ian, sam], [lia, sam], [
            lia,
            tia,
          ]] as const
        ) {
          const res = await send(ctx, from, to.user.id, { content: "Hello" });
          assert.equal(
            res.status,
            403,
            `${from.user.name}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.error.code, "NOT_CONNECTED");
        }
        // A pending request is not enough.
        const asked = await api(ctx, "POST", "/api/relationships/request", {
          token: sam.token,
          body: { userId: ian.user.id },
        });
        assert.equal(asked.status, 201);
        const pending = await send(ctx, sam, ian.user.id, { content: "Hi?" });
        assert.equal(pending.status, 403);
        assert.equal(pending.body.error.code, "NOT_CONNECTED");
        const stored = await ctx.deps.db.select().from(messages).where(
          eq(messages.senderId, sam.user.id),
        );
        assert.equal(stored.length, 0);
      },
    );

    await t.step("yourself, unknown and banned people", async () => {
      const self = await send(ctx, lia, lia.user.id, { content: "Me" });
      assert.equal(self.status, 404, JSON.stringify(self.body));
      const selfRead = await api(ctx, "GET", `/api/messages/${lia.user.id}`, {
        token: lia.token,
      });
      assert.equal(selfRead.status, 404);
      const unknown = await send(ctx, lia, "01HZZZZZZZZZZZZZZZZZZZZZZZ", {
        content: "Anyone?",
      });
      assert.equal(unknown.status, 404);
      const banned = await send(ctx, ian, bea.user.id, {
        content: "Still there?",
      });
      assert.equal(banned.status, 403, JSON.stringify(banned.body));
      assert.equal(banned.body.error.code, "RECIPIENT_UNAVAILABLE");
    });

    await t.step(
      "POST validation: 422 for empty, too long, unknown fields",
      async () => {
        const cases: [unknown, string][] = [
          [{}, "content"],
          [{ content: "" }, "content"],
          [{ content: "   \n  " }, "content"],
          [{ content: "\u0007\u0000" }, "content"],
          [{ content: 42 }, "content"],
          [{ content: "x".repeat(5001) }, "content"],
          [{ content: "Hi", urgent: true }, "urgent"],
        ];
        for (const [body, field] of cases) {
          const res = await send(ctx, lia, ian.user.id, body);
          const label = JSON.stringify(body).slice(0, 60);
          assert.equal(
            res.status,
            422,
            `${label}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.ok(
            field in res.body.error.details.fields,
            `${label}: ${JSON.stringify(res.body.error.details)}`,
          );
        }
        const notJson = await api(ctx, "POST", `/api/messages/${ian.user.id}`, {
          token: lia.token,
          body: "content=hi",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(notJson.status, 415, JSON.stringify(notJson.body));
        const badJson = await send(ctx, lia, ian.user.id, "{content:");
        assert.equal(badJson.status, 400, JSON.stringify(badJson.body));
        const stored = await ctx.deps.db.select().from(messages).where(
          eq(messages.senderId, lia.user.id),
        );
        assert.equal(stored.length, 0, "nothing was stored");
      },
    );

    const sent: { id: string; content: string; from: Person }[] = [];
    await t.step(
      "an active relationship allows both ways; text is kept as written, control characters stripped",
      async () => {
        const html = '<b>Hello</b> & <script>alert("x")</script> 5 < 6';
        const first = await send(ctx, lia, ian.user.id, { content: html });
        assert.equal(first.status, 201, JSON.stringify(first.body));
        assert.equal(first.body.success, true);
        assert.equal(first.body.message.content, html);
        assert.equal(first.body.message.senderId, lia.user.id);
        assert.equal(first.body.message.recipientId, ian.user.id);
        assert.equal(first.body.message.readAt, null);
        sent.push({ id: first.body.message.id, content: html, from: lia });
        await pause(2);

        const second = await send(ctx, lia, ian.user.id, {
          content: "  Line one\n\tline\u0000 two\u0007\u001b\u007f  ",
        });
        assert.equal(second.status, 201, JSON.stringify(second.body));
        assert.equal(second.body.message.content, "Line one\n\tline two");
        const [row] = await ctx.deps.db.select().from(messages).where(
          eq(messages.id, second.body.message.id),
        );
        assert.equal(row!.body, "Line one\n\tline two", "stored as returned");
        sent.push({
          id: second.body.message.id,
          content: row!.body,
          from: lia,
        });
        await pause(2);

        const longest = "y".repeat(5000);
        for (const content of ["Welcome!", "See you Monday", longest]) {
          const res = await send(ctx, ian, lia.user.id, { content });
          assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 300));
          sent.push({ id: res.body.message.id, content, from: ian });
          await pause(2);
        }
      },
    );

    await t.step(
      "the recipient is notified once for a burst, again once they have read or after 15 minutes",
      async () => {
        const toIan = await messageNotices(ctx, ian.user.id);
        assert.equal(
          toIan.length,
          1,
          "two messages from Lia, one notification",
        );
        assert.equal(toIan[0]!.relatedId, sent[0]!.id);
        assert.match(toIan[0]!.title, /Lia Learner/);
        assert.equal(toIan[0]!.link, `/api/messages/${lia.user.id}`);
        const opened = await api(ctx, "GET", toIan[0]!.link!, {
          token: ian.token,
        });
        assert.equal(opened.status, 200, "the link opens the conversation");
        assert.equal(opened.body.with.id, lia.user.id);
        const toLia = await messageNotices(ctx, lia.user.id);
        assert.equal(
          toLia.length,
          1,
          "three messages from Ian, one notification",
        );
        assert.equal(toLia[0]!.relatedId, sent[2]!.id);
        assert.ok(toLia.every((n) => n.message.length <= 140));
        assert.equal(
          (await messageNotices(ctx, sam.user.id)).length,
          0,
          "refused messages notify no one",
        );

        // Lia's unread messages to Ian are backdated past the quiet period: the next one notifies.
        await ctx.deps.db.update(messages).set({
          createdAt: new Date(Date.now() - 16 * 60_000),
        }).where(eq(messages.senderId, lia.user.id));
        const later = await send(ctx, lia, ian.user.id, {
          content: "Still there?",
        });
        assert.equal(later.status, 201);
        sent.push({
          id: later.body.message.id,
          content: "Still there?",
          from: lia,
        });
        await pause(2);
        assert.equal((await messageNotices(ctx, ian.user.id)).length, 2);
        const burst = await send(ctx, lia, ian.user.id, { content: "Hello??" });
        assert.equal(burst.status, 201);
        sent.push({ id: burst.body.message.id, content: "Hello??", from: lia });
        await pause(2);
        assert.equal((await messageNotices(ctx, ian.user.id)).length, 2);
      },
    );

    await t.step(
      "a conversation reads newest first with the unread count; PUT read marks only incoming ones",
      async () => {
        const read = (who: Person, other: Person, query = "") =>
          api(ctx, "GET", `/api/messages/${other.user.id}${query}`, {
            token: who.token,
          });
        const ians = await read(ian, lia);
        assert.equal(ians.status, 200, JSON.stringify(ians.body).slice(0, 300));
        assert.deepEqual(ians.body.with, {
          id: lia.user.id,
          name: "Lia Learner",
          avatar: null,
        });
        // Sent in this order, 2 ms apart (the two backdated ones were the first).
        const expectedOrder = sent.map((m) => m.id).reverse();
        assert.deepEqual(
          ians.body.messages.map((m: { id: string }) => m.id),
          expectedOrder,
        );
        const times = ians.body.messages.map((m: { createdAt: string }) =>
          m.createdAt
        );
        assert.deepEqual(times, [...times].sort().reverse(), "newest first");
        assert.equal(ians.body.unreadCount, 4, "Lia's four to Ian");
        assert.equal(ians.body.pagination.total, 7);
        const lias = await read(lia, ian);
        assert.equal(lias.body.unreadCount, 3, "Ian's three to Lia");

        const page = await read(ian, lia, "?limit=2&page=2");
        assert.deepEqual(
          page.body.messages.map((m: { id: string }) => m.id),
          expectedOrder.slice(2, 4),
        );
        assert.equal(page.body.pagination.totalPages, 4);
        assert.match(page.headers.get("link") ?? "", /rel="next"/);

        const marked = await api(
          ctx,
          "PUT",
          `/api/messages/${lia.user.id}/read`,
          {
            token: ian.token,
          },
        );
        assert.equal(marked.status, 200, JSON.stringify(marked.body));
        assert.equal(marked.body.marked, 4);
        const after = await read(ian, lia);
        assert.equal(after.body.unreadCount, 0);
        for (const message of after.body.messages) {
          if (message.senderId === lia.user.id) {
            assert.ok(message.readAt, `${message.id} read`);
          } else {
            assert.equal(message.readAt, null, "Ian's own stay unread by Lia");
          }
        }
        assert.equal((await read(lia, ian)).body.unreadCount, 3);
        const again = await api(
          ctx,
          "PUT",
          `/api/messages/${lia.user.id}/read`,
          {
            token: ian.token,
          },
        );
        assert.equal(again.body.marked, 0);
        const selfRead = await api(
          ctx,
          "PUT",
          `/api/messages/${ian.user.id}/read`,
          {
            token: ian.token,
          },
        );
        assert.equal(selfRead.status, 404);

        // Once read, the next message notifies again.
        const before = (await messageNotices(ctx, ian.user.id)).length;
        const next = await send(ctx, lia, ian.user.id, { content: "Thanks!" });
        assert.equal(next.status, 201);
        sent.push({ id: next.body.message.id, content: "Thanks!", from: lia });
        await pause(2);
        assert.equal(
          (await messageNotices(ctx, ian.user.id)).length,
          before + 1,
        );
      },
    );

    await t.step(
      "a shared tutoring session allows messaging unless it is still pending payment",
      async () => {
        await session(ctx, tia, kim, "booked");
        await session(ctx, tia, pat, "pending_payment");
        const fromKim = await send(ctx, kim, tia.user.id, {
          content: "About Friday",
        });
        assert.equal(fromKim.status, 201, JSON.stringify(fromKim.body));
        const fromTia = await send(ctx, tia, kim.user.id, {
          content: "See you",
        });
        assert.equal(fromTia.status, 201, JSON.stringify(fromTia.body));
        await pause(2);
        for (const [from, to] of [[pat, tia], [tia, pat]] as const) {
          const res = await send(ctx, from, to.user.id, { content: "Hi" });
          assert.equal(res.status, 403, JSON.stringify(res.body));
          assert.equal(res.body.error.code, "NOT_CONNECTED");
        }
        // Lia too, once she books Tia.
        await session(ctx, tia, lia, "completed");
        const liaTia = await send(ctx, lia, tia.user.id, {
          content: "Thank you",
        });
        assert.equal(liaTia.status, 201, JSON.stringify(liaTia.body));
        await pause(2);
        const tiaLia = await send(ctx, tia, lia.user.id, {
          content: "Anytime",
        });
        assert.equal(tiaLia.status, 201);
        await pause(2);
      },
    );

    await t.step(
      "GET /api/messages: conversations newest first, last message, unread counts and a total",
      async () => {
        const res = await api(ctx, "GET", "/api/messages", {
          token: lia.token,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
        assert.equal(res.body.success, true);
        const lines = res.body.conversations;
        assert.deepEqual(
          lines.map((c: { with: { name: string } }) => c.with.name),
          ["Tia Tutor", "Ian Instructor"],
        );
        assert.equal(lines[0].lastMessage.content, "Anytime");
        assert.equal(lines[0].lastMessage.senderId, tia.user.id);
        assert.equal(lines[0].unreadCount, 1);
        assert.equal(lines[1].lastMessage.content, "Thanks!");
        assert.equal(lines[1].unreadCount, 3);
        assert.equal(res.body.unreadCount, 4);
        assert.equal(res.body.pagination.total, 2);

        const paged = await api(ctx, "GET", "/api/messages?limit=1&page=2", {
          token: lia.token,
        });
        assert.equal(paged.body.conversations.length, 1);
        assert.equal(paged.body.conversations[0].with.id, ian.user.id);
        assert.equal(paged.body.unreadCount, 4, "the total covers every page");

        const ians = await api(ctx, "GET", "/api/messages", {
          token: ian.token,
        });
        assert.equal(ians.body.conversations.length, 1);
        assert.equal(ians.body.conversations[0].with.id, lia.user.id);
        assert.equal(ians.body.conversations[0].unreadCount, 1);
        assert.equal(ians.body.unreadCount, 1);

        const marked = await api(
          ctx,
          "PUT",
          `/api/messages/${ian.user.id}/read`,
          {
            token: lia.token,
          },
        );
        assert.equal(marked.body.marked, 3);
        const after = await api(ctx, "GET", "/api/messages", {
          token: lia.token,
        });
        assert.equal(after.body.unreadCount, 1);
        assert.equal(after.body.conversations[1].unreadCount, 0);

        const sams = await api(ctx, "GET", "/api/messages", {
          token: sam.token,
        });
        assert.deepEqual(sams.body.conversations, []);
        assert.equal(sams.body.unreadCount, 0);
        assert.equal((await api(ctx, "GET", "/api/messages")).status, 401);
      },
    );

    await t.step(
      "after the relationship is removed: 403 NOT_CONNECTED both ways",
      async () => {
        const removed = await api(
          ctx,
          "DELETE",
          `/api/relationships/${liaIan}`,
          {
            token: ian.token,
          },
        );
        assert.equal(removed.status, 200);
        for (const [from, to] of [[lia, ian], [ian, lia]] as const) {
          const res = await send(ctx, from, to.user.id, { content: "Bye" });
          assert.equal(res.status, 403, JSON.stringify(res.body));
          assert.equal(res.body.error.code, "NOT_CONNECTED");
        }
      },
    );
  } finally {
    await ctx.close();
  }
});
