import assert from "node:assert/strict";
import {
  type Candidate,
  type LearnerHistory,
  levelTargets,
  NEW_LEARNER_REASON,
  performanceOf,
  rankPrograms,
  type TakenProgram,
  WEIGHTS,
} from "../../server/features/tutor/recommend.ts";

const CATEGORY_NAMES: Record<string, string> = {
  dev: "Development",
  mkt: "Marketing",
  art: "Art & Design",
};

/** A program the learner took; enrolled in progress, no quizzes, unless told otherwise. */
const took = (
  programId: string,
  fields: Partial<TakenProgram> = {},
): TakenProgram => ({
  programId,
  title: `Taken ${programId}`,
  categoryId: "dev",
  category: CATEGORY_NAMES[fields.categoryId ?? "dev"]!,
  level: "Beginner",
  status: "in_progress",
  quizAverage: null,
  quizzesPassed: 0,
  ...fields,
});

/** A candidate with no popularity, rating or feature: its score is only its signals. */
const program = (id: string, fields: Partial<Candidate> = {}): Candidate => ({
  id,
  title: `Program ${id}`,
  categoryId: "dev",
  category: CATEGORY_NAMES[fields.categoryId ?? "dev"]!,
  level: "Beginner",
  featured: false,
  enrolledCount: 0,
  ratingSum: 0,
  reviewCount: 0,
  ...fields,
});

const history = (...taken: TakenProgram[]): LearnerHistory => ({ taken });
const NONE = history();

const SAME_DEV = "Same category as programs you took: Development";

interface Case {
  name: string;
  history: LearnerHistory;
  candidates: Candidate[];
  /** The ids in ranked order, with the score and reasons of those given. */
  expected: { id: string; score?: number; reasons?: string[] }[];
}

