import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { hashToken } from "../../lib/secrets.ts";
import type { Context } from "hono";
import type { DbOrTx } from "../../../db/client.ts";
import { type AuditEntry, auditLog } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { clientIp } from "../../lib/client_ip.ts";
import { newId } from "../../lib/ids.ts";
import type { AppEnv } from "../../types.ts";

/** Where an administrative action came from: a signed-in user over HTTP, or the CLI. */
export interface AuditOrigin {
  via: "api" | "cli";
  /** Null for the CLI, which acts as no account. */
  actorId: string | null;
  actorLabel: string;
  ip: string | null;
  requestId: string | null;
}

/** Whoever acts; `origin` is filled in by routes and the CLI so audit entries say where from. */
export interface AuditedActor {
  id: string;
  role: string;
  origin?: AuditOrigin;
}

/** The signed-in user of a request as an actor that carries its origin (IP, request id). */
export function requestActor(
  c: Context<AppEnv>,
  deps: Pick<Deps, "config">,
) {
  const user = c.get("auth").user;
  return {
    id: user.id,
    role: user.role,
    origin: {
      via: "api" as const,
      actorId: user.id,
      actorLabel: user.email,
      ip: clientIp(c, deps.config.trustProxy),
      requestId: c.get("requestId") ?? null,
    },
  };
}

/** The CLI's actor: an administrator that is no account, labelled with the operating-system user. */
export function cliOrigin(): AuditOrigin {
  let user = "unknown";
  try {
    user = Deno.env.get("USER") ?? Deno.env.get("USERNAME") ?? "unknown";
  } catch {
    // No env permission: the label stays generic.
  }
  return {
    via: "cli",
    actorId: null,
    actorLabel: `cli:${user}`,
    ip: null,
    requestId: null,
  };
}

function originOf(actor: AuditedActor): AuditOrigin {
  if (actor.origin) return actor.origin;
  return actor.id === "cli" ? cliOrigin() : {
    via: "api",
    actorId: actor.id,
    actorLabel: actor.id,
    ip: null,
    requestId: null,
  };
}

export interface AuditRecord {
  /** `user.ban`, `application.approve`, `program.feature`... */
  action: string;
  targetType: string;
  targetId: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/** Appends one entry; call it inside the transaction that makes the change. */
export async function audit(
  tx: DbOrTx,
  actor: AuditedActor,
  record: AuditRecord,
): Promise<void> {
  const origin = originOf(actor);
  await tx.insert(auditLog).values({
    id: newId(),
    actorId: origin.actorId,
    actorLabel: origin.actorLabel,
    action: record.action,
    targetType: record.targetType,
    targetId: record.targetId,
    before: record.before ?? null,
    after: record.after ?? null,
    via: origin.via,
    ip: origin.ip,
    requestId: origin.requestId,
    createdAt: new Date(),
  });
}

export interface AuditFilter {
  action?: string | undefined;
  actorId?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  via?: "api" | "cli" | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  limit: number;
  offset: number;
}

/** Newest first. */
export async function listAudit(
  deps: { db: DbOrTx },
  filter: AuditFilter,
): Promise<{ entries: AuditEntry[]; total: number }> {
  const where: (SQL | undefined)[] = [
    filter.action ? eq(auditLog.action, filter.action) : undefined,
    filter.actorId ? eq(auditLog.actorId, filter.actorId) : undefined,
    filter.targetType ? eq(auditLog.targetType, filter.targetType) : undefined,
    filter.targetId ? eq(auditLog.targetId, filter.targetId) : undefined,
    filter.via ? eq(auditLog.via, filter.via) : undefined,
    filter.from ? gte(auditLog.createdAt, filter.from) : undefined,
    filter.to ? lt(auditLog.createdAt, filter.to) : undefined,
  ];
  const [entries, total] = await Promise.all([
    deps.db.select().from(auditLog).where(and(...where))
      .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
      .limit(filter.limit).offset(filter.offset),
    deps.db.$count(auditLog, and(...where)),
  ]);
  return { entries, total };
}

export function toAuditResponse(entry: AuditEntry) {
  return {
    id: entry.id,
    action: entry.action,
    actor: { id: entry.actorId, label: entry.actorLabel },
    target: { type: entry.targetType, id: entry.targetId },
    before: entry.before,
    after: entry.after,
    via: entry.via,
    ip: entry.ip,
    requestId: entry.requestId,
    createdAt: entry.createdAt.toISOString(),
  };
}

const MAX_TEXT = 200;
/**
 * Dates as ISO strings; long text cut short, with a fingerprint so two versions that differ only
 * further on still read differently (the entry says what changed, not the whole page).
 */
const plain = (value: unknown) =>
  value instanceof Date
    ? value.toISOString()
    : typeof value === "string" && value.length > MAX_TEXT
    ? `${value.slice(0, MAX_TEXT)}… (${value.length} characters, sha256 ${
      hashToken(value).slice(0, 12)
    })`
    : value;

/** The named fields that differ between two versions of a record, as the entry's before and after. */
export function changedFields<T extends object>(
  before: T,
  after: T,
  keys: readonly (keyof T & string)[],
): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const was: Record<string, unknown> = {};
  const now: Record<string, unknown> = {};
  for (const key of keys) {
    // Compared whole, recorded shortened: a change past the 200th character still counts.
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      was[key] = plain(before[key]);
      now[key] = plain(after[key]);
    }
  }
  return { before: was, after: now };
}
