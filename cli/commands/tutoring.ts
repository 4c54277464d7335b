import { Command, Option } from "@commander-js/extra-typings";
import { TUTORING_SESSION_STATUSES } from "../../db/schema/mod.ts";
import { listSessions } from "../../server/features/tutoring/sessions.ts";
import { resolveUser } from "../../server/features/users/service.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";

export const tutoringCommand = new Command("tutoring").description(
  "1-on-1 tutoring sessions",
);
const sessions = tutoringCommand.command("sessions").description(
  "Booked, held, past and cancelled sessions",
);

sessions.command("list")
  .description(
    "Upcoming sessions soonest first (--scope past: most recent first)",
  )
  .option("--instructor <id|email>", "only this instructor's")
  .option("--learner <id|email>", "only this learner's")
  .addOption(
    new Option("--status <status>", "only this status").choices(
      TUTORING_SESSION_STATUSES,
    ),
  )
  .addOption(
    new Option("--scope <scope>", "which sessions").choices([
      "upcoming",
      "past",
      "all",
    ]).default("upcoming"),
  )
  .option("--limit <n>", "how many", positiveInt, 50)
  .option("--page <n>", "which page", positiveInt, 1)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const limit = Math.min(options.limit, 500);
      const result = await withServices(async ({ deps }) =>
        await listSessions(deps.db, undefined, {
          instructorId: options.instructor
            ? (await resolveUser(deps, options.instructor)).id
            : undefined,
          learnerId: options.learner
            ? (await resolveUser(deps, options.learner)).id
            : undefined,
          status: options.status as
            | (typeof TUTORING_SESSION_STATUSES)[number]
            | undefined,
          scope: options.scope as "upcoming" | "past" | "all",
          limit,
          page: options.page,
        })
      );
      if (options.json) {
        return printJson({ ...result, page: options.page, limit });
      }
      for (const session of result.sessions) {
        console.log(
          `${session.startsAt}  ${
            String(session.durationMinutes).padStart(3)
          } min  ${
            session.status.padEnd(15)
          }  ${session.instructor.name} with ${session.learner.name}  ${session.topic}  ${session.id}`,
        );
      }
      console.log(
        `${result.sessions.length} of ${result.total} session${
          result.total === 1 ? "" : "s"
        }`,
      );
    } catch (error) {
      reportError(error);
    }
  });
