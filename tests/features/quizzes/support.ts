import type { User } from "../../../db/schema/mod.ts";
import { api, type TestContext } from "../../helpers/context.ts";
import { makeProgram } from "../../helpers/factories.ts";
import type { CreateProgramInput } from "../../../server/features/programs/schemas.ts";

export { learner } from "../payments/support.ts";
import { and, asc, eq } from "drizzle-orm";
import { events } from "../../../db/schema/mod.ts";
import { startSession } from "../../../server/features/auth/service.ts";

/** One question of every type that carries marks, plus a description, in the native format. */
export const EVERY_TYPE = [
  {
    type: "single_choice",
    text: "Capital of France?",
    explanation: "Paris has been the capital since 987.",
    choices: [
      { text: "Paris", weight: 1, feedback: "Yes" },
      { text: "Lyon", weight: 0, feedback: "No, that is Lyon" },
      { text: "Nice", weight: 0 },
    ],
  },
  {
    type: "multiple_answers",
    text: "Which are primes?",
    choices: [
      { text: "2", weight: 0.5 },
      { text: "3", weight: 0.5 },
      { text: "4", weight: -1 },
    ],
  },
  {
    type: "true_false",
    text: "The Earth is round.",
    correct: true,
    feedbackWrong: "Look at a ship on the horizon",
  },
  {
    type: "short_answer",
    text: "Two plus two, in words?",
    answers: [{ text: "four", weight: 1 }],
  },
  {
    type: "numerical",
    text: "Pi to two decimals?",
    answers: [{ kind: "exact", value: 3.14, tolerance: 0.005, weight: 1 }],
  },
  {
    type: "matching",
    text: "Match the capitals",
    pairs: [
      { left: "France", right: "Paris" },
      { left: "Italy", right: "Rome" },
    ],
    distractors: ["Madrid"],
  },
  { type: "description", text: "The next part is about history." },
] as const;

/** A published program owned by `owner`, and a quiz on it made through the API. */
export async function quizOn(
  ctx: TestContext,
  owner: { user: Pick<User, "id" | "role">; token: string },
  quizFields: Record<string, unknown> = {},
  programFields: Partial<CreateProgramInput> = {},
) {
  const program = await makeProgram(ctx, owner.user, programFields);
  const created = await api(ctx, "POST", "/api/quizzes", {
    token: owner.token,
    body: {
      title: "Every type",
      programId: program.id,
      questions: EVERY_TYPE,
      ...quizFields,
    },
  });
  if (created.status !== 201) {
    throw new Error(`quiz not created: ${JSON.stringify(created.body)}`);
  }
  return { program, quiz: created.body.quiz as { id: string } };
}

export const start = (ctx: TestContext, token: string, quizId: string) =>
  api(ctx, "POST", `/api/quizzes/${quizId}/start`, { token });

export const submit = (
  ctx: TestContext,
  token: string,
  quizId: string,
  attemptId: string,
  answers: { questionId: string; selectedAnswer: unknown }[] = [],
) =>
  api(ctx, "POST", `/api/quizzes/${quizId}/submit`, {
    token,
    body: { attemptId, answers },
  });

/** The attempt's question id for a question text (orders may be shuffled). */
export function questionIdFor(
  questions: { id: string; questionText: string }[],
  text: string,
): string {
  const found = questions.find((q) => q.questionText === text);
  if (!found) throw new Error(`no question "${text}"`);
  return found.id;
}

// ---- Helpers for the deadline, retake, access, essay and CRUD tests ----

/** `n` single-choice questions `${prefix} 1..n`, 1 point each; "Right" is the answer. */
export const singleChoiceQuestions = (n: number, prefix = "Question") =>
  Array.from({ length: n }, (_, i) => ({
    type: "single_choice",
    text: `${prefix} ${i + 1}`,
    choices: [
      { text: "Right", weight: 1 },
      { text: "Wrong A", weight: 0 },
      { text: "Wrong B", weight: 0 },
    ],
  }));

/** POST /api/quizzes on an existing program; throws unless 201. */
export async function createQuizOn(
  ctx: TestContext,
  token: string,
  programId: string,
  fields: Record<string, unknown>,
) {
  const created = await api(ctx, "POST", "/api/quizzes", {
    token,
    body: { title: "A quiz", programId, ...fields },
  });
  if (created.status !== 201) {
    throw new Error(`quiz not created: ${JSON.stringify(created.body)}`);
  }
  return created.body.quiz as { id: string; questionIds?: string[] };
}

export const putAnswers = (
  ctx: TestContext,
  token: string,
  attemptId: string,
  answers: { questionId: string; selectedAnswer: unknown }[],
) =>
  api(ctx, "PUT", `/api/quizzes/attempts/${attemptId}/answers`, {
    token,
    body: { answers },
  });

export const readAttempt = (
  ctx: TestContext,
  token: string,
  attemptId: string,
) => api(ctx, "GET", `/api/quizzes/attempts/${attemptId}`, { token });

export const attemptList = (
  ctx: TestContext,
  token: string,
  quizId: string,
  query = "",
) => api(ctx, "GET", `/api/quizzes/${quizId}/attempts${query}`, { token });

/** Answers for an attempt of single-choice questions: the first `right` get "Right", the rest "Wrong A". */
export const answersWithRight = (
  questions: { id: string }[],
  right: number,
) =>
  questions.map((q, i) => ({
    questionId: q.id,
    selectedAnswer: i < right ? "Right" : "Wrong A",
  }));

/** Rows of the `events` table of one type for one user. */
export async function eventsOf(ctx: TestContext, type: string, userId: string) {
  return await ctx.deps.db.select().from(events).where(
    and(eq(events.type, type), eq(events.userId, userId)),
  ).orderBy(asc(events.createdAt));
}

/** A new access token for an account (e.g. after a fake clock moved past the old one's expiry). */
export async function freshToken(ctx: TestContext, user: User) {
  return (await startSession(ctx.deps, user, {})).token;
}
