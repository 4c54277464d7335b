import assert from "node:assert/strict";
import * as v from "valibot";
import { parseMoodleXml } from "../../../server/features/quizzes/importers/moodle_xml.ts";
import {
  type ParseResult,
  QuestionSchema,
} from "../../../server/features/quizzes/question_model.ts";

/** Parses and checks that every question produced is valid for the shared model. */
function parse(xml: string): ParseResult {
  const result = parseMoodleXml(xml);
  for (const { question } of result.questions) {
    v.parse(QuestionSchema, question);
  }
  return result;
}

function quiz(...questions: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n${
    questions.join("\n")
  }\n</quiz>\n`;
}

function question(type: string, name: string, body: string): string {
  return `<question type="${type}">
  <name><text>${name}</text></name>
  ${body}
</question>`;
}

function answer(fraction: string, text: string, feedback = ""): string {
  return `<answer fraction="${fraction}" format="moodle_auto_format">
  <text>${text}</text>
  <feedback format="html"><text>${feedback}</text></feedback>
</answer>`;
}

const TEXT =
  `<questiontext format="html"><text>Pick one.</text></questiontext>`;

Deno.test("a Moodle export with every supported type", async (t) => {
  const result = parse(FIXTURE);
  const byTitle = (title: string) =>
    result.questions.find((q) => q.question.title === title);

  await t.step("reads every question and reports the catch-all answer", () => {
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, [{
      location: 'question 7 ("Free fall")',
      message:
        'answer 3: the catch-all answer "*" is not supported and was skipped',
    }]);
    assert.deepEqual(result.questions.map((q) => q.location), [
      `question 2 ("Newton's second law")`,
      'question 4 ("Vector quantities")',
      'question 5 ("Vacuum")',
      'question 6 ("SI unit of force")',
      'question 7 ("Free fall")',
      'question 8 ("Units")',
      'question 9 ("Explain inertia")',
      'question 10 ("Read this first")',
    ]);
  });

  await t.step("multichoice with single=true is a single choice", () => {
    assert.deepEqual(byTitle("Newton's second law")?.question, {
      title: "Newton's second law",
      text: "<p>Which formula states <strong>Newton's second law</strong>?</p>",
      format: "html",
      category: "Physics",
      tags: ["mechanics", "newton"],
      generalFeedback: "<p>Force equals mass times acceleration.</p>",
      points: 2,
      type: "single_choice",
      choices: [
        { text: "<p>F = m·a</p>", weight: 1, feedback: "<p>Right.</p>" },
        {
          text: "<p>E = m·c²</p>",
          weight: 0,
          feedback: "<p>That is Einstein.</p>",
        },
        { text: "<p>p = m·v</p>", weight: -0.5 },
      ],
    });
  });

  await t.step("multichoice with single=false has multiple answers", () => {
    assert.deepEqual(byTitle("Vector quantities")?.question, {
      title: "Vector quantities",
      text: "Which of these are vector quantities?",
      format: "moodle",
      category: "Physics/Mechanics",
      tags: [],
      points: 1,
      type: "multiple_answers",
      choices: [
        { text: "Velocity", weight: 0.3333333 },
        { text: "Force", weight: 0.3333333 },
        { text: "Acceleration", weight: 0.3333334 },
        {
          text: "Mass",
          weight: -0.3333333,
          feedback: "Mass has no direction.",
        },
      ],
    });
  });

  await t.step("truefalse keeps the right and wrong feedback apart", () => {
    assert.deepEqual(byTitle("Vacuum")?.question, {
      title: "Vacuum",
      text: "Sound travels through a vacuum.",
      format: "plain",
      category: "Physics/Mechanics",
      tags: [],
      generalFeedback: "Sound needs a medium.",
      points: 1,
      type: "true_false",
      correct: false,
      feedbackRight: "Correct, sound needs a medium.",
      feedbackWrong: "No: there is nothing to carry it.",
    });
  });

  await t.step("shortanswer with usecase=1 is case sensitive", () => {
    assert.deepEqual(byTitle("SI unit of force")?.question, {
      title: "SI unit of force",
      text: "What is the **SI unit** of force?",
      format: "markdown",
      category: "Physics/Mechanics",
      tags: [],
      points: 1,
      type: "short_answer",
      caseSensitive: true,
      answers: [
        { text: "N", weight: 1, feedback: "Yes, the newton." },
        { text: "newton", weight: 0.5 },
      ],
    });
  });

  await t.step("numerical answers keep their tolerance", () => {
    assert.deepEqual(byTitle("Free fall")?.question, {
      title: "Free fall",
      text: "<p>What is <i>g</i> in m/s² (to one decimal)?</p>",
      format: "html",
      category: "Physics/Mechanics",
      tags: [],
      points: 1,
      type: "numerical",
      answers: [
        {
          kind: "exact",
          value: 9.8,
          tolerance: 0.05,
          weight: 1,
          feedback: "Well done.",
        },
        { kind: "exact", value: 10, tolerance: 0, weight: 0.5 },
      ],
    });
  });

  await t.step("matching turns an empty left side into a distractor", () => {
    assert.deepEqual(byTitle("Units")?.question, {
      title: "Units",
      text: "<p>Match each quantity with its unit.</p>",
      format: "html",
      category: "Physics/Mechanics",
      tags: [],
      points: 3,
      type: "matching",
      pairs: [
        { left: "<p>Force</p>", right: "newton" },
        { left: "<p>Energy</p>", right: "joule" },
        { left: "<p>Power</p>", right: "watt" },
      ],
      distractors: ["pascal"],
    });
  });

  await t.step("essay and description", () => {
    assert.deepEqual(byTitle("Explain inertia")?.question, {
      title: "Explain inertia",
      text: "<p>Explain <em>inertia</em> in your own words.</p>",
      format: "html",
      category: "Physics/Mechanics",
      tags: [],
      points: 5,
      type: "essay",
    });
    assert.deepEqual(byTitle("Read this first")?.question, {
      title: "Read this first",
      text: "<p>The next questions use g = 9.8 m/s².</p>",
      format: "html",
      category: "Physics/Mechanics",
      tags: [],
      points: 0,
      type: "description",
    });
  });

  await t.step("a BOM and CRLF line ends change nothing", () => {
    const windows = "\uFEFF" + FIXTURE.replaceAll("\n", "\r\n");
    assert.deepEqual(parse(windows), result);
  });
});

Deno.test("Moodle XML text handling", async (t) => {
  await t.step("CDATA keeps HTML and its entities untouched", () => {
    const { questions, errors } = parse(quiz(question(
      "essay",
      "CDATA",
      `<questiontext format="html"><text><![CDATA[
        <p>Fish &amp; chips&nbsp;<a href="x?a=1&amp;b=2">menu</a> &lt;3</p>
      ]]></text></questiontext>`,
    )));
    assert.deepEqual(errors, []);
    assert.equal(
      questions[0]?.question.text,
      '<p>Fish &amp; chips&nbsp;<a href="x?a=1&amp;b=2">menu</a> &lt;3</p>',
    );
  });

  await t.step("escaped HTML is decoded exactly once", () => {
    const { questions, errors } = parse(quiz(question(
      "essay",
      "Tom &amp; Jerry",
      `<questiontext format="html"><text>&lt;p&gt;Is 2 &amp;lt; 3? Caf&#233; &#x2713; &quot;yes&quot; &apos;no&apos;&lt;/p&gt;</text></questiontext>
      <generalfeedback format="html"><text>&lt;p&gt;a&amp;nbsp;b&lt;/p&gt;</text></generalfeedback>`,
    )));
    assert.deepEqual(errors, []);
    assert.equal(questions[0]?.location, 'question 1 ("Tom & Jerry")');
    assert.equal(questions[0]?.question.title, "Tom & Jerry");
    assert.equal(
      questions[0]?.question.text,
      `<p>Is 2 &lt; 3? Café ✓ "yes" 'no'</p>`,
    );
    assert.equal(questions[0]?.question.generalFeedback, "<p>a&nbsp;b</p>");
  });

  await t.step("text formats map onto the model's formats", () => {
    const formats = ["html", "moodle_auto_format", "markdown", "plain_text"];
    const { questions } = parse(quiz(...formats.map((format) =>
      question(
        "description",
        format,
        `<questiontext format="${format}"><text>Hello</text></questiontext>`,
      )
    )));
    assert.deepEqual(questions.map((q) => q.question.format), [
      "html",
      "moodle",
      "markdown",
      "plain",
    ]);
  });

  await t.step("an unknown format is read as plain text with a warning", () => {
    const { questions, warnings } = parse(quiz(question(
      "description",
      "Wiki",
      `<questiontext format="wiki_like"><text>Hello</text></questiontext>`,
    )));
    assert.equal(questions[0]?.question.format, "plain");
    assert.deepEqual(warnings, [{
      location: 'question 1 ("Wiki")',
      message: 'unknown text format "wiki_like", read as plain text',
    }]);
  });

  await t.step("DOCTYPE entities are never expanded", () => {
    const { questions } = parse(`<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY x "boom"><!ENTITY xx "&x;&x;">]>
