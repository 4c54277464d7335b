import { and, asc, count, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Db as Database, DbOrTx } from "../../../db/client.ts";
import {
  enrollments,
  type Program,
  programs,
  type Quiz,
  quizQuestions,
  quizzes,
} from "../../../db/schema/mod.ts";
import { notFound, validationFailed } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { isOwnerOrAdmin } from "../access/service.ts";
import {
  type Actor,
  getEditableProgram,
  isVisibleTo,
} from "../programs/service.ts";
import { checkBankIds, parseInlineQuestions, storeQuestions } from "./bank.ts";
import type { CreateQuizInput, UpdateQuizInput } from "./schemas.ts";

type Db = { db: DbOrTx };

/** A quiz and its program, as long as neither is deleted and the viewer may see the program. */
export async function getVisibleQuiz(
  deps: Db,
  viewer: Actor,
  quizId: string,
): Promise<{ quiz: Quiz; program: Program }> {
  const [row] = await deps.db.select({ quiz: quizzes, program: programs })
    .from(quizzes).innerJoin(programs, eq(programs.id, quizzes.programId))
    .where(eq(quizzes.id, quizId)).limit(1);
  if (
    !row || row.quiz.deletedAt || row.program.deletedAt ||
    !isVisibleTo(viewer, row.program)
  ) {
    throw notFound("Quiz");
  }
  return row;
}

export async function getEditableQuiz(deps: Db, actor: Actor, quizId: string) {
  const found = await getVisibleQuiz(deps, actor, quizId);
  await getEditableProgram(deps, actor, found.program.id);
  return found;
}

/** How many questions an attempt shows: the draw size, or the active questions on the list. */
// Written out with table names: drizzle leaves columns unqualified in single-table selects, and
// an unqualified "id" inside the subquery would mean questions.id.
const questionCountSql = sql<number>`CASE
  WHEN "quizzes"."draw_count" IS NOT NULL THEN "quizzes"."draw_count"
  ELSE (SELECT count(*) FROM "quiz_questions" qq
        JOIN "questions" q ON q."id" = qq."question_id"
        WHERE qq."quiz_id" = "quizzes"."id"
          AND q."status" = 'active' AND q."type" <> 'description')
END`;

const toSummary = (
  quiz: Quiz,
  programTitle: string,
  questionCount: number,
) => ({
  id: quiz.id,
  title: quiz.title,
  programId: quiz.programId,
  programTitle,
  difficulty: quiz.difficulty,
  questionCount,
  duration: quiz.durationMinutes,
  passingScore: quiz.passingScore,
  isTimed: quiz.isTimed,
  createdAt: quiz.createdAt.toISOString(),
});

/**
 * Quizzes a viewer may see: with `programId`, that program's; otherwise admins see all,
 * instructors their programs', learners those of programs they are enrolled in.
 */
export async function listQuizzes(
  deps: Db,
  viewer: Actor,
  filter: { programId?: string; difficulty?: string },
  page: PageRequest,
) {
  const conditions = [isNull(quizzes.deletedAt), isNull(programs.deletedAt)];
  if (filter.programId) {
    const [program] = await deps.db.select().from(programs).where(
      eq(programs.id, filter.programId),
    );
    if (!program || !isVisibleTo(viewer, program)) throw notFound("Program");
    conditions.push(eq(quizzes.programId, program.id));
  } else if (viewer.role === "instructor") {
    conditions.push(eq(programs.instructorId, viewer.id));
  } else if (viewer.role !== "admin") {
    conditions.push(
      eq(programs.status, "published"),
      inArray(
        quizzes.programId,
        deps.db.select({ id: enrollments.programId }).from(enrollments).where(
          eq(enrollments.userId, viewer.id),
        ),
      ),
    );
  }
  if (filter.difficulty) {
    conditions.push(eq(quizzes.difficulty, filter.difficulty));
  }
  const where = and(...conditions);
  const [rows, [total]] = await Promise.all([
    deps.db.select({
      quiz: quizzes,
      programTitle: programs.title,
      questionCount: questionCountSql,
    }).from(quizzes).innerJoin(programs, eq(programs.id, quizzes.programId))
      .where(where).orderBy(desc(quizzes.createdAt), desc(quizzes.id))
      .limit(page.limit).offset(offsetOf(page)),
    deps.db.select({ n: count() }).from(quizzes).innerJoin(
      programs,
      eq(programs.id, quizzes.programId),
    ).where(where),
  ]);
  return {
    quizzes: rows.map((row) =>
      toSummary(row.quiz, row.programTitle, Number(row.questionCount))
    ),
    total: total?.n ?? 0,
  };
}

