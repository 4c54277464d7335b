import { Argument, Command } from "@commander-js/extra-typings";
import { ReportQuery } from "../../server/features/admin/schemas.ts";
import {
  buildReport,
  reportRecords,
  REPORTS,
  toCsv,
} from "../../server/features/analytics/reports.ts";
import { dayRange } from "../../server/features/analytics/service.ts";
import { parseOrThrow } from "../../server/lib/validation.ts";
import { printJson, reportError, withServices } from "../context.ts";

/** Deno.stdout.write may take part of a buffer (a pipe); write until it is all out. */
async function writeAll(text: string) {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) {
    bytes = bytes.subarray(await Deno.stdout.write(bytes));
  }
}

export const reportsCommand = new Command("reports").description(
  "Daily revenue, enrollments and users, as a table, CSV or JSON (the same as GET /api/admin/reports/:name)",
);

reportsCommand
  .addArgument(
    new Argument("<report>", REPORTS.join(", ")).choices(REPORTS),
  )
  .option("--from <date>", "first day, YYYY-MM-DD (default: 29 days ago)")
  .option("--to <date>", "last day, included, YYYY-MM-DD (default: today)")
  .option("--csv", "print RFC 4180 CSV with a header row")
  .option("--json", "print JSON")
  .action(async (name, options) => {
    try {
      const query = parseOrThrow(ReportQuery, {
        ...(options.from ? { from: options.from } : {}),
        ...(options.to ? { to: options.to } : {}),
      });
      const report = await withServices(({ deps }) =>
        buildReport(deps, name, dayRange(query.from, query.to))
      );
      if (options.csv) return await writeAll(toCsv(report));
      if (options.json) {
        return printJson({
          report: name,
          from: query.from,
          to: query.to,
          rows: reportRecords(report),
        });
      }
      const widths = report.columns.map((column, i) =>
        Math.max(
          column.length,
          ...report.rows.map((row) => String(row[i]).length),
        )
      );
      const format = (cells: (string | number)[]) =>
        cells.map((cell, i) => String(cell).padEnd(widths[i]!)).join("  ")
          .trimEnd();
      console.log(format(report.columns));
      for (const row of report.rows) console.log(format(row));
      console.log(
        `${report.rows.length} row(s), ${query.from} to ${query.to}`,
      );
    } catch (error) {
      reportError(error);
    }
  });
