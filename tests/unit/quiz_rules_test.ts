import assert from "node:assert/strict";
import type { Quiz } from "../../db/schema/mod.ts";
import {
  DEADLINE_GRACE_MS,
  finalGrade,
  type FinishedAttempt,
  retakeDecision,
  timeLimitMs,
  withinDeadline,
} from "../../server/features/quizzes/rules.ts";

type RetakeRules = Pick<
  Quiz,
  "allowRetake" | "attemptsAllowed" | "cooldownMinutes"
>;

const rules = (overrides: Partial<RetakeRules> = {}): RetakeRules => ({
  allowRetake: true,
  attemptsAllowed: null,
  cooldownMinutes: 0,
  ...overrides,
});

const T0 = Date.parse("2025-03-01T10:00:00.000Z");
const MINUTE = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MINUTE);

/** An attempt started at `start` minutes after T0, submitted at `end`. */
const attempt = (
  start: number,
  end: number,
  scorePercentage: number | null = 50,
): FinishedAttempt => ({
  startedAt: at(start),
  submittedAt: at(end),
  scorePercentage,
});

/** `n` attempts, an hour apart, each lasting ten minutes. */
const attempts = (n: number) =>
  Array.from({ length: n }, (_, i) => attempt(i * 60, i * 60 + 10));

const LATER = at(24 * 60);

Deno.test("retakeDecision", async (t) => {
  await t.step("the first attempt is allowed", () => {
    assert.deepEqual(retakeDecision(rules({ attemptsAllowed: 3 }), [], at(0)), {
      allowed: true,
      attemptsRemaining: 3,
    });
  });

  await t.step("the first attempt is allowed without retakes", () => {
    assert.deepEqual(
      retakeDecision(rules({ allowRetake: false }), [], at(0)),
      { allowed: true, attemptsRemaining: 1 },
    );
  });

  await t.step("no retake after one attempt when retakes are off", () => {
    assert.deepEqual(
      retakeDecision(rules({ allowRetake: false }), attempts(1), LATER),
      {
        allowed: false,
        code: "RETAKE_NOT_ALLOWED",
        message: "This quiz can be taken once, and you have taken it",
      },
    );
  });

  await t.step("retakes off wins over a larger attempt limit", () => {
    const decision = retakeDecision(
      rules({ allowRetake: false, attemptsAllowed: 5 }),
      attempts(1),
      LATER,
    );
    assert.equal(decision.allowed, false);
    assert.equal(
      !decision.allowed && decision.code,
      "RETAKE_NOT_ALLOWED",
    );
  });

  await t.step("attemptsRemaining counts down", () => {
    const quiz = rules({ attemptsAllowed: 3 });
    for (const [used, remaining] of [[0, 3], [1, 2], [2, 1]] as const) {
      assert.deepEqual(
        retakeDecision(quiz, attempts(used), LATER),
        { allowed: true, attemptsRemaining: remaining },
        `${used} used`,
      );
    }
  });

  await t.step("all attempts used", () => {
    const quiz = rules({ attemptsAllowed: 3 });
    for (const used of [3, 4]) {
      assert.deepEqual(
        retakeDecision(quiz, attempts(used), LATER),
        {
          allowed: false,
          code: "ATTEMPTS_EXHAUSTED",
          message: "You have used all 3 attempts at this quiz",
        },
        `${used} used`,
      );
    }
  });

  await t.step("no limit: attemptsRemaining is null", () => {
    assert.deepEqual(retakeDecision(rules(), [], at(0)), {
      allowed: true,
      attemptsRemaining: null,
    });
    assert.deepEqual(retakeDecision(rules(), attempts(20), at(10_000)), {
      allowed: true,
      attemptsRemaining: null,
    });
  });

  await t.step("cooldown: blocked one ms before retryAt", () => {
    const quiz = rules({ attemptsAllowed: 3, cooldownMinutes: 30 });
    const finished = [attempt(0, 10)];
    const retryAt = at(40);
    assert.deepEqual(
      retakeDecision(quiz, finished, new Date(retryAt.getTime() - 1)),
      {
        allowed: false,
        code: "QUIZ_COOLDOWN",
        message: `You can try this quiz again at ${retryAt.toISOString()}`,
        retryAt,
      },
    );
  });

  await t.step("cooldown: allowed at exactly retryAt", () => {
    const quiz = rules({ attemptsAllowed: 3, cooldownMinutes: 30 });
    assert.deepEqual(retakeDecision(quiz, [attempt(0, 10)], at(40)), {
      allowed: true,
      attemptsRemaining: 2,
    });
  });

  await t.step("cooldown is measured from the latest submission", () => {
    const quiz = rules({ cooldownMinutes: 60 });
    const first = attempt(0, 10);
    const middle = attempt(60, 70);
    const latest = attempt(120, 130);
    const retryAt = at(190);
    for (
      const finished of [
        [first, middle, latest],
        [latest, first, middle],
        [middle, latest, first],
      ]
    ) {
      const blocked = retakeDecision(quiz, finished, at(150));
      assert.equal(blocked.allowed, false);
      assert.deepEqual(!blocked.allowed && blocked.retryAt, retryAt);
      assert.equal(!blocked.allowed && blocked.code, "QUIZ_COOLDOWN");
      assert.deepEqual(retakeDecision(quiz, finished, retryAt), {
        allowed: true,
        attemptsRemaining: null,
      });
    }
  });

  await t.step("cooldown is measured from submission, not start", () => {
    const quiz = rules({ cooldownMinutes: 30 });
    // Started at 0, submitted at 45: free again at 75, not at 30.
    const decision = retakeDecision(quiz, [attempt(0, 45)], at(60));
    assert.equal(decision.allowed, false);
    assert.deepEqual(!decision.allowed && decision.retryAt, at(75));
  });

  await t.step("no cooldown: allowed straight after submitting", () => {
    assert.deepEqual(
      retakeDecision(rules({ attemptsAllowed: 2 }), [attempt(0, 10)], at(10)),
      { allowed: true, attemptsRemaining: 1 },
    );
  });

  await t.step(
    "exhausted attempts are reported over a running cooldown",
    () => {
      const decision = retakeDecision(
        rules({ attemptsAllowed: 1, cooldownMinutes: 60 }),
        [attempt(0, 10)],
        at(11),
      );
      assert.equal(decision.allowed, false);
      assert.equal(!decision.allowed && decision.code, "ATTEMPTS_EXHAUSTED");
    },
  );
});

