import { loadConfig } from "../server/env.ts";
import { clusterRole } from "../server/lib/cluster.ts";

/** Commands that only read; everything else writes and must run on the primary. */
const READ_ONLY_VERBS = new Set(["list", "show", "verify", "export"]);
/** Commands named like a read that write. */
const WRITING_COMMANDS = new Set(["users verify"]);
const READ_ONLY_NOUNS = new Set(["reports", "audit"]);
/** These touch files, not the database. */
const READ_ONLY_COMMANDS = new Set(["backup create", "backup prune"]);

/** What the check needs of a commander command. */
interface CommandNode {
  name(): string;
  parent: CommandNode | null;
  opts(): Record<string, unknown>;
}

function pathOf(command: CommandNode): string[] {
  const names: string[] = [];
  for (let c: CommandNode | null = command; c?.parent; c = c.parent) {
    names.unshift(c.name());
  }
  return names;
}

/**
 * On a LiteFS replica the database is read-only: a command that writes stops before it starts and
 * says where the primary is (`fly ssh console` there). Reads and backups work anywhere.
 */
export function refuseWritesOnReplica(action: CommandNode): void {
  const path = pathOf(action);
  const readOnly = !WRITING_COMMANDS.has(path.join(" ")) && (
    READ_ONLY_VERBS.has(path.at(-1) ?? "") ||
    READ_ONLY_NOUNS.has(path[0] ?? "") ||
    READ_ONLY_COMMANDS.has(path.join(" ")) ||
    (path.join(" ") === "backup restore" && action.opts().extractTo)
  );
  if (readOnly) return;
  const role = clusterRole(loadConfig(Deno.env.toObject()).litefsDir);
  if (role.primary) return;
  if (path.join(" ") === "db migrate") {
    // litefs.yml runs this on every candidate; one that lost the lease to another is fine.
    console.log(
      `This machine is a replica; the primary (${role.primaryHost}) migrates.`,
    );
    Deno.exit(0);
  }
  console.error(
    `error: this machine is a read-only LiteFS replica; run \`${
      path.join(" ")
    }\` on the primary, ${role.primaryHost} (for example: fly ssh console --machine ${
      role.primaryHost.split(".")[0]
    }) (REPLICA)`,
  );
  Deno.exit(1);
}
