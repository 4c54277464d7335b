import assert from "node:assert/strict";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";
import {
  comment,
  connect,
  noticesOf,
  reply,
  share,
  tinyWav,
  uploadRecording,
} from "./support.ts";

const PRACTICE_TYPES = [
  "submission_shared",
  "submission_comment",
  "comment_reply",
  "progress_record",
  "submission_ready",
];

Deno.test("practice notifications reach the right person", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, { name: "Owner Ona" });
    const friend = await makeUserAndLogin(ctx, { name: "Friend Fritz" });
    const teacher = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Teacher Tove",
    });
    const stranger = await makeUserAndLogin(ctx, { name: "Stranger Stu" });
    await connect(ctx, teacher.token, owner);
    const count = async (token: string, type: string, relatedId: string) =>
      (await noticesOf(ctx, token, type)).filter((n) =>
        n.relatedId === relatedId
      ).length;

    const sent = await uploadRecording(ctx, owner.token, {
      title: "Nocturne",
    }, { bytes: tinyWav(2), name: "nocturne.wav", type: "audio/wav" });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const id = sent.body.video.id as string;

    await t.step(
      "processing done: the owner gets submission_ready",
      async () => {
        await ctx.deps.background.idle();
        const ready = (await noticesOf(ctx, owner.token, "submission_ready"))
          .filter((n) => n.relatedId === id);
        assert.equal(ready.length, 1);
        assert.equal(ready[0]!.title, "Your recording is ready");
        assert.match(ready[0]!.message, /"Nocturne" is ready/);
        assert.equal(ready[0]!.link, `/api/videos/${id}`);
      },
    );

    await t.step(
      "a share: the person shared with gets submission_shared, once",
      async () => {
        await share(ctx, owner.token, id, friend.user.id);
        await share(ctx, owner.token, id, friend.user.id);
        await share(ctx, owner.token, id, teacher.user.id);
        const shared = (await noticesOf(ctx, friend.token, "submission_shared"))
          .filter((n) => n.relatedId === id);
        assert.equal(shared.length, 1, "sharing again tells nobody again");
        assert.match(
          shared[0]!.message,
          /Owner Ona shared "Nocturne" with you/,
        );
        assert.equal(shared[0]!.link, `/api/videos/${id}`);
        assert.equal(await count(teacher.token, "submission_shared", id), 1);
        assert.equal(await count(owner.token, "submission_shared", id), 0);
      },
    );

    let friendsComment = "";
    await t.step("a comment: the owner gets submission_comment", async () => {
      friendsComment = (await comment(ctx, friend.token, id, {
        content: "Lovely rubato",
        timestamp: 1.25,
      })).id;
      const notices = (await noticesOf(ctx, owner.token, "submission_comment"))
        .filter((n) => n.relatedId === id);
      assert.equal(notices.length, 1);
      assert.match(
        notices[0]!.message,
        /Friend Fritz commented on "Nocturne" at 0:01/,
      );
      assert.equal(notices[0]!.link, `/api/videos/${id}/comments`);
      await comment(ctx, owner.token, id, {
        content: "Note to self",
        timestamp: 0,
      });
      assert.equal(
        await count(owner.token, "submission_comment", id),
        1,
        "nobody is told about their own comment",
      );
    });

    await t.step(
      "a reply: the parent's author gets comment_reply",
      async () => {
        await reply(ctx, owner.token, friendsComment, "Thanks!");
        assert.equal(await count(friend.token, "comment_reply", id), 1);
        assert.equal(
          await count(owner.token, "submission_comment", id),
          1,
          "the owner replying is not told",
        );
        const teachersReply = await reply(
          ctx,
          teacher.token,
          friendsComment,
          "Mind the tempo",
        );
        const replies = (await noticesOf(ctx, friend.token, "comment_reply"))
          .filter((n) => n.relatedId === id);
        assert.equal(replies.length, 2);
        assert.ok(
          replies.some((n) =>
            /Teacher Tove replied to your comment/.test(n.message)
          ),
        );
        assert.equal(
          await count(owner.token, "submission_comment", id),
          2,
          "the owner hears of a reply in a thread on their recording",
        );
        // Replying to a reply tells that reply's author.
        await reply(ctx, friend.token, teachersReply.id, "Will do");
        assert.equal(await count(teacher.token, "comment_reply", id), 1);
        assert.equal(
          await count(friend.token, "comment_reply", id),
          2,
          "nobody is told of their own reply",
        );
      },
    );

    await t.step("a score: the learner gets progress_record", async () => {
      const res = await api(ctx, "POST", `/api/videos/${id}/progress-records`, {
        token: teacher.token,
        body: { rating: 4, overallScore: 82 },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const scored = (await noticesOf(ctx, owner.token, "progress_record"))
        .filter((n) => n.relatedId === id);
      assert.equal(scored.length, 1);
      assert.match(scored[0]!.message, /Teacher Tove rated "Nocturne" 4\/5/);
      assert.equal(
        scored[0]!.link,
        `/api/users/${owner.user.id}/progress-records`,
      );
    });

    await t.step(
      "someone with nothing to do with it hears nothing",
      async () => {
        const theirs = (await noticesOf(ctx, stranger.token)).filter((n) =>
          PRACTICE_TYPES.includes(n.type)
        );
        assert.deepEqual(theirs, []);
        assert.equal(await count(teacher.token, "progress_record", id), 0);
      },
    );
    await ctx.deps.background.idle();
  } finally {
    await ctx.close();
  }
});