export async function fixedQuestionIds(db: DbOrTx, quizId: string) {
  const rows = await db.select({ id: quizQuestions.questionId }).from(
    quizQuestions,
  ).where(eq(quizQuestions.quizId, quizId)).orderBy(
    asc(quizQuestions.position),
  );
  return rows.map((row) => row.id);
}

/** The quiz as anyone who may see it reads it: settings, never answers. */
export async function quizDetail(deps: Db, viewer: Actor, quizId: string) {
  const { quiz, program } = await getVisibleQuiz(deps, viewer, quizId);
  const [counted] = await deps.db.select({ n: questionCountSql }).from(quizzes)
    .where(eq(quizzes.id, quiz.id));
  const owner = isOwnerOrAdmin(viewer, program);
  return {
    ...toSummary(quiz, program.title, Number(counted?.n ?? 0)),
    description: quiz.description,
    allowRetake: quiz.allowRetake,
    showAnswersAfterSubmit: quiz.showAnswersAfterSubmit,
    attemptsAllowed: quiz.attemptsAllowed,
    cooldownMinutes: quiz.cooldownMinutes,
    gradingMethod: quiz.gradingMethod,
    shuffleQuestions: quiz.shuffleQuestions,
    shuffleOptions: quiz.shuffleOptions,
    certificateRole: quiz.certificateRole,
    draw: quiz.drawCount === null ? null : {
      count: quiz.drawCount,
      category: quiz.drawCategory,
      difficulty: quiz.drawDifficulty,
    },
    updatedAt: quiz.updatedAt.toISOString(),
    ...(owner ? { questionIds: await fixedQuestionIds(deps.db, quiz.id) } : {}),
  };
}

type Settings = Omit<UpdateQuizInput, "title">;

/** Settings as columns; checks the rules that span fields (a timed quiz needs a duration...). */
function settingsToColumns(input: Settings, current?: Quiz) {
  const fields: Record<string, string> = {};
  const duration = input.duration !== undefined
    ? input.duration
    : current?.durationMinutes ?? null;
  const isTimed = input.isTimed ?? current?.isTimed ?? false;
  if (isTimed && duration === null) {
    fields.duration = "A timed quiz needs a duration in minutes";
  }
  const listGiven = input.questions !== undefined ||
    input.questionIds !== undefined;
  if (listGiven && input.draw) {
    fields.draw =
      "Give either a fixed list (questions, questionIds) or a draw, not both";
  }
  if (Object.keys(fields).length > 0) throw validationFailed(fields);
  const draw = input.draw === undefined
    ? undefined
    : listGiven || input.draw === null
    ? { drawCount: null, drawCategory: null, drawDifficulty: null }
    : {
      drawCount: input.draw.count,
      drawCategory: input.draw.category?.trim().replace(/^\/+|\/+$/g, "") ||
        null,
      drawDifficulty: input.draw.difficulty ?? null,
    };
  return {
    ...(input.description !== undefined
      ? { description: input.description }
      : {}),
    ...(input.difficulty !== undefined ? { difficulty: input.difficulty } : {}),
    ...(input.duration !== undefined
      ? { durationMinutes: input.duration }
      : {}),
    ...(input.passingScore !== undefined
      ? { passingScore: input.passingScore }
      : {}),
    ...(input.isTimed !== undefined ? { isTimed: input.isTimed } : {}),
    ...(input.allowRetake !== undefined
      ? { allowRetake: input.allowRetake }
      : {}),
    ...(input.showAnswersAfterSubmit !== undefined
      ? { showAnswersAfterSubmit: input.showAnswersAfterSubmit }
      : {}),
    ...(input.attemptsAllowed !== undefined
      ? { attemptsAllowed: input.attemptsAllowed }
      : {}),
    ...(input.cooldownMinutes !== undefined
      ? { cooldownMinutes: input.cooldownMinutes }
      : {}),
    ...(input.gradingMethod !== undefined
      ? { gradingMethod: input.gradingMethod }
      : {}),
    ...(input.shuffleQuestions !== undefined
      ? { shuffleQuestions: input.shuffleQuestions }
      : {}),
    ...(input.shuffleOptions !== undefined
      ? { shuffleOptions: input.shuffleOptions }
      : {}),
    ...(input.certificateRole !== undefined
      ? { certificateRole: input.certificateRole }
      : {}),
    ...(draw ??
      (listGiven
        ? { drawCount: null, drawCategory: null, drawDifficulty: null }
        : {})),
  };
}

