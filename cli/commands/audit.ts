import { Command, Option } from "@commander-js/extra-typings";
import type { AuditEntry } from "../../db/schema/mod.ts";
import {
  listAudit,
  toAuditResponse,
} from "../../server/features/audit/service.ts";
import {
  positiveInt,
  printJson,
  reportError,
  withServices,
} from "../context.ts";

export const auditCommand = new Command("audit").description(
  "The audit log of administrative actions",
);

const brief = (value: Record<string, unknown> | null) =>
  value ? JSON.stringify(value) : "—";
const line = (e: AuditEntry) =>
  `${e.createdAt.toISOString()}  ${
    e.action.padEnd(20)
  }  ${e.targetType}:${e.targetId}  by ${e.actorLabel}${
    e.ip ? ` from ${e.ip}` : ""
  }  ${brief(e.before)} -> ${brief(e.after)}`;

auditCommand.command("list")
  .description("Newest first")
  .option("--action <action>", "only this action, e.g. user.ban")
  .option("--actor <id>", "only actions by this user id")
  .option("--target <type:id>", "only actions on this record, e.g. user:01J...")
  .addOption(new Option("--via <via>", "api or cli").choices(["api", "cli"]))
  .option("--limit <n>", "how many", positiveInt, 50)
  .option("--page <n>", "which page", positiveInt, 1)
  .option("--json", "print as JSON")
  .action(async (options) => {
    try {
      const [targetType, targetId] = options.target?.split(":") ?? [];
      const limit = Math.min(options.limit, 500);
      const { entries, total } = await withServices(({ deps }) =>
        listAudit(deps, {
          action: options.action,
          actorId: options.actor,
          targetType: targetType || undefined,
          targetId: targetId || undefined,
          via: options.via as "api" | "cli" | undefined,
          limit,
          offset: (options.page - 1) * limit,
        })
      );
      if (options.json) {
        return printJson({
          entries: entries.map(toAuditResponse),
          total,
          page: options.page,
          limit,
        });
      }
      for (const entry of entries) console.log(line(entry));
      console.log(
        `${entries.length} of ${total} entr${total === 1 ? "y" : "ies"}`,
      );
    } catch (error) {
      reportError(error);
    }
  });
