import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { QuestionSchema } from "./question_model.ts";

export const JSON_SCHEMA_PATH = new URL(
  "../../../docs/question-bank.schema.json",
  import.meta.url,
);

/** The native JSON bank format as a JSON Schema, generated from the schema the importer uses. */
export function questionBankJsonSchema(): string {
  const bank = v.union([
    v.array(QuestionSchema),
    v.object({ questions: v.array(QuestionSchema) }),
  ]);
  const schema = {
    $id: "https://lectern.dev/schemas/question-bank.schema.json",
    title: "Lectern question bank",
    description:
      "An array of questions, or {questions: [...]}. Weights are fractions of the question's points, from -1 to 1.",
    ...toJsonSchema(bank, { errorMode: "ignore" }),
  };
  return JSON.stringify(schema, null, 2) + "\n";
}

// `deno run --allow-write server/features/quizzes/json_schema.ts` rewrites the documented copy.
if (import.meta.main) {
  await Deno.writeTextFile(JSON_SCHEMA_PATH, questionBankJsonSchema());
  console.log(`wrote ${JSON_SCHEMA_PATH.pathname}`);
}
