import { Command, Option } from "@commander-js/extra-typings";
import {
  importQuestions,
  MAX_IMPORT_BYTES,
} from "../../server/features/quizzes/import.ts";
import { IMPORT_FORMATS } from "../../server/features/quizzes/question_model.ts";
import { AppError } from "../../server/lib/errors.ts";
import {
  exportProgramBank,
  exportQuiz,
} from "../../server/features/quizzes/export.ts";
import { EXPORT_FORMATS } from "../../server/features/quizzes/exporters/mod.ts";
import { setAccommodation } from "../../server/features/quizzes/attempts.ts";
import { getEditableProgram } from "../../server/features/programs/service.ts";
import { resolveUser } from "../../server/features/users/service.ts";
import { printJson, reportError, withServices } from "../context.ts";
import { CLI_ACTOR } from "./programs.ts";

export const quizzesCommand = new Command("quizzes").description(
  "Quizzes and question banks: import (GIFT, Moodle XML, Aiken, CSV, JSON), export, extra time",
);

async function readSource(path: string): Promise<string> {
  const bytes = path === "-"
    ? new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer())
    : await Deno.readFile(path).catch((error) => {
      throw new AppError(
        404,
        "FILE_NOT_FOUND",
        `Cannot read ${path}: ${
          error instanceof Error ? error.message : error
        }`,
      );
    });
  if (bytes.byteLength > MAX_IMPORT_BYTES) {
    throw new AppError(
      413,
      "PAYLOAD_TOO_LARGE",
      `A bank file may be at most ${MAX_IMPORT_BYTES} bytes`,
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new AppError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `${path} is not UTF-8 text`,
    );
  }
}

/** A one-line bar on stderr, only when a person is watching and the bank is large. */
function progressBar(enabled: boolean) {
  const encoder = new TextEncoder();
  return (done: number, total: number) => {
    if (!enabled || total < 1000) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    Deno.stderr.writeSync(
      encoder.encode(
        `\r[${"#".repeat(filled)}${
          " ".repeat(width - filled)
        }] ${done}/${total}${done === total ? "\n" : ""}`,
      ),
    );
  };
}

quizzesCommand.command("import")
  .description(
    "Import a bank file (or - for stdin) into a program; all or nothing, every error reported",
  )
  .argument("<file>", "path, or - for standard input")
  .requiredOption("--program <program>", "id or slug")
  .option("--quiz <id>", "also add the questions to this quiz")
  .option("--new-quiz <title>", "create a quiz with these questions")
  .addOption(
    new Option("--format <format>", "detected from the content when left out")
      .choices(IMPORT_FORMATS),
  )
  .option("--dry-run", "report what would be created, change nothing")
  .option("--json", "print the report as JSON")
  .action(async (file, options) => {
    try {
      const source = await readSource(file);
      await withServices(async ({ deps }) => {
        const report = await importQuestions(
          deps,
          CLI_ACTOR,
          {
            programRef: options.program,
            source,
            ...(options.quiz ? { quizId: options.quiz } : {}),
            ...(options.newQuiz ? { newQuizTitle: options.newQuiz } : {}),
            ...(options.format ? { format: options.format } : {}),
            ...(options.dryRun ? { dryRun: true } : {}),
          },
          progressBar(!options.json && Deno.stderr.isTerminal()),
        );
        const { ok, ...shown } = report;
        if (options.json) printJson(shown);
        else {
          for (const warning of report.warnings) {
            console.error(`warning: ${warning.location}: ${warning.message}`);
          }
          for (const error of report.errors) {
            console.error(`error: ${error.location}: ${error.message}`);
          }
          if (ok) {
            const verb = report.dryRun ? "would create" : "created";
            const into = report.quiz ? ` (quiz "${report.quiz.title}")` : "";
            console.log(
              `${report.format}: ${verb} ${report.created}, skipped ${report.skipped} already in the bank${into}`,
            );
          } else {
            console.error(
              `${report.errors.length} error${
                report.errors.length === 1 ? "" : "s"
              }: nothing was imported`,
            );
          }
        }
        if (!ok) Deno.exitCode = 1;
      });
    } catch (error) {
      reportError(error);
    }
  });

quizzesCommand.command("export")
  .description(
    "Export a quiz's questions (or a program's whole bank) as GIFT or JSON; importing the file reproduces them",
  )
  .option("--quiz <id>", "the quiz to export")
  .option("--program <program>", "export the program's whole bank instead")
  .addOption(
    new Option("--format <format>", "file format").choices(EXPORT_FORMATS)
      .default("json" as const),
  )
  .option("--out <file>", "write to a file instead of standard output")
  .action(async (options) => {
    try {
      if (!options.quiz === !options.program) {
        throw new AppError(
          422,
          "VALIDATION_FAILED",
          "Give either --quiz ID or --program ID",
        );
      }
      await withServices(async ({ deps }) => {
        const file = options.quiz
          ? await exportQuiz(deps, CLI_ACTOR, options.quiz, options.format)
          : await exportProgramBank(
            deps,
            CLI_ACTOR,
            options.program!,
            options.format,
          );
        if (options.out) {
          await Deno.writeTextFile(options.out, file.body);
          console.error(`wrote ${options.out}`);
        } else {
          await Deno.stdout.write(new TextEncoder().encode(file.body));
        }
      });
    } catch (error) {
      reportError(error);
    }
  });

quizzesCommand.command("accommodate")
  .description(
    "Give a learner extra time in a program's timed quizzes (1 removes it)",
  )
  .requiredOption("--user <user>", "id or email")
  .requiredOption("--program <program>", "id or slug")
  .requiredOption("--multiplier <n>", "e.g. 1.5 for half as much time again")
  .option("--note <text>", "why, for the record")
  .action(async (options) => {
    try {
      const multiplier = Number(options.multiplier);
      if (!Number.isFinite(multiplier) || multiplier < 1 || multiplier > 5) {
        throw new AppError(
          422,
          "VALIDATION_FAILED",
          "--multiplier must be a number from 1 to 5",
        );
      }
      await withServices(async ({ deps }) => {
        const user = await resolveUser(deps, options.user);
        const program = await getEditableProgram(
          deps,
          CLI_ACTOR,
          options.program,
        );
        await setAccommodation(deps, CLI_ACTOR, program, {
          userId: user.id,
          timeMultiplier: multiplier,
          note: options.note,
        });
        console.log(
          multiplier === 1
            ? `${user.email} has no extra time in "${program.title}"`
            : `${user.email} gets ${multiplier}× the time in "${program.title}"`,
        );
      });
    } catch (error) {
      reportError(error);
    }
  });