Deno.test("finalGrade", async (t) => {
  // Started at 10:00 (60), 11:00 (90) and 12:00 (75), given out of order.
  const a = attempt(0, 30, 60);
  const b = attempt(60, 90, 90);
  const c = attempt(120, 150, 75);
  const unsorted = [c, a, b];

  await t.step("highest", () => {
    assert.equal(finalGrade("highest", unsorted), 90);
  });

  await t.step("latest started, whatever the input order", () => {
    assert.equal(finalGrade("latest", unsorted), 75);
    assert.equal(finalGrade("latest", [b, c, a]), 75);
  });

  await t.step("first started, whatever the input order", () => {
    assert.equal(finalGrade("first", unsorted), 60);
    assert.equal(finalGrade("first", [b, c, a]), 60);
  });

  await t.step("average", () => {
    assert.equal(finalGrade("average", unsorted), 75);
  });

  await t.step("latest and first follow startedAt, not submittedAt", () => {
    // Started first but submitted last.
    const long = attempt(0, 300, 40);
    const short = attempt(60, 70, 80);
    assert.equal(finalGrade("latest", [long, short]), 80);
    assert.equal(finalGrade("first", [short, long]), 40);
  });

  await t.step("attempts waiting for a grader are ignored", () => {
    const pendingFirst = attempt(-60, -30, null);
    const pendingLast = attempt(180, 200, null);
    const withPending = [pendingLast, c, pendingFirst, a, b];
    assert.equal(finalGrade("latest", withPending), 75);
    assert.equal(finalGrade("first", withPending), 60);
    assert.equal(finalGrade("highest", withPending), 90);
    assert.equal(finalGrade("average", withPending), 75);
  });

  await t.step("a score of 0 counts", () => {
    assert.equal(finalGrade("average", [attempt(0, 1, 0), a]), 30);
    assert.equal(finalGrade("latest", [a, attempt(600, 601, 0)]), 0);
  });

  await t.step("nothing graded: null", () => {
    for (const method of ["highest", "latest", "first", "average"] as const) {
      assert.equal(finalGrade(method, []), null, method);
      assert.equal(
        finalGrade(method, [attempt(0, 10, null), attempt(60, 70, null)]),
        null,
        method,
      );
    }
  });

  await t.step("average is rounded to 2 decimals", () => {
    assert.equal(
      finalGrade("average", [
        attempt(0, 1, 70),
        attempt(60, 61, 80),
        attempt(120, 121, 85),
      ]),
      78.33,
    );
    assert.equal(
      finalGrade("average", [
        attempt(0, 1, 100),
        attempt(60, 61, 50),
        attempt(120, 121, 50),
      ]),
      66.67,
    );
    assert.equal(
      finalGrade("average", [attempt(0, 1, 80.01), attempt(60, 61, 80)]),
      80.01,
    );
  });

  await t.step("the input array is left as it was", () => {
    const input = [c, a, b];
    finalGrade("latest", input);
    assert.deepEqual(input, [c, a, b]);
    assert.strictEqual(input[0], c);
  });
});

