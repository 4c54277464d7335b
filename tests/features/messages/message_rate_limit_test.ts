import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import {
  media,
  messages,
  practiceSubmissions,
} from "../../../db/schema/mod.ts";
import { newId } from "../../../server/lib/ids.ts";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";

type Person = Awaited<ReturnType<typeof makeUserAndLogin>>;

Deno.test("messages share the per-person MESSAGE_RATE_LIMIT budget", async (t) => {
  const ctx = await createTestContext({ MESSAGE_RATE_LIMIT: "3" });
  try {
    const ian = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Ian Instructor",
    });
    const learners: Person[] = [];
    for (const name of ["Lia Learner", "Max Learner", "Cora Commenter"]) {
      const learner = await makeUserAndLogin(ctx, { name });
      const invite = await api(ctx, "POST", "/api/relationships/request", {
        token: ian.token,
        body: { userId: learner.user.id },
      });
      assert.equal(invite.status, 201, JSON.stringify(invite.body));
      const accepted = await api(
        ctx,
        "PUT",
        `/api/relationships/${invite.body.relationship.id}/accept`,
        { token: learner.token },
      );
      assert.equal(accepted.status, 200);
      learners.push(learner);
    }
    const [lia, max, cora] = learners as [Person, Person, Person];
    const stranger = await makeUserAndLogin(ctx, { name: "Sam Stranger" });
    const send = (from: Person, to: Person, content: string) =>
      api(ctx, "POST", `/api/messages/${to.user.id}`, {
        token: from.token,
        body: { content },
      });

    await t.step(
      "the fourth message in a minute is 429 with Retry-After; nothing is stored",
      async () => {
        for (let i = 1; i <= 3; i++) {
          const res = await send(lia, ian, `Message ${i}`);
          assert.equal(
            res.status,
            201,
            `message ${i}: ${JSON.stringify(res.body)}`,
          );
        }
        const refused = await send(lia, ian, "Message 4");
        assert.equal(refused.status, 429, JSON.stringify(refused.body));
        assert.equal(refused.body.error.code, "RATE_LIMITED");
        const retryAfter = Number(refused.headers.get("retry-after"));
        assert.ok(
          Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
          `Retry-After ${refused.headers.get("retry-after")}`,
        );
        assert.equal(refused.body.error.details.retryAfter, retryAfter);
        const stored = await ctx.deps.db.select().from(messages).where(
          eq(messages.senderId, lia.user.id),
        );
        assert.equal(stored.length, 3);
      },
    );

    await t.step(
      "the budget is per person: the others still send",
      async () => {
        const reply = await send(ian, lia, "Slow down");
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
        const other = await send(max, ian, "Hello");
        assert.equal(other.status, 201, JSON.stringify(other.body));
      },
    );

    await t.step(
      "refused and invalid messages do not spend it",
      async () => {
        for (let i = 0; i < 4; i++) {
          const refused = await send(max, stranger, "Hi");
          assert.equal(refused.status, 403);
          const invalid = await send(max, ian, "");
          assert.equal(invalid.status, 422);
        }
        assert.equal((await send(max, ian, "Second")).status, 201);
        assert.equal((await send(max, ian, "Third")).status, 201);
        assert.equal((await send(max, ian, "Fourth")).status, 429);
      },
    );

    await t.step(
      "comments on a practice recording and messages draw on the same budget",
      async () => {
        const now = new Date();
        const mediaId = newId();
        await ctx.deps.db.insert(media).values({
          id: mediaId,
          ownerId: cora.user.id,
          kind: "audio",
          mime: "audio/mpeg",
          sizeBytes: 1000,
          sha256: "0".repeat(64),
          storageKey: `test/${mediaId}.mp3`,
          visibility: "private",
          createdAt: now,
        });
        const submissionId = newId();
        await ctx.deps.db.insert(practiceSubmissions).values({
          id: submissionId,
          ownerId: cora.user.id,
          mediaId,
          title: "Etude",
          status: "ready",
          durationSeconds: 120,
          createdAt: now,
          updatedAt: now,
        });
        for (const timestamp of [5, 10]) {
          const comment = await api(
            ctx,
            "POST",
            `/api/videos/${submissionId}/comments`,
            { token: cora.token, body: { content: "Rushed here", timestamp } },
          );
          assert.equal(comment.status, 201, JSON.stringify(comment.body));
        }
        assert.equal((await send(cora, ian, "One left")).status, 201);
        const refused = await send(cora, ian, "Over budget");
        assert.equal(refused.status, 429, JSON.stringify(refused.body));
        const comment = await api(
          ctx,
          "POST",
          `/api/videos/${submissionId}/comments`,
          { token: cora.token, body: { content: "Again", timestamp: 20 } },
        );
        assert.equal(comment.status, 429, JSON.stringify(comment.body));
      },
    );
  } finally {
    await ctx.close();
  }
});
