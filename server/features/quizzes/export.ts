import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../../../db/client.ts";
import { questions, quizQuestions } from "../../../db/schema/mod.ts";
import type { Actor } from "../programs/service.ts";
import { getEditableProgram } from "../programs/service.ts";
import { inCategory, rowToQuestion } from "./bank.ts";
import {
  type ExportedBank,
  type ExportFormat,
  exportQuestions,
} from "./exporters/mod.ts";
import { getEditableQuiz } from "./service.ts";

/**
 * A quiz's questions as a bank file (owner or admin: it holds the answers). A fixed list exports
 * in order; a drawing quiz exports every question it can draw from.
 */
export async function exportQuiz(
  deps: { db: Db },
  actor: Actor,
  quizId: string,
  format: ExportFormat,
): Promise<ExportedBank & { filename: string }> {
  const { quiz } = await getEditableQuiz(deps, actor, quizId);
  let rows;
  if (quiz.drawCount === null) {
    rows = (await deps.db.select({ question: questions }).from(quizQuestions)
      .innerJoin(questions, eq(questions.id, quizQuestions.questionId))
      .where(eq(quizQuestions.quizId, quiz.id))
      .orderBy(asc(quizQuestions.position))).map((row) => row.question);
  } else {
    const conditions = [
      eq(questions.programId, quiz.programId),
      eq(questions.status, "active"),
    ];
    if (quiz.drawCategory) {
      conditions.push(inCategory(quiz.drawCategory));
    }
    if (quiz.drawDifficulty) {
      conditions.push(eq(questions.difficulty, quiz.drawDifficulty));
    }
    rows = await deps.db.select().from(questions).where(and(...conditions))
      .orderBy(asc(questions.category), asc(questions.id));
  }
  const file = exportQuestions(rows.map(rowToQuestion), format);
  return { ...file, filename: `${slugForFile(quiz.title)}${file.extension}` };
}

/** A program's whole bank (active and draft questions), by category. */
export async function exportProgramBank(
  deps: { db: Db },
  actor: Actor,
  programRef: string,
  format: ExportFormat,
): Promise<ExportedBank & { filename: string }> {
  const program = await getEditableProgram(deps, actor, programRef);
  const rows = await deps.db.select().from(questions).where(
    eq(questions.programId, program.id),
  ).orderBy(asc(questions.category), asc(questions.id));
  const file = exportQuestions(rows.map(rowToQuestion), format);
  return { ...file, filename: `${program.slug}-bank${file.extension}` };
}

const slugForFile = (title: string) =>
  title.normalize("NFKD").replace(/[^\w\s-]/g, "").trim().replace(/\s+/g, "-")
    .toLowerCase().slice(0, 80) || "quiz";
