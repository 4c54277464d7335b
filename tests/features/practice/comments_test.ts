import assert from "node:assert/strict";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";
import {
  assertFfmpeg,
  comment,
  connect,
  recording,
  reply,
  share,
  tinyWav,
  WITHOUT_FFMPEG,
} from "./support.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Shown {
  id: string;
  parentId: string | null;
  content: string;
  timestamp: number;
  category: string;
  authorId: string;
  author: { id: string; name: string };
  replies: Shown[];
}

Deno.test("practice comments: moments, threads, editing and deleting", async (t) => {
  const ctx = await createTestContext({ MESSAGE_RATE_LIMIT: "100000" });
  try {
    const owner = await makeUserAndLogin(ctx, { name: "Owner Otto" });
    const friend = await makeUserAndLogin(ctx, { name: "Friend Flo" });
    const teacher = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Teacher Tam",
    });
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    await connect(ctx, teacher.token, owner);
    // Exactly one second long, to ffprobe.
    const take = await recording(ctx, owner.token, { title: "One second" }, {
      bytes: tinyWav(1),
      name: "second.wav",
      type: "audio/wav",
    });
    await share(ctx, owner.token, take.id, friend.user.id);
    await share(ctx, owner.token, take.id, teacher.user.id);
    const commentsPath = `/api/videos/${take.id}/comments`;
    const post = (token: string, body: unknown) =>
      api(ctx, "POST", commentsPath, { token, body });
    const list = async (query = "") => {
      const res = await api(ctx, "GET", `${commentsPath}${query}`, {
        token: owner.token,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { comments: Shown[]; total: number };
    };

    await t.step(
      "timestamps: negative, not a number or missing: 422",
      async () => {
        for (const timestamp of [-0.001, -5, "5", null, undefined]) {
          const res = await post(friend.token, { content: "hm", timestamp });
          assert.equal(res.status, 422, `timestamp ${timestamp}`);
          assert.ok(res.body.error.details.fields.timestamp, "names the field");
        }
        assert.equal((await list()).total, 0);
      },
    );

    await t.step({
      name:
        "timestamps: within the known duration only; 0 and the very end are fine",
      ignore: WITHOUT_FFMPEG,
      fn: async () => {
        assertFfmpeg();
        assert.equal(take.status, "ready");
        assert.equal(take.duration, 1);
        const late = await post(friend.token, {
          content: "after",
          timestamp: 1.5,
        });
        assert.equal(late.status, 422);
        assert.match(
          late.body.error.details.fields.timestamp,
          /within the recording/,
        );
        const justPast = await post(friend.token, {
          content: "just after",
          timestamp: 1.002,
        });
        assert.equal(justPast.status, 422);
        const start = await post(friend.token, {
          content: "start",
          timestamp: 0,
        });
        assert.equal(start.status, 201, JSON.stringify(start.body));
        assert.equal(start.body.comment.timestamp, 0);
        const end = await post(friend.token, { content: "end", timestamp: 1 });
        assert.equal(end.status, 201, JSON.stringify(end.body));
        assert.equal(end.body.comment.timestamp, 1);
        const moved = await api(
          ctx,
          "PUT",
          `/api/comments/${end.body.comment.id}`,
          {
            token: friend.token,
            body: { timestamp: 2 },
          },
        );
        assert.equal(moved.status, 422, "an edit cannot move it past the end");
        for (const id of [start.body.comment.id, end.body.comment.id]) {
          const gone = await api(ctx, "DELETE", `/api/comments/${id}`, {
            token: friend.token,
          });
          assert.equal(gone.status, 200);
        }
      },
    });

    await t.step("timestamps keep millisecond precision", async () => {
      const res = await post(friend.token, {
        content: "precise",
        timestamp: 0.12345,
      });
      assert.equal(res.status, 201);
      assert.equal(res.body.comment.timestamp, 0.123);
      const gone = await api(
        ctx,
        "DELETE",
        `/api/comments/${res.body.comment.id}`,
        {
          token: friend.token,
        },
      );
      assert.equal(gone.status, 200);
    });

    const ids: Record<string, string> = {};

    await t.step(
      "threads come in the order of the recording, replies under them",
      async () => {
        ids.late = (await comment(ctx, owner.token, take.id, {
          content: "Rushed ending",
          timestamp: 0.8,
          category: "rhythm",
        })).id;
        ids.early = (await comment(ctx, friend.token, take.id, {
          content: "Nice opening",
          timestamp: 0.2,
        })).id;
        ids.middle = (await comment(ctx, teacher.token, take.id, {
          content: "Watch the wrist",
          timestamp: 0.5,
          category: "technique",
        })).id;
        const first = await reply(
          ctx,
          friend.token,
          ids.late,
          "Agreed, a bit fast",
        );
        assert.equal(first.parentId, ids.late);
        ids.firstReply = first.id;
        // Apart in time, so "oldest first" has one answer.
        await pause(3);
        // A reply to a reply joins the thread.
        const second = await reply(
          ctx,
          teacher.token,
          first.id,
          "Try a metronome",
        );
        assert.equal(second.parentId, ids.late, "replies are one level deep");
        ids.secondReply = second.id;
        await pause(3);
        const third = await reply(ctx, owner.token, second.id, "Will do");
        assert.equal(third.parentId, ids.late);
        ids.thirdReply = third.id;

        const { comments, total } = await list();
        assert.equal(total, 6);
        assert.deepEqual(
          comments.map((c) => c.id),
          [ids.early, ids.middle, ids.late],
        );
        const late = comments[2]!;
        assert.deepEqual(
          late.replies.map((r) => r.id),
          [ids.firstReply, ids.secondReply, ids.thirdReply],
          "oldest reply first",
        );
        for (const r of late.replies) {
          assert.equal(r.parentId, ids.late);
          assert.equal(r.timestamp, 0.8, "a reply sits at its thread's moment");
          assert.equal(r.category, "rhythm", "and in its thread's category");
          assert.deepEqual(r.replies ?? [], []);
        }
        assert.deepEqual(comments[0]!.replies, []);
        assert.equal(comments[0]!.category, "general", "the default category");
        assert.equal(comments[1]!.author.name, "Teacher Tam");
        const shown = await api(ctx, "GET", `/api/videos/${take.id}`, {
          token: owner.token,
        });
        assert.equal(shown.body.video.commentCount, 6);
      },
    );

    await t.step("moving a thread moves its replies with it", async () => {
      const moved = await api(ctx, "PUT", `/api/comments/${ids.late}`, {
        token: owner.token,
        body: { timestamp: 0.1, category: "tone" },
      });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.comment.timestamp, 0.1);
      const { comments } = await list();
      assert.deepEqual(
        comments.map((c) => c.id),
        [ids.late, ids.early, ids.middle],
      );
      for (const r of comments[0]!.replies) {
        assert.equal(r.timestamp, 0.1);
        assert.equal(r.category, "tone");
      }
      const replyMove = await api(
        ctx,
        "PUT",
        `/api/comments/${ids.firstReply}`,
        {
          token: friend.token,
          body: { timestamp: 0.3 },
        },
      );
      assert.equal(replyMove.status, 422, "a reply takes its thread's moment");
    });

    await t.step(
      "filtering by category keeps threads with their replies",
      async () => {
        const tone = await list("?category=tone");
        assert.deepEqual(tone.comments.map((c) => c.id), [ids.late]);
        assert.equal(tone.comments[0]!.replies.length, 3);
        assert.equal(tone.total, 4);
        const technique = await list("?category=technique");
        assert.deepEqual(technique.comments.map((c) => c.id), [ids.middle]);
        const none = await list("?category=praise");
        assert.deepEqual(none.comments, []);
        const bad = await api(ctx, "GET", `${commentsPath}?category=vibes`, {
          token: owner.token,
        });
        assert.equal(bad.status, 422);
      },
    );

    await t.step({
      name:
        "a reply given a category of its own is neither lost nor miscounted by the filter",
      fn: async () => {
        const base = await comment(ctx, owner.token, take.id, {
          content: "Breathing",
          timestamp: 0.05,
          category: "posture",
        });
        const answer = await reply(
          ctx,
          friend.token,
          base.id,
          "Lovely, and relaxed",
        );
        const edited = await api(ctx, "PUT", `/api/comments/${answer.id}`, {
          token: friend.token,
          body: { category: "praise" },
        });
        const shown = (body: { comments: Shown[] }) =>
          body.comments.reduce((n, c) => n + 1 + c.replies.length, 0);
        try {
          for (const category of ["posture", "praise"]) {
            const body = await list(`?category=${category}`);
            assert.equal(body.total, shown(body), `?category=${category}`);
          }
          if (edited.status === 200) {
            const praise = await list("?category=praise");
            assert.ok(
              praise.comments.some((c) =>
                c.id === answer.id || c.replies.some((r) => r.id === answer.id)
              ),
              "a reply filed under praise shows under praise",
            );
          } else {
            assert.equal(
              edited.status,
              422,
              "or its category follows its thread",
            );
          }
        } finally {
          await api(ctx, "DELETE", `/api/comments/${base.id}`, {
            token: owner.token,
          });
        }
      },
    });

    await t.step("categories: one of the known ones, or 422", async () => {
      for (const category of ["vibrato", "", "TECHNIQUE", 3]) {
        const res = await post(friend.token, {
          content: "x",
          timestamp: 0.4,
          category,
        });
        assert.equal(res.status, 422, `category ${category}`);
      }
      const edit = await api(ctx, "PUT", `/api/comments/${ids.early}`, {
        token: friend.token,
        body: { category: "loudness" },
      });
      assert.equal(edit.status, 422);
      const praise = await post(friend.token, {
        content: "Beautiful tone",
        timestamp: 0.4,
        category: "praise",
      });
      assert.equal(praise.status, 201);
      assert.equal(praise.body.comment.category, "praise");
      ids.praise = praise.body.comment.id;
    });

    await t.step("unknown fields and empty content: 422", async () => {
      const extra = await post(friend.token, {
        content: "hi",
        timestamp: 0.1,
        authorId: owner.user.id,
      });
      assert.equal(extra.status, 422);
      for (const content of ["", "   ", "\u0000\u0007", "x".repeat(2001)]) {
        const res = await post(friend.token, { content, timestamp: 0.1 });
        assert.equal(res.status, 422, JSON.stringify(content.slice(0, 10)));
      }
      const emptyReply = await api(
        ctx,
        "POST",
        `/api/comments/${ids.early}/replies`,
        {
          token: owner.token,
          body: { content: " " },
        },
      );
      assert.equal(emptyReply.status, 422);
      const timedReply = await api(
        ctx,
        "POST",
        `/api/comments/${ids.early}/replies`,
        {
          token: owner.token,
          body: { content: "ok", timestamp: 0.9 },
        },
      );
      assert.equal(timedReply.status, 422, "a reply takes no timestamp");
    });

    await t.step(
      "plain text is kept as written, without control characters",
      async () => {
        const markup = `<script>alert("hi")</script> & <b>bold</b> 'quoted'`;
        const res = await post(friend.token, {
          content: markup,
          timestamp: 0.6,
        });
        assert.equal(res.status, 201);
        assert.equal(res.body.comment.content, markup);
        const controlled = await post(friend.token, {
          content: "  bar\u0000 one\u0007\u001b[31m\nbar two\ttabbed\u007f  ",
          timestamp: 0.6,
        });
        assert.equal(controlled.status, 201);
        assert.equal(
          controlled.body.comment.content,
          "bar one[31m\nbar two\ttabbed",
        );
        const listed = (await list()).comments.filter((c) =>
          c.timestamp === 0.6
        );
        assert.deepEqual(
          listed.map((c) => c.content).sort(),
          [markup, "bar one[31m\nbar two\ttabbed"].sort(),
          "stored as returned",
        );
        const edited = await api(
          ctx,
          "PUT",
          `/api/comments/${res.body.comment.id}`,
          {
            token: friend.token,
            body: { content: "<i>still text</i>\u0001" },
          },
        );
        assert.equal(edited.status, 200);
        assert.equal(edited.body.comment.content, "<i>still text</i>");
        const replied = await reply(
          ctx,
          owner.token,
          res.body.comment.id,
          "<img src=x onerror=alert(1)>",
        );
        const thread = (await list()).comments.find((c) =>
          c.id === res.body.comment.id
        )!;
        assert.equal(thread.replies[0]!.id, replied.id);
        assert.equal(
          thread.replies[0]!.content,
          "<img src=x onerror=alert(1)>",
        );
      },
    );

    await t.step("only its author edits a comment", async () => {
      for (const who of [owner, teacher, admin]) {
        const res = await api(ctx, "PUT", `/api/comments/${ids.early}`, {
          token: who.token,
          body: { content: "Not mine to change" },
        });
        assert.equal(res.status, 403, `as ${who.user.name}`);
        assert.equal(res.body.error.code, "NOT_AUTHOR");
      }
      const res = await api(ctx, "PUT", `/api/comments/${ids.early}`, {
        token: friend.token,
        body: { content: "Nice opening, clean attack" },
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.comment.content, "Nice opening, clean attack");
      assert.equal(res.body.comment.timestamp, 0.2, "untouched fields stay");
      assert.ok(
        Date.parse(res.body.comment.updatedAt) >=
          Date.parse(res.body.comment.createdAt),
      );
      const mine = await api(ctx, "PUT", `/api/comments/${ids.firstReply}`, {
        token: friend.token,
        body: { content: "Agreed, much too fast" },
      });
      assert.equal(mine.status, 200, "a reply's author edits it");
      const ownersReply = await api(
        ctx,
        "PUT",
        `/api/comments/${ids.firstReply}`,
        {
          token: owner.token,
          body: { content: "owner rewrite" },
        },
      );
      assert.equal(ownersReply.status, 403);
    });

    await t.step("deleting a reply takes only that reply", async () => {
      const res = await api(ctx, "DELETE", `/api/comments/${ids.secondReply}`, {
        token: teacher.token,
      });
      assert.equal(res.status, 200);
      const thread = (await list()).comments.find((c) => c.id === ids.late)!;
      assert.deepEqual(
        thread.replies.map((r) => r.id),
        [ids.firstReply, ids.thirdReply],
      );
    });

    await t.step(
      "someone else's comment: the teacher 403, owner and admin may",
      async () => {
        const teacherTry = await api(
          ctx,
          "DELETE",
          `/api/comments/${ids.early}`,
          {
            token: teacher.token,
          },
        );
        assert.equal(teacherTry.status, 403);
        const friendTry = await api(
          ctx,
          "DELETE",
          `/api/comments/${ids.middle}`,
          {
            token: friend.token,
          },
        );
        assert.equal(friendTry.status, 403);
        const byAdmin = await api(
          ctx,
          "DELETE",
          `/api/comments/${ids.middle}`,
          {
            token: admin.token,
          },
        );
        assert.equal(byAdmin.status, 200);
        const byOwner = await api(
          ctx,
          "DELETE",
          `/api/comments/${ids.praise}`,
          {
            token: owner.token,
          },
        );
        assert.equal(byOwner.status, 200);
        const remaining = (await list()).comments.map((c) => c.id);
        assert.ok(!remaining.includes(ids.middle!));
        assert.ok(!remaining.includes(ids.praise!));
        assert.ok(remaining.includes(ids.early!));
      },
    );

    await t.step("deleting a thread takes its replies with it", async () => {
      const before = await list();
      const res = await api(ctx, "DELETE", `/api/comments/${ids.late}`, {
        token: owner.token,
      });
      assert.equal(res.status, 200);
      const after = await list();
      assert.ok(!after.comments.some((c) => c.id === ids.late));
      assert.equal(after.total, before.total - 3, "the thread and two replies");
      for (const id of [ids.late, ids.firstReply, ids.thirdReply]) {
        const edit = await api(ctx, "PUT", `/api/comments/${id}`, {
          token: friend.token,
          body: { content: "ghost" },
        });
        assert.equal(edit.status, 404, "gone");
        const replyTo = await api(ctx, "POST", `/api/comments/${id}/replies`, {
          token: friend.token,
          body: { content: "ghost" },
        });
        assert.equal(replyTo.status, 404);
      }
      const again = await api(ctx, "DELETE", `/api/comments/${ids.late}`, {
        token: owner.token,
      });
      assert.equal(again.status, 404);
      const shown = await api(ctx, "GET", `/api/videos/${take.id}`, {
        token: owner.token,
      });
      assert.equal(shown.body.video.commentCount, after.total);
    });

    await t.step("a recording's comments go with it", async () => {
      const doomed = await recording(ctx, owner.token, { title: "Doomed" });
      await share(ctx, owner.token, doomed.id, friend.user.id);
      const c = await comment(ctx, friend.token, doomed.id, {
        content: "soon gone",
        timestamp: 0.1,
      });
      const deleted = await api(ctx, "DELETE", `/api/videos/${doomed.id}`, {
        token: owner.token,
      });
      assert.equal(deleted.status, 200);
      const edit = await api(ctx, "PUT", `/api/comments/${c.id}`, {
        token: friend.token,
        body: { content: "still here?" },
      });
      assert.equal(edit.status, 404);
      const listGone = await api(
        ctx,
        "GET",
        `/api/videos/${doomed.id}/comments`,
        {
          token: owner.token,
        },
      );
      assert.equal(listGone.status, 404);
    });

    await ctx.deps.background.idle();
  } finally {
    await ctx.close();
  }
});