${
      quiz(
        question(
          "essay",
          "Entities",
          `<questiontext><text>&xx;</text></questiontext>`,
        ),
      ).replace(/^.*\n/, "")
    }`);
    assert.equal(questions[0]?.question.text, "&xx;");
  });

  await t.step("embedded files are reported", () => {
    const { questions, warnings } = parse(quiz(question(
      "essay",
      "Picture",
      `<questiontext format="html"><text><![CDATA[<p><img src="@@PLUGINFILE@@/a.png"></p>]]></text>
      <file name="a.png" path="/" encoding="base64">iVBORw0KGgo=</file></questiontext>`,
    )));
    assert.equal(
      questions[0]?.question.text,
      '<p><img src="@@PLUGINFILE@@/a.png"></p>',
    );
    assert.deepEqual(warnings, [{
      location: 'question 1 ("Picture")',
      message:
        "the text refers to embedded files (@@PLUGINFILE@@), which are not imported",
    }]);
  });

  await t.step("tags are trimmed and deduplicated", () => {
    const { questions } = parse(quiz(question(
      "essay",
      "Tags",
      `${TEXT}<tags><tag><text> a </text></tag><tag><text>b</text></tag><tag><text>a</text></tag><tag><text></text></tag></tags>`,
    )));
    assert.deepEqual(questions[0]?.question.tags, ["a", "b"]);
  });
});

Deno.test("Moodle XML categories", async (t) => {
  const category = (path: string) =>
    `<question type="category"><category><text>${path}</text></category><info format="moodle_auto_format"><text></text></info></question>`;
  const essay = (name: string) => question("essay", name, TEXT);

  await t.step("each category applies to the questions after it", () => {
    const { questions, warnings } = parse(quiz(
      essay("none yet"),
      category("$course$/top/Physics/Mechanics/Forces"),
      essay("forces"),
      essay("forces too"),
      category("$system$/top/Shared"),
      essay("shared"),
      category("$module$/top/Quiz bank/Week 1"),
      essay("module"),
      category("$cat1$/top/Faculty"),
      essay("course category"),
      category("$course$/Default for Physics 101"),
      essay("old style"),
      category("$course$/top"),
      essay("top"),
    ));
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      questions.map((q) => [q.location, q.question.category]),
      [
        ['question 1 ("none yet")', undefined],
        ['question 3 ("forces")', "Physics/Mechanics/Forces"],
        ['question 4 ("forces too")', "Physics/Mechanics/Forces"],
        ['question 6 ("shared")', "Shared"],
        ['question 8 ("module")', "Quiz bank/Week 1"],
        ['question 10 ("course category")', "Faculty"],
        ['question 12 ("old style")', "Default for Physics 101"],
        ['question 14 ("top")', undefined],
      ],
    );
  });

  await t.step("a category without a path is reported", () => {
    const { questions, warnings } = parse(quiz(
      category("$course$/top/A"),
      `<question type="category"><category><text></text></category></question>`,
      essay("after"),
    ));
    assert.equal(questions[0]?.question.category, undefined);
    assert.deepEqual(warnings, [{
      location: "question 2",
      message:
        "category without a path; the questions after it have no category",
    }]);
  });
});

Deno.test("Moodle XML answers", async (t) => {
  await t.step("fractions become weights", () => {
    const { questions } = parse(quiz(question(
      "multichoice",
      "Fractions",
      `${TEXT}<single>false</single>
      ${answer("50", "a")}${answer("33.33333", "b")}${answer("16.66667", "c")}
      ${answer("-33.33333", "d")}${answer("-50", "e")}${answer("-100", "f")}
      ${answer("0.0000000", "g")}`,
    )));
    const q = questions[0]?.question;
    assert.equal(q?.type, "multiple_answers");
    assert.deepEqual(
      q?.type === "multiple_answers" && q.choices.map((c) => c.weight),
      [0.5, 0.3333333, 0.1666667, -0.3333333, -0.5, -1, 0],
    );
  });

  await t.step("a missing <single> means one answer, as in Moodle", () => {
    const { questions } = parse(quiz(question(
      "multichoice",
      "Default",
      `${TEXT}${answer("100", "a")}${answer("0", "b")}`,
    )));
    assert.equal(questions[0]?.question.type, "single_choice");
  });

  await t.step("truefalse where true is right", () => {
    const { questions } = parse(quiz(question(
      "truefalse",
      "Sky",
      `${TEXT}${answer("100", "true", "Yes")}${answer("0", "false", "No")}`,
    )));
    const q = questions[0]?.question;
    assert.equal(q?.type, "true_false");
    assert.ok(q?.type === "true_false");
    assert.equal(q.correct, true);
    assert.equal(q.feedbackRight, "Yes");
    assert.equal(q.feedbackWrong, "No");
  });

  await t.step("shortanswer is case insensitive by default", () => {
    const { questions } = parse(quiz(question(
      "shortanswer",
      "Tomb",
      `${TEXT}<usecase>0</usecase>${answer("100", "Grant")}`,
    )));
    const q = questions[0]?.question;
    assert.ok(q?.type === "short_answer");
    assert.equal(q.caseSensitive, false);
  });

  await t.step("empty short answers are skipped with a warning", () => {
    const { questions, warnings } = parse(quiz(question(
      "shortanswer",
      "Blank",
      `${TEXT}${answer("100", "")}${answer("100", "ok")}`,
    )));
    const q = questions[0]?.question;
    assert.ok(q?.type === "short_answer");
    assert.deepEqual(q.answers, [{ text: "ok", weight: 1 }]);
    assert.deepEqual(warnings.map((w) => w.message), [
      "answer 1 is empty and was skipped",
    ]);
  });

  await t.step("numerical answers in the old form without <text>", () => {
    const { questions, errors } = parse(quiz(question(
      "numerical",
      "Old",
      `${TEXT}<answer fraction="100">1.5e3<tolerance>-2</tolerance></answer>`,
    )));
    assert.deepEqual(errors, []);
    const q = questions[0]?.question;
    assert.ok(q?.type === "numerical");
    assert.deepEqual(q.answers, [
      { kind: "exact", value: 1500, tolerance: 2, weight: 1 },
    ]);
  });

  await t.step("numerical units are dropped with a warning", () => {
    const { questions, warnings } = parse(quiz(question(
      "numerical",
      "Length",
      `${TEXT}<answer fraction="100"><text>3</text><tolerance>0</tolerance></answer>
      <units><unit><multiplier>1</multiplier><unit_name>m</unit_name></unit></units>`,
    )));
    assert.equal(questions.length, 1);
    assert.deepEqual(warnings.map((w) => w.message), [
      "units are not imported; answers are plain numbers",
    ]);
  });
});

Deno.test("unsupported Moodle types are warnings, never silently dropped", () => {
  const types = [
    "calculated",
    "calculatedsimple",
    "calculatedmulti",
    "cloze",
    "ddwtos",
    "gapselect",
    "randomsamatch",
    "ordering",
    "random",
  ];
  const result = parse(quiz(
    ...types.map((type) => question(type, `A ${type}`, TEXT)),
    question("essay", "Supported", TEXT),
  ));
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.questions.map((q) => q.location), [
    'question 10 ("Supported")',
  ]);
  assert.deepEqual(
    result.warnings,
    types.map((type, index) => ({
      location: `question ${index + 1} ("A ${type}")`,
      message: `unsupported question type "${type}"`,
    })),
  );
});

Deno.test("every broken question is reported and left out", () => {
  const result = parse(quiz(
    question(
      "essay",
      "No text",
      `<questiontext format="html"><text></text></questiontext>`,
    ),
    question(
      "multichoice",
      "Nothing right",
      `${TEXT}${answer("0", "a")}${answer("-50", "b")}`,
    ),
    question("essay", "Fine", TEXT),
    question(
      "numerical",
      "Not a number",
      `${TEXT}<answer fraction="100"><text>twelve</text><tolerance>0</tolerance></answer>
      <answer fraction="50"><text>12</text><tolerance>a bit</tolerance></answer>`,
    ),
    question(
      "multichoice",
      "Bad fraction",
      `${TEXT}${answer("lots", "a")}${answer("100", "b")}${answer("150", "c")}`,
    ),
    question(
      "truefalse",
      "Neither",
      `${TEXT}${answer("0", "true")}${answer("0", "false")}`,
    ),
    question("truefalse", "Yes or no", `${TEXT}${answer("100", "yes")}`),
    question(
      "truefalse",
      "Unreadable",
      `${TEXT}${answer("x", "true")}${answer("0", "maybe")}`,
    ),
    question("shortanswer", "No credit", `${TEXT}${answer("0", "x")}`),
    question(
      "matching",
      "Half pair",
      `${TEXT}<subquestion><text>a</text><answer><text>1</text></answer></subquestion>
      <subquestion><text>b</text><answer><text></text></answer></subquestion>
      <subquestion><text>c</text><answer><text>3</text></answer></subquestion>`,
    ),
    question("multichoice", "One choice", `${TEXT}${answer("100", "a")}`),
    question("essay", "Bad grade", `${TEXT}<defaultgrade>many</defaultgrade>`),
    `<question><questiontext><text>Typeless</text></questiontext></question>`,
  ));
  assert.deepEqual(result.questions.map((q) => q.location), [
    'question 3 ("Fine")',
  ]);
  assert.deepEqual(result.errors, [
    {
      location: 'question 1 ("No text")',
      message: "the question has no text",
    },
    {
      location: 'question 2 ("Nothing right")',
      message: "no answer has a positive fraction, so none can be right",
    },
    {
      location: 'question 4 ("Not a number")',
      message: 'answer 1: "twelve" is not a number',
    },
    {
      location: 'question 4 ("Not a number")',
      message: 'answer 2: tolerance "a bit" is not a number',
    },
    {
      location: 'question 5 ("Bad fraction")',
      message: 'answer 1: fraction "lots" is not a number',
    },
    {
      location: 'question 5 ("Bad fraction")',
      message: "answer 3: fraction 150 is outside -100..100",
    },
    {
      location: 'question 6 ("Neither")',
      message: "neither true nor false has a positive fraction",
    },
    {
      location: 'question 7 ("Yes or no")',
      message: 'answer 1: "yes" is neither "true" nor "false"',
    },
    {
      location: 'question 7 ("Yes or no")',
      message: "neither true nor false has a positive fraction",
    },
    {
      location: 'question 8 ("Unreadable")',
      message: 'answer 1: fraction "x" is not a number',
    },
    {
      location: 'question 8 ("Unreadable")',
      message: 'answer 2: "maybe" is neither "true" nor "false"',
    },
    {
      location: 'question 9 ("No credit")',
      message: "no answer has a positive fraction, so none can be right",
    },
    {
      location: 'question 10 ("Half pair")',
      message: "subquestion 2 has no matching answer",
    },
    {
      location: 'question 11 ("One choice")',
      message: "choices: Needs at least two choices",
    },
    {
      location: 'question 12 ("Bad grade")',
      message: 'defaultgrade "many" is not a number',
    },
    {
      location: "question 13",
      message: "the question has no type attribute",
    },
  ]);
});

Deno.test("files that are not a Moodle question bank", async (t) => {
  await t.step("malformed XML is one error with its line", () => {
    const result = parse(
      quiz(question("essay", "Broken", `${TEXT}<defaultgrade>1</grade>`)),
    );
    assert.deepEqual(result.questions, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0]?.location, "line 5");
    assert.match(
      result.errors[0]?.message ?? "",
      /^malformed XML: .*defaultgrade/,
    );
  });

  await t.step("an unclosed root and plain text are malformed", () => {
    for (const source of ['<quiz>\n<question type="essay">', "hello", ""]) {
      const { errors } = parse(source);
      assert.equal(errors.length, 1, source);
      assert.match(errors[0]?.message ?? "", /^malformed XML/);
    }
  });

  await t.step("another root element is refused", () => {
    assert.deepEqual(parse("<questions><question/></questions>"), {
      questions: [],
      warnings: [],
      errors: [{
        location: "file",
        message: "the root element must be <quiz>",
      }],
    });
  });

  await t.step("an empty quiz is a warning", () => {
    assert.deepEqual(parse("<quiz></quiz>"), {
      questions: [],
      warnings: [{ location: "file", message: "no questions found" }],
      errors: [],
    });
  });
});

/** A question bank exported from Moodle 4.x, laid out exactly as Moodle writes it. */
const FIXTURE = `<?xml version="1.0" encoding="UTF-8"?>
<quiz>
<!-- question: 0  -->
  <question type="category">
    <category>
      <text>$course$/top/Physics</text>
    </category>
    <info format="moodle_auto_format">
      <text>Questions about physics</text>
    </info>
    <idnumber></idnumber>
  </question>

