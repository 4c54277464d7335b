import assert from "node:assert/strict";
import {
  type Passage,
  searchTerms,
} from "../../server/features/tutor/grounding.ts";
import {
  citationsFor,
  extractiveAnswer,
  titleFrom,
} from "../../server/features/tutor/prompt.ts";
import { nextUtcMidnight, utcDay } from "../../server/features/tutor/quota.ts";

const APP = "http://lectern.test";

const passage = (
  lessonId: string,
  text: string,
  title = `Lesson ${lessonId}`,
): Passage => ({ lessonId, programId: "prog", title, text });

Deno.test("searchTerms: the question's content words", async (t) => {
  await t.step("stopwords and short words are dropped", () => {
    assert.deepEqual(
      searchTerms("What is the difference between mitosis and meiosis?"),
      ["mitosis", "meiosis"],
    );
    assert.deepEqual(searchTerms("Can you explain it to me, please?"), []);
    // Two letters count unless they are stopwords; one letter only in capitals.
    assert.deepEqual(searchTerms("go up ox"), ["go", "ox"]);
    assert.deepEqual(searchTerms("What is AI?"), ["ai"]);
    assert.deepEqual(searchTerms("C pointers, a b"), ["c", "pointers"]);
  });

  await t.step("lower-cased, in order, without repeats", () => {
    assert.deepEqual(
      searchTerms(
        "Photosynthesis: why PHOTOSYNTHESIS needs light, photosynthesis",
      ),
      ["photosynthesis", "needs", "light"],
    );
  });

  await t.step("words with digits are kept, however short", () => {
    assert.deepEqual(searchTerms("Why did 1789 matter in WW2 and 3d art?"), [
      "1789",
      "matter",
      "ww2",
      "3d",
      "art",
    ]);
    assert.deepEqual(searchTerms("is 7 prime"), ["7", "prime"]);
  });

  await t.step(
    "punctuation and FTS syntax never get through; letters of any script count",
    () => {
      assert.deepEqual(searchTerms('"chlorophyll*" OR (NEAR) -glucose'), [
        "chlorophyll",
        "near",
        "glucose",
      ]);
      // Folded like FTS5 folds (remove_diacritics), so paragraphs match either spelling.
      assert.deepEqual(searchTerms("Qu'est-ce que la Révolution française"), [
        "qu",
        "est",
        "ce",
        "que",
        "la",
        "revolution",
        "francaise",
      ]);
      assert.deepEqual(searchTerms("?!... --"), []);
    },
  );

  await t.step("at most 16 terms", () => {
    const many = Array.from({ length: 30 }, (_, i) => `term${i}`).join(" ");
    const terms = searchTerms(many);
    assert.equal(terms.length, 16);
    assert.equal(terms[0], "term0");
    assert.equal(terms[15], "term15");
  });
});

Deno.test("citationsFor: the lessons an answer drew on", async (t) => {
  const passages = [
    passage("a", "first paragraph of a", "Alpha"),
    passage("a", "second paragraph of a", "Alpha"),
    passage("b", "paragraph of b", "Beta"),
    passage("c", "paragraph of c", "Gamma"),
  ];
  const link = (id: string) => `${APP}/api/programs/prog/lessons/${id}`;

  await t.step("[1, 2] and [1][2] cite both", () => {
    for (const answer of ["See [1, 3].", "See [1][3]."]) {
      assert.deepEqual(
        citationsFor(APP, answer, passages).map((c) => c.lessonId),
        ["a", "b"],
      );
    }
  });

  await t.step("only the passages referenced as [n]", () => {
    assert.deepEqual(citationsFor(APP, "As [3] says.", passages), [
      { lessonId: "b", title: "Beta", link: link("b") },
    ]);
    assert.deepEqual(
      citationsFor(APP, "See [4], and [1] too.", passages).map((c) =>
        c.lessonId
      ),
      ["a", "c"],
    );
  });

  await t.step("one citation per lesson, in passage order", () => {
    assert.deepEqual(citationsFor(APP, "[2] then [1] and [2]", passages), [
      { lessonId: "a", title: "Alpha", link: link("a") },
    ]);
  });

  await t.step("none referenced: every lesson it was given, once", () => {
    assert.deepEqual(
      citationsFor(APP, "No reference here.", passages).map((c) => c.lessonId),
      ["a", "b", "c"],
    );
    assert.deepEqual(
      citationsFor(APP, "", passages).map((c) => c.lessonId),
      ["a", "b", "c"],
    );
  });

  await t.step("out-of-range references are ignored", () => {
    assert.deepEqual(
      citationsFor(APP, "[0] and [9] and [12]", passages).map((c) =>
        c.lessonId
      ),
      ["a", "b", "c"],
    );
    assert.deepEqual(
      citationsFor(APP, "[9] but [3]", passages).map((c) => c.lessonId),
      ["b"],
    );
  });

  await t.step("no passages: no citations", () => {
    assert.deepEqual(citationsFor(APP, "[1]", []), []);
  });
});

