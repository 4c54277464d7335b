import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { programs, reviews } from "../../../db/schema/mod.ts";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import {
  endAccess,
  enroll,
  makeProgram,
  makeUserAndLogin,
  uniqueEmail,
} from "../../helpers/factories.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import { createUser } from "../../../server/features/users/service.ts";

type Login = Awaited<ReturnType<typeof makeUserAndLogin>>;

/**
 * A learner enrolled in the program (any access type lets them review), signed in through the real
 * session service. The account has no password, as after OAuth sign-up: argon2 for dozens of
 * learners would dominate the run.
 */
async function learner(
  ctx: TestContext,
  programId: string,
  name = "Learner",
): Promise<Login> {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail("learner"),
    name,
    password: null,
    emailVerified: true,
  });
  const { token, refreshToken } = await startSession(ctx.deps, user, {});
  await enroll(ctx, user.id, programId, "chatbot");
  return { user, token, refreshToken };
}

const post = (
  ctx: TestContext,
  token: string,
  programId: string,
  body: unknown,
) => api(ctx, "POST", `/api/programs/${programId}/reviews`, { token, body });

/** The rating sum and count recomputed from the review rows themselves. */
async function truthOf(ctx: TestContext, programId: string) {
  const [row] = await ctx.deps.db.select({
    sum: sql<number>`coalesce(sum(${reviews.rating}), 0)`,
    count: sql<number>`count(*)`,
  }).from(reviews).where(eq(reviews.programId, programId));
  return { sum: row!.sum, count: row!.count };
}

const rounded = (sum: number, count: number) =>
  count === 0 ? 0 : Math.round((sum / count) * 10) / 10;

/** The program row, the reviews list, the catalog card and the detail page all agree with the rows. */
async function assertRatingsExact(ctx: TestContext, programId: string) {
  const truth = await truthOf(ctx, programId);
  const [program] = await ctx.deps.db.select().from(programs).where(
    eq(programs.id, programId),
  );
  assert.equal(program!.ratingSum, truth.sum, "ratingSum matches the rows");
  assert.equal(program!.reviewCount, truth.count, "reviewCount matches");
  const expected = rounded(truth.sum, truth.count);
  const list = await api(
    ctx,
    "GET",
    `/api/programs/${programId}/reviews?limit=1`,
  );
  assert.equal(list.status, 200);
  assert.equal(list.body.averageRating, expected);
  assert.equal(list.body.totalReviews, truth.count);
  assert.equal(list.body.pagination.total, truth.count);
  const detail = await api(ctx, "GET", `/api/programs/${programId}`);
  assert.equal(detail.body.program.rating, expected);
  assert.equal(detail.body.program.totalReviews, truth.count);
  const catalog = await api(ctx, "GET", "/api/programs?limit=100");
  const card = catalog.body.programs.find((p: { id: string }) =>
    p.id === programId
  );
  assert.ok(card, "the program is in the catalog");
  assert.equal(card.rating, expected);
  assert.equal(card.totalReviews, truth.count);
  return truth;
}

