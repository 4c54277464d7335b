/**
 * What to take next: a deterministic, explainable ranking of programs for one learner. Pure (no
 * database, no clock, no randomness): the same history and candidates always give the same list,
 * and every point of a score that matters comes with a sentence in `reasons`.
 *
 * The score is a sum of signals, each far larger than the tiebreak so popularity never outranks
 * what the learner did:
 *
 * | signal                                                                | points |
 * | --------------------------------------------------------------------- | ------ |
 * | the next level, in the same category, after a level the learner mastered | +40 |
 * | the same level as a program where the learner's quiz average was weak     | +25 |
 * | the same category as a program the learner took                          | +30 |
 * | below the highest level the learner mastered in that category            | −20 |
 * | no history at all: a Beginner or All Levels program                      | +20 |
 * | tiebreak: popularity (log10 of learners, at most 3), rating (at most 2), featured (1) | ≤ 6 |
 *
 * A level is mastered in a program the learner completed without weak quiz results, or in one
 * where their quiz average is strong (80% or more, or 70% or more with a quiz passed). The level
 * ladder is Beginner → Intermediate → Advanced; "All Levels" programs sit outside it (they count
 * for their category only).
 */

export const LEVEL_LADDER = ["Beginner", "Intermediate", "Advanced"] as const;
export type LadderLevel = (typeof LEVEL_LADDER)[number];

export const WEIGHTS = {
  nextLevel: 40,
  sameLevelPractice: 25,
  sameCategory: 30,
  belowLevel: -20,
  newLearnerStart: 20,
  /** Tiebreak parts; together at most 6, less than the smallest signal. */
  popularityMax: 3,
  ratingMax: 2,
  featured: 1,
} as const;

/** Quiz average (percent) at or above which a level counts as mastered. */
export const STRONG_SCORE = 80;
/** With at least one quiz passed, this average is enough. */
export const PASSED_STRONG_SCORE = 70;
/** Quiz average below which the learner should consolidate at the same level. */
export const WEAK_SCORE = 60;

export const NEW_LEARNER_REASON = "Popular with new learners";

/** A program the learner has a relation with: an enrollment, quiz results, or both. */
export interface TakenProgram {
  programId: string;
  title: string;
  categoryId: string;
  category: string;
  level: string;
  /** The enrollment's status; `none` for quiz results without an enrollment. */
  status: "completed" | "in_progress" | "dropped" | "none";
  /** Mean score percentage of the learner's graded attempts in the program; null without any. */
  quizAverage: number | null;
  /** Distinct quizzes of the program the learner has passed. */
  quizzesPassed: number;
}

export interface LearnerHistory {
  taken: TakenProgram[];
}

/** A published program that may be recommended. */
export interface Candidate {
  id: string;
  title: string;
  categoryId: string;
  category: string;
  level: string;
  featured: boolean;
  enrolledCount: number;
  ratingSum: number;
  reviewCount: number;
}

export interface Ranked<C extends Candidate = Candidate> {
  candidate: C;
  score: number;
  reasons: string[];
}

type Performance = "strong" | "weak" | "ok" | "none";

/** The ladder position of a level, or null for "All Levels" and anything unknown. */
export function levelIndex(level: string): number | null {
  const index = LEVEL_LADDER.findIndex((step) =>
    step.toLowerCase() === level.trim().toLowerCase()
  );
  return index < 0 ? null : index;
}

export function performanceOf(
  taken: Pick<TakenProgram, "quizAverage" | "quizzesPassed">,
): Performance {
  const average = taken.quizAverage;
  if (average === null || !Number.isFinite(average)) return "none";
  if (
    average >= STRONG_SCORE ||
    (taken.quizzesPassed > 0 && average >= PASSED_STRONG_SCORE)
  ) return "strong";
  if (average < WEAK_SCORE) return "weak";
  return "ok";
}

const percent = (value: number) => `${Math.round(value)}%`;

/** Plain code-unit order: the same on every machine, whatever the locale. */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface CategorySignals {
  /** The highest mastered ladder index and the program that shows it. */
  mastered: { index: number; source: TakenProgram } | null;
  /** Ladder index -> the program with the weakest quiz average at that level. */
  weak: Map<number, TakenProgram>;
}

/** Which of two programs explains a level best: completed first, then better average, then title. */
function betterMasterySource(a: TakenProgram, b: TakenProgram): TakenProgram {
  const completed = (t: TakenProgram) => (t.status === "completed" ? 1 : 0);
  if (completed(a) !== completed(b)) return completed(a) > completed(b) ? a : b;
  const avg = (t: TakenProgram) => t.quizAverage ?? -1;
  if (avg(a) !== avg(b)) return avg(a) > avg(b) ? a : b;
  return firstByTitle(a, b);
}

/** The earlier of two programs by title, then id: a total order for picking one. */
function firstByTitle(a: TakenProgram, b: TakenProgram): TakenProgram {
  return (compareText(a.title, b.title) ||
      compareText(a.programId, b.programId)) <= 0
    ? a
    : b;
}

function weakerSource(a: TakenProgram, b: TakenProgram): TakenProgram {
  const avg = (t: TakenProgram) => t.quizAverage ?? Infinity;
  if (avg(a) !== avg(b)) return avg(a) < avg(b) ? a : b;
  return firstByTitle(a, b);
}