<!-- question: 101  -->
  <question type="multichoice">
    <name>
      <text>Newton's second law</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>Which formula states <strong>Newton's second law</strong>?</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text><![CDATA[<p>Force equals mass times acceleration.</p>]]></text>
    </generalfeedback>
    <defaultgrade>2.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <single>true</single>
    <shuffleanswers>true</shuffleanswers>
    <answernumbering>abc</answernumbering>
    <showstandardinstruction>0</showstandardinstruction>
    <correctfeedback format="html">
      <text>Your answer is correct.</text>
    </correctfeedback>
    <partiallycorrectfeedback format="html">
      <text>Your answer is partially correct.</text>
    </partiallycorrectfeedback>
    <incorrectfeedback format="html">
      <text>Your answer is incorrect.</text>
    </incorrectfeedback>
    <shownumcorrect/>
    <answer fraction="100" format="html">
      <text><![CDATA[<p>F = m·a</p>]]></text>
      <feedback format="html">
        <text><![CDATA[<p>Right.</p>]]></text>
      </feedback>
    </answer>
    <answer fraction="0" format="html">
      <text><![CDATA[<p>E = m·c²</p>]]></text>
      <feedback format="html">
        <text><![CDATA[<p>That is Einstein.</p>]]></text>
      </feedback>
    </answer>
    <answer fraction="-50" format="html">
      <text><![CDATA[<p>p = m·v</p>]]></text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
    <tags>
      <tag><text>mechanics</text>
