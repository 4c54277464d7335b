import type { Question } from "../question_model.ts";

/** The native format as `parseJsonBank` reads it: `{"questions": [...]}`, pretty-printed. */
export function toJson(questions: Question[]): string {
  // JSON.stringify leaves out properties whose value is undefined.
  return `${JSON.stringify({ questions }, null, 2)}\n`;
}
