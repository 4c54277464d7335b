import assert from "node:assert/strict";
import * as v from "valibot";
import type { QuestionRow, SnapshotQuestion } from "../../db/schema/mod.ts";
import {
  type DraftQuestion,
  type Question,
  QuestionSchema,
} from "../../server/features/quizzes/question_model.ts";
import {
  correctAnswerOf,
  numericalMatches,
  parseNumber,
  type QuestionScore,
  scoreQuestion,
  shortAnswerMatches,
  trueFalseValue,
} from "../../server/features/quizzes/scoring.ts";
import {
  buildSnapshot,
  optionsOf,
  responseProblem,
  shuffle,
  toAttemptQuestion,
} from "../../server/features/quizzes/snapshot.ts";

/** A question as the bank stores it: defaults filled by the shared schema. */
const q = (draft: DraftQuestion): Question => v.parse(QuestionSchema, draft);

/** A bank row for `buildSnapshot`, split the way the importer stores it. */
function rowOf(id: string, draft: DraftQuestion): QuestionRow {
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
  } = q(draft);
  return {
    id,
    programId: "program-1",
    type,
    title: title ?? null,
    text,
    format,
    category: category ?? "",
    difficulty: difficulty ?? null,
    points,
    tags,
    body,
    contentHash: `hash-${id}`,
    status: "active",
    createdBy: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
}

const snapOf = (
  id: string,
  question: Question,
  extra: Pick<SnapshotQuestion, "optionOrder" | "matchOptions"> = {},
): SnapshotQuestion => ({
  id,
  question: question as unknown as Record<string, unknown>,
  ...extra,
});

const score = (
  fraction: number | null,
  outcome: QuestionScore["outcome"],
  feedback: string[],
  responseKey: string | null,
): QuestionScore => ({ fraction, outcome, feedback, responseKey });

const UNANSWERED = score(0, "unanswered", [], null);

// ---------------------------------------------------------------------------------------------
// Questions shared by the tables below.

const capital = q({
  type: "single_choice",
  text: "The capital of France?",
  choices: [
    { text: "Lyon", weight: 0, feedback: "Lyon is the third city" },
    { text: "Paris", weight: 1, feedback: "Yes, Paris" },
    { text: "Marseille", weight: 0.5, feedback: "Half credit" },
    { text: "Berlin", weight: -0.5, feedback: "Not even France" },
  ],
});

const primes = q({
  type: "multiple_answers",
  text: "Which are prime?",
  choices: [
    { text: "3", weight: 0.5, feedback: "three is prime" },
    { text: "2", weight: 0.5, feedback: "two is prime" },
    { text: "4", weight: -1, feedback: "four is even" },
    { text: "9", weight: 0 },
  ],
});

const generous = q({
  type: "multiple_answers",
  text: "Over-weighted",
  choices: [
    { text: "b", weight: 0.75 },
    { text: "a", weight: 0.75 },
    { text: "c", weight: 0 },
  ],
});

const earthRound = q({
  type: "true_false",
  text: "The Earth is round.",
  correct: true,
  feedbackRight: "Right!",
  feedbackWrong: "Look again.",
});

const earthFlat = q({
  type: "true_false",
  text: "The Earth is flat.",
  correct: false,
  feedbackRight: "Indeed not.",
  feedbackWrong: "It is not.",
});

/** Lower weights first: the best matching weight must win whatever the order. */
const president = q({
  type: "short_answer",
  text: "Who was the first US president?",
  answers: [
    { text: "*Washington*", weight: 0.25, feedback: "Close" },
    { text: "Washington", weight: 0.5, feedback: "Surname only" },
    { text: "George  Washington", weight: 1, feedback: "Full name" },
  ],
});

const salt = q({
  type: "short_answer",
  text: "Formula of table salt?",
  caseSensitive: true,
  answers: [{ text: "NaCl", weight: 1 }],
});

const literal = q({
  type: "short_answer",
  text: "Type it exactly",
  answers: [
    { text: "a+b (c)?", weight: 1 },
    { text: "3.5", weight: 1 },
    { text: "[x]^2 $|\\d", weight: 1 },
  ],
});

const pi = q({
  type: "numerical",
  text: "Pi to two decimals?",
  answers: [
    {
      kind: "exact",
      value: 3.14,
      tolerance: 0.1,
      weight: 0.25,
      feedback: "Roughly",
    },
    {
      kind: "exact",
      value: 3.14,
      tolerance: 0.01,
      weight: 1,
      feedback: "Good",
    },
    { kind: "exact", value: 3, tolerance: 0, weight: 0.5, feedback: "Rounded" },
  ],
});

const between = q({
  type: "numerical",
  text: "A number from 1 to 2",
  answers: [
    { kind: "range", min: 0, max: 3, weight: 0.5, feedback: "Near" },
    { kind: "range", min: 1, max: 2, weight: 1, feedback: "Inside" },
  ],
});

const capitals = q({
  type: "matching",
  text: "Match each country with its capital",
  pairs: [
    { left: "France", right: "Paris" },
    { left: "Italy", right: "Rome" },
    { left: "Spain", right: "Madrid" },
    { left: "Germany", right: "Berlin" },
  ],
  distractors: ["Lisbon"],
});

