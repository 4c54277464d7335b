import { and, eq, inArray, sql } from "drizzle-orm";
import * as v from "valibot";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type Program,
  questions,
  type Quiz,
  quizQuestions,
  quizzes,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { notFound, validationFailed } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { createHash } from "node:crypto";
import { type Actor, getEditableProgram } from "../programs/service.ts";
import { detectFormat, PARSERS } from "./importers/mod.ts";
import {
  type ImportFormat,
  type ImportIssue,
  type Question,
  QuestionSchema,
} from "./question_model.ts";

/** The largest bank file accepted, by the API and the CLI alike. */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;
const INSERT_CHUNK = 200;

export interface ImportOptions {
  programRef: string;
  quizId?: string;
  newQuizTitle?: string;
  format?: ImportFormat;
  source: string;
  dryRun?: boolean;
}

export interface ImportReport {
  ok: boolean;
  dryRun: boolean;
  format: ImportFormat;
  quiz: { id: string | null; title: string } | null;
  created: number;
  skipped: number;
  warnings: ImportIssue[];
  errors: ImportIssue[];
}

/** JSON with object keys sorted, so equal questions always hash the same. */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${
      entries.map(([key, item]) =>
        `${JSON.stringify(key)}:${stableStringify(item)}`
      )
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/** Synchronous on purpose: awaiting WebCrypto once per question costs seconds on a large bank. */
export const questionHash = (question: Question): string =>
  createHash("sha256").update(stableStringify(question)).digest("hex");

/** The question as stored: common fields in columns, the type's own parts in `body`. */
export function toRow(
  question: Question,
  programId: string,
  hash: string,
  createdBy: string | null,
  now: Date,
) {
  const {
    type,
    title,
    text,
    format,
    category,
    difficulty,
    points,
    tags,
    ...body
  } = question;
  return {
    id: newId(),
    programId,
    type,
    title: title ?? null,
    text,
    format,
    category: category ?? "",
    difficulty: difficulty ?? null,
    points,
    tags,
    body,
    contentHash: hash,
    createdBy,
    createdAt: now,
    updatedAt: now,
  };
}

async function existingHashes(
  db: DbOrTx,
  programId: string,
  hashes: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let i = 0; i < hashes.length; i += 500) {
    const rows = await db.select({
      id: questions.id,
      hash: questions.contentHash,
    })
      .from(questions).where(and(
        eq(questions.programId, programId),
        inArray(questions.contentHash, hashes.slice(i, i + 500)),
      ));
    for (const row of rows) found.set(row.hash, row.id);
  }
  return found;
}

async function quizOf(
  db: DbOrTx,
  program: Program,
  quizId: string,
): Promise<Quiz> {
  const [quiz] = await db.select().from(quizzes).where(and(
    eq(quizzes.id, quizId),
    eq(quizzes.programId, program.id),
  ));
  if (!quiz || quiz.deletedAt) throw notFound("Quiz");
  return quiz;
}

/** Appends questions to a quiz's fixed list, skipping those already on it. */
async function attachToQuiz(tx: DbOrTx, quizId: string, questionIds: string[]) {
  const [last] = await tx.select({
    max: sql<number | null>`max(${quizQuestions.position})`,
  }).from(quizQuestions).where(eq(quizQuestions.quizId, quizId));
  let position = (last?.max ?? -1) + 1;
  for (let i = 0; i < questionIds.length; i += INSERT_CHUNK) {
    const rows = questionIds.slice(i, i + INSERT_CHUNK).map((questionId) => ({
      quizId,
      questionId,
      position: position++,
    }));
    await tx.insert(quizQuestions).values(rows).onConflictDoNothing();
  }
}

/**
 * Imports a bank file into a program (and optionally a quiz): every problem in the file is
 * reported with its location, and nothing is written unless there are none. A question already in
 * the program (same content hash) is skipped, so importing a file twice creates nothing new.
 */
export async function importQuestions(
  deps: Pick<Deps, "db">,
  actor: Actor,
  options: ImportOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportReport> {
  if (options.quizId && options.newQuizTitle) {
    throw validationFailed({
      quizId: "Give either an existing quiz or a new quiz's title, not both",
    });
  }
  const program = await getEditableProgram(deps, actor, options.programRef);
  const quiz = options.quizId
    ? await quizOf(deps.db, program, options.quizId)
    : undefined;
  const format = options.format ?? detectFormat(options.source);
  const parsed = PARSERS[format](options.source);
  const errors = [...parsed.errors];
  const valid: { question: Question; hash: string }[] = [];
  for (const { question, location } of parsed.questions) {
    const checked = v.safeParse(QuestionSchema, question);
    if (!checked.success) {
      errors.push({ location, message: checked.issues[0].message });
      continue;
    }
    valid.push({
      question: checked.output,
      hash: questionHash(checked.output),
    });
  }
  const quizSummary = quiz
    ? { id: quiz.id, title: quiz.title }
    : options.newQuizTitle
    ? { id: null, title: options.newQuizTitle }
    : null;
  const report: ImportReport = {
    ok: errors.length === 0,
    dryRun: options.dryRun ?? false,
    format,
    quiz: quizSummary,
    created: 0,
    skipped: 0,
    warnings: parsed.warnings,
    errors,
  };
  if (!report.ok) return report;

  const known = await existingHashes(
    deps.db,
    program.id,
    valid.map((item) => item.hash),
  );
  const seen = new Set<string>();
  const fresh = valid.filter((item) => {
    if (known.has(item.hash) || seen.has(item.hash)) return false;
    seen.add(item.hash);
    return true;
  });
  report.created = fresh.length;
  report.skipped = valid.length - fresh.length;
  if (report.dryRun) return report;

  const now = new Date();
  await deps.db.transaction(async (tx) => {
    let quizId = quiz?.id;
    if (options.newQuizTitle) {
      quizId = newId();
      await tx.insert(quizzes).values({
        id: quizId,
        programId: program.id,
        title: options.newQuizTitle,
        createdBy: actor.id === "cli" ? null : actor.id,
        createdAt: now,
        updatedAt: now,
      });
      report.quiz = { id: quizId, title: options.newQuizTitle };
    }
    const idsByHash = new Map(known);
    for (let i = 0; i < fresh.length; i += INSERT_CHUNK) {
      const rows = fresh.slice(i, i + INSERT_CHUNK).map((item) =>
        toRow(
          item.question,
          program.id,
          item.hash,
          actor.id === "cli" ? null : actor.id,
          now,
        )
      );
      await tx.insert(questions).values(rows);
      for (const row of rows) idsByHash.set(row.contentHash, row.id);
      onProgress?.(Math.min(i + INSERT_CHUNK, fresh.length), fresh.length);
      // libsql frees each prepared statement when the GC finalizes it, on a macrotask; the
      // synchronous driver never yields one, so without this a large import holds them all.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (quizId) {
      const ordered = [
        ...new Set(valid.map((item) => idsByHash.get(item.hash)!)),
      ];
      await attachToQuiz(tx, quizId, ordered);
    }
  });
  return report;
}
