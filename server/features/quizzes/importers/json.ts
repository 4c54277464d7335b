import * as v from "valibot";
import {
  type ImportIssue,
  normalizeSource,
  type ParseResult,
  QuestionSchema,
} from "../question_model.ts";

/** Where a JSON.parse error points, as `line N` when the engine says where. */
function syntaxLocation(source: string, error: SyntaxError): string {
  const position = error.message.match(/position (\d+)/)?.[1];
  if (position === undefined) return "file";
  const line = source.slice(0, Number(position)).split("\n").length;
  return `line ${line}`;
}

const pathOf = (issue: v.BaseIssue<unknown>) =>
  issue.path?.map((item) => String(item.key)).join(".") ?? "";

/**
 * The native format: an array of questions, or `{questions: [...]}`, each as QuestionSchema
 * describes (docs/question-bank.schema.json). Locations are `question N`, 1-based.
 */
export function parseJsonBank(source: string): ParseResult {
  const text = normalizeSource(source);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const syntax = error as SyntaxError;
    return {
      questions: [],
      warnings: [],
      errors: [{
        location: syntaxLocation(text, syntax),
        message: `Not valid JSON: ${syntax.message}`,
      }],
    };
  }
  const list = Array.isArray(data)
    ? data
    : (data as { questions?: unknown })?.questions;
  if (!Array.isArray(list)) {
    return {
      questions: [],
      warnings: [],
      errors: [{
        location: "file",
        message: 'Expected an array of questions or {"questions": [...]}',
      }],
    };
  }
  const result: ParseResult = { questions: [], warnings: [], errors: [] };
  list.forEach((item, index) => {
    const location = `question ${index + 1}`;
    const parsed = v.safeParse(QuestionSchema, item);
    if (parsed.success) {
      result.questions.push({ question: parsed.output, location });
      return;
    }
    const issues: ImportIssue[] = parsed.issues.map((issue) => ({
      location,
      message: pathOf(issue)
        ? `${pathOf(issue)}: ${issue.message}`
        : issue.message,
    }));
    result.errors.push(...issues);
  });
  return result;
}
