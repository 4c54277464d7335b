import assert from "node:assert/strict";
import * as v from "valibot";
import { parseGift } from "../../../server/features/quizzes/importers/gift.ts";
import {
  type DraftQuestion,
  type ParseResult,
  QuestionSchema,
} from "../../../server/features/quizzes/question_model.ts";

function parse(source: string): ParseResult {
  const result = parseGift(source);
  for (const { question } of result.questions) {
    v.parse(QuestionSchema, question);
  }
  return result;
}

function only(source: string): DraftQuestion {
  const result = parse(source);
  assert.deepEqual(result.errors, []);
  assert.equal(result.questions.length, 1);
  const [first] = result.questions;
  assert.ok(first);
  return first.question;
}

function errorsOf(source: string): string[] {
  const result = parse(source);
  assert.deepEqual(result.questions, []);
  return result.errors.map((issue) => `${issue.location}: ${issue.message}`);
}

function warningsOf(source: string): string[] {
  const result = parse(source);
  assert.deepEqual(result.errors, []);
  return result.warnings.map((issue) => issue.message);
}

Deno.test("parseGift reads Moodle's documented examples", async (t) => {
  await t.step("multiple choice", () => {
    assert.deepEqual(
      only("Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}"),
      {
        type: "single_choice",
        text: "Who's buried in Grant's tomb?",
        format: "plain",
        choices: [
          { text: "Grant", weight: 0 },
          { text: "Jefferson", weight: 0 },
          { text: "no one", weight: 1 },
        ],
      },
    );
  });

  await t.step("missing word", () => {
    const question = only("Moodle costs {~lots =nothing} to use.");
    assert.equal(question.type, "single_choice");
    assert.equal(question.text, "Moodle costs _____ to use.");
  });

  await t.step("true/false", () => {
    assert.deepEqual(only("Grant is buried in Grant's tomb.{F}"), {
      type: "true_false",
      text: "Grant is buried in Grant's tomb.",
      format: "plain",
      correct: false,
    });
  });

  await t.step("short answer", () => {
    assert.deepEqual(only("Two plus two equals {=four =4}"), {
      type: "short_answer",
      text: "Two plus two equals",
      format: "plain",
      answers: [{ text: "four", weight: 1 }, { text: "4", weight: 1 }],
    });
  });

  await t.step("multiple answers", () => {
    const source = "What two people are entombed in Grant's tomb? " +
      "{~%-100%No one ~%50%Grant ~%50%Grant's wife ~%-100%Grant's father}";
    const result = parse(source);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(only(source), {
      type: "multiple_answers",
      text: "What two people are entombed in Grant's tomb?",
      format: "plain",
      choices: [
        { text: "No one", weight: -1 },
        { text: "Grant", weight: 0.5 },
        { text: "Grant's wife", weight: 0.5 },
        { text: "Grant's father", weight: -1 },
      ],
    });
  });

  await t.step("numerical", () => {
    assert.deepEqual(only("When was Ulysses S. Grant born?{#1822:5}"), {
      type: "numerical",
      text: "When was Ulysses S. Grant born?",
      format: "plain",
      answers: [{ kind: "exact", value: 1822, tolerance: 5, weight: 1 }],
    });
  });

  await t.step("matching", () => {
    const source =
      "Which animal eats which food? { =cat -> cat food =dog -> dog food }";
    assert.deepEqual(only(source), {
      type: "matching",
      text: "Which animal eats which food?",
      format: "plain",
      pairs: [
        { left: "cat", right: "cat food" },
        { left: "dog", right: "dog food" },
      ],
      distractors: [],
    });
    assert.equal(warningsOf(source).length, 1);
  });

  await t.step("essay", () => {
    assert.deepEqual(only("Write a short biography of Dag Hammarskjöld. {}"), {
      type: "essay",
      text: "Write a short biography of Dag Hammarskjöld.",
      format: "plain",
    });
  });

  await t.step("title, format and feedback", () => {
    const source = `::Q2:: What's between orange and green in the spectrum?
{ =yellow # right; good! ~red # wrong, it's yellow ~blue # wrong, it's yellow }`;
    assert.deepEqual(only(source), {
      type: "single_choice",
      title: "Q2",
      text: "What's between orange and green in the spectrum?",
      format: "plain",
      choices: [
        { text: "yellow", weight: 1, feedback: "right; good!" },
        { text: "red", weight: 0, feedback: "wrong, it's yellow" },
        { text: "blue", weight: 0, feedback: "wrong, it's yellow" },
      ],
    });
  });
});

