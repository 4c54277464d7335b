import { Command, Option } from "@commander-js/extra-typings";
import { ACCESS_TYPES } from "../../db/schema/mod.ts";
import {
  adminGrantAccess,
  adminRevokeAccess,
  listEnrollments,
} from "../../server/features/enrollments/service.ts";
import { getVisibleProgram } from "../../server/features/programs/service.ts";
import { resolveUser } from "../../server/features/users/service.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";
import { CLI_ACTOR } from "./programs.ts";

export const enrollmentsCommand = new Command("enrollments").description(
  "Who may use what: grant and revoke access without payments, list enrollments",
);

const accessOption = () =>
  new Option("--access <type>", "access type").choices(ACCESS_TYPES);

enrollmentsCommand.command("grant")
  .description(
    "Give a learner an access type to a program for good (no payment), and email them",
  )
  .requiredOption("--user <user>", "id or email")
  .requiredOption("--program <program>", "id or slug")
  .addOption(accessOption().makeOptionMandatory())
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      await withServices(async ({ deps }) => {
        const user = await resolveUser(deps, options.user);
        const program = await getVisibleProgram(
          deps,
          CLI_ACTOR,
          options.program,
        );
        const result = await adminGrantAccess(
          deps,
          CLI_ACTOR,
          user.id,
          program.id,
          options.access,
        );
        if (options.json) return printJson(result);
        console.log(
          result.granted
            ? `granted ${options.access} access to "${program.title}" to ${user.email}`
            : `${user.email} already had ${options.access} access to "${program.title}"`,
        );
      });
    } catch (error) {
      reportError(error);
    }
  });

enrollmentsCommand.command("revoke")
  .description(
    "End a learner's access to a program (one access type, or all); progress is kept",
  )
  .requiredOption("--user <user>", "id or email")
  .requiredOption("--program <program>", "id or slug")
  .addOption(accessOption())
  .option(
    "--reason <text>",
    "kept with the grant",
    "Revoked by an administrator",
  )
  .action(async (options) => {
    try {
      await withServices(async ({ deps }) => {
        const user = await resolveUser(deps, options.user);
        const program = await getVisibleProgram(
          deps,
          CLI_ACTOR,
          options.program,
        );
        const revoked = await adminRevokeAccess(
          deps,
          CLI_ACTOR,
          user.id,
          program.id,
          options.access,
          options.reason,
        );
        console.log(
          `revoked ${revoked} grant${
            revoked === 1 ? "" : "s"
          } of ${user.email} in "${program.title}"`,
        );
      });
    } catch (error) {
      reportError(error);
    }
  });

enrollmentsCommand.command("list")
  .description("Enrollments with their grants, newest first")
  .option("--user <user>", "only this learner (id or email)")
  .option("--program <program>", "only this program (id or slug)")
  .option("--limit <n>", "how many", positiveInt, 50)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      await withServices(async ({ deps }) => {
        const user = options.user
          ? await resolveUser(deps, options.user)
          : undefined;
        const program = options.program
          ? await getVisibleProgram(deps, CLI_ACTOR, options.program)
          : undefined;
        const rows = await listEnrollments(deps, {
          ...(user ? { userId: user.id } : {}),
          ...(program ? { programId: program.id } : {}),
          limit: Math.min(Math.max(options.limit, 1), 1000),
        });
        if (options.json) return printJson({ enrollments: rows });
        for (const row of rows) {
          const grants = row.grants.map((g) =>
            `${g.accessType}:${g.status}(${g.source})`
          ).join(" ") || "plan";
          console.log(
            `${row.id}  ${row.user.email}  "${row.program.title}"  ${row.status}  ${grants}`,
          );
        }
        console.log(`${rows.length} enrollment${rows.length === 1 ? "" : "s"}`);
      });
    } catch (error) {
      reportError(error);
    }
  });