</tag>
      <tag><text>newton</text>
</tag>
    </tags>
  </question>

<!-- question: 0  -->
  <question type="category">
    <category>
      <text>$course$/top/Physics/Mechanics</text>
    </category>
    <info format="moodle_auto_format">
      <text></text>
    </info>
    <idnumber></idnumber>
  </question>

<!-- question: 102  -->
  <question type="multichoice">
    <name>
      <text>Vector quantities</text>
    </name>
    <questiontext format="moodle_auto_format">
      <text>Which of these are vector quantities?</text>
    </questiontext>
    <generalfeedback format="moodle_auto_format">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <single>false</single>
    <shuffleanswers>true</shuffleanswers>
    <answernumbering>abc</answernumbering>
    <showstandardinstruction>0</showstandardinstruction>
    <correctfeedback format="html">
      <text></text>
    </correctfeedback>
    <partiallycorrectfeedback format="html">
      <text></text>
    </partiallycorrectfeedback>
    <incorrectfeedback format="html">
      <text></text>
    </incorrectfeedback>
    <answer fraction="33.33333" format="moodle_auto_format">
      <text>Velocity</text>
      <feedback format="moodle_auto_format">
        <text></text>
      </feedback>
    </answer>
    <answer fraction="33.33333" format="moodle_auto_format">
      <text>Force</text>
      <feedback format="moodle_auto_format">
        <text></text>
      </feedback>
    </answer>
    <answer fraction="33.33334" format="moodle_auto_format">
      <text>Acceleration</text>
      <feedback format="moodle_auto_format">
        <text></text>
      </feedback>
    </answer>
    <answer fraction="-33.33333" format="moodle_auto_format">
      <text>Mass</text>
      <feedback format="moodle_auto_format">
        <text>Mass has no direction.</text>
      </feedback>
    </answer>
  </question>

