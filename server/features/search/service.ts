import { and, eq, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import { instructorProfiles, programs, users } from "../../../db/schema/mod.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { BM25, selectSummaries, type SummaryRow } from "../programs/service.ts";
import { ftsQuery } from "./fts_query.ts";

// Control characters cannot occur in indexed text, so they safely mark a hit until escaping is done.
const HIT_START = "\u0001";
const HIT_END = "\u0002";

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

/** The snippet as safe HTML: the indexed text escaped, the matched words in <mark>. */
export const highlight = (snippet: string) =>
  escapeHtml(snippet).replaceAll(HIT_START, "<mark>")
    .replaceAll(HIT_END, "</mark>");

export interface ProgramHit {
  row: SummaryRow;
  snippet: string;
}

/** Published programs matching `q`, best first (bm25: title > description > overview > lessons). */
export async function searchPrograms(
  deps: { db: DbOrTx },
  q: string,
  page: PageRequest,
): Promise<{ hits: ProgramHit[]; total: number }> {
  const match = ftsQuery(q);
  if (!match) return { hits: [], total: 0 };
  const hits =
    sql`(SELECT rowid AS program_rowid, ${BM25} AS rank FROM program_search WHERE program_search MATCH ${match}) AS hit`;
  const live = and(
    eq(programs.status, "published"),
    isNull(programs.deletedAt),
  );
  const rows = await selectSummaries(deps.db)
    .innerJoin(hits, sql`hit.program_rowid = ${programs}.rowid`)
    .where(live)
    .orderBy(sql`hit.rank`, programs.id)
    .limit(page.limit).offset(offsetOf(page));
  // Snippets are costly: made only for the page's rows.
  const ids = sql.join(rows.map((r) => sql`${r.program.id}`), sql`, `);
  const snippets = rows.length
    ? await deps.db.all<{ id: string; snippet: string }>(sql`
        SELECT p.id AS id, snippet(program_search, -1, ${HIT_START}, ${HIT_END}, '…', 16) AS snippet
        FROM program_search JOIN ${programs} p ON p.rowid = program_search.rowid
        WHERE program_search MATCH ${match}
          AND program_search.rowid IN (SELECT rowid FROM ${programs} WHERE id IN (${ids}))`)
    : [];
  const snippetOf = new Map(snippets.map((s) => [s.id, s.snippet]));
  // `rowid IN (…)` keeps the MATCH as one scan; a join lets SQLite probe it once per program.
  const [total] = await deps.db.all<{ n: number }>(sql`
    SELECT count(*) AS n FROM ${programs}
    WHERE rowid IN (SELECT rowid FROM program_search WHERE program_search MATCH ${match})
      AND status = 'published' AND deleted_at IS NULL`);
  return {
    hits: rows.map((row) => ({
      row,
      snippet: highlight(snippetOf.get(row.program.id) ?? ""),
    })),
    total: total?.n ?? 0,
  };
}

/** Active instructors whose name or expertise matches `q`. */
export async function searchInstructors(
  deps: { db: DbOrTx },
  q: string,
  page: PageRequest,
) {
  const match = ftsQuery(q);
  if (!match) return { instructors: [], total: 0 };
  const hits =
    sql`(SELECT rowid, bm25(instructor_search, 5.0, 2.0) AS rank FROM instructor_search WHERE instructor_search MATCH ${match})`;
  const rows = await deps.db.select({
    id: users.id,
    name: users.name,
    avatar: users.avatarUrl,
    headline: instructorProfiles.headline,
    expertise: instructorProfiles.expertise,
  }).from(users)
    .innerJoin(sql`${hits} AS hit`, sql`hit.rowid = ${users}.rowid`)
    .leftJoin(instructorProfiles, eq(instructorProfiles.userId, users.id))
    .where(and(eq(users.role, "instructor"), eq(users.status, "active")))
    .orderBy(sql`hit.rank`, users.id)
    .limit(page.limit).offset(offsetOf(page));
  const [total] = await deps.db.all<{ n: number }>(sql`
    SELECT count(*) AS n FROM instructor_search WHERE instructor_search MATCH ${match}`);
  return {
    instructors: rows.map((row) => ({
      ...row,
      headline: row.headline ?? "",
      expertise: row.expertise ?? [],
    })),
    total: total?.n ?? 0,
  };
}
