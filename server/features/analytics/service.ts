import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import type { Config } from "../../env.ts";
import { moneyTotals, REVENUE_ROWS } from "./money.ts";

export const DAY_MS = 86_400_000;
export const RETENTION_WINDOW_DAYS = 30;
const TOP = 10;

/** Events that show a learner was there; retention reads them. */
export const ACTIVITY_EVENTS = [
  "user.signed_in",
  "program.viewed",
  "enrollment.created",
  "quiz.attempted",
  "ai.message",
  "certificate.issued",
] as const;
/** Inlined: a bound JS number reaches SQLite as a REAL, and the day arithmetic must be integral. */
const DAY = sql.raw(String(DAY_MS));
export const activityTypes = sql.raw(
  ACTIVITY_EVENTS.map((type) => `'${type}'`).join(", "),
);

export const METRICS = [
  "revenue",
  "enrollments",
  "views",
  "users",
  "activeUsers",
] as const;
export type Metric = (typeof METRICS)[number];

/** A half-open range of instants, `[from, to)`. */
export interface Range {
  from: Date;
  to: Date;
}

/** `YYYY-MM-DD` dates, both included, as a range of UTC instants. */
export function dayRange(startDate: string, endDate: string): Range {
  return {
    from: new Date(`${startDate}T00:00:00.000Z`),
    to: new Date(new Date(`${endDate}T00:00:00.000Z`).getTime() + DAY_MS),
  };
}

const pct = (part: number, whole: number) =>
  whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0;

/**
 * 002's analytics for a date range, from the events table (appended as things happen) and the
 * money tables. Definitions (docs/decisions/013):
 * - conversionRate: of the (visitor, program) pairs viewed in the range, the share where that
 *   visitor enrolled in that program in the range, × 100 (anonymous visitors cannot be followed
 *   to an enrollment, so they count as not converted);
 * - userRetention: of the learners (students, not deleted) active in the range, the share active
 *   again on a later UTC day within 30 days of their first activity in the range.
 */
export async function analytics(
  deps: { db: DbOrTx; config: Pick<Config, "school"> },
  range: Range,
  metric?: Metric,
) {
  const from = range.from.getTime();
  const to = range.to.getTime();
  const currency = deps.config.school.currency;
  const [
    revenue,
    [counts],
    topPrograms,
    topInstructors,
    [retention],
    series,
  ] = await Promise.all([
    deps.db.all<{ currency: string; amount: number }>(sql`
      SELECT currency, sum(amount) AS amount FROM (${REVENUE_ROWS})
      WHERE at >= ${from} AND at < ${to} GROUP BY currency`),
    deps.db.all<
      {
        enrollments: number;
        viewers: number;
        views: number;
        viewed: number;
        converted: number;
      }
    >(sql`
      WITH viewed AS (
        SELECT DISTINCT coalesce(user_id, json_extract(payload, '$.visitor')) AS visitor,
          user_id, program_id
        FROM events WHERE type = 'program.viewed'
          AND created_at >= ${from} AND created_at < ${to})
      SELECT
        (SELECT count(*) FROM events WHERE type = 'enrollment.created'
          AND created_at >= ${from} AND created_at < ${to}) AS enrollments,
        (SELECT count(DISTINCT visitor) FROM viewed) AS viewers,
        (SELECT count(*) FROM events WHERE type = 'program.viewed'
          AND created_at >= ${from} AND created_at < ${to}) AS views,
        (SELECT count(*) FROM viewed) AS viewed,
        (SELECT count(*) FROM viewed v WHERE v.user_id IS NOT NULL AND EXISTS (
          SELECT 1 FROM events e WHERE e.type = 'enrollment.created'
            AND e.user_id = v.user_id AND e.program_id = v.program_id
            AND e.created_at >= ${from} AND e.created_at < ${to})) AS converted`),
    deps.db.all<
      {
        id: string;
        title: string;
        instructorId: string;
        enrollments: number;
        views: number;
        revenue: number;
      }
    >(sql`
      WITH enrolled AS (
        SELECT program_id, count(*) AS n FROM events
        WHERE type = 'enrollment.created' AND created_at >= ${from} AND created_at < ${to}
        GROUP BY program_id),
      viewed AS (
        SELECT program_id, count(*) AS n FROM events
        WHERE type = 'program.viewed' AND created_at >= ${from} AND created_at < ${to}
        GROUP BY program_id),
      earned AS (
        SELECT program_id, sum(amount) AS amount FROM (${REVENUE_ROWS})
        WHERE source = 'payment' AND currency = ${currency}
          AND at >= ${from} AND at < ${to}
        GROUP BY program_id)
      SELECT p.id, p.title, p.instructor_id AS instructorId,
        coalesce(en.n, 0) AS enrollments, coalesce(vi.n, 0) AS views,
        coalesce(ea.amount, 0) AS revenue
      FROM programs p
      LEFT JOIN enrolled en ON en.program_id = p.id
      LEFT JOIN viewed vi ON vi.program_id = p.id
      LEFT JOIN earned ea ON ea.program_id = p.id
      WHERE en.n > 0 OR ea.amount > 0
      ORDER BY enrollments DESC, revenue DESC, p.title LIMIT ${TOP}`),
    deps.db.all<
      { id: string; name: string; enrollments: number; revenue: number }
    >(sql`
      WITH enrolled AS (
        SELECT p.instructor_id AS id, count(*) AS n FROM events e
        JOIN programs p ON p.id = e.program_id
        WHERE e.type = 'enrollment.created' AND e.created_at >= ${from} AND e.created_at < ${to}
        GROUP BY p.instructor_id),
      earned AS (
        SELECT p.instructor_id AS id, sum(r.amount) AS amount FROM (${REVENUE_ROWS}) r
        JOIN programs p ON p.id = r.program_id
        WHERE r.source = 'payment' AND r.currency = ${currency}
          AND r.at >= ${from} AND r.at < ${to}
        GROUP BY p.instructor_id)
      SELECT u.id, u.name, coalesce(en.n, 0) AS enrollments, coalesce(ea.amount, 0) AS revenue
      FROM users u
      LEFT JOIN enrolled en ON en.id = u.id
      LEFT JOIN earned ea ON ea.id = u.id
      WHERE en.n > 0 OR ea.amount > 0
      ORDER BY revenue DESC, enrollments DESC, u.name LIMIT ${TOP}`),
    deps.db.all<{ cohort: number; retained: number }>(sql`
      WITH firsts AS (
        SELECT e.user_id, min(e.created_at) AS first FROM events e
        JOIN users u ON u.id = e.user_id AND u.role = 'student' AND u.status != 'deleted'
        WHERE e.type IN (${activityTypes})
          AND e.created_at >= ${from} AND e.created_at < ${to}
        GROUP BY e.user_id)
      SELECT count(*) AS cohort, coalesce(sum(EXISTS (
        SELECT 1 FROM events a
        WHERE a.user_id = f.user_id AND a.type IN (${activityTypes})
          AND a.created_at >= (f.first / ${DAY} + 1) * ${DAY}
          AND a.created_at < f.first + ${RETENTION_WINDOW_DAYS} * ${DAY})), 0) AS retained
      FROM firsts f`),
    metric ? metricSeries(deps, range, metric) : Promise.resolve(undefined),
  ]);
  const money = moneyTotals(revenue, currency);
  const enrollments = counts?.enrollments ?? 0;
  return {
    // The days asked for, both included (the range itself ends at the next midnight).
    startDate: range.from.toISOString().slice(0, 10),
    endDate: new Date(to - DAY_MS).toISOString().slice(0, 10),
    totalRevenue: money.total,
    currency,
    revenueByCurrency: money.byCurrency,
    totalEnrollments: enrollments,
    programViews: counts?.views ?? 0,
    uniqueViewers: counts?.viewers ?? 0,
    conversionRate: pct(counts?.converted ?? 0, counts?.viewed ?? 0),
    conversion: {
      viewedPrograms: counts?.viewed ?? 0,
      enrolledAfterViewing: counts?.converted ?? 0,
    },
    topPrograms: topPrograms.map((row) => ({
      id: row.id,
      title: row.title,
      instructorId: row.instructorId,
      enrollments: row.enrollments,
      views: row.views,
      revenue: row.revenue / 100,
    })),
    topInstructors: topInstructors.map((row) => ({
      id: row.id,
      name: row.name,
      enrollments: row.enrollments,
      revenue: row.revenue / 100,
    })),
    userRetention: pct(retention?.retained ?? 0, retention?.cohort ?? 0),
    retention: {
      activeUsers: retention?.cohort ?? 0,
      returned: retention?.retained ?? 0,
      windowDays: RETENTION_WINDOW_DAYS,
    },
    ...(series ? { metric, series } : {}),
  };
}

