import { and, eq, gte, inArray, lt, or, type SQL } from "drizzle-orm";
import * as v from "valibot";
import type { DbOrTx } from "../../../db/client.ts";
import { type QuestionRow, questions } from "../../../db/schema/mod.ts";
import { validationFailed } from "../../lib/errors.ts";
import { issuesToFields } from "../../lib/validation.ts";
import { questionHash, toRow } from "./import.ts";
import {
  type DraftQuestion,
  type Question,
  QuestionSchema,
} from "./question_model.ts";
import { type ContractQuestion, ContractQuestionSchema } from "./schemas.ts";

/** A stored row back into the shared question model. */
export function rowToQuestion(row: QuestionRow): Question {
  return v.parse(QuestionSchema, {
    ...row.body,
    type: row.type,
    ...(row.title !== null ? { title: row.title } : {}),
    text: row.text,
    format: row.format,
    ...(row.category ? { category: row.category } : {}),
    ...(row.difficulty ? { difficulty: row.difficulty } : {}),
    points: row.points,
    tags: row.tags,
  });
}

/** 002's `{questionText, options, correctAnswer}` as a native question. */
export function fromContractQuestion(input: ContractQuestion): DraftQuestion {
  const common = {
    text: input.questionText,
    ...(input.explanation ? { explanation: input.explanation } : {}),
    ...(input.points !== undefined ? { points: input.points } : {}),
    ...(input.difficulty ? { difficulty: input.difficulty } : {}),
    ...(input.category ? { category: input.category } : {}),
  };
  const correct = Array.isArray(input.correctAnswer)
    ? input.correctAnswer
    : [String(input.correctAnswer)];
  switch (input.questionType) {
    case "true-false":
      return {
        ...common,
        type: "true_false",
        correct: String(input.correctAnswer).toLowerCase() === "true",
      };
    case "short-answer":
      return {
        ...common,
        type: "short_answer",
        answers: correct.map((text) => ({ text, weight: 1 })),
      };
    case "multiple-answers": {
      const share = 1 / Math.max(1, correct.length);
      return {
        ...common,
        type: "multiple_answers",
        choices: (input.options ?? []).map((text) => ({
          text,
          weight: correct.includes(text) ? share : 0,
        })),
      };
    }
    default:
      return {
        ...common,
        type: "single_choice",
        choices: (input.options ?? []).map((text) => ({
          text,
          weight: text === correct[0] ? 1 : 0,
        })),
      };
  }
}

/**
 * Inline questions from a quiz body, native (`type`) or in 002's shape (`questionText`): every
 * problem is reported as `questions.N.field`, nothing is stored unless all are valid.
 */
export function parseInlineQuestions(list: unknown[]): Question[] {
  const fields: Record<string, string> = {};
  const parsed: Question[] = [];
  list.forEach((item, index) => {
    const prefix = `questions.${index}`;
    let draft: unknown = item;
    if (item && typeof item === "object" && "questionText" in item) {
      const contract = v.safeParse(ContractQuestionSchema, item);
      if (!contract.success) {
        for (
          const [key, message] of Object.entries(
            issuesToFields(contract.issues),
          )
        ) {
          fields[`${prefix}.${key}`] ??= message;
        }
        return;
      }
      const { correctAnswer, options = [] } = contract.output;
      const wanted = Array.isArray(correctAnswer)
        ? correctAnswer
        : [String(correctAnswer)];
      if (
        contract.output.questionType.startsWith("multiple") &&
        !wanted.every((answer) => options.includes(answer))
      ) {
        fields[`${prefix}.correctAnswer`] = "Must be one of the options";
        return;
      }
      draft = fromContractQuestion(contract.output);
    }
    const question = v.safeParse(QuestionSchema, draft);
    if (!question.success) {
      for (
        const [key, message] of Object.entries(issuesToFields(question.issues))
      ) {
        fields[`${prefix}.${key}`] ??= message;
      }
      return;
    }
    parsed.push(question.output);
  });
  if (Object.keys(fields).length > 0) throw validationFailed(fields);
  return parsed;
}

/**
 * Puts questions in a program's bank and returns their ids in the given order; a question already
 * there (same content hash) is reused, not duplicated.
 */
export async function storeQuestions(
  tx: DbOrTx,
  programId: string,
  list: Question[],
  createdBy: string | null,
  status: "active" | "draft" = "active",
): Promise<string[]> {
  const now = new Date();
  const ids: string[] = [];
  for (const question of list) {
    const hash = await questionHash(question);
    const [existing] = await tx.select({ id: questions.id }).from(questions)
      .where(and(
        eq(questions.programId, programId),
        eq(questions.contentHash, hash),
      ));
    if (existing) {
      ids.push(existing.id);
      continue;
    }
    const row = { ...toRow(question, programId, hash, createdBy, now), status };
    await tx.insert(questions).values(row);
    ids.push(row.id);
  }
  return ids;
}

/** Ids that are active questions of the program's bank; 422 naming any that are not. */
export async function checkBankIds(
  db: DbOrTx,
  programId: string,
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  const found = new Set(
    (await db.select({ id: questions.id }).from(questions).where(and(
      eq(questions.programId, programId),
      eq(questions.status, "active"),
      inArray(questions.id, ids),
    ))).map((row) => row.id),
  );
  const fields: Record<string, string> = {};
  ids.forEach((id, index) => {
    if (!found.has(id)) {
      fields[`questionIds.${index}`] =
        "Not an active question of this program's bank";
    }
  });
  if (Object.keys(fields).length > 0) throw validationFailed(fields);
}

/** A bank question as its program's owner reads it: everything, answers included. */
export const bankQuestionView = (row: QuestionRow) => ({
  id: row.id,
  status: row.status,
  createdAt: row.createdAt.toISOString(),
  ...rowToQuestion(row),
});

/** Bank questions by id, in the order given. */
export async function bankQuestions(db: DbOrTx, ids: string[]) {
  if (ids.length === 0) return [];
  const rows = await db.select().from(questions).where(
    inArray(questions.id, ids),
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [bankQuestionView(row)] : [];
  });
}

/**
 * Questions in a category or any of its subcategories (`Math` takes `Math/Algebra`, not
 * `Mathematics`). A range on the path instead of LIKE: exact, case-sensitive, no wildcards to
 * escape ("0" is the character after "/").
 */
export function inCategory(category: string): SQL {
  return or(
    eq(questions.category, category),
    and(
      gte(questions.category, `${category}/`),
      lt(questions.category, `${category}0`),
    ),
  )!;
}