const essay = q({ type: "essay", text: "Discuss." });
const intro = q({ type: "description", text: "Read this first." });

interface Case {
  name: string;
  question: Question;
  response: unknown;
  expected: QuestionScore;
}

const TABLE: Case[] = [
  // single choice
  {
    name: "single choice: the right option",
    question: capital,
    response: "Paris",
    expected: score(1, "correct", ["Yes, Paris"], "Paris"),
  },
  {
    name: "single choice: a wrong option",
    question: capital,
    response: "Lyon",
    expected: score(0, "incorrect", ["Lyon is the third city"], "Lyon"),
  },
  {
    name: "single choice: a half-weight option",
    question: capital,
    response: "Marseille",
    expected: score(0.5, "partial", ["Half credit"], "Marseille"),
  },
  {
    name: "single choice: a negative weight is floored at 0",
    question: capital,
    response: "Berlin",
    expected: score(0, "incorrect", ["Not even France"], "Berlin"),
  },
  {
    name: "single choice: text that is no option",
    question: capital,
    response: "Rome",
    expected: score(0, "incorrect", [], "Rome"),
  },
  {
    name: "single choice: option texts compare exactly",
    question: capital,
    response: "paris",
    expected: score(0, "incorrect", [], "paris"),
  },
  // multiple answers
  {
    name: "multiple answers: all right",
    question: primes,
    response: ["3", "2"],
    expected: score(1, "correct", ["three is prime", "two is prime"], "2 | 3"),
  },
  {
    name: "multiple answers: one of two right",
    question: primes,
    response: ["2"],
    expected: score(0.5, "partial", ["two is prime"], "2"),
  },
  {
    name: "multiple answers: a right one plus a penalty is floored at 0",
    question: primes,
    response: ["4", "2"],
    expected: score(0, "incorrect", ["two is prime", "four is even"], "2 | 4"),
  },
  {
    name: "multiple answers: a zero-weight pick costs nothing",
    question: primes,
    response: ["9", "2", "3"],
    expected: score(
      1,
      "correct",
      ["three is prime", "two is prime"],
      "2 | 3 | 9",
    ),
  },
  {
    name: "multiple answers: a repeated pick counts once",
    question: primes,
    response: ["2", "2"],
    expected: score(0.5, "partial", ["two is prime"], "2"),
  },
  {
    name: "multiple answers: weights adding up over 1 are capped at 1",
    question: generous,
    response: ["a", "b"],
    expected: score(1, "correct", [], "a | b"),
  },
  {
    name: "multiple answers: only zero-weight picks",
    question: generous,
    response: ["c"],
    expected: score(0, "incorrect", [], "c"),
  },
  // true / false
  {
    name: "true/false: boolean true on a true statement",
    question: earthRound,
    response: true,
    expected: score(1, "correct", ["Right!"], "True"),
  },
  {
    name: "true/false: boolean false on a true statement",
    question: earthRound,
    response: false,
    expected: score(0, "incorrect", ["Look again."], "False"),
  },
  {
    name: 'true/false: "True"',
    question: earthRound,
    response: "True",
    expected: score(1, "correct", ["Right!"], "True"),
  },
  {
    name: 'true/false: "false"',
    question: earthRound,
    response: "false",
    expected: score(0, "incorrect", ["Look again."], "False"),
  },
  {
    name: 'true/false: "T"',
    question: earthRound,
    response: "T",
    expected: score(1, "correct", ["Right!"], "True"),
  },
  {
    name: 'true/false: "f"',
    question: earthRound,
    response: "f",
    expected: score(0, "incorrect", ["Look again."], "False"),
  },
  {
    name: "true/false: boolean false on a false statement",
    question: earthFlat,
    response: false,
    expected: score(1, "correct", ["Indeed not."], "False"),
  },
  {
    name: 'true/false: " TRUE " on a false statement',
    question: earthFlat,
    response: " TRUE ",
    expected: score(0, "incorrect", ["It is not."], "True"),
  },
  {
    name: "true/false: a word that is neither",
    question: earthRound,
    response: "yes",
    expected: score(0, "incorrect", [], "yes"),
  },
  // short answer
  {
    name: "short answer: exact, the best weight wins over a wildcard",
    question: president,
    response: "George Washington",
    expected: score(1, "correct", ["Full name"], "george washington"),
  },
  {
    name: "short answer: trimmed and case-insensitive by default",
    question: president,
    response: "  GEORGE washington\t",
    expected: score(1, "correct", ["Full name"], "george washington"),
  },
  {
    name: "short answer: a lower-weight accepted answer",
    question: president,
    response: "washington",
    expected: score(0.5, "partial", ["Surname only"], "washington"),
  },
  {
    name: "short answer: only the * wildcard matches",
    question: president,
    response: "Martha Washington",
    expected: score(0.25, "partial", ["Close"], "martha washington"),
  },
  {
    name: "short answer: the wildcard matches on both sides",
    question: president,
    response: "Mount Washington, NH",
    expected: score(0.25, "partial", ["Close"], "mount washington, nh"),
  },
  {
    name: "short answer: nothing matches",
    question: president,
    response: "Lincoln",
    expected: score(0, "incorrect", [], "lincoln"),
  },
  {
    name: "short answer: case sensitive, same case",
    question: salt,
    response: " NaCl ",
    expected: score(1, "correct", [], "NaCl"),
  },
  {
    name: "short answer: case sensitive, other case (key keeps the case)",
    question: salt,
    response: "NACL",
    expected: score(0, "incorrect", [], "NACL"),
  },
  {
    name: "short answer: regex metacharacters match themselves",
    question: literal,
    response: "A+B (C)?",
    expected: score(1, "correct", [], "a+b (c)?"),
  },
  {
    name: "short answer: + is not a repetition",
    question: literal,
    response: "aab c",
    expected: score(0, "incorrect", [], "aab c"),
  },
  {
    name: "short answer: . is not any character",
    question: literal,
    response: "3x5",
    expected: score(0, "incorrect", [], "3x5"),
  },
  {
    name: "short answer: brackets, caret, dollar, bar and backslash",
    question: literal,
    response: "[x]^2 $|\\d",
    expected: score(1, "correct", [], "[x]^2 $|\\d"),
  },
  {
    name: "short answer: \\d is not a digit class",
    question: literal,
    response: "[x]^2 $|7",
    expected: score(0, "incorrect", [], "[x]^2 $|7"),
  },
  // numerical
  {
    name: "numerical: exact value",
    question: pi,
    response: 3.14,
    expected: score(1, "correct", ["Good"], "3.14"),
  },
  {
    name: "numerical: at the upper tolerance edge",
    question: pi,
    response: 3.15,
    expected: score(1, "correct", ["Good"], "3.15"),
  },
  {
    name: "numerical: at the lower tolerance edge",
    question: pi,
    response: 3.13,
    expected: score(1, "correct", ["Good"], "3.13"),
  },
  {
    name: "numerical: just outside the tight tolerance, inside the loose one",
    question: pi,
    response: 3.1501,
    expected: score(0.25, "partial", ["Roughly"], "3.1501"),
  },
  {
    name: "numerical: the best of several matching answers",
    question: pi,
    response: 3.145,
    expected: score(1, "correct", ["Good"], "3.145"),
  },
  {
    name: "numerical: a partial-credit answer",
    question: pi,
    response: 3,
    expected: score(0.5, "partial", ["Rounded"], "3"),
  },
  {
    name: "numerical: outside every answer",
    question: pi,
    response: 4,
    expected: score(0, "incorrect", [], "4"),
  },
  {
    name: 'numerical: the string " 3.14 "',
    question: pi,
    response: " 3.14 ",
    expected: score(1, "correct", ["Good"], "3.14"),
  },
  {
    name: "numerical: exponent notation is normalized in the key",
    question: pi,
    response: "314e-2",
    expected: score(1, "correct", ["Good"], "3.14"),
  },
  {
    name: 'numerical: "abc" is incorrect',
    question: pi,
    response: "abc",
    expected: score(0, "incorrect", [], "abc"),
  },
  {
    name: 'numerical: "3,14" is not a number',
    question: pi,
    response: "3,14",
    expected: score(0, "incorrect", [], "3,14"),
  },
  {
    name: "numerical: range lower end is inclusive",
    question: between,
    response: 1,
    expected: score(1, "correct", ["Inside"], "1"),
  },
  {
    name: "numerical: range upper end is inclusive",
    question: between,
    response: "2",
    expected: score(1, "correct", ["Inside"], "2"),
  },
  {
    name: "numerical: the wider range gives partial credit",
    question: between,
    response: 3,
    expected: score(0.5, "partial", ["Near"], "3"),
  },
  {
    name: "numerical: beyond every range",
    question: between,
    response: 3.001,
    expected: score(0, "incorrect", [], "3.001"),
  },
  {
    name: "numerical: below every range",
    question: between,
    response: -0.001,
    expected: score(0, "incorrect", [], "-0.001"),
  },
  // matching
  {
    name: "matching: all right",
    question: capitals,
    response: {
      France: "Paris",
      Italy: "Rome",
      Spain: "Madrid",
      Germany: "Berlin",
    },
    expected: score(1, "correct", [], null),
  },
  {
    name: "matching: half right",
    question: capitals,
    response: {
      France: "Paris",
      Italy: "Rome",
      Spain: "Berlin",
      Germany: "Madrid",
    },
    expected: score(0.5, "partial", [], null),
  },
  {
    name: "matching: a distractor chosen",
    question: capitals,
    response: {
      France: "Lisbon",
      Italy: "Rome",
      Spain: "Madrid",
      Germany: "Berlin",
    },
    expected: score(0.75, "partial", [], null),
  },
  {
    name: "matching: missing prompts count as wrong",
    question: capitals,
    response: { France: "Paris" },
    expected: score(0.25, "partial", [], null),
  },
  {
    name: "matching: all wrong",
    question: capitals,
    response: {
      France: "Rome",
      Italy: "Paris",
      Spain: "Lisbon",
      Germany: "Lisbon",
    },
    expected: score(0, "incorrect", [], null),
  },
  // essay and description
  {
    name: "essay: waits for a grader",
    question: essay,
    response: "My essay.",
    expected: score(null, "pending", [], null),
  },
  {
    name: "description: carries no marks",
    question: intro,
    response: "anything",
    expected: score(null, "ungraded", [], null),
  },
  {
    name: "description: ungraded even without a response",
    question: intro,
    response: undefined,
    expected: score(null, "ungraded", [], null),
  },
];

