import assert from "node:assert/strict";
import { and, eq, or } from "drizzle-orm";
import {
  instructorProfiles,
  notifications,
  relationships,
} from "../../../db/schema/mod.ts";
import { DECLINE_COOLDOWN_MS } from "../../../server/features/relationships/service.ts";
import { banUser } from "../../../server/features/users/service.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { ADMIN_ACTOR, makeUserAndLogin } from "../../helpers/factories.ts";

type Person = Awaited<ReturnType<typeof makeUserAndLogin>>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ask(
  ctx: TestContext,
  from: Person,
  body: Record<string, unknown>,
) {
  return api(ctx, "POST", "/api/relationships/request", {
    token: from.token,
    body,
  });
}

function answer(
  ctx: TestContext,
  by: Person,
  id: string,
  what: "accept" | "decline",
) {
  return api(ctx, "PUT", `/api/relationships/${id}/${what}`, {
    token: by.token,
  });
}

function remove(ctx: TestContext, by: Person, id: string) {
  return api(ctx, "DELETE", `/api/relationships/${id}`, { token: by.token });
}

/** Every row for the pair, whichever way round. */
async function pairRows(ctx: TestContext, a: string, b: string) {
  return await ctx.deps.db.select().from(relationships).where(or(
    and(eq(relationships.studentId, a), eq(relationships.teacherId, b)),
    and(eq(relationships.studentId, b), eq(relationships.teacherId, a)),
  ));
}

async function noticesOf(ctx: TestContext, userId: string, type: string) {
  return await ctx.deps.db.select().from(notifications).where(and(
    eq(notifications.userId, userId),
    eq(notifications.type, type),
  ));
}

function expectError(
  res: { status: number; body: { error?: { code?: string } } },
  status: number,
  code: string,
  what: string,
) {
  assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(
    res.body.error?.code,
    code,
    `${what}: ${JSON.stringify(res.body)}`,
  );
}

