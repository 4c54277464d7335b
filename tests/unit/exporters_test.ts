import assert from "node:assert/strict";
import * as v from "valibot";
import { exportQuestions } from "../../server/features/quizzes/exporters/mod.ts";
import { toGift } from "../../server/features/quizzes/exporters/gift.ts";
import {
  detectFormat,
  PARSERS,
} from "../../server/features/quizzes/importers/mod.ts";
import {
  type DraftQuestion,
  type Question,
  QuestionSchema,
} from "../../server/features/quizzes/question_model.ts";

/** Every character GIFT treats specially, a literal `\n`, a line break and some unicode. */
const AWKWARD = String.raw`a = b ~ c # d {e} f: g \ h \n i \\ ::j:: \# k` +
  "\nsecond line: ünïcödé ✓ 😀 日本語";

const DRAFTS: DraftQuestion[] = [
  {
    type: "single_choice",
    title: `Time: 10:30 {x} ~ = # \\`,
    text: AWKWARD,
    format: "html",
    category: "Physics/Mechanics",
    difficulty: "hard",
    points: 2.5,
    tags: ["physics", "a: b"],
    generalFeedback: AWKWARD,
    explanation: "Because.",
    choices: [
      { text: "=right? #yes", weight: 1, feedback: AWKWARD },
      { text: "%50% off", weight: 0 },
      { text: "[html] a literal marker", weight: -0.3333333, feedback: "~no" },
      { text: "half", weight: 0.5, feedback: "[plain] also literal" },
    ],
  },
  {
    type: "multiple_answers",
    text: "Pick the thirds",
    format: "markdown",
    category: "Physics/Mechanics",
    choices: [
      { text: "one", weight: 0.3333333, feedback: "#1" },
      { text: "two", weight: 0.3333333 },
      { text: "three", weight: 0.3333334 },
      { text: "penalty", weight: -0.25, feedback: "-> no" },
      { text: "nothing", weight: 0 },
    ],
  },
  {
    type: "true_false",
    title: "TF",
    text: "True?",
    format: "moodle",
    category: "top/Maths",
    correct: true,
    feedbackRight: "Right: {yes}",
    feedbackWrong: "Wrong # no",
    generalFeedback: "General",
  },
  {
    type: "true_false",
    text: "False, with feedback for the right answer only",
    correct: false,
    feedbackRight: "Right",
  },
  {
    type: "true_false",
    text: "False, with feedback for a wrong answer only",
    category: "$course$/odd",
    correct: false,
    feedbackWrong: "Wrong",
  },
  {
    type: "short_answer",
    text: "Name the language",
    caseSensitive: true,
    answers: [
      { text: "C#", weight: 1, feedback: "Yes: C#" },
      { text: "%d", weight: 1 },
      { text: "c sharp {}", weight: 0.5, feedback: AWKWARD },
      { text: "C", weight: -0.1 },
    ],
  },
  {
    type: "numerical",
    text: "π to three places",
    answers: [
      {
        kind: "exact",
        value: 3.142,
        tolerance: 0.0005,
        weight: 1,
        feedback: "π: 3.14159…",
      },
      { kind: "exact", value: -2.5e-7, tolerance: 0, weight: 0.07 },
      { kind: "range", min: -10, max: 1e21, weight: -0.5, feedback: "..#" },
    ],
  },
  {
    type: "numerical",
    text: "Six by seven",
    answers: [{ kind: "exact", value: 42, tolerance: 0, weight: 1 }],
  },
  {
    type: "matching",
    title: "Match",
    text: "Match them",
    generalFeedback: "General",
    pairs: [
      { left: "a = 1 {x}", right: "one -> 1" },
      { left: "b: ~2", right: "two # 2" },
      { left: "-", right: ">" },
    ],
    distractors: ["none -> of these", "{x}"],
  },
  { type: "essay", title: "Essay", text: "Discuss.", generalFeedback: AWKWARD },
  { type: "essay", text: "Discuss again." },
  {
    type: "description",
    text: "// not a comment",
    generalFeedback: "GIFT cannot carry this",
  },
  { type: "description", text: "$CATEGORY: not a category" },
];
const BANK: Question[] = DRAFTS.map((draft) => v.parse(QuestionSchema, draft));