Deno.test("scoreQuestion", async (t) => {
  for (const { name, question, response, expected } of TABLE) {
    await t.step(name, () => {
      assert.deepEqual(scoreQuestion(question, response), expected);
    });
  }

  await t.step(
    "short answer: inner whitespace is collapsed before matching",
    () => {
      const marks = scoreQuestion(president, "George \n  Washington");
      assert.equal(marks.fraction, 1);
      assert.equal(marks.outcome, "correct");
      assert.deepEqual(marks.feedback, ["Full name"]);
    },
  );

  await t.step("blank responses are unanswered for every marked type", () => {
    const marked = [
      capital,
      primes,
      earthRound,
      president,
      pi,
      capitals,
      essay,
    ];
    const blanks: unknown[] = [undefined, null, "", "   ", [], {}];
    for (const question of marked) {
      for (const blank of blanks) {
        assert.deepEqual(
          scoreQuestion(question, blank),
          UNANSWERED,
          `${question.type} with ${JSON.stringify(blank)}`,
        );
      }
    }
  });

  await t.step("false and 0 are answers, not blanks", () => {
    assert.equal(scoreQuestion(earthFlat, false).outcome, "correct");
    const zero = q({
      type: "numerical",
      text: "0?",
      answers: [{ kind: "exact", value: 0, tolerance: 0, weight: 1 }],
    });
    assert.deepEqual(scoreQuestion(zero, 0), score(1, "correct", [], "0"));
  });

  await t.step("scoring does not change the question", () => {
    const before = structuredClone(president);
    scoreQuestion(president, "Washington");
    assert.deepEqual(president, before);
  });
});