<!-- question: 103  -->
  <question type="truefalse">
    <name>
      <text>Vacuum</text>
    </name>
    <questiontext format="plain_text">
      <text>Sound travels through a vacuum.</text>
    </questiontext>
    <generalfeedback format="plain_text">
      <text>Sound needs a medium.</text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>1.0000000</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <answer fraction="0" format="moodle_auto_format">
      <text>true</text>
      <feedback format="html">
        <text>No: there is nothing to carry it.</text>
      </feedback>
    </answer>
    <answer fraction="100" format="moodle_auto_format">
      <text>false</text>
      <feedback format="html">
        <text>Correct, sound needs a medium.</text>
      </feedback>
    </answer>
  </question>

<!-- question: 104  -->
  <question type="shortanswer">
    <name>
      <text>SI unit of force</text>
    </name>
    <questiontext format="markdown">
      <text>What is the **SI unit** of force?</text>
    </questiontext>
    <generalfeedback format="markdown">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <usecase>1</usecase>
    <answer fraction="100" format="moodle_auto_format">
      <text>N</text>
      <feedback format="html">
        <text>Yes, the newton.</text>
      </feedback>
    </answer>
    <answer fraction="50" format="moodle_auto_format">
      <text>newton</text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
  </question>

<!-- question: 105  -->
  <question type="numerical">
    <name>
      <text>Free fall</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>What is <i>g</i> in m/s² (to one decimal)?</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <answer fraction="100" format="moodle_auto_format">
      <text>9.8</text>
      <feedback format="html">
        <text>Well done.</text>
      </feedback>
      <tolerance>0.05</tolerance>
    </answer>
    <answer fraction="50" format="moodle_auto_format">
      <text>10</text>
      <feedback format="html">
        <text></text>
      </feedback>
      <tolerance>0</tolerance>
    </answer>
    <answer fraction="0" format="moodle_auto_format">
      <text>*</text>
      <feedback format="html">
        <text>Look it up.</text>
      </feedback>
      <tolerance>0</tolerance>
    </answer>
    <unitgradingtype>0</unitgradingtype>
    <unitpenalty>0.1000000</unitpenalty>
    <showunits>3</showunits>
    <unitsleft>0</unitsleft>
  </question>