/** Exports, reads back with the real importer, and expects no errors and no warnings. */
function roundTrip(questions: Question[], format: "gift" | "json"): Question[] {
  const { body } = exportQuestions(questions, format);
  assert.equal(detectFormat(body), format);
  const result = PARSERS[format](body);
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings, []);
  return result.questions.map(({ question }) =>
    v.parse(QuestionSchema, question)
  );
}

/**
 * What GIFT cannot carry, as documented on toGift: difficulty, points, tags, explanation, a short
 * answer's caseSensitive and a description's general feedback come back as the defaults.
 */
function giftCarried(question: Question): Question {
  const { difficulty: _difficulty, explanation: _explanation, ...rest } =
    question;
  const carried = { ...rest, points: 1, tags: [] };
  if (carried.type === "short_answer") {
    return { ...carried, caseSensitive: false };
  }
  if (carried.type === "description") {
    const { generalFeedback: _generalFeedback, ...description } = carried;
    return description;
  }
  return carried;
}

Deno.test("JSON export reads back to the same questions", () => {
  assert.deepEqual(roundTrip(BANK, "json"), BANK);
});

Deno.test("GIFT export reads back to the same questions, less what GIFT cannot carry", () => {
  assert.deepEqual(roundTrip(BANK, "gift"), BANK.map(giftCarried));
});

Deno.test("GIFT weights survive as exact Moodle percentages", () => {
  const weights = [
    0.07,
    0.1,
    0.3,
    -0.3333333,
    1 / 3,
    -2 / 3,
    1e-7,
    -1.5e-10,
    5e-324,
    0.123456789012345,
    -0.999999,
    Number.EPSILON,
    ...Array.from({ length: 200 }, (_, i) => Math.sin(i + 1) * 0.999),
  ];
  const question = v.parse(QuestionSchema, {
    type: "single_choice",
    text: "Weights",
    choices: [
      { text: "right", weight: 1 },
      ...weights.map((weight, i) => ({ text: `choice ${i}`, weight })),
    ],
  });
  assert.deepEqual(roundTrip([question], "gift"), [question]);
});

Deno.test("GIFT export writes what Moodle writes", () => {
  const questions = [
    {
      type: "single_choice",
      title: "Tomb",
      text: "Who's buried in Grant's tomb?",
      category: "History",
      choices: [
        { text: "Grant", weight: 0, feedback: "No" },
        { text: "no one", weight: 1 },
        { text: "Nobody", weight: 0.5 },
      ],
    },
    { type: "true_false", text: "1 + 1 = 2", correct: true },
    {
      type: "numerical",
      text: "Between 1 and 2",
      answers: [{ kind: "range", min: 1, max: 2, weight: 1 }],
    },
    { type: "essay", text: "Why?", category: "History/Rome" },
  ].map((draft) => v.parse(QuestionSchema, draft));
  assert.equal(
    toGift(questions),
    [
      "$CATEGORY: History",
      "",
      "::Tomb::Who's buried in Grant's tomb?{",
      "\t~Grant#No",
      "\t=no one",
      "\t~%50%Nobody",
      "}",
      "",
      "$CATEGORY: top",
      "",
      "1 + 1 \\= 2{TRUE}",
      "",
      "Between 1 and 2{#=1..2}",
      "",
      "$CATEGORY: History/Rome",
      "",
      "Why?{}",
      "",
    ].join("\n"),
  );
});

Deno.test("GIFT trims texts, collapses title whitespace and drops empty feedback", () => {
  const question = v.parse(QuestionSchema, {
    type: "true_false",
    title: " Two\n  lines ",
    text: "\n Windows\r\nline ends\t",
    category: " Spaced/Path ",
    correct: true,
    feedbackRight: "",
    feedbackWrong: " ",
  });
  assert.deepEqual(roundTrip([question], "gift"), [{
    type: "true_false",
    title: "Two lines",
    text: "Windows\nline ends",
    format: "plain",
    category: "Spaced/Path",
    points: 1,
    tags: [],
    correct: true,
  }]);
});

Deno.test("exportQuestions names the file type", () => {
  const gift = exportQuestions(BANK, "gift");
  assert.equal(gift.contentType, "text/plain; charset=utf-8");
  assert.equal(gift.extension, ".gift");
  const json = exportQuestions(BANK, "json");
  assert.equal(json.contentType, "application/json");
  assert.equal(json.extension, ".json");
  assert.deepEqual(JSON.parse(json.body), { questions: BANK });
});
