import assert from "node:assert/strict";
import { api, createTestContext } from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";
import { connect, recording, share } from "./support.ts";

interface Scores {
  rating: number;
  techniqueScore?: number;
  musicalityScore?: number;
  rhythmScore?: number;
  overallScore?: number;
  notes?: string;
}

/** The mean of the given values, to one decimal as the API rounds it; null when there are none. */
function mean(values: (number | undefined)[]): number | null {
  const present = values.filter((v): v is number => v !== undefined);
  if (present.length === 0) return null;
  const avg = present.reduce((a, b) => a + b, 0) / present.length;
  return Math.round(avg * 10) / 10;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("practice progress records: scores, history, and the end of teaching", async (t) => {
  const ctx = await createTestContext();
  try {
    const student = await makeUserAndLogin(ctx, { name: "Student Sol" });
    const teacher = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Teacher Tia",
    });
    const other = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Teacher Ugo",
    });
    const relationshipId = await connect(ctx, teacher.token, student);
    await connect(ctx, other.token, student);
    const first = await recording(ctx, student.token, {
      title: "Week one",
      pieceName: "Minuet in G",
    });
    const second = await recording(ctx, student.token, { title: "Week two" });
    for (const video of [first, second]) {
      await share(ctx, student.token, video.id, teacher.user.id);
      await share(ctx, student.token, video.id, other.user.id);
    }
    const score = (token: string, videoId: string, body: unknown) =>
      api(ctx, "POST", `/api/videos/${videoId}/progress-records`, {
        token,
        body,
      });
    const history = async (token: string, query = "") => {
      const res = await api(
        ctx,
        "GET",
        `/api/users/${student.user.id}/progress-records${query}`,
        { token },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };

    const invalid: [string, unknown][] = [
      ["no rating", { techniqueScore: 50 }],
      ["rating 0", { rating: 0 }],
      ["rating 6", { rating: 6 }],
      ["rating 3.5", { rating: 3.5 }],
      ["rating as text", { rating: "4" }],
      ["rating null", { rating: null }],
      ["technique 0", { rating: 3, techniqueScore: 0 }],
      ["musicality 101", { rating: 3, musicalityScore: 101 }],
      ["rhythm 50.5", { rating: 3, rhythmScore: 50.5 }],
      ["overall -1", { rating: 3, overallScore: -1 }],
      ["overall as text", { rating: 3, overallScore: "90" }],
      ["notes too long", { rating: 3, notes: "x".repeat(5001) }],
      ["an unknown field", { rating: 3, studentId: teacher.user.id }],
    ];
    for (const [name, body] of invalid) {
      await t.step(`${name}: 422`, async () => {
        const res = await score(teacher.token, first.id, body);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "VALIDATION_FAILED");
      });
    }

    await t.step("nothing invalid was recorded", async () => {
      const body = await history(student.token);
      assert.deepEqual(body.records, []);
      assert.equal(body.pagination.total, 0);
      assert.deepEqual(body.summary, {
        averageRating: null,
        averageTechnique: null,
        averageMusicality: null,
        averageRhythm: null,
        averageOverall: null,
      });
    });

    // Scored in this order; the history shows them newest first.
    const given: { by: typeof teacher; video: string; scores: Scores }[] = [
      {
        by: teacher,
        video: first.id,
        scores: { rating: 1, techniqueScore: 1, notes: "  Slow down  " },
      },
      {
        by: teacher,
        video: first.id,
        scores: {
          rating: 5,
          techniqueScore: 100,
          musicalityScore: 100,
          overallScore: 100,
        },
      },
      {
        by: other,
        video: second.id,
        scores: { rating: 4, techniqueScore: 72, musicalityScore: 65 },
      },
      {
        by: teacher,
        video: second.id,
        scores: { rating: 3, techniqueScore: 60, overallScore: 77 },
      },
    ];
    const created: string[] = [];

    await t.step(
      "the edges are accepted: rating 1 and 5, scores 1 and 100",
      async () => {
        for (const { by, video, scores } of given) {
          // Apart in time, so "newest first" has one answer.
          await pause(3);
          const res = await score(by.token, video, scores);
          assert.equal(res.status, 201, JSON.stringify(res.body));
          const record = res.body.record;
          assert.equal(record.studentId, student.user.id);
          assert.equal(record.teacherId, by.user.id);
          assert.equal(record.videoId, video);
          assert.equal(record.rating, scores.rating);
          assert.equal(record.techniqueScore, scores.techniqueScore ?? null);
          assert.equal(record.rhythmScore, null);
          created.push(record.id);
        }
        await pause(3);
        assert.equal(
          (await score(teacher.token, first.id, { rating: 2, notes: "" }))
            .status,
          201,
          "empty notes are fine",
        );
        created.push("(empty notes)");
      },
    );

    await t.step("notes are plain text, trimmed", async () => {
      const body = await history(student.token, "?limit=100");
      const slow = body.records.find((r: { id: string }) =>
        r.id === created[0]
      );
      assert.equal(slow.notes, "Slow down");
    });

    await t.step("history: newest first, with who scored what", async () => {
      const body = await history(student.token, "?limit=100");
      const ids = body.records.map((r: { id: string }) => r.id);
      assert.equal(ids.length, 5);
      assert.deepEqual(ids.slice(1), created.slice(0, 4).reverse());
      const [, latest] = body.records;
      assert.deepEqual(latest.teacher, {
        id: teacher.user.id,
        name: "Teacher Tia",
      });
      assert.deepEqual(latest.video, {
        id: second.id,
        title: "Week two",
        pieceName: null,
      });
      const oldest = body.records.at(-1);
      assert.equal(oldest.video.pieceName, "Minuet in G");
      assert.equal(body.pagination.total, 5);
    });

    await t.step(
      "summary: averages over every record, null where nothing was scored",
      async () => {
        const all = [...given.map((g) => g.scores), { rating: 2 } as Scores];
        const body = await history(teacher.token, "?limit=2");
        assert.equal(body.records.length, 2, "a page of two");
        assert.equal(body.pagination.total, 5);
        assert.deepEqual(body.summary, {
          averageRating: mean(all.map((s) => s.rating)),
          averageTechnique: mean(all.map((s) => s.techniqueScore)),
          averageMusicality: mean(all.map((s) => s.musicalityScore)),
          averageRhythm: null,
          averageOverall: mean(all.map((s) => s.overallScore)),
        });
        assert.equal(body.summary.averageRating, 3);
        assert.equal(body.summary.averageTechnique, 58.3);
      },
    );

    await t.step(
      "?videoId= narrows the history and its averages to one recording",
      async () => {
        const body = await history(student.token, `?videoId=${second.id}`);
        assert.equal(body.records.length, 2);
        for (const r of body.records) assert.equal(r.videoId, second.id);
        assert.equal(body.summary.averageRating, 3.5);
        assert.equal(body.summary.averageTechnique, 66);
        assert.equal(body.summary.averageOverall, 77);
      },
    );

    await t.step(
      "both teachers and admins read it; others do not",
      async () => {
        assert.equal((await history(other.token)).pagination.total, 5);
        const admin = await makeUserAndLogin(ctx, { role: "admin" });
        assert.equal((await history(admin.token)).pagination.total, 5);
        const classmate = await makeUserAndLogin(ctx);
        await share(ctx, student.token, first.id, classmate.user.id);
        const res = await api(
          ctx,
          "GET",
          `/api/users/${student.user.id}/progress-records`,
          { token: classmate.token },
        );
        assert.equal(res.status, 404, "a share is not a teacher's view");
        const scoring = await score(classmate.token, first.id, { rating: 5 });
        assert.equal(scoring.status, 403);
        assert.equal(scoring.body.error.code, "NOT_THEIR_TEACHER");
      },
    );

    await t.step(
      "ending the relationship stops the teacher scoring and viewing",
      async () => {
        const ended = await api(
          ctx,
          "DELETE",
          `/api/relationships/${relationshipId}`,
          {
            token: student.token,
          },
        );
        assert.equal(ended.status, 200, JSON.stringify(ended.body));
        assert.equal(ended.body.relationship.status, "removed");
        for (const video of [first, second]) {
          const seen = await api(ctx, "GET", `/api/videos/${video.id}`, {
            token: teacher.token,
          });
          assert.equal(seen.status, 404, "the shares to them were revoked");
          const scored = await score(teacher.token, video.id, { rating: 4 });
          assert.equal(scored.status, 404);
          const comments = await api(
            ctx,
            "GET",
            `/api/videos/${video.id}/comments`,
            {
              token: teacher.token,
            },
          );
          assert.equal(comments.status, 404);
        }
        const sharedList = await api(ctx, "GET", "/api/videos/shared", {
          token: teacher.token,
        });
        assert.deepEqual(sharedList.body.videos, []);
        const res = await api(
          ctx,
          "GET",
          `/api/users/${student.user.id}/progress-records`,
          { token: teacher.token },
        );
        assert.equal(res.status, 404);
        const owned = await api(ctx, "GET", `/api/videos/${first.id}`, {
          token: student.token,
        });
        assert.ok(
          !owned.body.video.sharedWith.some((s: { id: string }) =>
            s.id === teacher.user.id
          ),
          "the owner sees the share is gone",
        );
      },
    );

    await t.step(
      "what they scored stays in the learner's history; the other teacher is untouched",
      async () => {
        const body = await history(student.token, "?limit=100");
        assert.equal(body.pagination.total, 5);
        const seen = await api(ctx, "GET", `/api/videos/${first.id}`, {
          token: other.token,
        });
        assert.equal(seen.status, 200);
        assert.equal(seen.body.video.access.role, "teacher");
        assert.equal(
          (await score(other.token, first.id, { rating: 5 })).status,
          201,
        );
      },
    );

    await t.step(
      "a removed teacher who can still see a public recording cannot score it",
      async () => {
        const open = await recording(ctx, student.token, {
          title: "Open rehearsal",
          isPublic: "true",
        });
        const seen = await api(ctx, "GET", `/api/videos/${open.id}`, {
          token: teacher.token,
        });
        assert.equal(seen.status, 200);
        assert.equal(seen.body.video.access.canScore, false);
        const res = await score(teacher.token, open.id, { rating: 5 });
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, "NOT_THEIR_TEACHER");
      },
    );

    await t.step(
      "sharing again after reconnecting restores scoring",
      async () => {
        await connect(ctx, teacher.token, student);
        const before = await api(ctx, "GET", `/api/videos/${first.id}`, {
          token: teacher.token,
        });
        assert.equal(
          before.status,
          404,
          "reconnecting does not bring shares back",
        );
        await share(ctx, student.token, first.id, teacher.user.id);
        assert.equal(
          (await score(teacher.token, first.id, { rating: 4 })).status,
          201,
        );
      },
    );

    await t.step(
      "a deleted recording's scores leave the history and the averages",
      async () => {
        const before = await history(student.token, "?limit=100");
        const onSecond = before.records.filter((r: { videoId: string }) =>
          r.videoId === second.id
        ).length;
        assert.ok(onSecond > 0);
        const deleted = await api(ctx, "DELETE", `/api/videos/${second.id}`, {
          token: student.token,
        });
        assert.equal(deleted.status, 200);
        const after = await history(student.token, "?limit=100");
        assert.equal(
          after.pagination.total,
          before.pagination.total - onSecond,
        );
        assert.equal(after.records.length, after.pagination.total);
        const ratings = after.records.map((r: { rating: number }) =>
          r.rating
        );
        assert.equal(
          after.summary.averageRating,
          mean(ratings),
          "the averages are over what is listed",
        );
      },
    );
    await ctx.deps.background.idle();
  } finally {
    await ctx.close();
  }
});