Deno.test("parseGift handles the file structure", async (t) => {
  await t.step(
    "comment lines are ignored, blank lines separate questions",
    () => {
      const result = parse(`// A comment before the first question
First?{T}
// a comment inside a question
   // an indented comment

Second?
{
// comment in the answer block
=yes
~no
}


Third {#2}`);
      assert.deepEqual(result.errors, []);
      assert.deepEqual(
        result.questions.map((
          { question, location },
        ) => [location, question.type, question.text]),
        [
          ["line 2", "true_false", "First?"],
          ["line 6", "single_choice", "Second?"],
          ["line 14", "numerical", "Third"],
        ],
      );
    },
  );

  await t.step("text after // on a line is not a comment", () => {
    assert.equal(
      only("See http://example.com {T}").text,
      "See http://example.com",
    );
  });

  await t.step("a question with no answer block is a description", () => {
    assert.deepEqual(only("::Intro:: The next questions are about Grant."), {
      type: "description",
      title: "Intro",
      text: "The next questions are about Grant.",
      format: "plain",
    });
  });

  await t.step(
    "the format prefix sets format, on the text and on feedback",
    () => {
      const question = only(
        "::Q1:: [html] <b>bold</b> text{=a#[html]<i>yes</i> ~b}",
      );
      assert.equal(question.format, "html");
      assert.equal(question.title, "Q1");
      assert.equal(question.text, "<b>bold</b> text");
      assert.ok(question.type === "single_choice");
      assert.deepEqual(question.choices[0], {
        text: "a",
        weight: 1,
        feedback: "<i>yes</i>",
      });
      for (const format of ["markdown", "plain", "moodle"] as const) {
        assert.equal(only(`[${format}]Some *text*{T}`).format, format);
      }
    },
  );

  await t.step(
    "a format prefix only on feedback is adopted; a conflicting one is warned",
    () => {
      assert.equal(only("Q{T#[markdown]*no*}").format, "markdown");
      const warnings = warningsOf("[html]Q{=a#[markdown]*yes* ~b}");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? "", /stored as html/);
    },
  );

  await t.step("an unknown [prefix] is part of the text", () => {
    assert.equal(only("[1] First step{T}").text, "[1] First step");
  });

  await t.step("$CATEGORY sets the category of the questions after it", () => {
    const result = parse(`Before{T}

$CATEGORY: Physics/Mechanics
First{T}

Second{F}

$CATEGORY: $course$/top/History/Rome

Third{T}
$CATEGORY: top/Maths
Fourth{T}

$CATEGORY: $course$/top
Fifth{T}`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.questions.map((
        { question, location },
      ) => [location, question.category]),
      [
        ["line 1", undefined],
        ["line 4", "Physics/Mechanics"],
        ["line 6", "Physics/Mechanics"],
        ["line 10", "History/Rome"],
        ["line 12", "Maths"],
        ["line 15", undefined],
      ],
    );
  });

  await t.step("an empty $CATEGORY is warned about", () => {
    const result = parse("$CATEGORY:\nQ{T}");
    assert.deepEqual(result.warnings.map((w) => w.location), ["line 1"]);
    assert.equal(result.questions[0]?.question.category, undefined);
  });

  await t.step("CRLF line ends and a BOM are accepted", () => {
    const result = parse(
      "\uFEFF// exported\r\n::A::First?{T}\r\n\r\n::B::Second?\r\n{=x ~y}\r\n",
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.questions.map((
        { question, location },
      ) => [location, question.title, question.text]),
      [["line 2", "A", "First?"], ["line 4", "B", "Second?"]],
    );
  });

  await t.step(
    "an empty or comment-only file has no questions and no issues",
    () => {
      assert.deepEqual(parse(""), { questions: [], warnings: [], errors: [] });
      assert.deepEqual(parse("// nothing\n\n// here\n"), {
        questions: [],
        warnings: [],
        errors: [],
      });
    },
  );
});

