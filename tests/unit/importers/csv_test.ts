import assert from "node:assert/strict";
import * as v from "valibot";
import {
  parseCsv,
  readCsv,
} from "../../../server/features/quizzes/importers/csv.ts";
import {
  type ParseResult,
  QuestionSchema,
} from "../../../server/features/quizzes/question_model.ts";

function parse(source: string): ParseResult {
  const result = parseCsv(source);
  for (const { question } of result.questions) {
    v.parse(QuestionSchema, question);
  }
  return result;
}

const csv = (...lines: string[]) => lines.join("\n") + "\n";

Deno.test("readCsv", async (t) => {
  await t.step(
    "splits quoted fields with commas, line breaks and doubled quotes",
    () => {
      const rows = readCsv('a,"b,c","say ""hi""\nthere",\n"x\n\ny",z\nlast');
      assert.deepEqual(rows, [
        { line: 1, cells: ["a", "b,c", 'say "hi"\nthere', ""] },
        { line: 3, cells: ["x\n\ny", "z"] },
        { line: 6, cells: ["last"] },
      ]);
    },
  );

  await t.step("keeps empty cells and ignores a final line break", () => {
    assert.deepEqual(readCsv(',,\n"",x\n'), [
      { line: 1, cells: ["", "", ""] },
      { line: 2, cells: ["", "x"] },
    ]);
    assert.deepEqual(readCsv(""), []);
  });

  await t.step("flags broken quoting", () => {
    assert.equal(
      readCsv('"ab"c,d')[0]?.problem,
      "Unexpected text after a closing quote",
    );
    assert.deepEqual(readCsv('ok\n"never closed,\nmore'), [
      { line: 1, cells: ["ok"] },
      {
        line: 2,
        cells: ["never closed,\nmore"],
        problem: "A quoted field is never closed",
      },
    ]);
  });
});

