import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { certificates } from "../../../db/schema/mod.ts";
import { issueManually } from "../../../server/features/certificates/service.ts";
import { api, type TestContext } from "../../helpers/context.ts";
import { learner, programWithLesson } from "../payments/support.ts";

export const FINAL_EXAM = [
  {
    questionText: "2 + 2?",
    questionType: "multiple-choice",
    options: ["4", "5"],
    correctAnswer: "4",
  },
  {
    questionText: "3 + 3?",
    questionType: "multiple-choice",
    options: ["6", "7"],
    correctAnswer: "6",
  },
];

export async function sit(
  ctx: TestContext,
  token: string,
  quizId: string,
  right: boolean,
) {
  const started = await api(ctx, "POST", `/api/quizzes/${quizId}/start`, {
    token,
  });
  assert.ok([200, 201].includes(started.status), JSON.stringify(started.body));
  const answers = started.body.questions.map((
    q: { id: string; questionText: string },
  ) => ({
    questionId: q.id,
    selectedAnswer: right
      ? (q.questionText === "2 + 2?" ? "4" : "6")
      : (q.questionText === "2 + 2?" ? "5" : "7"),
  }));
  return await api(ctx, "POST", `/api/quizzes/${quizId}/submit`, {
    token,
    body: { attemptId: started.body.attemptId, answers },
  });
}

export const certificatesOf = (ctx: TestContext, userId: string) =>
  ctx.deps.db.select().from(certificates).where(
    eq(certificates.userId, userId),
  );

/**
 * A learner holding a certificate issued by an admin (the quickest real path), its PDF rendered:
 * what the verification, revoke and reissue tests start from.
 */
export async function certifiedLearner(
  ctx: TestContext,
  fields: Parameters<typeof programWithLesson>[2] = {},
) {
  const admin = await learner(ctx, "admin");
  const teacher = await learner(ctx, "instructor");
  const student = await learner(ctx);
  const { program } = await programWithLesson(ctx, teacher.user, fields);
  const { certificate } = await issueManually(ctx.deps, admin.user, {
    userId: student.user.id,
    programId: program.id,
    reason: "Test fixture",
  });
  return { admin, teacher, student, program, certificate };
}
