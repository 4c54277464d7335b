import { Command, Option } from "@commander-js/extra-typings";
import { APPLICATION_STATUSES } from "../../db/schema/mod.ts";
import {
  type ApplicationView,
  approveApplication,
  listApplications,
  rejectApplication,
  toApplicationResponse,
} from "../../server/features/instructors/applications.ts";
import { RejectBody } from "../../server/features/instructors/application_schemas.ts";
import { parseOrThrow } from "../../server/lib/validation.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";
import { CLI_ACTOR } from "./programs.ts";

export const instructorsCommand = new Command("instructors").description(
  "Applications to teach: list, approve, reject",
);

const line = ({ application, user }: ApplicationView) =>
  `${application.id}  ${application.status.padEnd(8)}  ${
    application.createdAt.toISOString().slice(0, 10)
  }  ${user.email}  ${user.name}  [${application.expertise.join(", ")}]`;

const applications = instructorsCommand.command("applications")
  .description("Applications to teach");

applications.command("list")
  .description("List applications, newest first")
  .addOption(
    new Option("--status <status>", "only this status").choices(
      APPLICATION_STATUSES,
    ),
  )
  .option("--limit <n>", "how many", positiveInt, 50)
  .option("--page <n>", "which page", positiveInt, 1)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const limit = Math.min(options.limit, 500);
      const { rows, total } = await withServices(({ deps }) =>
        listApplications(deps, {
          status: options.status,
          limit,
          offset: (options.page - 1) * limit,
        })
      );
      if (options.json) {
        return printJson({
          applications: rows.map(toApplicationResponse),
          total,
          page: options.page,
          limit,
        });
      }
      for (const row of rows) console.log(line(row));
      console.log(`${rows.length} of ${total} application(s)`);
    } catch (error) {
      reportError(error);
    }
  });

instructorsCommand.command("approve")
  .description(
    "Approve an application: the applicant becomes an instructor and is told",
  )
  .argument("<id>", "application id")
  .option("--json", "print the application as JSON")
  .action(async (id, options) => {
    try {
      const view = await withServices(({ deps }) =>
        approveApplication(deps, CLI_ACTOR, id)
      );
      if (options.json) return printJson(toApplicationResponse(view));
      console.log(`Approved: ${view.user.email} is now an instructor`);
    } catch (error) {
      reportError(error);
    }
  });

instructorsCommand.command("reject")
  .description("Reject an application; the reason is emailed to the applicant")
  .argument("<id>", "application id")
  .requiredOption("--reason <reason>", "why (sent to the applicant)")
  .option("--json", "print the application as JSON")
  .action(async (id, options) => {
    try {
      const { reason } = parseOrThrow(RejectBody, { reason: options.reason });
      const view = await withServices(({ deps }) =>
        rejectApplication(deps, CLI_ACTOR, id, reason)
      );
      if (options.json) return printJson(toApplicationResponse(view));
      console.log(`Rejected the application of ${view.user.email}`);
    } catch (error) {
      reportError(error);
    }
  });
