import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import { toParagraphs } from "../../lib/rich_text.ts";

/** A piece of a lesson the tutor may quote or build on. */
export interface Passage {
  lessonId: string;
  programId: string;
  title: string;
  text: string;
  /** Cut short: the learner may ask about the lesson but not read it (no documentation access). */
  excerpt?: boolean;
}

/** About 1,500 tokens of lesson text (4 characters a token is the usual rough measure). */
export const PASSAGE_BUDGET_CHARS = 6_000;
const MAX_LESSONS = 5;
const MAX_PASSAGES_PER_LESSON = 2;
const MAX_PASSAGE_CHARS = 1_200;
const MAX_TERMS = 16;

// Words that say nothing about the topic; searching them would rank every lesson alike.
const STOPWORDS = new Set(
  ("a an and are as at be but by can could did do does for from had has have how i if in into is " +
    "it its me my of on or our should so than that the their them then there these they this to " +
    "was we what when where which who why will with would you your explain tell please about " +
    "mean means meaning difference between example examples give show am he no us up")
    .split(" "),
);

/** Lower case without accents: how FTS5 (remove_diacritics) compares, so paragraphs are picked alike. */
export const folded = (text: string) =>
  text.normalize("NFD").replace(/\p{M}+/gu, "").normalize("NFKC")
    .toLowerCase();

/**
 * The question's content words, folded, in order, without repeats. Two-letter words count unless
 * they are stopwords ("AI", "Go"); a single letter only when typed in capitals ("C").
 */
export function searchTerms(question: string): string[] {
  const words = question.normalize("NFKC").match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms = words.filter((word) =>
    word.length > 1 || /[\p{Lu}\d]/u.test(word)
  ).map(folded).filter((word) => !STOPWORDS.has(word));
  return [...new Set(terms)].slice(0, MAX_TERMS);
}

/** Each term quoted (no FTS syntax gets through), any of them matching, prefixes allowed. */
const anyOf = (terms: string[]) => terms.map((t) => `"${t}"*`).join(" OR ");

function paragraphsOf(html: string): string[] {
  const out: string[] = [];
  for (const trimmed of toParagraphs(html)) {
    // A very long paragraph is cut at sentence ends into pieces the budget can hold.
    if (trimmed.length <= MAX_PASSAGE_CHARS) out.push(trimmed);
    else {
      let piece = "";
      for (const sentence of trimmed.split(/(?<=[.!?])\s+/)) {
        if (piece && piece.length + sentence.length > MAX_PASSAGE_CHARS) {
          out.push(piece);
          piece = "";
        }
        piece = piece ? `${piece} ${sentence}` : sentence;
      }
      if (piece) out.push(piece.slice(0, MAX_PASSAGE_CHARS));
    }
  }
  return out;
}

const hitsIn = (text: string, terms: string[]) => {
  const plain = folded(text);
  return terms.reduce((n, term) => n + (plain.includes(term) ? 1 : 0), 0);
};

/**
 * The lesson passages most relevant to a question, best first, within a character budget: SQLite
 * FTS5 ranks lessons (bm25, title weighted above text) inside the given programs, then the
 * paragraphs of each lesson that share the most words with the question are kept.
 */
export async function findPassages(
  db: DbOrTx,
  programIds: string[],
  question: string,
  budgetChars = PASSAGE_BUDGET_CHARS,
): Promise<Passage[]> {
  const terms = searchTerms(question);
  if (terms.length === 0 || programIds.length === 0) return [];
  const inPrograms = sql.join(programIds.map((id) => sql`${id}`), sql`, `);
  const lessonsFound = await db.all<
    { id: string; programId: string; title: string; content: string }
  >(sql`
    SELECT l.id AS id, l.program_id AS programId, l.title AS title, l.content_html AS content
    FROM lesson_search JOIN lessons l ON l.rowid = lesson_search.rowid
    WHERE lesson_search MATCH ${anyOf(terms)}
      AND lesson_search.program_id IN (${inPrograms})
      -- Checked on the lesson too: the FTS copy must never decide alone whose text is served.
      AND l.program_id IN (${inPrograms})
    ORDER BY bm25(lesson_search, 5.0, 1.0)
    LIMIT ${MAX_LESSONS}`);

  const passages: Passage[] = [];
  let used = 0;
  for (const lesson of lessonsFound) {
    const ranked = paragraphsOf(lesson.content)
      .map((text, index) => ({ text, index, hits: hitsIn(text, terms) }))
      .filter((p) => p.hits > 0 || hitsIn(lesson.title, terms) > 0)
      .sort((a, b) => b.hits - a.hits || a.index - b.index)
      .slice(0, MAX_PASSAGES_PER_LESSON)
      // Back in reading order, so two paragraphs of one lesson read as written.
      .sort((a, b) => a.index - b.index);
    for (const paragraph of ranked) {
      if (used + paragraph.text.length > budgetChars) continue;
      used += paragraph.text.length;
      passages.push({
        lessonId: lesson.id,
        programId: lesson.programId,
        title: lesson.title,
        text: paragraph.text,
      });
    }
  }
  return passages;
}