Deno.test("practice comments: MESSAGE_RATE_LIMIT a minute per person", async (t) => {
  const ctx = await createTestContext({ MESSAGE_RATE_LIMIT: "3" });
  try {
    const owner = await makeUserAndLogin(ctx);
    const friend = await makeUserAndLogin(ctx);
    const take = await recording(ctx, owner.token, { title: "Busy" });
    await share(ctx, owner.token, take.id, friend.user.id);
    const path = `/api/videos/${take.id}/comments`;

    await t.step(
      "comments and replies share one budget; past it 429 with Retry-After",
      async () => {
        const first = await comment(ctx, friend.token, take.id, {
          content: "one",
          timestamp: 0.1,
        });
        await comment(ctx, friend.token, take.id, {
          content: "two",
          timestamp: 0.2,
        });
        await reply(ctx, friend.token, first.id, "three");
        const fourth = await api(ctx, "POST", path, {
          token: friend.token,
          body: { content: "four", timestamp: 0.3 },
        });
        assert.equal(fourth.status, 429, JSON.stringify(fourth.body));
        assert.equal(fourth.body.error.code, "RATE_LIMITED");
        const retryAfter = Number(fourth.headers.get("retry-after"));
        assert.ok(
          Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
          `Retry-After: ${fourth.headers.get("retry-after")}`,
        );
        const asReply = await api(
          ctx,
          "POST",
          `/api/comments/${first.id}/replies`,
          {
            token: friend.token,
            body: { content: "five" },
          },
        );
        assert.equal(asReply.status, 429);
        assert.ok(asReply.headers.get("retry-after"));
      },
    );

    await t.step("what was refused was not stored", async () => {
      const res = await api(ctx, "GET", path, { token: owner.token });
      assert.equal(res.status, 200);
      assert.equal(res.body.total, 3);
    });

    await t.step("someone else still has their own budget", async () => {
      const res = await api(ctx, "POST", path, {
        token: owner.token,
        body: { content: "mine", timestamp: 0.4 },
      });
      assert.equal(res.status, 201);
    });
    await ctx.deps.background.idle();
  } finally {
    await ctx.close();
  }
});
