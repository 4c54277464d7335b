import type { Db } from "../../../db/client.ts";
import { aiFailure, type AiProvider, requireAi } from "../../lib/ai.ts";
import { AppError } from "../../lib/errors.ts";
import { type Actor, getEditableProgram } from "../programs/service.ts";
import { bankQuestions, storeQuestions } from "./bank.ts";
import { parseJsonBank } from "./importers/json.ts";
import {
  type Difficulty,
  type ImportIssue,
  type Question,
  QuestionSchema,
} from "./question_model.ts";
import * as v from "valibot";

export interface GenerateInput {
  programId: string;
  topic: string;
  difficulty: Difficulty;
  count: number;
}

const FORMAT_GUIDE =
  `Reply with one JSON object {"questions": [...]} and nothing else.
Each question is one of:
{"type":"single_choice","text":"...","choices":[{"text":"...","weight":1,"feedback":"why"},{"text":"...","weight":0,"feedback":"why not"}],"explanation":"..."}
{"type":"multiple_answers","text":"...","choices":[{"text":"...","weight":0.5},{"text":"...","weight":0.5},{"text":"...","weight":-1}],"explanation":"..."}
{"type":"true_false","text":"...","correct":true,"explanation":"..."}
{"type":"short_answer","text":"...","answers":[{"text":"accepted answer","weight":1}],"explanation":"..."}
Weights are the share of the marks a choice earns (1 = full marks; the right choices of a multiple_answers question add up to 1; wrong ones 0 or negative).
Single choice questions have exactly four choices. Every question has an explanation.`;

function promptFor(
  program: { title: string; level: string; description: string },
  input: GenerateInput,
) {
  return [
    {
      role: "system" as const,
      content:
        `You write accurate quiz questions for the course "${program.title}" (${program.level} level). ${FORMAT_GUIDE}`,
    },
    {
      role: "user" as const,
      content:
        `Write ${input.count} ${input.difficulty} questions about: ${input.topic}\nCourse summary: ${
          program.description.slice(0, 1500)
        }`,
    },
  ];
}

/**
 * Asks the provider for draft questions, checks them with the same schema as the JSON import, and
 * stores the valid ones as drafts in the program's bank for the instructor to review. What the
 * model got wrong is reported, not stored.
 */
export async function generateDraftQuestions(
  deps: { db: Db; ai: AiProvider | undefined },
  actor: Actor,
  input: GenerateInput,
) {
  const ai = requireAi(deps);
  const program = await getEditableProgram(deps, actor, input.programId);
  let content: string;
  try {
    const completion = await ai.client.chat.completions.create({
      model: ai.model,
      messages: promptFor(program, input),
      response_format: { type: "json_object" },
      temperature: 0.4,
    });
    content = completion.choices[0]?.message?.content ?? "";
  } catch (error) {
    throw aiFailure(error);
  }
  const parsed = parseJsonBank(content);
  const warnings: ImportIssue[] = [...parsed.errors, ...parsed.warnings];
  const valid: Question[] = [];
  for (const { question, location } of parsed.questions) {
    const checked = v.safeParse(QuestionSchema, {
      difficulty: input.difficulty,
      category: input.topic.slice(0, 200),
      ...question,
      tags: [...(question.tags ?? []), "ai-draft"],
    });
    if (!checked.success) {
      warnings.push({ location, message: checked.issues[0].message });
    } else if (valid.length < input.count) valid.push(checked.output);
  }
  if (valid.length === 0) {
    throw new AppError(
      502,
      "AI_PROVIDER_ERROR",
      "The AI provider returned no usable questions; try again or rephrase the topic",
      { warnings: warnings.slice(0, 20) },
    );
  }
  const ids = await deps.db.transaction((tx) =>
    storeQuestions(
      tx,
      program.id,
      valid,
      actor.id === "cli" ? null : actor.id,
      "draft",
    )
  );
  return { questions: await bankQuestions(deps.db, ids), warnings };
}
