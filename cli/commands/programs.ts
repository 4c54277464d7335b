import { Command, Option } from "@commander-js/extra-typings";
import { programDetail } from "../../server/features/programs/detail.ts";
import * as programs from "../../server/features/programs/service.ts";
import { cliOrigin } from "../../server/features/audit/service.ts";
import { printJson, reportError, withServices } from "../context.ts";

export const programsCommand = new Command("programs").description(
  "The catalog: list, inspect, publish, feature, delete",
);

/** The CLI acts with an administrator's rights, as the person at the server's terminal is one. */
export const CLI_ACTOR = {
  id: "cli",
  role: "admin",
  origin: cliOrigin(),
} as const;

const line = (p: ReturnType<typeof programs.toProgramSummary>) =>
  `${p.id}  ${p.status}${
    p.featured ? " featured" : ""
  }  ${p.slug}  "${p.title}"  by ${p.instructor.name}  ${p.currency} ${
    p.pricing.bundle.toFixed(2)
  }`;

const pageNumber = (v: string) => Number.parseInt(v, 10);

programsCommand.command("list")
  .description("List programs (all of them, as an admin sees them)")
  .addOption(
    new Option("--status <status>", "only this status").choices(
      ["draft", "published", "deleted"] as const,
    ),
  )
  .option("--category <name>", "only this category")
  .option("--instructor <id>", "only this instructor's")
  .option("--search <words>", "full-text search")
  .option("--featured", "only featured ones")
  .option("--limit <n>", "how many (at most 100)", pageNumber, 50)
  .option("--page <n>", "which page", pageNumber, 1)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      await withServices(async ({ deps }) => {
        const { rows, total } = await programs.listPrograms(deps, CLI_ACTOR, {
          page: options.page,
          limit: Math.min(Math.max(options.limit, 1), 100),
          sort: "newest",
          ...(options.status ? { status: options.status } : {}),
          ...(options.category ? { category: options.category } : {}),
          ...(options.instructor ? { instructorId: options.instructor } : {}),
          ...(options.search ? { search: options.search } : {}),
          ...(options.featured ? { featured: true } : {}),
        });
        const shown = rows.map((row) =>
          programs.toProgramSummary(deps.config.appUrl, row)
        );
        if (options.json) return printJson({ programs: shown, total });
        for (const program of shown) console.log(line(program));
        console.log(`${shown.length} of ${total}`);
      });
    } catch (error) {
      reportError(error);
    }
  });

programsCommand.command("show")
  .description("One program in full, by id or slug")
  .argument("<program>", "id or slug")
  .option("--json", "print as JSON")
  .action(async (ref, options) => {
    try {
      await withServices(async ({ deps }) => {
        const program = await programs.getVisibleProgram(deps, CLI_ACTOR, ref);
        const detail = await programDetail(deps, program);
        if (options.json) return printJson(detail);
        console.log(line(detail));
        console.log(`  category: ${detail.category}  level: ${detail.level}`);
        console.log(
          `  rating: ${detail.rating} (${detail.totalReviews} reviews)  enrolled: ${detail.enrolledCount}`,
        );
        for (const module of detail.curriculum) {
          console.log(
            `  - ${module.title}: ${module.lessons} lessons, ${module.duration}`,
          );
        }
        if (detail.deletedAt) console.log(`  deleted at ${detail.deletedAt}`);
      });
    } catch (error) {
      reportError(error);
    }
  });

/** publish, unpublish, feature, unfeature: one service call, one line. */
function flagCommand(
  name: string,
  description: string,
  flags: Parameters<typeof programs.setProgramFlags>[3],
  done: string,
) {
  programsCommand.command(name)
    .description(description)
    .argument("<program>", "id or slug")
    .option("--json", "print the program as JSON")
    .action(async (ref, options) => {
      try {
        await withServices(async ({ deps }) => {
          const program = await programs.setProgramFlags(
            deps,
            CLI_ACTOR,
            ref,
            flags,
          );
          if (options.json) {
            return printJson(await programDetail(deps, program));
          }
          console.log(`${done} ${program.slug} (${program.id})`);
        });
      } catch (error) {
        reportError(error);
      }
    });
}

flagCommand("publish", "Put a program in the catalog", {
  status: "published",
}, "Published");
flagCommand("unpublish", "Take a program back to draft", {
  status: "draft",
}, "Unpublished");
flagCommand("feature", "Feature a program", { featured: true }, "Featured");
flagCommand("unfeature", "Stop featuring a program", {
  featured: false,
}, "Unfeatured");

programsCommand.command("delete")
  .description(
    "Soft-delete a program: it leaves the catalog; enrollments and certificates stay",
  )
  .argument("<program>", "id or slug")
  .action(async (ref) => {
    try {
      await withServices(async ({ deps }) => {
        const program = await programs.deleteProgram(deps, CLI_ACTOR, ref);
        console.log(`Deleted ${program.slug} (${program.id})`);
      });
    } catch (error) {
      reportError(error);
    }
  });