// Weights the importers accept as adding up to 100% (GIFT's %33.33333%, CSV's 33.33) are full marks.
Deno.test({
  name: "scoreQuestion: thirds written as 33.33333% or 33.33% are correct",
  fn() {
    const thirds = q({
      type: "multiple_answers",
      text: "Pick the three",
      choices: [
        { text: "a", weight: 0.3333333 },
        { text: "b", weight: 0.3333333 },
        { text: "c", weight: 0.3333333 },
        { text: "d", weight: -1 },
      ],
    });
    assert.deepEqual(
      [
        scoreQuestion(thirds, ["a", "b", "c"]).outcome,
        scoreQuestion(thirds, ["a", "b", "c"]).fraction,
      ],
      ["correct", 1],
    );
    const spreadsheet = q({
      type: "multiple_answers",
      text: "Pick the three",
      choices: [
        { text: "a", weight: 0.3333 },
        { text: "b", weight: 0.3333 },
        { text: "c", weight: 0.3333 },
      ],
    });
    assert.equal(
      scoreQuestion(spreadsheet, ["a", "b", "c"]).outcome,
      "correct",
    );
    assert.equal(scoreQuestion(spreadsheet, ["a", "b"]).outcome, "partial");
  },
});

Deno.test("correctAnswerOf", async (t) => {
  await t.step("single choice: the highest-weight option", () => {
    assert.equal(correctAnswerOf(capital), "Paris");
  });

  await t.step("multiple answers: every positive-weight option", () => {
    assert.deepEqual(correctAnswerOf(primes), ["3", "2"]);
  });

  await t.step("true/false: the label", () => {
    assert.equal(correctAnswerOf(earthRound), "True");
    assert.equal(correctAnswerOf(earthFlat), "False");
  });

  await t.step("short answer: the highest-weight accepted answer", () => {
    assert.equal(correctAnswerOf(president), "George  Washington");
    assert.equal(correctAnswerOf(salt), "NaCl");
  });

  await t.step("numerical: value ± tolerance of the best answer", () => {
    assert.equal(correctAnswerOf(pi), "3.14 ± 0.01");
  });

  await t.step("numerical: a bare number without tolerance", () => {
    const answer = q({
      type: "numerical",
      text: "6 × 7?",
      answers: [
        { kind: "exact", value: 40, tolerance: 5, weight: 0.5 },
        { kind: "exact", value: 42, tolerance: 0, weight: 1 },
      ],
    });
    assert.strictEqual(correctAnswerOf(answer), 42);
  });

  await t.step("numerical: a range as min..max", () => {
    assert.equal(correctAnswerOf(between), "1..2");
  });

  await t.step("matching: each prompt to its right side", () => {
    assert.deepEqual(correctAnswerOf(capitals), {
      France: "Paris",
      Italy: "Rome",
      Spain: "Madrid",
      Germany: "Berlin",
    });
  });

  await t.step("essay and description: none", () => {
    assert.equal(correctAnswerOf(essay), null);
    assert.equal(correctAnswerOf(intro), null);
  });
});