Deno.test("parseGift honours escapes", async (t) => {
  await t.step("in the title and text", () => {
    const question = only(
      String
        .raw`::Time\: 10\:30:: Is 1 \= 1 \{always\} \#sure \~maybe?\nNew line, a\\b {T}`,
    );
    assert.equal(question.title, "Time: 10:30");
    assert.equal(
      question.text,
      "Is 1 = 1 {always} #sure ~maybe?\nNew line, a\\b",
    );
  });

  await t.step("in answers and feedback", () => {
    const question = only(String.raw`Which is an equation?{
=a \= b#yes\: it has \= and \#
~\{set\}#no\~
~x \~ y
}`);
    assert.ok(question.type === "single_choice");
    assert.deepEqual(question.choices, [
      { text: "a = b", weight: 1, feedback: "yes: it has = and #" },
      { text: "{set}", weight: 0, feedback: "no~" },
      { text: "x ~ y", weight: 0 },
    ]);
  });

  await t.step("in matching pairs and short answers", () => {
    const matching = only(
      String.raw`Match{=a\=1 -> one\: 1 =b -> two =c -> \{3\}}`,
    );
    assert.ok(matching.type === "matching");
    assert.deepEqual(matching.pairs, [
      { left: "a=1", right: "one: 1" },
      { left: "b", right: "two" },
      { left: "c", right: "{3}" },
    ]);
    const short = only(String.raw`Type it{=C\#}`);
    assert.ok(short.type === "short_answer");
    assert.equal(short.answers[0]?.text, "C#");
  });

  await t.step("other backslashes are kept", () => {
    assert.equal(
      only(String.raw`Solve \(x^2\) {T}`).text,
      String.raw`Solve \(x^2\)`,
    );
  });
});

Deno.test("parseGift reads answer weights", async (t) => {
  await t.step(
    "percentages become fractions, decimals and negatives too",
    () => {
      const question = only(
        "Pick{~%-33.33333%a ~%33.33333%b ~%33.33333%c ~%33.33334%d ~%-100%e}",
      );
      assert.ok(question.type === "multiple_answers");
      assert.deepEqual(
        question.choices.map((choice) => choice.weight),
        [-0.3333333, 0.3333333, 0.3333333, 0.3333334, -1],
      );
    },
  );

  await t.step("= answers may carry a weight", () => {
    const question = only("Pick{=%100%a ~%50%b ~c}");
    assert.ok(question.type === "single_choice");
    assert.deepEqual(question.choices.map((c) => c.weight), [1, 0.5, 0]);
  });

  await t.step("short answers take weights, the rest count fully", () => {
    const question = only(
      "Capital of France?{=Paris =%50%paris#spelling! =%0%Lyon}",
    );
    assert.ok(question.type === "short_answer");
    assert.deepEqual(question.answers, [
      { text: "Paris", weight: 1 },
      { text: "paris", weight: 0.5, feedback: "spelling!" },
      { text: "Lyon", weight: 0 },
    ]);
  });

  await t.step(
    "several = choices and a ~ make a single choice question",
    () => {
      const question = only("Either{=a =b ~c}");
      assert.equal(question.type, "single_choice");
    },
  );

  await t.step(
    "several partial = weights make a multiple answers question",
    () => {
      assert.equal(
        only("Both{=%50%a =%50%b ~%-100%c}").type,
        "multiple_answers",
      );
    },
  );

  await t.step("a question with no = is a multiple answers question", () => {
    assert.equal(only("Full{~%100%a ~b ~c}").type, "multiple_answers");
  });

  await t.step("odd weights are warned about", () => {
    assert.deepEqual(warningsOf("Odd{~%50%a ~%30%b ~c}"), [
      "The right answers' weights add up to 80%, not 100%",
    ]);
    assert.deepEqual(warningsOf("Half{=%50%a ~b}"), [
      "No choice gives full marks; the best gives 50%",
    ]);
  });
});