Deno.test("titleFrom: a session title from the first question", async (t) => {
  await t.step("a short question as typed, whitespace flattened", () => {
    assert.equal(titleFrom("  What is\n\tosmosis?  "), "What is osmosis?");
    const exactly80 = "x".repeat(80);
    assert.equal(titleFrom(exactly80), exactly80);
  });

  await t.step("a long one cut at a word near 80 characters", () => {
    const question =
      "Could you walk me through how the light-dependent reactions of photosynthesis produce ATP and NADPH?";
    const title = titleFrom(question);
    assert.ok(title.endsWith("…"));
    assert.ok(title.length <= 81);
    assert.ok(question.startsWith(title.slice(0, -1)));
    assert.ok(!title.slice(0, -1).endsWith(" "));
    assert.equal(question[title.length - 1], " ", "cut at a word boundary");
  });

  await t.step("no space late enough: cut at 80", () => {
    const title = titleFrom("y".repeat(120));
    assert.equal(title, `${"y".repeat(80)}…`);
  });
});

Deno.test("extractiveAnswer: the passages themselves, labelled", async (t) => {
  await t.step("no passage: says so", () => {
    const text = extractiveAnswer([]);
    assert.match(text, /No AI provider is configured/);
    assert.match(text, /no lesson matches your question/);
  });

  await t.step("passages numbered in order, with their lesson titles", () => {
    const text = extractiveAnswer([
      passage("a", "Plants make sugar.", "Photosynthesis"),
      passage("b", "The Bastille fell.", "Revolution"),
    ]);
    assert.match(text, /^No AI provider is configured on this server/);
    assert.ok(text.includes("[1] Photosynthesis: Plants make sugar."));
    assert.ok(text.includes("[2] Revolution: The Bastille fell."));
    assert.ok(text.indexOf("[1]") < text.indexOf("[2]"));
  });
});

Deno.test("quota days are UTC days", async (t) => {
  await t.step("utcDay is the UTC calendar date", () => {
    assert.equal(utcDay(new Date("2024-03-01T23:30:00-05:00")), "2024-03-02");
    assert.equal(utcDay(new Date("2024-03-01T00:00:00Z")), "2024-03-01");
    assert.equal(utcDay(new Date("2024-03-01T23:59:59.999Z")), "2024-03-01");
  });

  await t.step("nextUtcMidnight is the start of the next UTC day", () => {
    const cases: [string, string][] = [
      ["2024-02-28T23:59:59.999Z", "2024-02-29T00:00:00.000Z"],
      ["2023-02-28T12:00:00Z", "2023-03-01T00:00:00.000Z"],
      ["2024-12-31T08:00:00Z", "2025-01-01T00:00:00.000Z"],
      ["2024-03-01T00:00:00Z", "2024-03-02T00:00:00.000Z"],
      ["2024-03-01T22:00:00-05:00", "2024-03-03T00:00:00.000Z"],
    ];
    for (const [now, next] of cases) {
      assert.equal(nextUtcMidnight(new Date(now)).toISOString(), next, now);
    }
  });
});
