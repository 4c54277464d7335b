import { type SQL, sql, type SQLWrapper } from "drizzle-orm";

/** `%text%` with LIKE's wildcards in `text` escaped, for use with `ESCAPE '\'`. */
export const containsPattern = (text: string) =>
  `%${text.replace(/[%_\\]/g, "\\$&")}%`;

/** `column LIKE '%text%'`, where `text` is taken literally (SQLite's LIKE ignores ASCII case). */
export const likeContains = (column: SQLWrapper, text: string): SQL =>
  // LIKE has no escape character unless the statement names one.
  sql`${column} LIKE ${containsPattern(text)} ESCAPE '\\'`;
