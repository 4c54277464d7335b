import { Command } from "@commander-js/extra-typings";
import { CLI_ACTOR } from "./programs.ts";
import * as categories from "../../server/features/categories/service.ts";
import { printJson, reportError, withServices } from "../context.ts";

export const categoriesCommand = new Command("categories").description(
  "Program categories: list, add, rename, remove",
);

categoriesCommand.command("list")
  .description("Every category with its number of published programs")
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      await withServices(async ({ deps }) => {
        const rows = await categories.listCategories(deps);
        if (options.json) {
          return printJson(
            rows.map(({ id, name, slug, programCount }) => ({
              id,
              name,
              slug,
              programCount,
            })),
          );
        }
        for (const row of rows) {
          console.log(
            `${row.id}  ${row.slug}  "${row.name}"  ${row.programCount} programs`,
          );
        }
      });
    } catch (error) {
      reportError(error);
    }
  });

categoriesCommand.command("add")
  .description("Add a category")
  .argument("<name>", 'its name, e.g. "Data Science"')
  .action(async (name) => {
    try {
      await withServices(async ({ deps }) => {
        const created = await categories.addCategory(deps, CLI_ACTOR, name);
        console.log(`Added "${created.name}" (${created.slug})`);
      });
    } catch (error) {
      reportError(error);
    }
  });

categoriesCommand.command("rename")
  .description("Rename a category")
  .argument("<category>", "id, slug or name")
  .argument("<name>", "the new name")
  .action(async (ref, name) => {
    try {
      await withServices(async ({ deps }) => {
        const renamed = await categories.renameCategory(
          deps,
          CLI_ACTOR,
          ref,
          name,
        );
        console.log(`Renamed to "${renamed.name}" (${renamed.slug})`);
      });
    } catch (error) {
      reportError(error);
    }
  });

categoriesCommand.command("remove")
  .description("Remove a category no program uses")
  .argument("<category>", "id, slug or name")
  .action(async (ref) => {
    try {
      await withServices(async ({ deps }) => {
        const removed = await categories.removeCategory(deps, CLI_ACTOR, ref);
        console.log(`Removed "${removed.name}"`);
      });
    } catch (error) {
      reportError(error);
    }
  });