Deno.test("parseGift reads feedback", async (t) => {
  await t.step("general feedback after ####", () => {
    const question = only(`Q{
=a#right
~b#wrong
####Because a.
}`);
    assert.equal(question.generalFeedback, "Because a.");
    assert.ok(question.type === "single_choice");
    assert.deepEqual(question.choices[1], {
      text: "b",
      weight: 0,
      feedback: "wrong",
    });
  });

  await t.step("general feedback on an essay and a true/false", () => {
    const essay = only("Discuss. {####Look at the causes.}");
    assert.equal(essay.type, "essay");
    assert.equal(essay.generalFeedback, "Look at the causes.");
    const trueFalse = only("Q{T#no#yes####always}");
    assert.deepEqual(trueFalse, {
      type: "true_false",
      text: "Q",
      format: "plain",
      correct: true,
      feedbackWrong: "no",
      feedbackRight: "yes",
      generalFeedback: "always",
    });
  });

  await t.step("an empty feedback after # is left out", () => {
    const question = only("Q{=a# ~b#}");
    assert.ok(question.type === "single_choice");
    assert.deepEqual(question.choices, [
      { text: "a", weight: 1 },
      { text: "b", weight: 0 },
    ]);
  });
});

Deno.test("parseGift reads true/false questions", async (t) => {
  await t.step("every spelling, in any case", () => {
    for (
      const [answer, correct] of [
        ["T", true],
        ["TRUE", true],
        ["true", true],
        ["t", true],
        [" True ", true],
        ["F", false],
        ["FALSE", false],
        ["false", false],
        ["f", false],
      ] as const
    ) {
      const question = only(`The sun is hot.{${answer}}`);
      assert.ok(question.type === "true_false", answer);
      assert.equal(question.correct, correct, answer);
    }
  });

  await t.step(
    "the first feedback is for a wrong answer, the second for a right one",
    () => {
      assert.deepEqual(
        only("The sun is a star.{TRUE#No, it is a star.#Yes.}"),
        {
          type: "true_false",
          text: "The sun is a star.",
          format: "plain",
          correct: true,
          feedbackWrong: "No, it is a star.",
          feedbackRight: "Yes.",
        },
      );
      const question = only("The moon is a star.{F#Wrong.}");
      assert.ok(question.type === "true_false");
      assert.equal(question.feedbackWrong, "Wrong.");
      assert.equal(question.feedbackRight, undefined);
    },
  );
});

Deno.test("parseGift reads numerical questions", async (t) => {
  const answersOf = (source: string) => {
    const question = only(source);
    assert.ok(question.type === "numerical");
    return question.answers;
  };

  await t.step("value:tolerance and an exact value", () => {
    assert.deepEqual(answersOf("Pi?{#3.14:0.01}"), [
      { kind: "exact", value: 3.14, tolerance: 0.01, weight: 1 },
    ]);
    assert.deepEqual(answersOf("Answer?{#42}"), [
      { kind: "exact", value: 42, tolerance: 0, weight: 1 },
    ]);
  });

  await t.step("a range", () => {
    assert.deepEqual(answersOf("Between?{#1..5}"), [
      { kind: "range", min: 1, max: 5, weight: 1 },
    ]);
    assert.deepEqual(answersOf("Below zero?{#-10..-2.5}"), [
      { kind: "range", min: -10, max: -2.5, weight: 1 },
    ]);
  });

  await t.step("several weighted answers with feedback", () => {
    const source = `When was Ulysses S. Grant born? {#
=1822:0 #Correct! Full credit.
=%50%1822:2 #He was born in 1822. Half credit for being close.
}`;
    assert.deepEqual(answersOf(source), [
      {
        kind: "exact",
        value: 1822,
        tolerance: 0,
        weight: 1,
        feedback: "Correct! Full credit.",
      },
      {
        kind: "exact",
        value: 1822,
        tolerance: 2,
        weight: 0.5,
        feedback: "He was born in 1822. Half credit for being close.",
      },
    ]);
    assert.equal(answersOf("Q{# =1822:0 =%50%1822:2}").length, 2);
  });

  await t.step("negative numbers and exponents", () => {
    assert.deepEqual(answersOf("Q{#-5:1}"), [
      { kind: "exact", value: -5, tolerance: 1, weight: 1 },
    ]);
    assert.deepEqual(answersOf("Q{#=-0.5:.1 =%-50%5}"), [
      { kind: "exact", value: -0.5, tolerance: 0.1, weight: 1 },
      { kind: "exact", value: 5, tolerance: 0, weight: -0.5 },
    ]);
    assert.deepEqual(answersOf("Avogadro?{#6.022e23:1e21}"), [
      { kind: "exact", value: 6.022e23, tolerance: 1e21, weight: 1 },
    ]);
  });

  await t.step("~ feedback for other answers is dropped with a warning", () => {
    const source = "Q{#=5 ~#Not even close}";
    assert.equal(warningsOf(source).length, 1);
    assert.equal(answersOf(source).length, 1);
  });
});

