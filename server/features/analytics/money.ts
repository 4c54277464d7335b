import { sql } from "drizzle-orm";

/**
 * What the school kept from one-time purchases: each succeeded (or later refunded) payment's amount
 * less what was refunded, dated when it succeeded. Subscription revenue is the paid invoices. Both
 * are in minor units; callers group by currency.
 *
 * One SQL definition, so the admin dashboard, analytics, the instructor dashboard and the CLI's
 * reports can never disagree about what "revenue" means.
 */
export const NET_PAYMENT = sql.raw(
  "(p.amount - p.refunded_amount)",
);
export const COUNTED_PAYMENT = sql.raw(
  "p.status IN ('succeeded', 'refunded') AND p.succeeded_at IS NOT NULL",
);
export const COUNTED_INVOICE = sql.raw("i.status = 'paid'");

/** Revenue rows: one per payment or invoice, `(at, amount, currency, program_id, source)`. */
export const REVENUE_ROWS = sql`
  SELECT p.succeeded_at AS at, ${NET_PAYMENT} AS amount, lower(p.currency) AS currency,
         p.program_id AS program_id, 'payment' AS source
  FROM payments p WHERE ${COUNTED_PAYMENT}
  UNION ALL
  SELECT i.created_at AS at, i.amount AS amount, lower(i.currency) AS currency,
         NULL AS program_id, 'subscription' AS source
  FROM invoices i WHERE ${COUNTED_INVOICE}`;

/** Minor units per currency -> the school currency's total (major units) and every currency's. */
export function moneyTotals(
  rows: { currency: string; amount: number }[],
  schoolCurrency: string,
): { total: number; currency: string; byCurrency: Record<string, number> } {
  const byCurrency: Record<string, number> = {};
  for (const row of rows) {
    byCurrency[row.currency] = (byCurrency[row.currency] ?? 0) +
      row.amount / 100;
  }
  for (const key of Object.keys(byCurrency)) {
    byCurrency[key] = Math.round(byCurrency[key]! * 100) / 100;
  }
  return {
    total: byCurrency[schoolCurrency] ?? 0,
    currency: schoolCurrency,
    byCurrency,
  };
}

/** The first instant of the UTC month that holds `date`, `offset` months later. */
export function monthStart(date: Date, offset = 0): Date {
  return new Date(
    Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1),
  );
}

/** `2026-11` for a date, in UTC. */
export const monthKey = (date: Date) => date.toISOString().slice(0, 7);