Deno.test("parseCsv", async (t) => {
  await t.step("reads every supported type", () => {
    const result = parse(csv(
      "type,question,option_a,option_b,option_c,correct,feedback_a,feedback_b,title,category,difficulty,points,tags,general_feedback,explanation",
      ",Capital of France?,Paris,Lyon,,A,Yes!,No,Capital,Geo/ Europe /France,Easy,2,geo| capitals ,Paris it is,Since 987",
      "multiple_answers,Primes?,2,4,5,a|C,,,,,,,,,",
      "true_false,The sky is blue.,,,,TRUE,,,,,,,,,",
      "short_answer,Name a colour,,,,red| blue |,,,,,,,,,",
      "numerical,Pi?,,,,3.14:0.01|22/7..3.15|3,,,,,,,,,",
      "numerical,Range?,,,,-1..1.5,,,,,,,,,",
      "essay,Discuss.,,,,,,,,,hard,10,,,",
      "DESCRIPTION,Read this first.,,,,,,,,,,0,,,",
    ));
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(result.errors, [
      { location: "line 6", message: 'correct: "22/7" is not a number' },
    ]);
    assert.deepEqual(result.questions, [
      {
        location: "line 2",
        question: {
          type: "single_choice",
          text: "Capital of France?",
          title: "Capital",
          category: "Geo/Europe/France",
          difficulty: "easy",
          points: 2,
          tags: ["geo", "capitals"],
          generalFeedback: "Paris it is",
          explanation: "Since 987",
          choices: [
            { text: "Paris", weight: 1, feedback: "Yes!" },
            { text: "Lyon", weight: 0, feedback: "No" },
          ],
        },
      },
      {
        location: "line 3",
        question: {
          type: "multiple_answers",
          text: "Primes?",
          tags: [],
          choices: [
            { text: "2", weight: 0.5 },
            { text: "4", weight: 0 },
            { text: "5", weight: 0.5 },
          ],
        },
      },
      {
        location: "line 4",
        question: {
          type: "true_false",
          text: "The sky is blue.",
          tags: [],
          correct: true,
        },
      },
      {
        location: "line 5",
        question: {
          type: "short_answer",
          text: "Name a colour",
          tags: [],
          answers: [{ text: "red", weight: 1 }, { text: "blue", weight: 1 }],
        },
      },
      {
        location: "line 7",
        question: {
          type: "numerical",
          text: "Range?",
          tags: [],
          answers: [{ kind: "range", min: -1, max: 1.5, weight: 1 }],
        },
      },
      {
        location: "line 8",
        question: {
          type: "essay",
          text: "Discuss.",
          tags: [],
          difficulty: "hard",
          points: 10,
        },
      },
      {
        location: "line 9",
        question: {
          type: "description",
          text: "Read this first.",
          tags: [],
          points: 0,
        },
      },
    ]);
  });

  await t.step(
    "reads value, value:tolerance and several numerical answers",
    () => {
      const result = parse(
        csv("type,question,correct", "numerical,Pi?,3.14:0.01|3|1e1..2e1"),
      );
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.questions[0]?.question, {
        type: "numerical",
        text: "Pi?",
        tags: [],
        answers: [
          { kind: "exact", value: 3.14, tolerance: 0.01, weight: 1 },
          { kind: "exact", value: 3, tolerance: 0, weight: 1 },
          { kind: "range", min: 10, max: 20, weight: 1 },
        ],
      });
    },
  );

  await t.step(
    "spreads multiple_answers marks over the correct letters",
    () => {
      const result = parse(csv(
        "type,question,option_a,option_b,option_c,option_d,correct",
        "multiple_answers,Which?,w,x,y,z,A|B|D",
      ));
      const choices = result.questions[0]?.question.type === "multiple_answers"
        ? result.questions[0].question.choices.map((c) => c.weight)
        : [];
      assert.deepEqual(choices, [1 / 3, 1 / 3, 0, 1 / 3]);
    },
  );

  await t.step("takes per-option percentages from weights", () => {
    const result = parse(csv(
      "type,question,option_a,option_b,option_c,correct,weights",
      "multiple_answers,Which?,x,y,z,,50|-50|50%",
      "multiple_answers,Which?,x,y,z,A|C,50|-100|50",
      "multiple_answers,Which?,x,y,z,A|B,50|-50|50",
      "multiple_answers,Which?,x,y,z,,60|0|60",
      "multiple_answers,Which?,x,y,z,,50|50",
      "multiple_answers,Which?,x,y,z,,50|-150|50",
    ));
    assert.deepEqual(
      result.questions.map((q) =>
        q.question.type === "multiple_answers"
          ? q.question.choices.map((c) => c.weight)
          : []
      ),
      [[0.5, -0.5, 0.5], [0.5, -1, 0.5]],
    );
    assert.deepEqual(result.errors, [
      {
        location: "line 4",
        message: "correct (A|B) disagrees with weights (positive for A|C)",
      },
      {
        location: "line 5",
        message: "weights: the positive values add up to 120, not 100",
      },
      {
        location: "line 6",
        message: "weights has 2 values but there are 3 options",
      },
      {
        location: "line 7",
        message: "weights: -150 is not between -100 and 100",
      },
    ]);
  });

  await t.step(
    "keeps commas, line breaks and quotes in quoted cells, locating rows by their first line",
    () => {
      const result = parse(csv(
        "question,option_a,option_b,correct",
        '"Which is right:\n""a, b"" or\n""c""?","a, b","""c""",B',
        "Next,x,y,A",
      ));
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.questions, [
        {
          location: "line 2",
          question: {
            type: "single_choice",
            text: 'Which is right:\n"a, b" or\n"c"?',
            tags: [],
            choices: [{ text: "a, b", weight: 0 }, { text: '"c"', weight: 1 }],
          },
        },
        {
          location: "line 5",
          question: {
            type: "single_choice",
            text: "Next",
            tags: [],
            choices: [{ text: "x", weight: 1 }, { text: "y", weight: 0 }],
          },
        },
      ]);
    },
  );

  await t.step("reads headers in any case and order", () => {
    const result = parse(
      csv(
        " Correct ,Option_B,QUESTION,option_A,TYPE",
        "b,No,Sure?,Yes,Single_Choice",
      ),
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.questions[0]?.question, {
      type: "single_choice",
      text: "Sure?",
      tags: [],
      choices: [{ text: "Yes", weight: 0 }, { text: "No", weight: 1 }],
    });
  });

  await t.step(
    "warns once about unknown columns and about cells a type ignores",
    () => {
      const result = parse(csv(
        "question,Notes,type,source,correct,option_a",
        "Essay?,hello,essay,book,A,x",
        "Fine?,,true_false,,false,",
      ));
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.warnings, [
        {
          location: "line 1",
          message: "Unknown columns ignored: Notes, source",
        },
        {
          location: "line 2",
          message: "Ignored for essay questions: correct, option_a",
        },
      ]);
      assert.equal(result.questions.length, 2);
    },
  );

  await t.step("requires the question column", () => {
    const result = parse(csv("text,correct", "What?,A"));
    assert.deepEqual(result.questions, []);
    assert.deepEqual(result.errors, [
      { location: "line 1", message: 'Missing required column "question"' },
    ]);
    assert.deepEqual(parse("").errors, [
      {
        location: "line 1",
        message: "The file is empty: a header row is required",
      },
    ]);
  });

  await t.step(
    "reports every error with the physical line its row starts on",
    () => {
      const result = parse(csv(
        "type,question,option_a,option_b,correct,difficulty,points", // 1
        'single_choice,"Spans\nthree\nlines",x,y,C,,', // 2-4
        ",,x,y,A,,", // 5
        "mystery,What?,,,,,", // 6
        "", // 7
        'matching,"Pair\nthem",,,,,', // 8-9
        "numerical,How many?,,,ten,,", // 10
        "single_choice,Level?,x,y,A,expert,lots", // 11
        "true_false,Is it?,,,maybe,,", // 12
        "single_choice,One option?,x,,A|B,,", // 13
        "short_answer,Say it,,,,,", // 14
        "single_choice,Fine,x,y,a,,", // 15
        '"Broken" quote,x,y,A,,', // 16
        "single_choice,Too wide,x,y,A,,,extra", // 17
      ));
      assert.deepEqual(result.questions.map((q) => q.location), ["line 15"]);
      assert.deepEqual(result.errors, [
        {
          location: "line 2",
          message: "correct names C, but option_c is empty",
        },
        { location: "line 5", message: "The question is empty" },
        {
          location: "line 6",
          message:
            'Unknown type "mystery": expected one of single_choice, multiple_answers, true_false, short_answer, numerical, essay, description',
        },
        {
          location: "line 8",
          message:
            "Matching questions are not supported in CSV: import them as GIFT, Moodle XML or JSON",
        },
        { location: "line 10", message: 'correct: "ten" is not a number' },
        {
          location: "line 11",
          message: 'Unknown difficulty "expert": expected easy, medium or hard',
        },
        { location: "line 11", message: 'points: "lots" is not a number' },
        {
          location: "line 12",
          message: 'correct must be true or false, not "maybe"',
        },
        { location: "line 13", message: "Needs at least two options, found 1" },
        {
          location: "line 13",
          message:
            "A single_choice question has one correct letter; use multiple_answers for several",
        },
        {
          location: "line 14",
          message: "correct is required: the accepted answers, separated by |",
        },
        {
          location: "line 16",
          message: "Unexpected text after a closing quote",
        },
        {
          location: "line 17",
          message: "The row has 8 cells but the header only 7",
        },
      ]);
    },
  );

  await t.step("checks the result against the schema", () => {
    const result = parse(csv(
      "question,option_a,option_b,correct,points,tags",
      `Big?,x,y,A,5000,ok|${"t".repeat(101)}`,
    ));
    assert.deepEqual(result.questions, []);
    assert.deepEqual(result.errors, [
      { location: "line 2", message: "points: 5000 is not between 0 and 1000" },
    ]);
    const tags = parse(
      csv("question,tags,type", `Long tag,ok|${"t".repeat(101)},essay`),
    );
    assert.deepEqual(tags.errors, [
      { location: "line 2", message: "tags.1: At most 100 characters" },
    ]);
  });

  await t.step("reads the example in docs/question-bank-csv.md", async () => {
    const doc = await Deno.readTextFile(
      new URL("../../../docs/question-bank-csv.md", import.meta.url),
    );
    const example = /```csv\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
    const result = parse(example);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(
      result.questions.map((q) => [q.location, q.question.type]),
      [
        ["line 2", "single_choice"],
        ["line 3", "multiple_answers"],
        ["line 4", "true_false"],
        ["line 5", "short_answer"],
        ["line 6", "numerical"],
        ["line 7", "essay"],
      ],
    );
    assert.equal(
      result.questions[5]?.question.text,
      'Discuss "progress",\nin two paragraphs.',
    );
  });

  await t.step("tolerates a BOM and CRLF line ends", () => {
    const result = parse(
      '\uFEFFquestion,option_a,option_b,correct\r\n"Two\r\nlines",x,y,B\r\nSecond,x,y,A\r\n',
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(
      result.questions.map((q) => [q.location, q.question.text]),
      [
        ["line 2", "Two\nlines"],
        ["line 4", "Second"],
      ],
    );
  });
});