Deno.test("parseGift reads matching questions", async (t) => {
  await t.step("pairs and distractors", () => {
    const question = only(`Match the countries with their capitals. {
=Canada -> Ottawa
=Italy -> Rome
=Japan->Tokyo
= -> Sydney
}`);
    assert.ok(question.type === "matching");
    assert.deepEqual(question.pairs, [
      { left: "Canada", right: "Ottawa" },
      { left: "Italy", right: "Rome" },
      { left: "Japan", right: "Tokyo" },
    ]);
    assert.deepEqual(question.distractors, ["Sydney"]);
  });

  await t.step(
    "two pairs and a distractor make three answers, with no warning",
    () => {
      assert.deepEqual(warningsOf("M{=a -> 1 =b -> 2 = -> 3}"), []);
    },
  );
});

Deno.test("parseGift reports errors", async (t) => {
  await t.step("an unclosed {", () => {
    assert.deepEqual(errorsOf("Who?{~a =b"), [
      "line 1: Unclosed {: the answer block has no closing }",
    ]);
  });

  await t.step("a } without {", () => {
    assert.match(errorsOf("Who?~a =b}")[0] ?? "", /line 1: Found } without/);
  });

  await t.step("two answer blocks, or a { inside one", () => {
    assert.equal(errorsOf("Q{=a ~b} and {=c ~d}").length, 1);
    assert.equal(errorsOf("Q{=a ~b {=c ~d}").length, 1);
  });

  await t.step("no right answer in a choice question", () => {
    assert.deepEqual(errorsOf("Who?{~a ~b ~%-50%c}"), [
      "line 1: No right answer: mark one with = or give it a positive %weight%",
    ]);
  });

  await t.step("too few or empty choices", () => {
    assert.deepEqual(errorsOf("Who?{~%100%a}"), [
      "line 1: A choice question needs at least two choices (found 1)",
    ]);
    assert.deepEqual(errorsOf("Who?{=a ~}"), ["line 1: Choice 2 is empty"]);
  });

  await t.step("a matching question with fewer than two pairs", () => {
    assert.deepEqual(errorsOf("Match{=a -> 1 = -> 2}"), [
      "line 1: A matching question needs at least two pairs (found 1)",
    ]);
  });

  await t.step("a matching pair without ->", () => {
    assert.deepEqual(errorsOf("Match{=a -> 1 =b -> 2 =c}"), [
      'line 1: Pair 3 ("c") has no ->',
    ]);
  });

  await t.step("a weight that is not a number, or out of range", () => {
    assert.deepEqual(errorsOf("Q{=a ~%abc%b}"), [
      'line 1: Weight "%abc%" is not a number',
    ]);
    assert.deepEqual(errorsOf("Q{=%150%a ~b}"), [
      "line 1: Weight 150% is outside -100% to 100%",
    ]);
    assert.deepEqual(errorsOf("Q{=a ~%-100.5%b}"), [
      "line 1: Weight -100.5% is outside -100% to 100%",
    ]);
    assert.deepEqual(errorsOf("Q{=a =%%b}"), [
      'line 1: Weight "%%" is not a number',
    ]);
  });

  await t.step("a numerical answer that is not a number", () => {
    assert.deepEqual(errorsOf("Q{#abc}"), [
      'line 1: Answer 1: "abc" is not a number',
    ]);
    assert.deepEqual(errorsOf("Q{#=3,14:0.1}"), [
      'line 1: Answer 1: "3,14" is not a number (write decimals with a dot)',
    ]);
    assert.deepEqual(errorsOf("Q{#5:x}"), [
      'line 1: Answer 1: "x" is not a number',
    ]);
    assert.deepEqual(errorsOf("Q{#5..1}"), [
      "line 1: Answer 1: the range 5..1 runs backwards",
    ]);
    assert.deepEqual(errorsOf("Q{#5:-1}"), [
      "line 1: Answer 1: the tolerance cannot be negative",
    ]);
    assert.deepEqual(errorsOf("Q{#}"), [
      "line 1: A numerical question needs an answer, e.g. {#42} or {#3.14:0.01}",
    ]);
  });

  await t.step("a question with no text", () => {
    assert.deepEqual(errorsOf("{=a ~b}"), ["line 1: The question has no text"]);
    assert.deepEqual(errorsOf("::Title::{T}"), [
      "line 1: The question has no text",
    ]);
  });

  await t.step("an unclosed title", () => {
    assert.deepEqual(errorsOf("::Title Question{T}"), [
      "line 1: The title has no closing ::",
    ]);
  });

  await t.step("an answer block that is none of the types", () => {
    assert.match(
      errorsOf("Q{yes}")[0] ?? "",
      /^line 1: Unrecognised answer block \{yes\}/,
    );
    assert.match(
      errorsOf("Q{four =4}")[0] ?? "",
      /^line 1: Text before the first answer: "four"/,
    );
  });

  await t.step("a text over the model's limit", () => {
    assert.deepEqual(errorsOf(`::${"t".repeat(256)}::Q{T}`), [
      "line 1: title: At most 255 characters",
    ]);
  });

  await t.step(
    "every error in a file, with its line, and the good questions kept",
    () => {
      const result = parse(`// A file with mistakes
::Good 1:: Fine?{T}

::Bad 1:: Unclosed?{=a ~b

::Bad 2:: No right?
{~a ~b}

::Good 2:: Fine too?{=x ~y}

// the next one has two problems
::Bad 3:: Two problems{=a ~%x%b ~%200%c}

{=a ~b}

::Bad 5:: Numbers?{#one}
::Bad 6 — no blank line, so this is still Bad 5 and a second block:: Q{T}

::Bad 7:: Match{=a -> 1}

::Good 3:: Last?{#1..2}`);
      assert.deepEqual(
        result.questions.map((
          { question, location },
        ) => [location, question.title]),
        [["line 2", "Good 1"], ["line 9", "Good 2"], ["line 21", "Good 3"]],
      );
      assert.deepEqual(
        result.errors.map(({ location, message }) => `${location}: ${message}`),
        [
          "line 4: Unclosed {: the answer block has no closing }",
          "line 6: No right answer: mark one with = or give it a positive %weight%",
          'line 12: Weight "%x%" is not a number',
          "line 12: Weight 200% is outside -100% to 100%",
          "line 14: The question has no text",
          "line 16: A question has one answer block; write literal braces after it as \\{ and \\}",
          "line 19: A matching question needs at least two pairs (found 1)",
        ],
      );
    },
  );
});

