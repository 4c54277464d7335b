import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import type { Config } from "../../env.ts";
import {
  moneyTotals,
  monthKey,
  monthStart,
  REVENUE_ROWS,
} from "../analytics/money.ts";
import { LIVE_STATUSES } from "../subscriptions/current.ts";

const CHART_MONTHS = 12;
const RECENT_ACTIVITY = 10;
/** `strftime` month of a millisecond timestamp column. */
const monthOf = (column: string) =>
  sql.raw(`strftime('%Y-%m', ${column} / 1000, 'unixepoch')`);

/**
 * 002's admin dashboard, every figure a SQL aggregate: totals, this UTC month, and 12 months of
 * user and revenue growth (oldest first, months without activity as zeros).
 */
export async function adminDashboard(
  deps: { db: DbOrTx; config: Pick<Config, "school"> },
  now = new Date(),
) {
  const currency = deps.config.school.currency;
  const thisMonth = monthStart(now).getTime();
  const chartFrom = monthStart(now, -(CHART_MONTHS - 1)).getTime();
  const live = sql.join(LIVE_STATUSES.map((s) => sql`${s}`), sql`, `);
  const [[counts], revenue, userMonths, revenueMonths, [usersBefore], recent] =
    await Promise.all([
      deps.db.all<
        {
          users: number;
          instructors: number;
          programs: number;
          published: number;
          subscriptions: number;
          newUsers: number;
        }
      >(sql`
      SELECT
        (SELECT count(*) FROM users WHERE status != 'deleted') AS users,
        (SELECT count(*) FROM users WHERE status != 'deleted' AND role = 'instructor') AS instructors,
        (SELECT count(*) FROM programs WHERE deleted_at IS NULL) AS programs,
        (SELECT count(*) FROM programs WHERE deleted_at IS NULL AND status = 'published') AS published,
        (SELECT count(*) FROM subscriptions
          WHERE status IN (${live}) AND current_period_end > ${now.getTime()}) AS subscriptions,
        (SELECT count(*) FROM users
          WHERE status != 'deleted' AND created_at >= ${thisMonth}) AS newUsers`),
      deps.db.all<{ currency: string; amount: number; month: number }>(sql`
      SELECT currency, sum(amount) AS amount,
        sum(CASE WHEN at >= ${thisMonth} THEN amount ELSE 0 END) AS month
      FROM (${REVENUE_ROWS}) GROUP BY currency`),
      deps.db.all<{ month: string; n: number }>(sql`
      SELECT ${monthOf("created_at")} AS month, count(*) AS n FROM users
      WHERE status != 'deleted' AND created_at >= ${chartFrom}
      GROUP BY month`),
      deps.db.all<{ month: string; amount: number }>(sql`
      SELECT ${monthOf("at")} AS month, sum(amount) AS amount
      FROM (${REVENUE_ROWS}) WHERE at >= ${chartFrom} AND currency = ${currency}
      GROUP BY month`),
      deps.db.all<{ n: number }>(sql`
      SELECT count(*) AS n FROM users
      WHERE status != 'deleted' AND created_at < ${chartFrom}`),
      deps.db.all<
        {
          type: string;
          at: number;
          userId: string | null;
          userName: string | null;
          programId: string | null;
          programTitle: string | null;
        }
      >(sql`
      SELECT e.type, e.created_at AS at, e.user_id AS userId, u.name AS userName,
        e.program_id AS programId, p.title AS programTitle
      FROM events e
      LEFT JOIN users u ON u.id = e.user_id
      LEFT JOIN programs p ON p.id = e.program_id
      WHERE e.type IN ('enrollment.created', 'certificate.issued', 'quiz.passed')
      ORDER BY e.created_at DESC LIMIT ${RECENT_ACTIVITY}`),
    ]);
  const total = moneyTotals(revenue, currency);
  const monthly = moneyTotals(
    revenue.map((row) => ({ currency: row.currency, amount: row.month })),
    currency,
  );
  const newByMonth = new Map(userMonths.map((row) => [row.month, row.n]));
  const revenueByMonth = new Map(
    revenueMonths.map((row) => [row.month, row.amount]),
  );
  let running = usersBefore?.n ?? 0;
  const userGrowth = [];
  const revenueGrowth = [];
  for (let i = -(CHART_MONTHS - 1); i <= 0; i++) {
    const key = monthKey(monthStart(now, i));
    const added = newByMonth.get(key) ?? 0;
    running += added;
    userGrowth.push({ month: key, newUsers: added, totalUsers: running });
    revenueGrowth.push({
      month: key,
      revenue: Math.round(revenueByMonth.get(key) ?? 0) / 100,
    });
  }
  return {
    totalUsers: counts?.users ?? 0,
    totalInstructors: counts?.instructors ?? 0,
    totalPrograms: counts?.programs ?? 0,
    publishedPrograms: counts?.published ?? 0,
    totalRevenue: total.total,
    currency,
    revenueByCurrency: total.byCurrency,
    activeSubscriptions: counts?.subscriptions ?? 0,
    newUsersThisMonth: counts?.newUsers ?? 0,
    revenueThisMonth: monthly.total,
    chartData: { userGrowth, revenueGrowth },
    recentActivity: recent.map((row) => ({
      type: row.type,
      at: new Date(row.at).toISOString(),
      user: row.userId ? { id: row.userId, name: row.userName } : null,
      program: row.programId
        ? { id: row.programId, title: row.programTitle }
        : null,
    })),
  };
}