/** Replaces the fixed list: inline questions go into the bank first, then the list is rewritten. */
async function writeQuestionList(
  tx: DbOrTx,
  quizId: string,
  programId: string,
  input: Settings,
  actor: Actor,
) {
  if (input.questions === undefined && input.questionIds === undefined) return;
  const inline = parseInlineQuestions(input.questions ?? []);
  await checkBankIds(tx, programId, input.questionIds ?? []);
  const storedIds = await storeQuestions(
    tx,
    programId,
    inline,
    actor.id === "cli" ? null : actor.id,
  );
  const ids = [...new Set([...(input.questionIds ?? []), ...storedIds])];
  await tx.delete(quizQuestions).where(eq(quizQuestions.quizId, quizId));
  if (ids.length > 0) {
    await tx.insert(quizQuestions).values(
      ids.map((questionId, position) => ({ quizId, questionId, position })),
    );
  }
}

export async function createQuiz(
  deps: { db: Database },
  actor: Actor,
  input: CreateQuizInput,
) {
  const program = await getEditableProgram(deps, actor, input.programId);
  const columns = settingsToColumns(input);
  // Validate inline questions before the transaction so a bad one writes nothing at all.
  parseInlineQuestions(input.questions ?? []);
  const now = new Date();
  const id = newId();
  await deps.db.transaction(async (tx) => {
    await tx.insert(quizzes).values({
      id,
      programId: program.id,
      title: input.title,
      ...columns,
      createdBy: actor.id === "cli" ? null : actor.id,
      createdAt: now,
      updatedAt: now,
    });
    await writeQuestionList(tx, id, program.id, input, actor);
  });
  return quizDetail(deps, actor, id);
}

export async function updateQuiz(
  deps: { db: Database },
  actor: Actor,
  quizId: string,
  input: UpdateQuizInput,
) {
  const { quiz } = await getEditableQuiz(deps, actor, quizId);
  const columns = settingsToColumns(input, quiz);
  parseInlineQuestions(input.questions ?? []);
  await deps.db.transaction(async (tx) => {
    await tx.update(quizzes).set({
      ...columns,
      ...(input.title !== undefined ? { title: input.title } : {}),
      updatedAt: new Date(),
    }).where(eq(quizzes.id, quiz.id));
    await writeQuestionList(tx, quiz.id, quiz.programId, input, actor);
  });
  return quizDetail(deps, actor, quiz.id);
}

/** Soft delete: attempts, grades and what they earned stay; the quiz can no longer be started. */
export async function deleteQuiz(deps: Db, actor: Actor, quizId: string) {
  const { quiz } = await getEditableQuiz(deps, actor, quizId);
  await deps.db.update(quizzes).set({
    deletedAt: new Date(),
    updatedAt: new Date(),
  }).where(eq(quizzes.id, quiz.id));
}
