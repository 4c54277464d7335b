import { Command } from "@commander-js/extra-typings";
import { printJson, reportError, withServices } from "../context.ts";

export const dbCommand = new Command("db").description("Database maintenance");

dbCommand.command("migrate")
  .description("Apply pending migrations (safe to run again)")
  .option("--json", "print the result as JSON")
  .action(async (options) => {
    try {
      const applied = await withServices((services) =>
        Promise.resolve(services.appliedMigrations)
      );
      if (options.json) return printJson({ applied });
      console.log(
        applied.length
          ? `Applied ${applied.length} migration(s): ${applied.join(", ")}`
          : "Database is up to date",
      );
    } catch (error) {
      reportError(error);
    }
  });