Deno.test("program reviews", async (t) => {
  const ctx = await createTestContext();
  try {
    const owner = await makeUserAndLogin(ctx, { role: "instructor" });
    const admin = await makeUserAndLogin(ctx, { role: "admin" });
    const program = await makeProgram(ctx, owner.user, {
      title: "Reviewed Program",
    });
    const base = `/api/programs/${program.id}/reviews`;
    const alice = await learner(ctx, program.id, "Alice");
    const bob = await learner(ctx, program.id, "Bob");
    const carol = await learner(ctx, program.id, "Carol");
    let aliceReview: { id: string };
    let bobReview: { id: string };

    await t.step(
      "an empty program has averageRating 0 and no reviews",
      async () => {
        const res = await api(ctx, "GET", base);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body.reviews, []);
        assert.equal(res.body.averageRating, 0);
        assert.equal(res.body.totalReviews, 0);
      },
    );

    await t.step(
      "only enrolled learners can review: anonymous 401, not enrolled 403 NOT_ENROLLED, owner 403",
      async () => {
        const anonymous = await api(ctx, "POST", base, {
          body: { rating: 5 },
        });
        assert.equal(anonymous.status, 401);
        const stranger = await makeUserAndLogin(ctx);
        const notEnrolled = await post(ctx, stranger.token, program.id, {
          rating: 5,
        });
        assert.equal(notEnrolled.status, 403);
        assert.equal(notEnrolled.body.error.code, "NOT_ENROLLED");
        const lapsed = await makeUserAndLogin(ctx);
        await enroll(ctx, lapsed.user.id, program.id, "bundle");
        await endAccess(ctx, lapsed.user.id, program.id, "refunded");
        const refunded = await post(ctx, lapsed.token, program.id, {
          rating: 1,
        });
        assert.equal(refunded.status, 403, "a refunded enrollment is not one");
        assert.equal(refunded.body.error.code, "NOT_ENROLLED");
        const own = await post(ctx, owner.token, program.id, { rating: 5 });
        assert.equal(own.status, 403);
        const missing = await post(
          ctx,
          alice.token,
          "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
          { rating: 5 },
        );
        assert.equal(missing.status, 404);
        assert.deepEqual(await truthOf(ctx, program.id), { sum: 0, count: 0 });
      },
    );

    await t.step(
      "an enrolled learner's review is created, with the comment kept verbatim as plain text",
      async () => {
        const res = await post(ctx, alice.token, program.id, {
          rating: 4,
          comment: "  <b>x</b> & <script>alert(1)</script>  ",
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.success, true);
        const review = res.body.review;
        assert.match(review.id, /^[0-9A-Z]{26}$/);
        assert.deepEqual(review.user, {
          id: alice.user.id,
          name: "Alice",
          avatar: null,
        });
        assert.equal(review.rating, 4);
        assert.equal(
          review.comment,
          "<b>x</b> & <script>alert(1)</script>",
          "trimmed, otherwise stored exactly as written",
        );
        assert.equal(review.helpful, 0);
        assert.equal(
          new Date(review.createdAt).toISOString(),
          review.createdAt,
        );
        const listed = await api(ctx, "GET", base);
        assert.equal(listed.body.reviews[0].comment, review.comment);
        assert.equal(listed.body.averageRating, 4);
        assert.equal(listed.body.totalReviews, 1);
        aliceReview = review;
      },
    );

    await t.step(
      "a second review by the same learner is 409 ALREADY_REVIEWED",
      async () => {
        const again = await post(ctx, alice.token, program.id, { rating: 1 });
        assert.equal(again.status, 409);
        assert.equal(again.body.error.code, "ALREADY_REVIEWED");
        assert.deepEqual(await truthOf(ctx, program.id), { sum: 4, count: 1 });
      },
    );

    await t.step(
      "rating must be a whole number from 1 to 5 and the comment at most 2000 characters",
      async () => {
        const cases: [unknown, string][] = [
          [{ rating: 0 }, "rating"],
          [{ rating: 6 }, "rating"],
          [{ rating: 4.5 }, "rating"],
          [{ rating: -1 }, "rating"],
          [{ rating: "5" }, "rating"],
          [{ rating: null }, "rating"],
          [{}, "rating"],
          [{ rating: 3, comment: "x".repeat(2001) }, "comment"],
          [{ rating: 3, comment: 42 }, "comment"],
          [{ rating: 3, stars: 5 }, "stars"],
        ];
        for (const [body, field] of cases) {
          const res = await post(ctx, bob.token, program.id, body);
          assert.equal(res.status, 422, JSON.stringify(body));
          assert.equal(res.body.error.code, "VALIDATION_FAILED");
          assert.ok(
            res.body.error.details.fields[field],
            `${field} in ${JSON.stringify(res.body.error.details)}`,
          );
        }
        assert.deepEqual(await truthOf(ctx, program.id), { sum: 4, count: 1 });
        const controls = await post(ctx, carol.token, program.id, {
          rating: 3,
          comment: "a\u0000b\u0007c\nd",
        });
        assert.equal(controls.status, 201);
        assert.equal(
          controls.body.review.comment,
          "abc\nd",
          "control characters go, newlines stay",
        );
        const cleanup = await api(
          ctx,
          "DELETE",
          `${base}/${controls.body.review.id}`,
          { token: carol.token },
        );
        assert.equal(cleanup.status, 200);
        const longest = await post(ctx, bob.token, program.id, {
          rating: 2,
          comment: "y".repeat(2000),
        });
        assert.equal(longest.status, 201, "exactly 2000 characters is fine");
        assert.equal(longest.body.review.comment.length, 2000);
        bobReview = longest.body.review;
        await assertRatingsExact(ctx, program.id);
      },
    );

    await t.step(
      "editing your own review moves averageRating; others (admins too) get 403",
      async () => {
        const edited = await api(ctx, "PUT", `${base}/${aliceReview.id}`, {
          token: alice.token,
          body: { rating: 5, comment: "Even better" },
        });
        assert.equal(edited.status, 200, JSON.stringify(edited.body));
        assert.equal(edited.body.review.rating, 5);
        assert.equal(edited.body.review.comment, "Even better");
        const truth = await assertRatingsExact(ctx, program.id);
        assert.deepEqual(truth, { sum: 7, count: 2 });
        const list = await api(ctx, "GET", base);
        assert.equal(list.body.averageRating, 3.5);

        const commentOnly = await api(ctx, "PUT", `${base}/${aliceReview.id}`, {
          token: alice.token,
          body: { comment: "Only the words change" },
        });
        assert.equal(commentOnly.status, 200);
        assert.equal(commentOnly.body.review.rating, 5);
        assert.deepEqual(await truthOf(ctx, program.id), { sum: 7, count: 2 });

        for (const who of [bob, carol, owner, admin]) {
          const res = await api(ctx, "PUT", `${base}/${aliceReview.id}`, {
            token: who.token,
            body: { rating: 1 },
          });
          assert.equal(res.status, 403, who.user.name);
        }
        const invalid = await api(ctx, "PUT", `${base}/${aliceReview.id}`, {
          token: alice.token,
          body: { rating: 7 },
        });
        assert.equal(invalid.status, 422);
        const unknown = await api(
          ctx,
          "PUT",
          `${base}/01ZZZZZZZZZZZZZZZZZZZZZZZZ`,
          { token: alice.token, body: { rating: 1 } },
        );
        assert.equal(unknown.status, 404);
        await assertRatingsExact(ctx, program.id);
      },
    );

    await t.step(
      "a review is reached only through its own program",
      async () => {
        const other = await makeProgram(ctx, owner.user, { title: "Other" });
        await enroll(ctx, alice.user.id, other.id);
        const res = await api(
          ctx,
          "PUT",
          `/api/programs/${other.id}/reviews/${aliceReview.id}`,
          { token: alice.token, body: { rating: 1 } },
        );
        assert.equal(res.status, 404);
        assert.deepEqual(await truthOf(ctx, other.id), { sum: 0, count: 0 });
        assert.deepEqual(await truthOf(ctx, program.id), { sum: 7, count: 2 });
      },
    );

    await t.step(
      "helpful: once per person (409 ALREADY_VOTED), never on your own review (403)",
      async () => {
        const first = await api(
          ctx,
          "POST",
          `${base}/${aliceReview.id}/helpful`,
          { token: bob.token },
        );
        assert.equal(first.status, 200);
        assert.deepEqual(first.body, { success: true, helpful: 1 });
        const twice = await api(
          ctx,
          "POST",
          `${base}/${aliceReview.id}/helpful`,
          { token: bob.token },
        );
        assert.equal(twice.status, 409);
        assert.equal(twice.body.error.code, "ALREADY_VOTED");
        const own = await api(
          ctx,
          "POST",
          `${base}/${aliceReview.id}/helpful`,
          { token: alice.token },
        );
        assert.equal(own.status, 403);
        const anonymous = await api(
          ctx,
          "POST",
          `${base}/${aliceReview.id}/helpful`,
        );
        assert.equal(anonymous.status, 401);
        const racing = await Promise.all(
          [1, 2, 3].map(() =>
            api(ctx, "POST", `${base}/${aliceReview.id}/helpful`, {
              token: carol.token,
            })
          ),
        );
        assert.deepEqual(
          racing.map((r) => r.status).sort(),
          [200, 409, 409],
          "one vote however fast it is clicked",
        );
        const list = await api(ctx, "GET", base);
        const listed = list.body.reviews.find((r: { id: string }) =>
          r.id === aliceReview.id
        );
        assert.equal(listed.helpful, 2);
      },
    );

    await t.step(
      "delete your own review; others get 403; admins may delete any",
      async () => {
        const carolReview = await post(ctx, carol.token, program.id, {
          rating: 1,
        });
        assert.equal(carolReview.status, 201);
        await assertRatingsExact(ctx, program.id);
        for (const who of [alice, owner]) {
          const denied = await api(
            ctx,
            "DELETE",
            `${base}/${carolReview.body.review.id}`,
            { token: who.token },
          );
          assert.equal(denied.status, 403, who.user.name);
        }
        const removed = await api(
          ctx,
          "DELETE",
          `${base}/${carolReview.body.review.id}`,
          { token: carol.token },
        );
        assert.equal(removed.status, 200);
        assert.equal(removed.body.success, true);
        assert.deepEqual(await assertRatingsExact(ctx, program.id), {
          sum: 7,
          count: 2,
        });
        const again = await api(
          ctx,
          "DELETE",
          `${base}/${carolReview.body.review.id}`,
          { token: carol.token },
        );
        assert.equal(again.status, 404);

        const moderated = await api(ctx, "DELETE", `${base}/${bobReview.id}`, {
          token: admin.token,
        });
        assert.equal(moderated.status, 200);
        assert.deepEqual(await assertRatingsExact(ctx, program.id), {
          sum: 5,
          count: 1,
        });

        const fresh = await post(ctx, carol.token, program.id, { rating: 3 });
        assert.equal(fresh.status, 201, "after deleting, one may review again");
        assert.deepEqual(await assertRatingsExact(ctx, program.id), {
          sum: 8,
          count: 2,
        });
      },
    );

    await t.step(
      "the list sorts by recent, rating or helpful and paginates",
      async () => {
        const sorted = await makeProgram(ctx, owner.user, { title: "Sorted" });
        const path = `/api/programs/${sorted.id}/reviews`;
        const ratings = [3, 5, 1, 4, 2];
        const people: Login[] = [];
        const ids: string[] = [];
        for (const [i, rating] of ratings.entries()) {
          const who = await learner(ctx, sorted.id, `Sorter ${i}`);
          people.push(who);
          const res = await post(ctx, who.token, sorted.id, { rating });
          assert.equal(res.status, 201);
          ids.push(res.body.review.id);
          await new Promise((resolve) => setTimeout(resolve, 3));
        }
        // helpful votes: review 2 gets three, review 0 gets one.
        for (const voter of [people[0]!, people[1]!, people[3]!]) {
          const res = await api(ctx, "POST", `${path}/${ids[2]}/helpful`, {
            token: voter.token,
          });
          assert.equal(res.status, 200);
        }
        await api(ctx, "POST", `${path}/${ids[0]}/helpful`, {
          token: people[4]!.token,
        });

        const idsOf = (res: { body: { reviews: { id: string }[] } }) =>
          res.body.reviews.map((r) => r.id);
        const recent = await api(ctx, "GET", `${path}?sort=recent`);
        assert.deepEqual(idsOf(recent), [...ids].reverse());
        const byDefault = await api(ctx, "GET", path);
        assert.deepEqual(idsOf(byDefault), idsOf(recent), "recent by default");
        const byRating = await api(ctx, "GET", `${path}?sort=rating`);
        assert.deepEqual(
          byRating.body.reviews.map((r: { rating: number }) => r.rating),
          [5, 4, 3, 2, 1],
        );
        const byHelpful = await api(ctx, "GET", `${path}?sort=helpful`);
        assert.deepEqual(idsOf(byHelpful).slice(0, 2), [ids[2], ids[0]]);
        assert.deepEqual(
          byHelpful.body.reviews.map((r: { helpful: number }) => r.helpful),
          [3, 1, 0, 0, 0],
        );
        const bad = await api(ctx, "GET", `${path}?sort=stars`);
        assert.equal(bad.status, 422);

        const page2 = await api(
          ctx,
          "GET",
          `${path}?sort=rating&limit=2&page=2`,
        );
        assert.equal(page2.status, 200);
        assert.deepEqual(
          page2.body.reviews.map((r: { rating: number }) => r.rating),
          [3, 2],
        );
        assert.deepEqual(page2.body.pagination, {
          currentPage: 2,
          totalPages: 3,
          total: 5,
          limit: 2,
          hasNext: true,
          hasPrev: true,
        });
        assert.match(page2.headers.get("link") ?? "", /rel="next"/);
        const last = await api(
          ctx,
          "GET",
          `${path}?sort=rating&limit=2&page=3`,
        );
        assert.deepEqual(
          last.body.reviews.map((r: { rating: number }) => r.rating),
          [1],
        );
        assert.equal(last.body.pagination.hasNext, false);
        const past = await api(ctx, "GET", `${path}?limit=2&page=9`);
        assert.equal(past.status, 200);
        assert.deepEqual(past.body.reviews, []);
        for (const query of ["limit=0", "limit=1000", "page=0"]) {
          const res = await api(ctx, "GET", `${path}?${query}`);
          assert.equal(res.status, 422, query);
        }
        const all = await api(ctx, "GET", `${path}?limit=100`);
        assert.equal(all.body.reviews.length, 5);
        assert.equal(all.body.averageRating, 3);
        assert.equal(all.body.totalReviews, 5);
        await assertRatingsExact(ctx, sorted.id);
      },
    );

    await t.step(
      "averageRating is rounded to one decimal the same way everywhere",
      async () => {
        const p = await makeProgram(ctx, owner.user, { title: "Thirds" });
        for (const rating of [5, 4, 4]) {
          const who = await learner(ctx, p.id);
          assert.equal(
            (await post(ctx, who.token, p.id, { rating })).status,
            201,
          );
        }
        const truth = await assertRatingsExact(ctx, p.id);
        assert.deepEqual(truth, { sum: 13, count: 3 });
        const list = await api(ctx, "GET", `/api/programs/${p.id}/reviews`);
        assert.equal(list.body.averageRating, 4.3);
      },
    );

    await t.step(
      "reviews of drafts and deleted programs are not reachable",
      async () => {
        const draft = await makeProgram(ctx, owner.user, {
          title: "Draft",
          status: "draft",
        });
        const enrolled = await learner(ctx, draft.id);
        const onDraft = await post(ctx, enrolled.token, draft.id, {
          rating: 5,
        });
        assert.equal(onDraft.status, 404);
        const anonymousList = await api(
          ctx,
          "GET",
          `/api/programs/${draft.id}/reviews`,
        );
        assert.equal(anonymousList.status, 404);

        const doomed = await makeProgram(ctx, owner.user, { title: "Doomed" });
        const reviewer = await learner(ctx, doomed.id);
        const kept = await post(ctx, reviewer.token, doomed.id, { rating: 4 });
        assert.equal(kept.status, 201);
        const deleted = await api(ctx, "DELETE", `/api/programs/${doomed.id}`, {
          token: owner.token,
        });
        assert.equal(deleted.status, 200);
        const late = await learner(ctx, doomed.id);
        const onDeleted = await post(ctx, late.token, doomed.id, { rating: 1 });
        assert.equal(onDeleted.status, 404);
        const list = await api(
          ctx,
          "GET",
          `/api/programs/${doomed.id}/reviews`,
        );
        assert.equal(list.status, 404);
        assert.deepEqual(
          await truthOf(ctx, doomed.id),
          { sum: 4, count: 1 },
          "a soft delete keeps the reviews",
        );
      },
    );

    await t.step(
      "rating stays exact under 30 concurrent reviews, then concurrent edits, deletes and duplicates",
      async () => {
        const busy = await makeProgram(ctx, owner.user, { title: "Busy" });
        const path = `/api/programs/${busy.id}/reviews`;
        const crowd = await Promise.all(
          Array.from(
            { length: 30 },
            (_, i) => learner(ctx, busy.id, `Crowd ${i}`),
          ),
        );
        const rating = () => 1 + Math.floor(Math.random() * 5);
        const created = await Promise.all(
          crowd.map((who) =>
            post(ctx, who.token, busy.id, { rating: rating() })
          ),
        );
        assert.deepEqual(
          created.map((r) => r.status),
          Array(30).fill(201),
        );
        const first = await assertRatingsExact(ctx, busy.id);
        assert.equal(first.count, 30);

        const reviewIds = created.map((r) => r.body.review.id as string);
        const work: Promise<{ status: number }>[] = [];
        // 0-9 edit their rating (twice each, racing themselves); 10-14 delete their own;
        // 15-17 are deleted by an admin while their author edits; 18-20 post a duplicate;
        // 21-23 are deleted by their author and the admin at once.
        for (let i = 0; i < 10; i++) {
          for (let k = 0; k < 2; k++) {
            work.push(
              api(ctx, "PUT", `${path}/${reviewIds[i]}`, {
                token: crowd[i]!.token,
                body: { rating: rating() },
              }),
            );
          }
        }
        for (let i = 10; i < 15; i++) {
          work.push(
            api(ctx, "DELETE", `${path}/${reviewIds[i]}`, {
              token: crowd[i]!.token,
            }),
          );
        }
        const raced: Promise<{ status: number }>[] = [];
        for (let i = 15; i < 18; i++) {
          raced.push(
            api(ctx, "DELETE", `${path}/${reviewIds[i]}`, {
              token: admin.token,
            }),
            api(ctx, "PUT", `${path}/${reviewIds[i]}`, {
              token: crowd[i]!.token,
              body: { rating: rating() },
            }),
          );
        }
        for (let i = 18; i < 21; i++) {
          work.push(post(ctx, crowd[i]!.token, busy.id, { rating: rating() }));
        }
        const doubleDeletes: Promise<{ status: number }>[] = [];
        for (let i = 21; i < 24; i++) {
          doubleDeletes.push(
            api(ctx, "DELETE", `${path}/${reviewIds[i]}`, {
              token: crowd[i]!.token,
            }),
            api(ctx, "DELETE", `${path}/${reviewIds[i]}`, {
              token: admin.token,
            }),
          );
        }
        const [done, racedDone, doubleDone] = await Promise.all([
          Promise.all(work),
          Promise.all(raced),
          Promise.all(doubleDeletes),
        ]);
        assert.deepEqual(
          done.map((r) => r.status),
          [
            ...Array(20).fill(200),
            ...Array(5).fill(200),
            ...Array(3).fill(409),
          ],
        );
        for (let i = 0; i < racedDone.length; i += 2) {
          assert.equal(racedDone[i]!.status, 200, "the admin's delete");
          assert.ok(
            [200, 404].includes(racedDone[i + 1]!.status),
            "the edit lands before the delete or finds nothing",
          );
        }
        for (let i = 0; i < doubleDone.length; i += 2) {
          assert.deepEqual(
            [doubleDone[i]!.status, doubleDone[i + 1]!.status].sort(),
            [200, 404],
            "one review, deleted once",
          );
        }
        const after = await assertRatingsExact(ctx, busy.id);
        assert.equal(after.count, 30 - 5 - 3 - 3);
      },
    );
  } finally {
    await ctx.close();
  }
});