const CASES: Case[] = [
  {
    name:
      "completed beginner: the intermediate program of the same category comes first",
    history: history(
      took("intro", { title: "Intro to X", status: "completed" }),
    ),
    candidates: [
      program("mkt-int", { categoryId: "mkt", level: "Intermediate" }),
      program("dev-adv", { level: "Advanced" }),
      program("dev-int", { level: "Intermediate" }),
      program("dev-beg", { level: "Beginner" }),
    ],
    expected: [
      {
        id: "dev-int",
        score: WEIGHTS.nextLevel + WEIGHTS.sameCategory,
        reasons: [
          'Next level after "Intro to X", which you completed',
          SAME_DEV,
        ],
      },
      // Same score: the title decides (Program dev-adv < Program dev-beg).
      { id: "dev-adv", score: WEIGHTS.sameCategory, reasons: [SAME_DEV] },
      { id: "dev-beg", score: WEIGHTS.sameCategory, reasons: [SAME_DEV] },
      { id: "mkt-int", score: 0, reasons: ["Explore Marketing"] },
    ],
  },
  {
    name:
      "a strong quiz average counts as mastering the level, without completing",
    history: history(took("intro", { title: "Intro to X", quizAverage: 92 })),
    candidates: [
      program("dev-int", { level: "Intermediate" }),
      program("dev-beg"),
    ],
    expected: [
      {
        id: "dev-int",
        score: WEIGHTS.nextLevel + WEIGHTS.sameCategory,
        reasons: [
          'Next level after "Intro to X", where your quiz average is 92%',
          SAME_DEV,
        ],
      },
      { id: "dev-beg", score: WEIGHTS.sameCategory },
    ],
  },
  {
    name: "a passed quiz with 70% or more is strong too",
    history: history(took("intro", { quizAverage: 72, quizzesPassed: 1 })),
    candidates: [
      program("dev-beg"),
      program("dev-int", { level: "Intermediate" }),
    ],
    expected: [
      { id: "dev-int", score: WEIGHTS.nextLevel + WEIGHTS.sameCategory },
      { id: "dev-beg", score: WEIGHTS.sameCategory },
    ],
  },
  {
    name: "weak scores suggest the same level, not the next",
    history: history(
      took("mid", {
        title: "Middle X",
        level: "Intermediate",
        quizAverage: 45,
      }),
    ),
    candidates: [
      program("dev-adv", { level: "Advanced" }),
      program("dev-int", { level: "Intermediate" }),
    ],
    expected: [
      {
        id: "dev-int",
        score: WEIGHTS.sameLevelPractice + WEIGHTS.sameCategory,
        reasons: [
          'Same level as "Middle X", to strengthen your results there (quiz average 45%)',
          SAME_DEV,
        ],
      },
      { id: "dev-adv", score: WEIGHTS.sameCategory },
    ],
  },
  {
    name: "completed with weak quiz results is not mastered",
    history: history(took("intro", { status: "completed", quizAverage: 40 })),
    candidates: [
      program("dev-int", { level: "Intermediate" }),
      program("dev-beg"),
    ],
    expected: [
      {
        id: "dev-beg",
        score: WEIGHTS.sameLevelPractice + WEIGHTS.sameCategory,
      },
      { id: "dev-int", score: WEIGHTS.sameCategory },
    ],
  },
  {
    name: "a middling average neither advances nor holds back",
    history: history(took("intro", { quizAverage: 70 })),
    candidates: [
      program("dev-int", { level: "Intermediate" }),
      program("dev-beg"),
    ],
    expected: [
      { id: "dev-beg", score: WEIGHTS.sameCategory },
      { id: "dev-int", score: WEIGHTS.sameCategory },
    ],
  },
  {
    name: "levels below the one mastered sink, with no reason given for it",
    history: history(
      took("mid", { level: "Intermediate", status: "completed" }),
    ),
    candidates: [
      program("dev-beg"),
      program("dev-adv", { level: "Advanced" }),
      program("mkt", { categoryId: "mkt" }),
    ],
    expected: [
      { id: "dev-adv", score: WEIGHTS.nextLevel + WEIGHTS.sameCategory },
      {
        id: "dev-beg",
        score: WEIGHTS.sameCategory + WEIGHTS.belowLevel,
        reasons: [SAME_DEV],
      },
      { id: "mkt", score: 0 },
    ],
  },
  {
    name: "the top of the ladder has no next level",
    history: history(took("adv", { level: "Advanced", status: "completed" })),
    candidates: [
      program("dev-adv", { level: "Advanced" }),
      program("dev-int", {
        level: "Intermediate",
      }),
    ],
    expected: [
      { id: "dev-adv", score: WEIGHTS.sameCategory },
      { id: "dev-int", score: WEIGHTS.sameCategory + WEIGHTS.belowLevel },
    ],
  },
  {
    name: "an All Levels program counts for its category only",
    history: history(took("all", { level: "All Levels", status: "completed" })),
    candidates: [
      program("dev-int", { level: "Intermediate" }),
      program("dev-all", { level: "All Levels" }),
    ],
    expected: [
      { id: "dev-all", score: WEIGHTS.sameCategory },
      { id: "dev-int", score: WEIGHTS.sameCategory },
    ],
  },
  {
    name: "the highest mastered level in each category counts, per category",
    history: history(
      took("d1", { status: "completed" }),
      took("d2", { level: "Intermediate", status: "completed" }),
      took("a1", { categoryId: "art", status: "completed" }),
    ),
    candidates: [
      program("dev-int", { level: "Intermediate" }),
      program("dev-adv", { level: "Advanced" }),
      program("art-int", { categoryId: "art", level: "Intermediate" }),
      program("art-adv", { categoryId: "art", level: "Advanced" }),
    ],
    expected: [
      {
        id: "art-int",
        reasons: [
          'Next level after "Taken a1", which you completed',
          "Same category as programs you took: Art & Design",
        ],
      },
      { id: "dev-adv", score: WEIGHTS.nextLevel + WEIGHTS.sameCategory },
      { id: "art-adv", score: WEIGHTS.sameCategory },
      { id: "dev-int", score: WEIGHTS.sameCategory },
    ],
  },
  {
    name: "programs the learner has, whatever the status, never appear",
    history: history(
      took("done", { status: "completed" }),
      took("going", { status: "in_progress" }),
      took("left", { status: "dropped" }),
      took("quizzed", { status: "none", quizAverage: 50 }),
    ),
    candidates: [
      program("done"),
      program("going"),
      program("left"),
      program("quizzed"),
      program("fresh", { categoryId: "mkt" }),
    ],
    expected: [{ id: "fresh" }],
  },
  {
    name: "duplicate candidates count once",
    history: NONE,
    candidates: [program("a"), program("a"), program("b")],
    expected: [{ id: "a" }, { id: "b" }],
  },
  {
    name:
      "no history: beginner and all-levels programs first, as popular with new learners",
    history: NONE,
    candidates: [
      program("adv", { level: "Advanced", enrolledCount: 999 }),
      program("beg", { enrolledCount: 9 }),
      program("all", { level: "All Levels", featured: true }),
      program("int", { level: "Intermediate" }),
    ],
    expected: [
      {
        id: "beg",
        score: WEIGHTS.newLearnerStart + 1,
        reasons: [NEW_LEARNER_REASON],
      },
      {
        id: "all",
        score: WEIGHTS.newLearnerStart + WEIGHTS.featured,
        reasons: [NEW_LEARNER_REASON, "Featured by the school"],
      },
      { id: "adv", score: 3, reasons: ["Popular: 999 learners enrolled"] },
      { id: "int", score: 0, reasons: ["Explore Development"] },
    ],
  },
  {
    name: "equal scores: more learners first, then title, then id",
    history: NONE,
    candidates: [
      program("z", { title: "Same", level: "Advanced" }),
      program("y", { title: "Same", level: "Advanced" }),
      program("x", { title: "Alpha", level: "Advanced" }),
      program("w", { title: "Zulu", level: "Advanced", enrolledCount: 1 }),
    ],
    expected: [
      { id: "w", reasons: ["Popular: 1 learner enrolled"] },
      { id: "x" },
      { id: "y" },
      { id: "z" },
    ],
  },
];

