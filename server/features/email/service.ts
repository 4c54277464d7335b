import { and, desc, eq, isNull, lte, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type DeliveryStatus,
  notificationDeliveries,
  type OutboxMessage,
  outboxMessages,
  type OutboxStatus,
} from "../../../db/schema/mod.ts";
import {
  type EmailData,
  type EmailTemplateName,
  emailTemplates,
} from "../../../templates/email/mod.tsx";
import type { Deps } from "../../deps.ts";
import { notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";

/** Waits before each retry; after the last one the message is marked failed. */
export const RETRY_DELAYS_MS = [
  60_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  6 * 3_600_000,
];
const CLAIM_LEASE_MS = 2 * 60_000;

type EmailDeps = Pick<Deps, "db" | "mail" | "logger" | "background">;

/** What the delivery log records about a message besides its template. */
export interface DeliveryContext {
  userId?: string | null;
  notificationId?: string | null;
  /** The notification type; defaults to the template name. */
  type?: string;
}

/**
 * Renders an email into the outbox and logs it as queued (or `logged`, without SMTP), using `db`:
 * pass a transaction to commit the message with the change it reports. Start delivery with
 * `dispatchEmail` once that has committed.
 */
export async function storeEmail<T extends EmailTemplateName>(
  db: DbOrTx,
  mailConfigured: boolean,
  to: string,
  template: T,
  data: EmailData<T>,
  context: DeliveryContext = {},
): Promise<OutboxMessage> {
  const rendered = (emailTemplates[template] as (
    d: EmailData<T>,
  ) => ReturnType<typeof emailTemplates.verify_email>)(
    data,
  );
  const now = new Date();
  const [message] = await db.insert(outboxMessages).values({
    id: newId(),
    to,
    template,
    ...rendered,
    status: mailConfigured ? "pending" : "logged",
    createdAt: now,
  }).returning();
  await db.insert(notificationDeliveries).values({
    id: newId(),
    notificationId: context.notificationId ?? null,
    outboxId: message!.id,
    userId: context.userId ?? null,
    type: context.type ?? template,
    channel: "email",
    status: mailConfigured ? "queued" : "logged",
    createdAt: now,
  });
  return message!;
}

/** Starts delivering a stored message in the background; without SMTP, writes it to the log. */
export function dispatchEmail(deps: EmailDeps, message: OutboxMessage): void {
  if (!deps.mail) {
    deps.logger.info("email kept in outbox (SMTP_URL not set)", {
      outboxId: message.id,
      to: message.to,
      subject: message.subject,
      text: message.text,
    });
    return;
  }
  deps.background.run(
    "deliver email",
    () => deliverMessage(deps, message.id),
  );
}

/**
 * Renders an email, stores it in the outbox, and starts delivery in the background. Without SMTP the
 * message is logged (text only, links included) and kept with status `logged`.
 */
export async function queueEmail<T extends EmailTemplateName>(
  deps: EmailDeps,
  to: string,
  template: T,
  data: EmailData<T>,
  context: DeliveryContext = {},
): Promise<OutboxMessage> {
  const message = await deps.db.transaction((tx) =>
    storeEmail(tx, deps.mail !== undefined, to, template, data, context)
  );
  dispatchEmail(deps, message);
  return message;
}

/**
 * One delivery-log row per attempt, carrying over the user, notification and type the message was
 * queued with (its first row), in one statement.
 */
async function logAttempt(
  deps: Pick<Deps, "db">,
  outboxId: string,
  attempt: { status: DeliveryStatus; number: number; error?: string },
) {
  const first = (column: string) =>
    sql.raw(
      `(SELECT ${column} FROM notification_deliveries d WHERE d.outbox_id = o.id ORDER BY d.created_at LIMIT 1)`,
    );
  await deps.db.run(sql`
    INSERT INTO notification_deliveries
      (id, notification_id, outbox_id, user_id, type, channel, status, attempt, error, created_at)
    SELECT ${newId()}, ${first("notification_id")}, o.id, ${
    first("user_id")
  }, coalesce(${
    first("type")
  }, o.template), 'email', ${attempt.status}, ${attempt.number}, ${
    attempt.error ?? null
  }, ${Date.now()}
    FROM outbox_messages o WHERE o.id = ${outboxId} RETURNING id`);
}

/** Tries one message if it is due and nobody else holds it; records the outcome. */
export async function deliverMessage(
  deps: EmailDeps,
  id: string,
): Promise<OutboxStatus | "skipped"> {
  if (!deps.mail) return "skipped";
  const now = new Date();
  const [claimed] = await deps.db.update(outboxMessages)
    .set({
      nextAttemptAt: new Date(now.getTime() + CLAIM_LEASE_MS),
      attempts: sql`${outboxMessages.attempts} + 1`,
    })
    .where(and(
      eq(outboxMessages.id, id),
      eq(outboxMessages.status, "pending"),
      or(
        isNull(outboxMessages.nextAttemptAt),
        lte(outboxMessages.nextAttemptAt, now),
      ),
    ))
    .returning();
  if (!claimed) return "skipped";
  let failure: unknown;
  try {
    await deps.mail.send({
      to: claimed.to,
      subject: claimed.subject,
      text: claimed.text,
      html: claimed.html,
    });
  } catch (error) {
    failure = error ?? new Error("delivery failed");
  }
  // Only the SMTP call decides: a failure to record a sent message must not schedule a resend.
  if (failure === undefined) {
    await deps.db.update(outboxMessages).set({
      status: "sent",
      sentAt: new Date(),
      nextAttemptAt: null,
      lastError: null,
    })
      .where(eq(outboxMessages.id, id));
    await logAttempt(deps, id, { status: "sent", number: claimed.attempts });
    return "sent";
  }
  const delay = RETRY_DELAYS_MS[claimed.attempts - 1];
  const status: OutboxStatus = delay === undefined ? "failed" : "pending";
  const lastError = failure instanceof Error
    ? failure.message.slice(0, 500)
    : String(failure);
  await deps.db.update(outboxMessages)
    .set({
      status,
      lastError,
      nextAttemptAt: delay === undefined ? null : new Date(Date.now() + delay),
    })
    .where(eq(outboxMessages.id, id));
  await logAttempt(deps, id, {
    status: status === "failed" ? "failed" : "retrying",
    number: claimed.attempts,
    error: lastError,
  });
  deps.logger.warn("email delivery failed", {
    outboxId: id,
    attempt: claimed.attempts,
    status,
    error: lastError,
  });
  return status;
}

/** Delivers every pending message whose retry time has come. Run periodically by the server. */
export async function deliverDue(deps: EmailDeps, limit = 50): Promise<number> {
  if (!deps.mail) return 0;
  const due = await deps.db.select({ id: outboxMessages.id }).from(
    outboxMessages,
  )
    .where(and(
      eq(outboxMessages.status, "pending"),
      or(
        isNull(outboxMessages.nextAttemptAt),
        lte(outboxMessages.nextAttemptAt, new Date()),
      ),
    ))
    .orderBy(outboxMessages.createdAt).limit(limit);
  let sent = 0;
  for (const { id } of due) {
    if (await deliverMessage(deps, id) === "sent") sent++;
  }
  return sent;
}

export async function listOutbox(
  deps: Pick<Deps, "db">,
  filter: { to?: string; status?: OutboxStatus; limit?: number } = {},
): Promise<OutboxMessage[]> {
  const conditions = [
    filter.to
      ? eq(outboxMessages.to, filter.to.trim().toLowerCase())
      : undefined,
    filter.status ? eq(outboxMessages.status, filter.status) : undefined,
  ];
  return await deps.db.select().from(outboxMessages).where(and(...conditions))
    .orderBy(desc(outboxMessages.createdAt), desc(outboxMessages.id)).limit(
      filter.limit ?? 20,
    );
}

export async function getOutboxMessage(
  deps: Pick<Deps, "db">,
  id: string,
): Promise<OutboxMessage> {
  const [message] = await deps.db.select().from(outboxMessages).where(
    eq(outboxMessages.id, id),
  );
  if (!message) throw notFound("Outbox message");
  return message;
}
