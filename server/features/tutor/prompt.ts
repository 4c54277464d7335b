import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import type { Citation, Program } from "../../../db/schema/mod.ts";
import type { Passage } from "./grounding.ts";

/** 002: the last 5-10 messages of the session go with each question. */
export const HISTORY_MESSAGES = 8;

export interface LearnerContext {
  program: Pick<Program, "id" | "title" | "level"> | undefined;
  lessonsDone: number;
  lessonsTotal: number;
  recentQuizzes: { title: string; score: number | null; passed: boolean }[];
}

/** What the prompt says about the learner: progress and recent quiz results in the program. */
export async function learnerContext(
  db: DbOrTx,
  userId: string,
  program: Pick<Program, "id" | "title" | "level"> | undefined,
): Promise<LearnerContext> {
  if (!program) {
    return { program, lessonsDone: 0, lessonsTotal: 0, recentQuizzes: [] };
  }
  const [counts] = await db.all<{ done: number; total: number }>(sql`
    SELECT
      (SELECT count(*) FROM lesson_progress
        WHERE user_id = ${userId} AND program_id = ${program.id} AND completed_at IS NOT NULL) AS done,
      (SELECT count(*) FROM lessons WHERE program_id = ${program.id}) AS total`);
  const quizzes = await db.all<
    { title: string; score: number | null; passed: number | null }
  >(sql`
    SELECT q.title AS title, a.score_percentage AS score, a.passed AS passed
    FROM quiz_attempts a JOIN quizzes q ON q.id = a.quiz_id
    WHERE a.user_id = ${userId} AND a.program_id = ${program.id} AND a.status = 'completed'
    ORDER BY a.submitted_at DESC LIMIT 3`);
  return {
    program,
    lessonsDone: counts?.done ?? 0,
    lessonsTotal: counts?.total ?? 0,
    recentQuizzes: quizzes.map((q) => ({
      title: q.title,
      score: q.score,
      passed: q.passed === 1,
    })),
  };
}

/** The system prompt: who the tutor is, what the learner is studying, and the passages to cite. */
export function systemPrompt(
  schoolName: string,
  context: LearnerContext,
  passages: Passage[],
): string {
  const lines = [
    `You are the learning tutor of ${schoolName}.`,
    context.program
      ? `The learner is studying the program "${context.program.title}" (level: ${context.program.level}).`
      : "The learner is asking about the programs they study.",
  ];
  if (context.lessonsTotal > 0) {
    lines.push(
      `Progress: ${context.lessonsDone} of ${context.lessonsTotal} lessons completed.`,
    );
  }
  if (context.recentQuizzes.length > 0) {
    lines.push(
      `Recent quiz results: ${
        context.recentQuizzes.map((q) =>
          `"${q.title}" ${q.score ?? "?"}% (${
            q.passed ? "passed" : "not passed"
          })`
        ).join("; ")
      }.`,
    );
  }
  lines.push(
    "Explain clearly and simply, with examples and analogies; break complex ideas into steps; encourage the learner.",
    "Do not reproduce the passages word for word beyond a short quotation; explain in your own words.",
    "Base your answer on the lesson passages below and cite the ones you use as [1], [2]. If they do not cover the question, say so and answer briefly from general knowledge, saying that it is not from the lessons.",
    "Stay on the topic of learning; decline anything else politely.",
  );
  if (passages.length > 0) {
    lines.push("", "Lesson passages:");
    passages.forEach((p, i) =>
      lines.push(`[${i + 1}] "${p.title}": ${p.text}`)
    );
  } else {
    lines.push("", "No lesson passage matches this question.");
  }
  return lines.join("\n");
}

export const lessonLink = (appUrl: string, passage: Passage) =>
  `${appUrl}/api/programs/${passage.programId}/lessons/${passage.lessonId}`;

/**
 * The lessons an answer drew on: those whose [n] it cites, or every passage it was given when it
 * cites none (it still had them in front of it). One entry per lesson.
 */
export function citationsFor(
  appUrl: string,
  answer: string,
  passages: Passage[],
): Citation[] {
  // [1], [1][2] and [1, 2] all cite.
  const cited = new Set(
    [...answer.matchAll(/\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]/g)]
      .flatMap((m) => m[1]!.split(",").map((n) => Number(n.trim()) - 1))
      .filter((i) => i >= 0 && i < passages.length),
  );
  const used = cited.size > 0
    ? passages.filter((_, i) => cited.has(i))
    : passages;
  const seen = new Map<string, Citation>();
  for (const passage of used) {
    if (!seen.has(passage.lessonId)) {
      seen.set(passage.lessonId, {
        lessonId: passage.lessonId,
        title: passage.title,
        link: lessonLink(appUrl, passage),
      });
    }
  }
  return [...seen.values()];
}

/** The answer without a provider: the matching passages themselves, labelled as such. */
export function extractiveAnswer(passages: Passage[]): string {
  if (passages.length === 0) {
    return "No AI provider is configured on this server, and no lesson matches your question. Try other words, or ask your instructor.";
  }
  return [
    "No AI provider is configured on this server, so here are the lesson passages that match your question:",
    ...passages.map((p, i) => `[${i + 1}] ${p.title}: ${p.text}`),
    ...(passages.some((p) => p.excerpt)
      ? [
        "Some passages are excerpts: the full lessons come with documentation access to the program.",
      ]
      : []),
  ].join("\n\n");
}

/** A session's title: the first question, cut at a word near 80 characters. */
export function titleFrom(question: string): string {
  const flat = question.replace(/\s+/g, " ").trim();
  if (flat.length <= 80) return flat;
  const cut = flat.slice(0, 80);
  const space = cut.lastIndexOf(" ");
  return `${space > 40 ? cut.slice(0, space) : cut}…`;
}