Deno.test("rankPrograms: the table of cases", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const ranked = rankPrograms(c.history, c.candidates);
      assert.deepEqual(
        ranked.map((r) => r.candidate.id),
        c.expected.map((e) => e.id),
      );
      for (const [i, expected] of c.expected.entries()) {
        const got = ranked[i]!;
        if (expected.score !== undefined) {
          assert.equal(got.score, expected.score, `score of ${expected.id}`);
        }
        if (expected.reasons) {
          assert.deepEqual(got.reasons, expected.reasons, expected.id);
        }
        assert.ok(got.reasons.length > 0, `${expected.id} has a reason`);
      }
    });
  }
});

Deno.test("rankPrograms: the order does not depend on the order of the input", () => {
  const learnerHistory = history(
    took("intro", { status: "completed" }),
    took("m", { categoryId: "mkt", level: "Intermediate", quizAverage: 50 }),
  );
  const candidates = [
    program("a", { level: "Intermediate", enrolledCount: 3 }),
    program("b", { level: "Intermediate", enrolledCount: 3 }),
    program("c", { categoryId: "mkt", level: "Intermediate" }),
    program("d", { categoryId: "mkt", level: "Advanced", featured: true }),
    program("e", { categoryId: "art", enrolledCount: 40 }),
    program("f", { categoryId: "art", enrolledCount: 40 }),
    program("g", { ratingSum: 45, reviewCount: 10 }),
  ];
  const expected = rankPrograms(learnerHistory, candidates);
  // Every rotation and the reverse: a fixed set of orders, so the test is deterministic too.
  const orders = candidates.map((_, i) => [
    ...candidates.slice(i),
    ...candidates.slice(0, i),
  ]);
  orders.push([...candidates].reverse());
  for (const order of orders) {
    assert.deepEqual(rankPrograms(learnerHistory, order), expected);
  }
  assert.deepEqual(
    expected.map((r) => r.candidate.id),
    ["a", "b", "c", "g", "d", "e", "f"],
  );
});

