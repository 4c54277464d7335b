import { Command, Option } from "@commander-js/extra-typings";
import { RELATIONSHIP_STATUSES } from "../../db/schema/mod.ts";
import { listRelationships } from "../../server/features/relationships/service.ts";
import { resolveUser } from "../../server/features/users/service.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";

export const relationshipsCommand = new Command("relationships").description(
  "Teacher-student relationships",
);

relationshipsCommand.command("list")
  .description("Most recently changed first")
  .option("--user <id|email>", "only this person's (as teacher or student)")
  .addOption(
    new Option("--as <side>", "with --user: their side").choices([
      "teacher",
      "student",
    ]),
  )
  .addOption(
    new Option("--status <status>", "only this status").choices(
      RELATIONSHIP_STATUSES,
    ),
  )
  .option("--limit <n>", "how many", positiveInt, 50)
  .option("--page <n>", "which page", positiveInt, 1)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const limit = Math.min(options.limit, 500);
      const result = await withServices(async ({ deps }) =>
        await listRelationships(deps.db, {
          userId: options.user
            ? (await resolveUser(deps, options.user)).id
            : undefined,
          as: options.as as "teacher" | "student" | undefined,
          status: options.status as
            | (typeof RELATIONSHIP_STATUSES)[number]
            | undefined,
          limit,
          page: options.page,
        })
      );
      if (options.json) {
        return printJson({ ...result, page: options.page, limit });
      }
      for (const row of result.relationships) {
        console.log(
          `${
            row.status.padEnd(8)
          }  ${row.teacher.name} teaches ${row.student.name}  since ${row.createdAt}  ${row.id}`,
        );
      }
      console.log(
        `${result.relationships.length} of ${result.total} relationship${
          result.total === 1 ? "" : "s"
        }`,
      );
    } catch (error) {
      reportError(error);
    }
  });
