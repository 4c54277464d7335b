import { Command, Option } from "@commander-js/extra-typings";
import { OUTBOX_STATUSES } from "../../db/schema/mod.ts";
import {
  getOutboxMessage,
  listOutbox,
} from "../../server/features/email/service.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";

export const outboxCommand = new Command("outbox").description(
  "Emails the platform has sent or kept",
);

outboxCommand.command("list")
  .description("Newest emails first")
  .option("--to <email>", "only to this address")
  .addOption(
    new Option("--status <status>", "only this status").choices(
      OUTBOX_STATUSES,
    ),
  )
  .option("--limit <n>", "how many", positiveInt, 20)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const limit = Math.min(Math.max(options.limit || 20, 1), 500);
      const messages = await withServices(({ deps }) =>
        listOutbox(deps, {
          ...(options.to ? { to: options.to } : {}),
          ...(options.status ? { status: options.status } : {}),
          limit,
        })
      );
      if (options.json) return printJson({ messages });
      for (const m of messages) {
        console.log(
          `${m.id}  ${m.createdAt.toISOString()}  ${
            m.status.padEnd(7)
          }  ${m.to}  ${m.subject}`,
        );
      }
      if (messages.length === 0) console.log("No emails");
    } catch (error) {
      reportError(error);
    }
  });

outboxCommand.command("show")
  .description("One email with its text (links included)")
  .argument("<id>", "outbox message id")
  .option("--json", "print as JSON")
  .action(async (id, options) => {
    try {
      const m = await withServices(({ deps }) => getOutboxMessage(deps, id));
      if (options.json) return printJson(m);
      console.log(
        `To: ${m.to}\nSubject: ${m.subject}\nStatus: ${m.status} (attempts ${m.attempts})${
          m.lastError ? `\nLast error: ${m.lastError}` : ""
        }\n\n${m.text}`,
      );
    } catch (error) {
      reportError(error);
    }
  });