Deno.test("rankPrograms: the tiebreak never outweighs a signal", () => {
  const star = program("star", {
    categoryId: "mkt",
    level: "Advanced",
    featured: true,
    enrolledCount: 5_000_000,
    ratingSum: 500,
    reviewCount: 100,
  });
  const ranked = rankPrograms(history(took("intro", { quizAverage: 65 })), [
    star,
    program("plain", { level: "Advanced" }),
  ]);
  assert.deepEqual(ranked.map((r) => r.candidate.id), ["plain", "star"]);
  assert.equal(
    ranked[1]!.score,
    WEIGHTS.popularityMax + WEIGHTS.ratingMax + WEIGHTS.featured,
  );
  assert.deepEqual(ranked[1]!.reasons, [
    "Featured by the school",
    "Rated 5/5 by 100 learners",
  ]);
  assert.ok(
    WEIGHTS.popularityMax + WEIGHTS.ratingMax + WEIGHTS.featured <
      Math.min(
        WEIGHTS.sameCategory + WEIGHTS.belowLevel,
        WEIGHTS.newLearnerStart,
        WEIGHTS.sameLevelPractice,
      ),
  );
});

Deno.test("rankPrograms: ratings count in proportion to how many reviews there are", () => {
  const ranked = rankPrograms(NONE, [
    program("one-review", { level: "Advanced", ratingSum: 5, reviewCount: 1 }),
    program("five-reviews", {
      level: "Advanced",
      ratingSum: 20,
      reviewCount: 5,
    }),
    program("low", { level: "Advanced", ratingSum: 6, reviewCount: 3 }),
  ]);
  assert.deepEqual(ranked.map((r) => [r.candidate.id, r.score]), [
    ["five-reviews", 1.6],
    ["low", 0.48],
    ["one-review", 0.4],
  ]);
  assert.deepEqual(ranked[0]!.reasons, ["Rated 4/5 by 5 learners"]);
  assert.deepEqual(ranked[1]!.reasons, ["Explore Development"]);
});

Deno.test("rankPrograms: the program named for a mastered level is picked deterministically", () => {
  const ranked = rankPrograms(
    history(
      took("p2", { title: "Beta", quizAverage: 95 }),
      took("p1", { title: "Gamma", status: "completed" }),
      took("p3", { title: "Alpha", status: "completed" }),
    ),
    [program("next", { level: "Intermediate" })],
  );
  // A completed program explains it before a quiz average; between completed ones, the title.
  assert.equal(
    ranked[0]!.reasons[0],
    'Next level after "Alpha", which you completed',
  );
});

Deno.test("rankPrograms: nothing to rank is an empty list", () => {
  assert.deepEqual(rankPrograms(NONE, []), []);
  assert.deepEqual(
    rankPrograms(history(took("only")), [program("only")]),
    [],
  );
});

Deno.test("performanceOf and levelTargets", () => {
  assert.equal(performanceOf({ quizAverage: null, quizzesPassed: 3 }), "none");
  assert.equal(performanceOf({ quizAverage: 80, quizzesPassed: 0 }), "strong");
  assert.equal(performanceOf({ quizAverage: 79, quizzesPassed: 0 }), "ok");
  assert.equal(performanceOf({ quizAverage: 70, quizzesPassed: 1 }), "strong");
  assert.equal(performanceOf({ quizAverage: 60, quizzesPassed: 0 }), "ok");
  assert.equal(performanceOf({ quizAverage: 59.9, quizzesPassed: 0 }), "weak");

  const targets = levelTargets(history(
    took("d", { status: "completed" }),
    took("m", { categoryId: "mkt", level: "Intermediate", quizAverage: 30 }),
    took("a", { categoryId: "art", level: "Advanced", status: "completed" }),
    took("x", { categoryId: "art", level: "Beginner", quizAverage: 20 }),
  ));
  assert.deepEqual(Object.fromEntries(targets), {
    dev: ["Intermediate"],
    mkt: ["Intermediate"],
  });
});
