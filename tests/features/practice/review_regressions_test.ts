import assert from "node:assert/strict";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";
import {
  comment,
  connect,
  noticesOf,
  recording,
  reply,
  share,
} from "./support.ts";

Deno.test("practice: what a review found loose", async (t) => {
  const ctx = await createTestContext();
  try {
    const student = await makeUserAndLogin(ctx, { name: "Stu" });
    const teacherA = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Anna",
    });
    const teacherB = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Bert",
    });
    await connect(ctx, teacherA.token, student);
    await connect(ctx, teacherB.token, student);
    const forA = await recording(ctx, student.token, { title: "For Anna" });
    const forB = await recording(ctx, student.token, { title: "For Bert" });
    await share(ctx, student.token, forA.id, teacherA.user.id);
    await share(ctx, student.token, forB.id, teacherB.user.id);
    for (
      const [teacher, video, notes] of [
        [teacherA, forA, "private to Anna's lesson"],
        [teacherB, forB, "Bert's note"],
      ] as const
    ) {
      const res = await api(
        ctx,
        "POST",
        `/api/videos/${video.id}/progress-records`,
        {
          token: teacher.token,
          body: { rating: 4, notes },
        },
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }

    await t.step(
      "a teacher sees the scores of recordings shared with them only; the learner sees all",
      async () => {
        const path = `/api/users/${student.user.id}/progress-records`;
        const asB = await api(ctx, "GET", path, { token: teacherB.token });
        assert.equal(asB.status, 200);
        assert.deepEqual(
          asB.body.records.map((r: { notes: string }) => r.notes),
          ["Bert's note"],
        );
        assert.equal(asB.body.pagination.total, 1);
        const own = await api(ctx, "GET", path, { token: student.token });
        assert.equal(own.body.pagination.total, 2);
      },
    );

    await t.step(
      "someone who lost access is not told about replies any more",
      async () => {
        const peer = await makeUserAndLogin(ctx, { name: "Pia" });
        await share(ctx, student.token, forA.id, peer.user.id);
        const first = await comment(ctx, peer.token, forA.id, {
          content: "Nice phrasing",
          timestamp: 0,
        });
        await reply(ctx, student.token, first.id, "Thanks!");
        assert.equal(
          (await noticesOf(ctx, peer.token, "comment_reply")).length,
          1,
        );
        const unshared = await api(
          ctx,
          "DELETE",
          `/api/videos/${forA.id}/share/${peer.user.id}`,
          { token: student.token },
        );
        assert.equal(unshared.status, 200);
        await reply(ctx, teacherA.token, first.id, "Agreed");
        assert.equal(
          (await noticesOf(ctx, peer.token, "comment_reply")).length,
          1,
        );
      },
    );
  } finally {
    await ctx.close();
  }
});