Deno.test("parseGift reads a 2,000-question file of mixed types", () => {
  const kinds = [
    (i: number) =>
      `::Q${i}:: What is ${i} + 1?{=${i + 1} =%50%${i}#close ~${i + 2}}`,
    (i: number) =>
      `// question ${i}\n${i} is even.{${i % 2 ? "F" : "T"}#no#yes}`,
    (i: number) => `Give ${i}.{#${i}:0.5}`,
    (i: number) => `Match ${i}.{=a${i} -> 1 =b -> 2 =c -> 3 ####done}`,
    (i: number) => `Name ${i}.{=one =uno}`,
  ];
  const source = Array.from(
    { length: 2000 },
    (_, i) => kinds[i % kinds.length]?.(i) ?? "",
  ).join("\n\n");
  // Speed is measured by `deno task bench import`, not here.
  const result = parseGift(source);
  assert.deepEqual(result.errors, []);
  assert.equal(result.questions.length, 2000);
  for (const { question } of result.questions) {
    v.parse(QuestionSchema, question);
  }
});

Deno.test("parseGift keeps private-use characters it uses internally for escapes", () => {
  const text = "Keep \uE001 and \uE008\uE011 and \uE007";
  const question = only(`${text} \\= {T}`);
  assert.equal(question.text, `${text} =`);
});