Deno.test("shortAnswerMatches", async (t) => {
  const cases: [string, string, boolean, boolean][] = [
    ["Paris", "paris", false, true],
    ["Paris", "paris", true, false],
    ["Paris", "  Paris  ", true, true],
    ["New  York", "new york", false, true],
    ["New York", "New\t\tYork", true, true],
    ["col*r", "colour", false, true],
    ["col*r", "colr", false, true],
    ["col*r", "colors", false, false],
    ["*", "anything at all", false, true],
    ["a.c", "abc", false, false],
    ["a.c", "a.c", false, true],
    ["(x)", "x", false, false],
    ["x?", "x", false, false],
    ["x?", "x?", false, true],
    ["Paris", "Paris, France", false, false],
    ["Paris", "Greater Paris", false, false],
  ];
  for (const [pattern, given, caseSensitive, expected] of cases) {
    await t.step(
      `${JSON.stringify(pattern)} vs ${JSON.stringify(given)}${
        caseSensitive ? " (case sensitive)" : ""
      } → ${expected}`,
      () => {
        assert.equal(
          shortAnswerMatches(pattern, given, caseSensitive),
          expected,
        );
      },
    );
  }
});

Deno.test("numericalMatches", async (t) => {
  const exact = {
    kind: "exact" as const,
    value: 10,
    tolerance: 0.5,
    weight: 1,
  };
  const range = { kind: "range" as const, min: -1, max: 1, weight: 1 };
  const cases: [typeof exact | typeof range, number, boolean][] = [
    [exact, 10, true],
    [exact, 10.5, true],
    [exact, 9.5, true],
    [exact, 10.5001, false],
    [exact, 9.4999, false],
    [range, -1, true],
    [range, 1, true],
    [range, 0, true],
    [range, 1.0001, false],
    [range, -1.0001, false],
  ];
  for (const [answer, value, expected] of cases) {
    await t.step(`${answer.kind} ${value} → ${expected}`, () => {
      assert.equal(numericalMatches(answer, value), expected);
    });
  }

  await t.step("tolerance 0 absorbs float noise", () => {
    assert.equal(
      numericalMatches(
        { kind: "exact", value: 0.3, tolerance: 0, weight: 1 },
        0.1 + 0.2,
      ),
      true,
    );
  });
});