<!-- question: 106  -->
  <question type="matching">
    <name>
      <text>Units</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>Match each quantity with its unit.</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>3.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <shuffleanswers>true</shuffleanswers>
    <correctfeedback format="html">
      <text>Your answer is correct.</text>
    </correctfeedback>
    <partiallycorrectfeedback format="html">
      <text>Your answer is partially correct.</text>
    </partiallycorrectfeedback>
    <incorrectfeedback format="html">
      <text>Your answer is incorrect.</text>
    </incorrectfeedback>
    <shownumcorrect/>
    <subquestion format="html">
      <text><![CDATA[<p>Force</p>]]></text>
      <answer>
        <text>newton</text>
      </answer>
    </subquestion>
    <subquestion format="html">
      <text><![CDATA[<p>Energy</p>]]></text>
      <answer>
        <text>joule</text>
      </answer>
    </subquestion>
    <subquestion format="html">
      <text><![CDATA[<p>Power</p>]]></text>
      <answer>
        <text>watt</text>
      </answer>
    </subquestion>
    <subquestion format="html">
      <text></text>
      <answer>
        <text>pascal</text>
      </answer>
    </subquestion>
  </question>

<!-- question: 107  -->
  <question type="essay">
    <name>
      <text>Explain inertia</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>Explain <em>inertia</em> in your own words.</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>5.0000000</defaultgrade>
    <penalty>0.0000000</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <responseformat>editor</responseformat>
    <responserequired>1</responserequired>
    <responsefieldlines>15</responsefieldlines>
    <minwordlimit></minwordlimit>
    <maxwordlimit></maxwordlimit>
    <attachments>0</attachments>
    <attachmentsrequired>0</attachmentsrequired>
    <maxbytes>0</maxbytes>
    <filetypeslist></filetypeslist>
    <graderinfo format="html">
      <text></text>
    </graderinfo>
    <responsetemplate format="html">
      <text></text>
    </responsetemplate>
  </question>

<!-- question: 108  -->
  <question type="description">
    <name>
      <text>Read this first</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>The next questions use g = 9.8 m/s².</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text></text>
    </generalfeedback>
    <defaultgrade>0.0000000</defaultgrade>
    <penalty>0.0000000</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
  </question>

</quiz>
`;