/** Daily values (monthly past 92 days) of one metric, with zero-filled gaps, oldest first. */
export async function metricSeries(
  deps: { db: DbOrTx; config: Pick<Config, "school"> },
  range: Range,
  metric: Metric,
): Promise<{ period: string; value: number }[]> {
  const from = range.from.getTime();
  const to = range.to.getTime();
  const monthly = to - from > 92 * DAY_MS;
  const bucket = (column: string) =>
    sql.raw(
      `strftime('${
        monthly ? "%Y-%m" : "%Y-%m-%d"
      }', ${column} / 1000, 'unixepoch')`,
    );
  const query = {
    revenue: sql`SELECT ${bucket("at")} AS period, sum(amount) AS value
      FROM (${REVENUE_ROWS})
      WHERE currency = ${deps.config.school.currency} AND at >= ${from} AND at < ${to}
      GROUP BY period`,
    enrollments: sql`SELECT ${
      bucket("created_at")
    } AS period, count(*) AS value FROM events
      WHERE type = 'enrollment.created' AND created_at >= ${from} AND created_at < ${to}
      GROUP BY period`,
    views: sql`SELECT ${
      bucket("created_at")
    } AS period, count(*) AS value FROM events
      WHERE type = 'program.viewed' AND created_at >= ${from} AND created_at < ${to}
      GROUP BY period`,
    users: sql`SELECT ${
      bucket("created_at")
    } AS period, count(*) AS value FROM users
      WHERE status != 'deleted' AND created_at >= ${from} AND created_at < ${to}
      GROUP BY period`,
    activeUsers: sql`SELECT ${
      bucket("created_at")
    } AS period, count(DISTINCT user_id) AS value FROM events
      WHERE user_id IS NOT NULL AND type IN (${activityTypes})
        AND created_at >= ${from} AND created_at < ${to}
      GROUP BY period`,
  }[metric];
  const rows = await deps.db.all<{ period: string; value: number }>(query);
  const values = new Map(rows.map((row) => [row.period, row.value]));
  const out: { period: string; value: number }[] = [];
  const cursor = new Date(range.from);
  while (cursor.getTime() < to) {
    const period = cursor.toISOString().slice(0, monthly ? 7 : 10);
    const value = values.get(period) ?? 0;
    out.push({ period, value: metric === "revenue" ? value / 100 : value });
    if (monthly) {
      cursor.setUTCMonth(cursor.getUTCMonth() + 1, 1);
    } else cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  return out;
}