Deno.test("timeLimitMs", async (t) => {
  await t.step("untimed: null", () => {
    assert.equal(timeLimitMs({ isTimed: false, durationMinutes: 30 }, 1), null);
    assert.equal(
      timeLimitMs({ isTimed: true, durationMinutes: null }, 1),
      null,
    );
    assert.equal(
      timeLimitMs({ isTimed: false, durationMinutes: null }, 1.5),
      null,
    );
  });

  await t.step("the duration in ms", () => {
    assert.equal(
      timeLimitMs({ isTimed: true, durationMinutes: 30 }, 1),
      1_800_000,
    );
  });

  await t.step("with a 1.5 multiplier", () => {
    assert.equal(
      timeLimitMs({ isTimed: true, durationMinutes: 30 }, 1.5),
      2_700_000,
    );
  });

  await t.step("rounded to whole milliseconds", () => {
    assert.equal(
      timeLimitMs({ isTimed: true, durationMinutes: 1 }, 1.3333333),
      80_000,
    );
    assert.equal(
      timeLimitMs({ isTimed: true, durationMinutes: 7 }, 1.0000001),
      420_000,
    );
  });
});

Deno.test("withinDeadline", async (t) => {
  const expiresAt = at(60);
  const ms = (offset: number) => new Date(expiresAt.getTime() + offset);

  await t.step("the grace period is five seconds", () => {
    assert.equal(DEADLINE_GRACE_MS, 5_000);
  });

  await t.step("no expiry: always inside", () => {
    assert.equal(withinDeadline(null, at(0)), true);
    assert.equal(withinDeadline(null, new Date(8.64e15)), true);
  });

  await t.step("before and at the expiry", () => {
    assert.equal(withinDeadline(expiresAt, at(0)), true);
    assert.equal(withinDeadline(expiresAt, ms(0)), true);
  });

  await t.step("inside the grace period", () => {
    assert.equal(withinDeadline(expiresAt, ms(1)), true);
    assert.equal(withinDeadline(expiresAt, ms(DEADLINE_GRACE_MS)), true);
  });

  await t.step("one ms past the grace period", () => {
    assert.equal(withinDeadline(expiresAt, ms(DEADLINE_GRACE_MS + 1)), false);
    assert.equal(withinDeadline(expiresAt, at(120)), false);
  });
});