/** Per category: the level the learner mastered and the levels where they struggle. */
export function categorySignals(
  history: LearnerHistory,
): Map<string, CategorySignals> {
  const signals = new Map<string, CategorySignals>();
  for (const taken of history.taken) {
    let entry = signals.get(taken.categoryId);
    if (!entry) {
      entry = { mastered: null, weak: new Map() };
      signals.set(taken.categoryId, entry);
    }
    const index = levelIndex(taken.level);
    if (index === null) continue;
    const performance = performanceOf(taken);
    const mastered = performance === "strong" ||
      (taken.status === "completed" && performance !== "weak");
    if (mastered) {
      if (!entry.mastered || index > entry.mastered.index) {
        entry.mastered = { index, source: taken };
      } else if (index === entry.mastered.index) {
        entry.mastered.source = betterMasterySource(
          entry.mastered.source,
          taken,
        );
      }
    }
    if (performance === "weak") {
      const current = entry.weak.get(index);
      entry.weak.set(index, current ? weakerSource(current, taken) : taken);
    }
  }
  return signals;
}

/**
 * The levels worth looking for in each category the learner took: the next level after the one
 * they mastered, and the levels where they struggle. The loader uses it to ask the database for
 * exactly those programs; ranking does not depend on it.
 */
export function levelTargets(
  history: LearnerHistory,
): Map<string, LadderLevel[]> {
  const targets = new Map<string, LadderLevel[]>();
  for (const [categoryId, entry] of categorySignals(history)) {
    const levels = new Set<number>();
    if (entry.mastered && entry.mastered.index + 1 < LEVEL_LADDER.length) {
      levels.add(entry.mastered.index + 1);
    }
    for (const index of entry.weak.keys()) {
      if (!entry.mastered || entry.mastered.index < index) levels.add(index);
    }
    if (levels.size > 0) {
      targets.set(
        categoryId,
        [...levels].sort((a, b) => a - b).map((i) => LEVEL_LADDER[i]!),
      );
    }
  }
  return targets;
}

function tiebreak(candidate: Candidate): number {
  const popularity = Math.min(
    WEIGHTS.popularityMax,
    Math.log10(1 + Math.max(0, candidate.enrolledCount)),
  );
  const rating = candidate.reviewCount > 0
    ? (Math.min(5, Math.max(0, candidate.ratingSum / candidate.reviewCount)) /
      5) * WEIGHTS.ratingMax * Math.min(1, candidate.reviewCount / 5)
    : 0;
  return popularity + rating + (candidate.featured ? WEIGHTS.featured : 0);
}

const plural = (n: number, one: string, many: string) =>
  `${n} ${n === 1 ? one : many}`;

/**
 * Ranks the candidates for the learner, best first. Programs the learner already has (in
 * `history.taken`, whatever the status) never appear; duplicate candidates count once. Ties are
 * broken by learners enrolled, then title, then id, so the order is total.
 */
export function rankPrograms<C extends Candidate>(
  history: LearnerHistory,
  candidates: readonly C[],
): Ranked<C>[] {
  const takenIds = new Set(history.taken.map((t) => t.programId));
  const signals = categorySignals(history);
  const isNewLearner = history.taken.length === 0;
  const seen = new Set<string>();
  const ranked: Ranked<C>[] = [];

  for (const candidate of candidates) {
    if (takenIds.has(candidate.id) || seen.has(candidate.id)) continue;
    seen.add(candidate.id);
    const reasons: string[] = [];
    let score = 0;
    const level = levelIndex(candidate.level);
    const category = signals.get(candidate.categoryId);

    if (category) {
      const mastered = category.mastered;
      if (level !== null && mastered && level === mastered.index + 1) {
        score += WEIGHTS.nextLevel;
        const source = mastered.source;
        reasons.push(
          source.status === "completed"
            ? `Next level after "${source.title}", which you completed`
            : `Next level after "${source.title}", where your quiz average is ${
              percent(source.quizAverage ?? 0)
            }`,
        );
      } else if (level !== null && mastered && level < mastered.index) {
        score += WEIGHTS.belowLevel;
      }
      const weak = level === null ? undefined : category.weak.get(level);
      if (
        weak && level !== null && !(mastered && mastered.index >= level)
      ) {
        score += WEIGHTS.sameLevelPractice;
        reasons.push(
          `Same level as "${weak.title}", to strengthen your results there (quiz average ${
            percent(weak.quizAverage ?? 0)
          })`,
        );
      }
      score += WEIGHTS.sameCategory;
      reasons.push(`Same category as programs you took: ${candidate.category}`);
    } else if (
      isNewLearner && (level === 0 || candidate.level === "All Levels")
    ) {
      score += WEIGHTS.newLearnerStart;
      reasons.push(NEW_LEARNER_REASON);
    }

    score += tiebreak(candidate);
    if (candidate.featured) reasons.push("Featured by the school");
    if (candidate.reviewCount >= 3) {
      const average = candidate.ratingSum / candidate.reviewCount;
      if (average >= 4) {
        reasons.push(
          `Rated ${Math.round(average * 10) / 10}/5 by ${
            plural(candidate.reviewCount, "learner", "learners")
          }`,
        );
      }
    }
    if (reasons.length === 0) {
      reasons.push(
        candidate.enrolledCount > 0
          ? `Popular: ${
            plural(candidate.enrolledCount, "learner", "learners")
          } enrolled`
          : `Explore ${candidate.category}`,
      );
    }
    ranked.push({ candidate, score: Math.round(score * 100) / 100, reasons });
  }

  return ranked.sort((a, b) =>
    b.score - a.score ||
    b.candidate.enrolledCount - a.candidate.enrolledCount ||
    compareText(a.candidate.title, b.candidate.title) ||
    compareText(a.candidate.id, b.candidate.id)
  );
}
