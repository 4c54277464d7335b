import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import { REVENUE_ROWS } from "./money.ts";
import { activityTypes, type Range } from "./service.ts";

export const REPORTS = ["revenue", "enrollments", "users"] as const;
export type ReportName = (typeof REPORTS)[number];

export interface Report {
  columns: string[];
  rows: (string | number)[][];
}

const day = (column: string) =>
  sql.raw(`strftime('%Y-%m-%d', ${column} / 1000, 'unixepoch')`);

/**
 * Daily figures for scripts, the same for `GET /api/admin/reports/:name` and `cli reports`:
 * - revenue: net revenue per day and currency, split into one-time payments and subscriptions;
 * - enrollments: new enrollments per day and program;
 * - users: sign-ups per day and role (accounts not deleted since), and how many people were
 *   active that day (the activity events retention reads).
 * Days without anything are left out. Amounts are in major units.
 */
export async function buildReport(
  deps: { db: DbOrTx },
  name: ReportName,
  range: Range,
): Promise<Report> {
  const from = range.from.getTime();
  const to = range.to.getTime();
  if (name === "revenue") {
    const rows = await deps.db.all<
      {
        date: string;
        currency: string;
        payments: number;
        subscriptions: number;
      }
    >(sql`
      SELECT ${day("at")} AS date, currency,
        sum(CASE WHEN source = 'payment' THEN amount ELSE 0 END) AS payments,
        sum(CASE WHEN source = 'subscription' THEN amount ELSE 0 END) AS subscriptions
      FROM (${REVENUE_ROWS}) WHERE at >= ${from} AND at < ${to}
      GROUP BY date, currency ORDER BY date, currency`);
    return {
      columns: ["date", "currency", "payments", "subscriptions", "total"],
      rows: rows.map((r) => [
        r.date,
        r.currency,
        r.payments / 100,
        r.subscriptions / 100,
        (r.payments + r.subscriptions) / 100,
      ]),
    };
  }
  if (name === "enrollments") {
    const rows = await deps.db.all<
      { date: string; programId: string; title: string; n: number }
    >(sql`
      SELECT ${day("e.created_at")} AS date, e.program_id AS programId,
        coalesce(p.title, '') AS title, count(*) AS n
      FROM events e LEFT JOIN programs p ON p.id = e.program_id
      WHERE e.type = 'enrollment.created' AND e.created_at >= ${from} AND e.created_at < ${to}
      GROUP BY date, e.program_id ORDER BY date, title`);
    return {
      columns: ["date", "program_id", "program", "enrollments"],
      rows: rows.map((r) => [r.date, r.programId, r.title, r.n]),
    };
  }
  const rows = await deps.db.all<
    {
      date: string;
      students: number;
      instructors: number;
      admins: number;
      active: number;
    }
  >(sql`
    WITH signups AS (
      SELECT ${day("created_at")} AS date,
        sum(role = 'student') AS students, sum(role = 'instructor') AS instructors,
        sum(role = 'admin') AS admins
      FROM users WHERE status != 'deleted' AND created_at >= ${from} AND created_at < ${to}
      GROUP BY date),
    active AS (
      SELECT ${
    day("created_at")
  } AS date, count(DISTINCT user_id) AS n FROM events
      WHERE user_id IS NOT NULL AND type IN (${activityTypes})
        AND created_at >= ${from} AND created_at < ${to}
      GROUP BY date),
    dates AS (SELECT date FROM signups UNION SELECT date FROM active)
    SELECT d.date, coalesce(s.students, 0) AS students,
      coalesce(s.instructors, 0) AS instructors, coalesce(s.admins, 0) AS admins,
      coalesce(a.n, 0) AS active
    FROM dates d LEFT JOIN signups s ON s.date = d.date LEFT JOIN active a ON a.date = d.date
    ORDER BY d.date`);
  return {
    columns: [
      "date",
      "new_students",
      "new_instructors",
      "new_admins",
      "active_users",
    ],
    rows: rows.map((r) => [
      r.date,
      r.students,
      r.instructors,
      r.admins,
      r.active,
    ]),
  };
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF lines. */
export function toCsv(report: Report): string {
  const field = (value: string | number) => {
    const text = String(value);
    // A leading =, +, -, @, tab or carriage return would make a spreadsheet run it as a formula.
    const safe = /^[=+\-@\t\r]/.test(text) && typeof value === "string"
      ? `'${text}`
      : text;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [report.columns, ...report.rows].map((row) => row.map(field).join(","))
    .join("\r\n") + "\r\n";
}

/** Rows as objects keyed by column, for JSON. */
export const reportRecords = (report: Report) =>
  report.rows.map((row) =>
    Object.fromEntries(report.columns.map((column, i) => [column, row[i]]))
  );