Deno.test("parseNumber", async (t) => {
  const cases: [unknown, number | undefined][] = [
    [3.14, 3.14],
    [0, 0],
    ["3.14", 3.14],
    [" -2 ", -2],
    ["1e3", 1000],
    ["0", 0],
    ["3,14", undefined],
    ["12abc", undefined],
    ["abc", undefined],
    ["", undefined],
    ["   ", undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ["Infinity", undefined],
    [true, undefined],
    [null, undefined],
    [[3], undefined],
  ];
  for (const [input, expected] of cases) {
    await t.step(`${String(input)} → ${expected}`, () => {
      assert.strictEqual(parseNumber(input), expected);
    });
  }
});

Deno.test("trueFalseValue", async (t) => {
  const cases: [unknown, boolean | undefined][] = [
    [true, true],
    [false, false],
    ["True", true],
    ["true", true],
    [" TRUE ", true],
    ["T", true],
    ["t", true],
    ["False", false],
    ["false", false],
    ["F", false],
    ["f", false],
    ["yes", undefined],
    ["", undefined],
    [1, undefined],
    [0, undefined],
    [null, undefined],
  ];
  for (const [input, expected] of cases) {
    await t.step(`${JSON.stringify(input)} → ${expected}`, () => {
      assert.strictEqual(trueFalseValue(input), expected);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Snapshots

const capitalSnap = snapOf("q-single", capital, { optionOrder: [2, 0, 3, 1] });
const primesSnap = snapOf("q-multi", primes, { optionOrder: [0, 1, 2, 3] });
const matchOptions = ["Madrid", "Lisbon", "Berlin", "Paris", "Rome"];
const capitalsSnap = snapOf("q-match", capitals, { matchOptions });

Deno.test("optionsOf", async (t) => {
  await t.step("choice types: texts in the order shown", () => {
    assert.deepEqual(optionsOf(capitalSnap), [
      "Marseille",
      "Lyon",
      "Berlin",
      "Paris",
    ]);
  });

  await t.step("choice types without an order: the stored order", () => {
    assert.deepEqual(optionsOf(snapOf("x", primes)), ["3", "2", "4", "9"]);
  });

  await t.step("true/false: True then False", () => {
    assert.deepEqual(optionsOf(snapOf("x", earthFlat)), ["True", "False"]);
  });

  await t.step("matching: the right-hand options shown", () => {
    assert.deepEqual(optionsOf(capitalsSnap), matchOptions);
  });

  await t.step("typed answers: none", () => {
    for (const question of [president, pi, essay, intro]) {
      assert.equal(optionsOf(snapOf("x", question)), undefined);
    }
  });
});

Deno.test("responseProblem", async (t) => {
  const OPTION = "Must be the text of one of the options";
  const DISTINCT = "Must be a list of distinct option texts";
  const BOOLEAN = "Must be true or false";
  const NUMBER = "Must be a number";
  const MATCH_SHAPE =
    "Must be an object from each prompt to one of the options";
  const shortSnap = snapOf("q-short", president);
  const essaySnap = snapOf("q-essay", essay);
  const cases: [string, SnapshotQuestion, unknown, string | undefined][] = [
    ["single: an option shown", capitalSnap, "Marseille", undefined],
    ["single: not an option", capitalSnap, "Rome", OPTION],
    ["single: wrong case", capitalSnap, "paris", OPTION],
    ["single: a list", capitalSnap, ["Paris"], OPTION],
    ["single: a number", capitalSnap, 1, OPTION],
    ["multiple: distinct options", primesSnap, ["2", "3"], undefined],
    ["multiple: an empty list", primesSnap, [], undefined],
    ["multiple: a repeated option", primesSnap, ["2", "2"], DISTINCT],
    ["multiple: not an option", primesSnap, ["2", "7"], DISTINCT],
    ["multiple: a number instead of text", primesSnap, [2], DISTINCT],
    ["multiple: a bare string", primesSnap, "2", DISTINCT],
    ["true/false: true", snapOf("tf", earthRound), true, undefined],
    ["true/false: false", snapOf("tf", earthRound), false, undefined],
    ["true/false: 'True'", snapOf("tf", earthRound), "True", undefined],
    ["true/false: 'f'", snapOf("tf", earthRound), "f", undefined],
    ["true/false: 'yes'", snapOf("tf", earthRound), "yes", BOOLEAN],
    ["true/false: 1", snapOf("tf", earthRound), 1, BOOLEAN],
    ["short: text", shortSnap, "Washington", undefined],
    ["short: 1000 characters", shortSnap, "x".repeat(1000), undefined],
    [
      "short: 1001 characters",
      shortSnap,
      "x".repeat(1001),
      "Must be text of at most 1000 characters",
    ],
    [
      "short: a number",
      shortSnap,
      42,
      "Must be text of at most 1000 characters",
    ],
    ["essay: 50000 characters", essaySnap, "x".repeat(50_000), undefined],
    [
      "essay: 50001 characters",
      essaySnap,
      "x".repeat(50_001),
      "Must be text of at most 50000 characters",
    ],
    [
      "essay: a list",
      essaySnap,
      ["text"],
      "Must be text of at most 50000 characters",
    ],
    ["numerical: a number", snapOf("n", pi), 3.14, undefined],
    ["numerical: numeric text", snapOf("n", pi), " -2 ", undefined],
    ["numerical: '3,14'", snapOf("n", pi), "3,14", NUMBER],
    ["numerical: 'abc'", snapOf("n", pi), "abc", NUMBER],
    ["numerical: NaN", snapOf("n", pi), Number.NaN, NUMBER],
    ["numerical: a boolean", snapOf("n", pi), true, NUMBER],
    [
      "matching: prompts to options",
      capitalsSnap,
      { France: "Paris", Spain: "Lisbon" },
      undefined,
    ],
    ["matching: an empty object", capitalsSnap, {}, undefined],
    [
      "matching: a key that is no prompt",
      capitalsSnap,
      { Portugal: "Lisbon" },
      '"Portugal" is not one of the prompts',
    ],
    [
      "matching: a right side taken as a key",
      capitalsSnap,
      { Paris: "France" },
      '"Paris" is not one of the prompts',
    ],
    [
      "matching: a value that is no option",
      capitalsSnap,
      { France: "Oslo" },
      'The match for "France" must be one of the options',
    ],
    [
      "matching: a value that is not text",
      capitalsSnap,
      { France: 1 },
      'The match for "France" must be one of the options',
    ],
    ["matching: a list", capitalsSnap, ["Paris"], MATCH_SHAPE],
    ["matching: a string", capitalsSnap, "Paris", MATCH_SHAPE],
    [
      "description: any answer",
      snapOf("d", intro),
      "ok",
      "This item takes no answer",
    ],
  ];
  for (const [name, snap, response, expected] of cases) {
    await t.step(name, () => {
      assert.equal(responseProblem(snap, response), expected);
    });
  }

  await t.step("null is always allowed (clears the answer)", () => {
    for (
      const snap of [
        capitalSnap,
        primesSnap,
        snapOf("tf", earthRound),
        shortSnap,
        essaySnap,
        snapOf("n", pi),
        capitalsSnap,
        snapOf("d", intro),
      ]
    ) {
      assert.equal(responseProblem(snap, null), undefined, snap.id);
    }
  });

  await t.step("a matching option must be among those shown", () => {
    const fewer = snapOf("q-match", capitals, {
      matchOptions: ["Paris", "Rome"],
    });
    assert.equal(
      responseProblem(fewer, { Spain: "Madrid" }),
      'The match for "Spain" must be one of the options',
    );
  });
});

Deno.test("shuffle", async (t) => {
  await t.step("returns a permutation and leaves the input alone", () => {
    const input = Object.freeze([1, 2, 3, 4, 5, 6, 7, 8]);
    const out = shuffle(input);
    assert.notStrictEqual(out, input);
    assert.deepEqual([...out].sort((a, b) => a - b), [...input]);
    assert.deepEqual(input, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  await t.step("empty and single-item lists", () => {
    assert.deepEqual(shuffle([]), []);
    assert.deepEqual(shuffle(["only"]), ["only"]);
  });

  await t.step("every order of three items occurs", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) seen.add(shuffle(["a", "b", "c"]).join(""));
    assert.deepEqual([...seen].sort(), [
      "abc",
      "acb",
      "bac",
      "bca",
      "cab",
      "cba",
    ]);
  });
});

const DRAFTS: [string, DraftQuestion][] = [
  ["r-single", {
    type: "single_choice",
    text: "Pick one",
    choices: [
      { text: "A", weight: 1 },
      { text: "B", weight: 0 },
      { text: "C", weight: 0 },
      { text: "D", weight: 0 },
      { text: "E", weight: 0 },
    ],
  }],
  ["r-multi", {
    type: "multiple_answers",
    text: "Pick some",
    choices: [
      { text: "V", weight: 0.5 },
      { text: "W", weight: 0.5 },
      { text: "X", weight: 0 },
      { text: "Y", weight: 0 },
    ],
  }],
  ["r-tf", { type: "true_false", text: "Sure?", correct: true }],
  ["r-match", {
    type: "matching",
    text: "Match",
    pairs: [
      { left: "France", right: "Paris" },
      { left: "Italy", right: "Rome" },
      { left: "Spain", right: "Madrid" },
    ],
    distractors: ["Lisbon", "Rome", "Oslo"],
  }],
  ["r-short", {
    type: "short_answer",
    text: "Name it",
    title: "Naming",
    category: "Geo/Europe",
    difficulty: "hard",
    points: 3,
    tags: ["geo"],
    answers: [{ text: "Paris", weight: 1 }],
  }],
];
const ROWS = DRAFTS.map(([id, draft]) => rowOf(id, draft));
const byId = (snaps: SnapshotQuestion[], id: string) => {
  const snap = snaps.find((s) => s.id === id);
  assert.ok(snap, id);
  return snap;
};
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sorted = <T>(items: readonly T[]) => [...items].sort();

Deno.test("buildSnapshot", async (t) => {
  const fixed = { shuffleQuestions: false, shuffleOptions: false };

  await t.step("keeps question order and stores each full question", () => {
    const snaps = buildSnapshot(ROWS, fixed);
    assert.deepEqual(snaps.map((s) => s.id), DRAFTS.map(([id]) => id));
    for (const [id, draft] of DRAFTS) {
      assert.deepEqual(byId(snaps, id).question, q(draft));
    }
  });

  await t.step("shuffleOptions false keeps option order", () => {
    const snaps = buildSnapshot(ROWS, fixed);
    assert.deepEqual(byId(snaps, "r-single").optionOrder, range(5));
    assert.deepEqual(byId(snaps, "r-multi").optionOrder, range(4));
    assert.deepEqual(optionsOf(byId(snaps, "r-single")), [
      "A",
      "B",
      "C",
      "D",
      "E",
    ]);
  });

  await t.step("only choice types get an option order", () => {
    const snaps = buildSnapshot(ROWS, { ...fixed, shuffleOptions: true });
    for (const id of ["r-tf", "r-match", "r-short"]) {
      assert.equal(byId(snaps, id).optionOrder, undefined, id);
    }
    for (const id of ["r-single", "r-multi", "r-tf", "r-short"]) {
      assert.equal(byId(snaps, id).matchOptions, undefined, id);
    }
  });

  await t.step(
    "shuffleOptions true gives a permutation, not always the same",
    () => {
      const orders = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const snaps = buildSnapshot(ROWS, { ...fixed, shuffleOptions: true });
        const single = byId(snaps, "r-single").optionOrder;
        const multi = byId(snaps, "r-multi").optionOrder;
        assert.ok(single && multi);
        assert.deepEqual([...single].sort(), range(5));
        assert.deepEqual([...multi].sort(), range(4));
        assert.deepEqual(sorted(optionsOf(byId(snaps, "r-single"))!), [
          "A",
          "B",
          "C",
          "D",
          "E",
        ]);
        orders.add(single.join(","));
      }
      assert.ok(orders.size > 1, "the option order never changed");
    },
  );

  await t.step(
    "matching options hold every right side and distractor exactly once",
    () => {
      for (const shuffleOptions of [false, true]) {
        const snaps = buildSnapshot(ROWS, { ...fixed, shuffleOptions });
        const options = byId(snaps, "r-match").matchOptions;
        assert.ok(options);
        assert.equal(options.length, 5);
        assert.deepEqual(sorted(options), [
          "Lisbon",
          "Madrid",
          "Oslo",
          "Paris",
          "Rome",
        ]);
      }
    },
  );

  await t.step(
    "matching options are shuffled even when options are not",
    () => {
      const orders = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const snaps = buildSnapshot(ROWS, fixed);
        orders.add(byId(snaps, "r-match").matchOptions!.join(","));
      }
      assert.ok(orders.size > 1, "the matching options never moved");
    },
  );

  await t.step(
    "shuffleQuestions true gives a permutation of the questions",
    () => {
      const orders = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const snaps = buildSnapshot(ROWS, { ...fixed, shuffleQuestions: true });
        const ids = snaps.map((s) => s.id);
        assert.deepEqual(sorted(ids), sorted(DRAFTS.map(([id]) => id)));
        orders.add(ids.join(","));
      }
      assert.ok(orders.size > 1, "the question order never changed");
      assert.deepEqual(ROWS.map((r) => r.id), DRAFTS.map(([id]) => id));
    },
  );

  await t.step("no rows, no questions", () => {
    assert.deepEqual(
      buildSnapshot([], { shuffleQuestions: true, shuffleOptions: true }),
      [],
    );
  });
});

Deno.test("toAttemptQuestion", async (t) => {
  const SECRET = "SECRET";
  const hidden = {
    generalFeedback: `${SECRET} general`,
    explanation: `${SECRET} explanation`,
  };
  const drafts: [string, DraftQuestion][] = [
    ["single", {
      ...hidden,
      type: "single_choice",
      text: "Pick one",
      choices: [
        { text: "A", weight: 1, feedback: `${SECRET} a` },
        { text: "B", weight: -0.5, feedback: `${SECRET} b` },
      ],
    }],
    ["multi", {
      ...hidden,
      type: "multiple_answers",
      text: "Pick some",
      choices: [
        { text: "A", weight: 0.5, feedback: `${SECRET} a` },
        { text: "B", weight: 0.5 },
        { text: "C", weight: 0 },
      ],
    }],
    ["tf", {
      ...hidden,
      type: "true_false",
      text: "Sure?",
      correct: false,
      feedbackRight: `${SECRET} right`,
      feedbackWrong: `${SECRET} wrong`,
    }],
    ["short", {
      ...hidden,
      type: "short_answer",
      text: "Password?",
      caseSensitive: true,
      answers: [{ text: "Tr0ub4dor", weight: 1, feedback: `${SECRET} pw` }],
    }],
    ["num", {
      ...hidden,
      type: "numerical",
      text: "e?",
      answers: [
        {
          kind: "exact",
          value: 2.71828,
          tolerance: 0.00001,
          weight: 1,
          feedback: `${SECRET} e`,
        },
        { kind: "range", min: 987654, max: 987655, weight: 0.5 },
      ],
    }],
    ["match", {
      ...hidden,
      type: "matching",
      text: "Match",
      pairs: [
        { left: "France", right: "Paris" },
        { left: "Italy", right: "Rome" },
      ],
      distractors: ["Oslo"],
    }],
    ["essay", { ...hidden, type: "essay", text: "Discuss." }],
    ["desc", { ...hidden, type: "description", text: "Read this." }],
  ];
  const snaps = buildSnapshot(
    drafts.map(([id, draft]) => rowOf(id, draft)),
    { shuffleQuestions: false, shuffleOptions: false },
  );

  for (const snap of snaps) {
    await t.step(`${snap.id}: no weights, answers or feedback`, () => {
      const json = JSON.stringify(toAttemptQuestion(snap));
      for (
        const leak of [
          "weight",
          '"correct"',
          "feedback",
          "Feedback",
          "explanation",
          '"answers"',
          "pairs",
          "distractors",
          "caseSensitive",
          "tolerance",
          SECRET,
          "Tr0ub4dor",
          "2.71828",
          "987654",
        ]
      ) {
        assert.ok(!json.includes(leak), `${leak} in ${json}`);
      }
    });
  }

  await t.step("single choice: the options in the order shown", () => {
    assert.deepEqual(toAttemptQuestion(byId(snaps, "single")), {
      id: "single",
      questionText: "Pick one",
      questionType: "multiple-choice",
      format: "plain",
      title: null,
      options: ["A", "B"],
      points: 1,
    });
    const reordered = { ...byId(snaps, "single"), optionOrder: [1, 0] };
    assert.deepEqual(toAttemptQuestion(reordered).options, ["B", "A"]);
  });

  await t.step("true/false: both labels", () => {
    const shown = toAttemptQuestion(byId(snaps, "tf"));
    assert.equal(shown.questionType, "true-false");
    assert.deepEqual(shown.options, ["True", "False"]);
  });

  await t.step("matching: prompts in order and the options shown", () => {
    const snap = byId(snaps, "match");
    const shown = toAttemptQuestion(snap);
    assert.deepEqual(shown.prompts, ["France", "Italy"]);
    assert.deepEqual(shown.options, snap.matchOptions);
    assert.deepEqual(sorted(shown.options!), ["Oslo", "Paris", "Rome"]);
  });

  await t.step("typed answers: no options", () => {
    for (const id of ["short", "num", "essay"]) {
      const shown = toAttemptQuestion(byId(snaps, id));
      assert.ok(!("options" in shown), id);
      assert.ok(!("prompts" in shown), id);
    }
  });

  await t.step("description: no options, no points", () => {
    assert.deepEqual(toAttemptQuestion(byId(snaps, "desc")), {
      id: "desc",
      questionText: "Read this.",
      questionType: "description",
      format: "plain",
      title: null,
      points: 0,
    });
  });

  await t.step("title and points come through", () => {
    const snap = buildSnapshot([ROWS[4]!], {
      shuffleQuestions: false,
      shuffleOptions: false,
    })[0]!;
    const shown = toAttemptQuestion(snap);
    assert.equal(shown.title, "Naming");
    assert.equal(shown.points, 3);
    assert.equal(shown.questionType, "short-answer");
  });
});
