import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import type { Config } from "../../env.ts";
import {
  COUNTED_PAYMENT,
  moneyTotals,
  monthStart,
  NET_PAYMENT,
} from "../analytics/money.ts";
import { countsAsLearner } from "../enrollments/counting.ts";
import { instructorStats } from "./service.ts";

const TOP_PROGRAMS = 5;

/**
 * 002's instructor dashboard from real data, all SQL aggregates: learners, revenue (net of refunds,
 * in the school currency, with other currencies listed), programs, rating, this UTC month's
 * enrollments and revenue, and the programs with the most learners.
 */
export async function instructorDashboard(
  deps: { db: DbOrTx; config: Pick<Config, "school"> },
  instructorId: string,
  now = new Date(),
) {
  const since = monthStart(now).getTime();
  const currency = deps.config.school.currency;
  const [stats, revenue, [programCount], [enrolled], top] = await Promise.all([
    instructorStats(deps, instructorId),
    deps.db.all<{ currency: string; amount: number; month: number }>(sql`
      SELECT lower(p.currency) AS currency, sum(${NET_PAYMENT}) AS amount,
        sum(CASE WHEN p.succeeded_at >= ${since} THEN ${NET_PAYMENT} ELSE 0 END) AS month
      FROM payments p JOIN programs g ON g.id = p.program_id
      WHERE g.instructor_id = ${instructorId} AND ${COUNTED_PAYMENT}
      GROUP BY lower(p.currency)`),
    deps.db.all<{ n: number }>(sql`
      SELECT count(*) AS n FROM programs
      WHERE instructor_id = ${instructorId} AND deleted_at IS NULL`),
    deps.db.all<{ n: number }>(sql`
      SELECT count(*) AS n FROM enrollments e JOIN programs g ON g.id = e.program_id
      WHERE g.instructor_id = ${instructorId} AND g.deleted_at IS NULL
        AND e.created_at >= ${since} AND ${countsAsLearner("e")}`),
    deps.db.all<
      {
        id: string;
        title: string;
        enrollments: number;
        revenue: number;
        ratingSum: number;
        reviews: number;
      }
    >(sql`
      SELECT g.id, g.title, g.enrolled_count AS enrollments,
        coalesce((SELECT sum(${NET_PAYMENT}) FROM payments p
          WHERE p.program_id = g.id AND ${COUNTED_PAYMENT}
            AND lower(p.currency) = ${currency}), 0) AS revenue,
        g.rating_sum AS ratingSum, g.review_count AS reviews
      FROM programs g
      WHERE g.instructor_id = ${instructorId} AND g.deleted_at IS NULL
      ORDER BY g.enrolled_count DESC, revenue DESC, g.created_at
      LIMIT ${TOP_PROGRAMS}`),
  ]);
  const total = moneyTotals(revenue, currency);
  const month = moneyTotals(
    revenue.map((row) => ({ currency: row.currency, amount: row.month })),
    currency,
  );
  return {
    totalStudents: stats.totalStudents,
    totalRevenue: total.total,
    currency,
    revenueByCurrency: total.byCurrency,
    totalPrograms: programCount?.n ?? 0,
    publishedPrograms: stats.totalPrograms,
    averageRating: stats.rating,
    totalReviews: stats.totalReviews,
    newEnrollmentsThisMonth: enrolled?.n ?? 0,
    revenueThisMonth: month.total,
    topPrograms: top.map((row) => ({
      id: row.id,
      title: row.title,
      enrollments: row.enrollments,
      revenue: row.revenue / 100,
      rating: row.reviews
        ? Math.round((row.ratingSum / row.reviews) * 10) / 10
        : 0,
    })),
  };
}
