import assert from "node:assert/strict";
import * as v from "valibot";
import { parseAiken } from "../../../server/features/quizzes/importers/aiken.ts";
import {
  type ParseResult,
  QuestionSchema,
} from "../../../server/features/quizzes/question_model.ts";

function parse(source: string): ParseResult {
  const result = parseAiken(source);
  for (const { question } of result.questions) {
    v.parse(QuestionSchema, question);
  }
  return result;
}

const MOODLE_EXAMPLE = `What is the correct answer to this question?
A. Is it this one?
B. Maybe this answer?
C. Possibly this one?
D. Must be this one!
ANSWER: D

Which LMS has the most quiz import formats?
A) Moodle
B) ATutor
C) Claroline
D) Blackboard
E) WebCT
F) Ilias
ANSWER: A
`;

Deno.test("parseAiken", async (t) => {
  await t.step("reads Moodle's documented example", () => {
    const result = parse(MOODLE_EXAMPLE);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(result.questions, [
      {
        location: "line 1",
        question: {
          type: "single_choice",
          text: "What is the correct answer to this question?",
          choices: [
            { text: "Is it this one?", weight: 0 },
            { text: "Maybe this answer?", weight: 0 },
            { text: "Possibly this one?", weight: 0 },
            { text: "Must be this one!", weight: 1 },
          ],
        },
      },
      {
        location: "line 8",
        question: {
          type: "single_choice",
          text: "Which LMS has the most quiz import formats?",
          choices: [
            { text: "Moodle", weight: 1 },
            { text: "ATutor", weight: 0 },
            { text: "Claroline", weight: 0 },
            { text: "Blackboard", weight: 0 },
            { text: "WebCT", weight: 0 },
            { text: "Ilias", weight: 0 },
          ],
        },
      },
    ]);
  });

  await t.step(
    "reads A) options and questions with no blank line between",
    () => {
      const result = parse(
        "2 + 2?\nA) 3\nB) 4\nANSWER: B\nCapital of France?\nA) Paris\nB) Lyon\nANSWER: A",
      );
      assert.deepEqual(result.errors, []);
      assert.deepEqual(
        result.questions.map((q) => q.location),
        ["line 1", "line 5"],
      );
      assert.deepEqual(result.questions[0]?.question, {
        type: "single_choice",
        text: "2 + 2?",
        choices: [{ text: "3", weight: 0 }, { text: "4", weight: 1 }],
      });
    },
  );

  await t.step("keeps lines right after the question line as its text", () => {
    const result = parse(
      "Read this:\nx = 1\nWhat is x?\nA. 1\nB. 2\nANSWER: A\n",
    );
    assert.deepEqual(result.errors, []);
    assert.equal(
      result.questions[0]?.question.text,
      "Read this:\nx = 1\nWhat is x?",
    );
  });

  await t.step("reports options without an ANSWER line and goes on", () => {
    const result = parse(
      "First?\nA. yes\nB. no\n\nSecond?\nA. yes\nB. no\nANSWER: B\n",
    );
    assert.deepEqual(result.errors, [
      {
        location: "line 1",
        message: "Question has options but no ANSWER line",
      },
    ]);
    assert.deepEqual(result.questions.map((q) => q.location), ["line 5"]);
  });

  await t.step(
    "reports an ANSWER naming a letter that is not an option",
    () => {
      const result = parse("Pick one\nA. a\nB. b\nC. c\nANSWER: E\n");
      assert.deepEqual(result.questions, []);
      assert.deepEqual(result.errors, [
        {
          location: "line 5",
          message: "ANSWER names E, which is not an option (options: A, B, C)",
        },
      ]);
    },
  );

  await t.step("reports every error with its line", () => {
    const source = [
      "Good one?", // 1
      "A. yes",
      "B. no",
      "ANSWER: A",
      "",
      "Out of order?", // 6
      "A. one",
      "C. three",
      "ANSWER: A",
      "",
      "Duplicate?", // 11
      "A. one",
      "B. two",
      "B. again",
      "ANSWER: B",
      "ANSWER: A", // 16: no question
      "",
      "Lonely?", // 18
      "A. only",
      "ANSWER: A",
      "",
      "No answer at the end?", // 22
      "A. x",
      "B. y",
      "ANSWER: AB", // 25
      "Trailing question", // 26
    ].join("\n");
    const result = parse(source);
    assert.deepEqual(result.questions.map((q) => q.location), ["line 1"]);
    assert.deepEqual(result.errors, [
      { location: "line 8", message: "Option C is out of order: expected B" },
      { location: "line 14", message: "Option B appears twice" },
      { location: "line 16", message: "ANSWER line without a question" },
      {
        location: "line 18",
        message: "Question needs at least two options, found 1",
      },
      {
        location: "line 25",
        message: 'ANSWER must be one option letter, not "AB"',
      },
      {
        location: "line 26",
        message: "Question has no options and no ANSWER line",
      },
    ]);
  });

  await t.step("reports options with no question line", () => {
    const result = parse(
      "A. stray\nB. options\nANSWER: A\n\nReal?\nA. y\nB. n\nANSWER: A",
    );
    assert.deepEqual(result.errors, [
      {
        location: "line 1",
        message: "Options without a question line before them",
      },
    ]);
    assert.deepEqual(result.questions.map((q) => q.location), ["line 5"]);
  });

  await t.step("tolerates a BOM, CRLF line ends and trailing spaces", () => {
    const source = "\uFEFF" +
      MOODLE_EXAMPLE.replace(/\n/g, "  \r\n").replace(
        "ANSWER: D",
        "ANSWER:D\t",
      );
    const result = parse(source);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.questions, parse(MOODLE_EXAMPLE).questions);
  });

  await t.step("reads an empty file as no questions", () => {
    assert.deepEqual(parse(""), { questions: [], warnings: [], errors: [] });
    assert.deepEqual(parse("\uFEFF\r\n\r\n"), {
      questions: [],
      warnings: [],
      errors: [],
    });
  });
});