Deno.test("relationship requests: who may ask whom, and what a request becomes", async (t) => {
  const ctx = await createTestContext();
  try {
    const lena = await makeUserAndLogin(ctx, { name: "Lena Learner" });
    const otto = await makeUserAndLogin(ctx, { name: "Otto Other" });
    const ivy = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Ivy Instructor",
    });
    const nora = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Nora Notaccepting",
    });
    const pia = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Pia Profileless",
    });
    const admin = await makeUserAndLogin(ctx, {
      role: "admin",
      name: "Al Admin",
    });
    const barry = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Barry Banned",
    });
    await banUser(ctx.deps, ADMIN_ACTOR, barry.user.id, "Spam");
    const closed = await api(ctx, "PUT", "/api/instructors/profile", {
      token: nora.token,
      body: { acceptingStudents: false },
    });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    await ctx.deps.db.delete(instructorProfiles).where(
      eq(instructorProfiles.userId, pia.user.id),
    );

    let lenaIvy = "";

    await t.step(
      "a learner asks an instructor who accepts students: 201 pending, the instructor is notified",
      async () => {
        const res = await ask(ctx, lena, {
          userId: ivy.user.id,
          message: "  Could you teach me?  ",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const rel = res.body.relationship;
        assert.equal(rel.status, "pending");
        assert.equal(rel.studentId, lena.user.id);
        assert.equal(rel.teacherId, ivy.user.id);
        assert.equal(rel.requestedBy, lena.user.id);
        assert.equal(rel.message, "Could you teach me?");
        lenaIvy = rel.id;
        const notices = await noticesOf(
          ctx,
          ivy.user.id,
          "relationship_requested",
        );
        assert.equal(notices.length, 1);
        assert.equal(notices[0]!.relatedId, lenaIvy);
        assert.match(notices[0]!.message, /Lena Learner/);
        assert.equal(
          (await noticesOf(ctx, lena.user.id, "relationship_requested")).length,
          0,
          "the requester is not notified of their own request",
        );
      },
    );

    await t.step({
      name: "the notification's link opens the request for the person notified",

      fn: async () => {
        const [notice] = await noticesOf(
          ctx,
          ivy.user.id,
          "relationship_requested",
        );
        assert.ok(notice?.link);
        const res = await api(ctx, "GET", notice.link, { token: ivy.token });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.relationship.id, lenaIvy);
      },
    });

    await t.step(
      "an instructor who is not accepting students: 409 NOT_ACCEPTING_STUDENTS, nothing stored",
      async () => {
        const res = await ask(ctx, lena, { userId: nora.user.id });
        expectError(res, 409, "NOT_ACCEPTING_STUDENTS", "closed instructor");
        assert.equal(
          (await pairRows(ctx, lena.user.id, nora.user.id)).length,
          0,
        );
        assert.equal(
          (await noticesOf(ctx, nora.user.id, "relationship_requested")).length,
          0,
        );
      },
    );

    await t.step("asking a learner to be your teacher: 403", async () => {
      const res = await ask(ctx, lena, { userId: otto.user.id });
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "NOT_A_TEACHER");
      // …nor can a learner make themselves someone's teacher.
      const reversed = await ask(ctx, lena, {
        userId: otto.user.id,
        as: "student",
      });
      assert.equal(reversed.status, 403, JSON.stringify(reversed.body));
      assert.equal((await pairRows(ctx, lena.user.id, otto.user.id)).length, 0);
      // An administrator has no teaching profile: asking one is refused too.
      const toAdmin = await ask(ctx, lena, { userId: admin.user.id });
      assert.ok(
        [403, 409].includes(toAdmin.status),
        `${toAdmin.status}: ${JSON.stringify(toAdmin.body)}`,
      );
      assert.equal(
        (await pairRows(ctx, lena.user.id, admin.user.id)).length,
        0,
      );
    });

    await t.step(
      "an instructor invites a learner: no profile or acceptingStudents needed, the learner is notified",
      async () => {
        const invite = await ask(ctx, nora, { userId: otto.user.id });
        assert.equal(invite.status, 201, JSON.stringify(invite.body));
        assert.equal(invite.body.relationship.status, "pending");
        assert.equal(invite.body.relationship.teacherId, nora.user.id);
        assert.equal(invite.body.relationship.studentId, otto.user.id);
        assert.equal(invite.body.relationship.requestedBy, nora.user.id);
        const notices = await noticesOf(
          ctx,
          otto.user.id,
          "relationship_requested",
        );
        assert.equal(notices.length, 1);
        assert.equal(notices[0]!.relatedId, invite.body.relationship.id);

        const noProfile = await ask(ctx, pia, { userId: otto.user.id });
        assert.equal(noProfile.status, 201, JSON.stringify(noProfile.body));
        assert.equal(noProfile.body.relationship.teacherId, pia.user.id);
      },
    );

    await t.step({
      name:
        "asking back an instructor who invited you connects at once, even if they accept no new students",

      fn: async () => {
        const res = await ask(ctx, otto, { userId: nora.user.id });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.relationship.status, "active");
        const rows = await pairRows(ctx, otto.user.id, nora.user.id);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, "active");
      },
    });

    await t.step("asking yourself: 409", async () => {
      expectError(
        await ask(ctx, lena, { userId: lena.user.id }),
        409,
        "SELF_RELATIONSHIP",
        "learner self",
      );
      expectError(
        await ask(ctx, ivy, { userId: ivy.user.id }),
        409,
        "SELF_RELATIONSHIP",
        "instructor self",
      );
    });

    await t.step(
      "asking again while your request is pending: 409 REQUEST_PENDING",
      async () => {
        const res = await ask(ctx, lena, { userId: ivy.user.id });
        expectError(res, 409, "REQUEST_PENDING", "repeat");
        assert.equal(res.body.error.details.relationshipId, lenaIvy);
        assert.equal(
          (await noticesOf(ctx, ivy.user.id, "relationship_requested")).length,
          1,
          "no second notification",
        );
      },
    );

    await t.step(
      "a crossing request from the other side connects at once: 200 active, same row, requester notified",
      async () => {
        const res = await ask(ctx, ivy, { userId: lena.user.id });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.relationship.id, lenaIvy);
        assert.equal(res.body.relationship.status, "active");
        const rows = await pairRows(ctx, lena.user.id, ivy.user.id);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, "active");
        const accepted = await noticesOf(
          ctx,
          lena.user.id,
          "relationship_accepted",
        );
        assert.equal(accepted.length, 1);
        assert.equal(accepted[0]!.relatedId, lenaIvy);
      },
    );

    await t.step(
      "an already active pair: 409 RELATIONSHIP_EXISTS from either side",
      async () => {
        for (const [from, to] of [[lena, ivy], [ivy, lena]] as const) {
          const res = await ask(ctx, from, { userId: to.user.id });
          expectError(res, 409, "RELATIONSHIP_EXISTS", from.user.name);
          assert.equal(res.body.error.details.relationshipId, lenaIvy);
        }
        assert.equal(
          (await pairRows(ctx, lena.user.id, ivy.user.id)).length,
          1,
        );
      },
    );

    await t.step("an unknown or banned person: 404", async () => {
      expectError(
        await ask(ctx, lena, { userId: "01HZZZZZZZZZZZZZZZZZZZZZZZ" }),
        404,
        "NOT_FOUND",
        "unknown",
      );
      expectError(
        await ask(ctx, lena, { userId: barry.user.id }),
        404,
        "NOT_FOUND",
        "banned instructor",
      );
      expectError(
        await ask(ctx, ivy, { userId: barry.user.id }),
        404,
        "NOT_FOUND",
        "inviting a banned account",
      );
    });

    await t.step(
      "body validation: unknown field, missing or bad userId, bad side → 422; no token → 401",
      async () => {
        const cases: [Record<string, unknown>, string][] = [
          [{ userId: ivy.user.id, role: "teacher" }, "role"],
          [{}, "userId"],
          [{ message: "hi" }, "userId"],
          [{ userId: 42 }, "userId"],
          [{ userId: ivy.user.id, as: "boss" }, "as"],
          [{ userId: ivy.user.id, message: "x".repeat(1001) }, "message"],
        ];
        for (const [body, field] of cases) {
          const res = await ask(ctx, otto, body);
          const label = JSON.stringify(body).slice(0, 80);
          expectError(res, 422, "VALIDATION_FAILED", label);
          assert.ok(
            field in res.body.error.details.fields,
            `${label}: ${JSON.stringify(res.body.error.details)}`,
          );
        }
        assert.equal(
          (await pairRows(ctx, otto.user.id, ivy.user.id)).length,
          0,
        );
        const anonymous = await api(ctx, "POST", "/api/relationships/request", {
          body: { userId: ivy.user.id },
        });
        assert.equal(anonymous.status, 401);
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("answering and ending relationships", async (t) => {
  const ctx = await createTestContext();
  try {
    const lena = await makeUserAndLogin(ctx, { name: "Lena Learner" });
    const sid = await makeUserAndLogin(ctx, { name: "Sid Student" });
    const stranger = await makeUserAndLogin(ctx, { name: "Stan Stranger" });
    const ivy = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Ivy Instructor",
    });
    const ian = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Ian Instructor",
    });

    const sent = await ask(ctx, lena, { userId: ivy.user.id });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const lenaIvy: string = sent.body.relationship.id;
    const invited = await ask(ctx, ian, { userId: sid.user.id });
    assert.equal(invited.status, 201, JSON.stringify(invited.body));
    const ianSid: string = invited.body.relationship.id;

    await t.step(
      "only the person asked may answer: the requester gets 403, a stranger 404",
      async () => {
        for (const what of ["accept", "decline"] as const) {
          expectError(
            await answer(ctx, lena, lenaIvy, what),
            403,
            "NOT_YOURS_TO_ANSWER",
            `requester ${what}`,
          );
          expectError(
            await answer(ctx, ian, ianSid, what),
            403,
            "NOT_YOURS_TO_ANSWER",
            `inviting instructor ${what}`,
          );
          expectError(
            await answer(ctx, stranger, lenaIvy, what),
            404,
            "NOT_FOUND",
            `stranger ${what}`,
          );
          expectError(
            await answer(ctx, ivy, "01HZZZZZZZZZZZZZZZZZZZZZZZ", what),
            404,
            "NOT_FOUND",
            `unknown ${what}`,
          );
        }
        const [row] = await pairRows(ctx, lena.user.id, ivy.user.id);
        assert.equal(row!.status, "pending");
      },
    );

    await t.step(
      "the person asked accepts: active, the requester is notified; answering again is 409",
      async () => {
        const res = await answer(ctx, sid, ianSid, "accept");
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.relationship.status, "active");
        assert.equal(res.body.relationship.id, ianSid);
        const notices = await noticesOf(
          ctx,
          ian.user.id,
          "relationship_accepted",
        );
        assert.equal(notices.length, 1);
        assert.equal(notices[0]!.relatedId, ianSid);
        for (const what of ["accept", "decline"] as const) {
          expectError(
            await answer(ctx, sid, ianSid, what),
            409,
            "RELATIONSHIP_NOT_PENDING",
            `${what} an active one`,
          );
        }
      },
    );

    await t.step(
      "after a decline the requester must wait (REQUEST_DECLINED, retryAt); the other person may ask",
      async () => {
        const declined = await answer(ctx, ivy, lenaIvy, "decline");
        assert.equal(declined.status, 200, JSON.stringify(declined.body));
        assert.equal(declined.body.relationship.status, "declined");
        assert.equal(
          (await noticesOf(ctx, lena.user.id, "relationship_accepted")).length,
          0,
          "a decline is not announced as an acceptance",
        );
        expectError(
          await answer(ctx, ivy, lenaIvy, "accept"),
          409,
          "RELATIONSHIP_NOT_PENDING",
          "accept a declined one",
        );

        const again = await ask(ctx, lena, { userId: ivy.user.id });
        expectError(again, 409, "REQUEST_DECLINED", "asking again");
        const [row] = await pairRows(ctx, lena.user.id, ivy.user.id);
        assert.equal(row!.status, "declined");
        assert.equal(
          again.body.error.details.retryAt,
          new Date(row!.updatedAt.getTime() + DECLINE_COOLDOWN_MS)
            .toISOString(),
        );
        assert.ok(
          Date.parse(again.body.error.details.retryAt) >
            Date.now() + DECLINE_COOLDOWN_MS - 86_400_000,
          "about a week away",
        );
        expectError(
          await remove(ctx, lena, lenaIvy),
          409,
          "RELATIONSHIP_ENDED",
          "removing a declined one",
        );

        const invite = await ask(ctx, ivy, {
          userId: lena.user.id,
          message: "Let's try after all",
        });
        assert.equal(invite.status, 201, JSON.stringify(invite.body));
        assert.equal(invite.body.relationship.id, lenaIvy, "the same row");
        assert.equal(invite.body.relationship.status, "pending");
        assert.equal(invite.body.relationship.requestedBy, ivy.user.id);
        assert.equal(invite.body.relationship.message, "Let's try after all");
        // Now Lena is the one asked.
        expectError(
          await answer(ctx, ivy, lenaIvy, "accept"),
          403,
          "NOT_YOURS_TO_ANSWER",
          "the new requester",
        );
        const accepted = await answer(ctx, lena, lenaIvy, "accept");
        assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
        assert.equal(accepted.body.relationship.status, "active");
        assert.equal(
          (await pairRows(ctx, lena.user.id, ivy.user.id)).length,
          1,
        );
      },
    );

    await t.step(
      "once the cool-down has passed the declined requester may ask again (same row)",
      async () => {
        const carl = await makeUserAndLogin(ctx, { name: "Carl Cooled" });
        const first = await ask(ctx, carl, { userId: ian.user.id });
        assert.equal(first.status, 201);
        const id: string = first.body.relationship.id;
        assert.equal((await answer(ctx, ian, id, "decline")).status, 200);
        expectError(
          await ask(ctx, carl, { userId: ian.user.id }),
          409,
          "REQUEST_DECLINED",
          "within the cool-down",
        );
        await ctx.deps.db.update(relationships).set({
          updatedAt: new Date(Date.now() - DECLINE_COOLDOWN_MS - 60_000),
        }).where(eq(relationships.id, id));
        const again = await ask(ctx, carl, { userId: ian.user.id });
        assert.equal(again.status, 201, JSON.stringify(again.body));
        assert.equal(again.body.relationship.id, id);
        assert.equal(again.body.relationship.status, "pending");
        assert.equal(
          (await pairRows(ctx, carl.user.id, ian.user.id)).length,
          1,
        );
      },
    );

    await t.step(
      "either person may end it; a stranger gets 404; ending twice is 409",
      async () => {
        expectError(
          await remove(ctx, stranger, lenaIvy),
          404,
          "NOT_FOUND",
          "stranger",
        );
        const byStudent = await remove(ctx, lena, lenaIvy);
        assert.equal(byStudent.status, 200, JSON.stringify(byStudent.body));
        assert.equal(byStudent.body.relationship.status, "removed");
        expectError(
          await remove(ctx, ivy, lenaIvy),
          409,
          "RELATIONSHIP_ENDED",
          "removing twice",
        );
        expectError(
          await answer(ctx, lena, lenaIvy, "accept"),
          409,
          "RELATIONSHIP_NOT_PENDING",
          "accepting a removed one",
        );
        const byTeacher = await remove(ctx, ian, ianSid);
        assert.equal(byTeacher.status, 200, JSON.stringify(byTeacher.body));
        assert.equal(byTeacher.body.relationship.status, "removed");
      },
    );

    await t.step(
      "a new request after removal reopens the same row (one row per pair)",
      async () => {
        const reopened = await ask(ctx, lena, { userId: ivy.user.id });
        assert.equal(reopened.status, 201, JSON.stringify(reopened.body));
        assert.equal(reopened.body.relationship.id, lenaIvy);
        assert.equal(reopened.body.relationship.status, "pending");
        assert.equal(reopened.body.relationship.requestedBy, lena.user.id);
        assert.equal(reopened.body.relationship.message, null);
        const rows = await pairRows(ctx, lena.user.id, ivy.user.id);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.id, lenaIvy);
        assert.equal(rows[0]!.status, "pending");

        // The instructor who removed may invite again too: still one row.
        const reinvite = await ask(ctx, ian, { userId: sid.user.id });
        assert.equal(reinvite.status, 201, JSON.stringify(reinvite.body));
        assert.equal(reinvite.body.relationship.id, ianSid);
        assert.equal((await pairRows(ctx, sid.user.id, ian.user.id)).length, 1);

        // The requester may withdraw a pending request.
        const withdrawn = await remove(ctx, lena, lenaIvy);
        assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
        assert.equal(withdrawn.body.relationship.status, "removed");
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("crossing requests fired together end as one row", async (t) => {
  const ctx = await createTestContext();
  try {
    const pairs: [Person, Person][] = [];
    for (let i = 0; i < 4; i++) {
      pairs.push([
        await makeUserAndLogin(ctx, { name: `Learner ${i}` }),
        await makeUserAndLogin(ctx, {
          role: "instructor",
          name: `Teacher ${i}`,
        }),
      ]);
    }

    await t.step(
      "a learner's request and the instructor's invitation at once: one row, active or pending, no 500",
      async () => {
        const results = await Promise.all(
          pairs.flatMap(([learner, teacher]) => [
            ask(ctx, learner, { userId: teacher.user.id }),
            ask(ctx, teacher, { userId: learner.user.id }),
          ]),
        );
        for (const res of results) {
          assert.ok(
            [200, 201, 409].includes(res.status),
            `${res.status}: ${JSON.stringify(res.body)}`,
          );
        }
        for (const [learner, teacher] of pairs) {
          const rows = await pairRows(ctx, learner.user.id, teacher.user.id);
          assert.equal(rows.length, 1, `${learner.user.name}: one row`);
          assert.ok(["active", "pending"].includes(rows[0]!.status));
          assert.equal(rows[0]!.studentId, learner.user.id);
          assert.equal(rows[0]!.teacherId, teacher.user.id);
        }
      },
    );

    await t.step(
      "the same request twice at once: one 201 and one 409 REQUEST_PENDING, one row",
      async () => {
        const learner = await makeUserAndLogin(ctx, { name: "Twice" });
        const teacher = pairs[0]![1];
        const results = await Promise.all([
          ask(ctx, learner, { userId: teacher.user.id }),
          ask(ctx, learner, { userId: teacher.user.id }),
        ]);
        assert.deepEqual(
          results.map((res) => res.status).sort(),
          [201, 409],
          JSON.stringify(results.map((res) => res.body)),
        );
        const refused = results.find((res) => res.status === 409)!;
        assert.equal(refused.body.error.code, "REQUEST_PENDING");
        assert.equal(
          (await pairRows(ctx, learner.user.id, teacher.user.id)).length,
          1,
        );
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("GET /api/relationships lists the caller's own", async (t) => {
  const ctx = await createTestContext();
  try {
    const tara = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Tara Teacher",
    });
    const theo = await makeUserAndLogin(ctx, {
      role: "instructor",
      name: "Theo Mentor",
    });
    const sam = await makeUserAndLogin(ctx, { name: "Sam Student" });
    const sue = await makeUserAndLogin(ctx, { name: "Sue Student" });
    const sol = await makeUserAndLogin(ctx, { name: "Sol Student" });
    const other = await makeUserAndLogin(ctx, { name: "Olga Outsider" });

    const ids: Record<string, string> = {};
    // Tara teaches Sam (active), has Sue's pending request, declined Sol; she learns from Theo.
    let res = await ask(ctx, tara, { userId: sam.user.id });
    ids.sam = res.body.relationship.id;
    assert.equal((await answer(ctx, sam, ids.sam!, "accept")).status, 200);
    await pause(2);
    res = await ask(ctx, sue, { userId: tara.user.id });
    ids.sue = res.body.relationship.id;
    await pause(2);
    res = await ask(ctx, sol, { userId: tara.user.id });
    ids.sol = res.body.relationship.id;
    assert.equal((await answer(ctx, tara, ids.sol!, "decline")).status, 200);
    await pause(2);
    res = await ask(ctx, tara, { userId: theo.user.id, as: "teacher" });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    ids.theo = res.body.relationship.id;
    assert.equal(res.body.relationship.studentId, tara.user.id);
    assert.equal(res.body.relationship.teacherId, theo.user.id);
    assert.equal((await answer(ctx, theo, ids.theo!, "accept")).status, 200);
    // Someone else's relationship, which Tara must not see.
    res = await ask(ctx, other, { userId: theo.user.id });
    assert.equal(res.status, 201);

    const list = (query = "", token = tara.token) =>
      api(ctx, "GET", `/api/relationships${query}`, { token });
    const idsOf = (body: { relationships: { id: string }[] }) =>
      body.relationships.map((r) => r.id).sort();

    await t.step(
      "all of them, both sides, with both people's names, most recently changed first",
      async () => {
        const all = await list();
        assert.equal(all.status, 200, JSON.stringify(all.body));
        assert.equal(all.body.success, true);
        assert.deepEqual(
          idsOf(all.body),
          [ids.sam, ids.sue, ids.sol, ids.theo].sort(),
        );
        assert.equal(all.body.pagination.total, 4);
        const byId = new Map(
          all.body.relationships.map((r: { id: string }) => [r.id, r]),
        );
        // deno-lint-ignore no-explicit-any
        const sueRow = byId.get(ids.sue) as any;
        assert.equal(sueRow.status, "pending");
        assert.equal(sueRow.student.name, "Sue Student");
        assert.equal(sueRow.student.id, sue.user.id);
        assert.equal(sueRow.teacher.name, "Tara Teacher");
        assert.equal(sueRow.requestedBy, sue.user.id);
        // deno-lint-ignore no-explicit-any
        const theoRow = byId.get(ids.theo) as any;
        assert.equal(theoRow.teacher.name, "Theo Mentor");
        assert.equal(theoRow.student.name, "Tara Teacher");
        assert.equal(theoRow.status, "active");
        const times = all.body.relationships.map((r: { updatedAt: string }) =>
          r.updatedAt
        );
        assert.deepEqual(times, [...times].sort().reverse());
        assert.equal(all.body.relationships[0].id, ids.theo);
      },
    );

    await t.step("status and as=teacher|student filter", async () => {
      const active = await list("?status=active");
      assert.deepEqual(idsOf(active.body), [ids.sam, ids.theo].sort());
      const declined = await list("?status=declined");
      assert.deepEqual(idsOf(declined.body), [ids.sol]);
      const asTeacher = await list("?as=teacher");
      assert.deepEqual(
        idsOf(asTeacher.body),
        [ids.sam, ids.sue, ids.sol].sort(),
      );
      assert.equal(asTeacher.body.pagination.total, 3);
      const asStudent = await list("?as=student");
      assert.deepEqual(idsOf(asStudent.body), [ids.theo]);
      const pendingTeacher = await list("?as=teacher&status=pending");
      assert.deepEqual(idsOf(pendingTeacher.body), [ids.sue]);
      assert.equal(pendingTeacher.body.pagination.total, 1);
      const none = await list("?as=student&status=pending");
      assert.deepEqual(none.body.relationships, []);
      assert.equal(none.body.pagination.total, 0);

      const sams = await list("", sam.token);
      assert.deepEqual(idsOf(sams.body), [ids.sam]);
      assert.equal(sams.body.relationships[0].teacher.name, "Tara Teacher");
      const theos = await list("?as=teacher", theo.token);
      assert.equal(theos.body.pagination.total, 2, "Tara's and Olga's");

      for (const bad of ["?status=lost", "?as=parent", "?limit=0", "?page=x"]) {
        const res = await list(bad);
        expectError(res, 422, "VALIDATION_FAILED", bad);
      }
      assert.equal(
        (await api(ctx, "GET", "/api/relationships")).status,
        401,
      );
    });

    await t.step(
      "pagination: a pagination object and a Link header",
      async () => {
        const first = await list("?limit=3");
        assert.equal(first.status, 200);
        assert.equal(first.body.relationships.length, 3);
        assert.deepEqual(first.body.pagination, {
          currentPage: 1,
          totalPages: 2,
          total: 4,
          limit: 3,
          hasNext: true,
          hasPrev: false,
        });
        const link = first.headers.get("link") ?? "";
        assert.match(link, /[?&]page=2[^>]*>; rel="next"/);
        assert.match(link, /rel="last"/);
        const second = await list("?limit=3&page=2");
        assert.equal(second.body.relationships.length, 1);
        assert.equal(second.body.pagination.hasPrev, true);
        assert.equal(second.body.pagination.hasNext, false);
        assert.match(second.headers.get("link") ?? "", /rel="prev"/);
        assert.deepEqual(
          [...idsOf(first.body), ...idsOf(second.body)].sort(),
          [ids.sam, ids.sue, ids.sol, ids.theo].sort(),
        );
        const beyond = await list("?limit=3&page=3");
        assert.deepEqual(beyond.body.relationships, []);
      },
    );
  } finally {
    await ctx.close();
  }
});
