import { Command } from "@commander-js/extra-typings";
import { seedDemo } from "../../server/seed/demo.ts";
import { printJson, reportError, withServices } from "../context.ts";

export const seedCommand = new Command("seed")
  .description(
    "Fill the database with a demo school (idempotent: a second run changes nothing)",
  )
  .requiredOption(
    "--demo",
    "the demo school: accounts, programs, banks, enrollments, an exam, reviews, a certificate",
  )
  .option("--json", "print the accounts and what was made as JSON")
  .action(async (options) => {
    try {
      const report = await withServices(({ deps }) => seedDemo(deps));
      if (options.json) return printJson(report);
      console.log("Demo accounts (passwords are shown once, when made):");
      for (const account of report.accounts) {
        console.log(
          `  ${account.role.padEnd(10)} ${account.email.padEnd(32)} ${
            account.password ?? "(already there; password unchanged)"
          }`,
        );
      }
      console.log(
        report.created.length
          ? `Made: ${report.created.join("; ")}`
          : "Nothing new: the demo school was already there",
      );
    } catch (error) {
      reportError(error);
    }
  });
