import { and, desc, eq, isNull, lte, or, sql } from "drizzle-orm";
import {
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

/**
 * Renders an email, stores it in the outbox, and starts delivery in the background. Without SMTP the
 * message is logged (text only, links included) and kept with status `logged`.
 */
export async function queueEmail<T extends EmailTemplateName>(
  deps: EmailDeps,
  to: string,
  template: T,
  data: EmailData<T>,
): Promise<OutboxMessage> {
  const rendered = (emailTemplates[template] as (
    d: EmailData<T>,
  ) => ReturnType<typeof emailTemplates.verify_email>)(
    data,
  );
  const [message] = await deps.db.insert(outboxMessages).values({
    id: newId(),
    to,
    template,
    ...rendered,
    status: deps.mail ? "pending" : "logged",
    createdAt: new Date(),
  }).returning();
  if (!deps.mail) {
    deps.logger.info("email kept in outbox (SMTP_URL not set)", {
      outboxId: message!.id,
      to,
      subject: rendered.subject,
      text: rendered.text,
    });
  } else {
    deps.background.run(
      "deliver email",
      () => deliverMessage(deps, message!.id),
    );
  }
  return message!;
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
  try {
    await deps.mail.send({
      to: claimed.to,
      subject: claimed.subject,
      text: claimed.text,
      html: claimed.html,
    });
    await deps.db.update(outboxMessages).set({
      status: "sent",
      sentAt: new Date(),
      nextAttemptAt: null,
      lastError: null,
    })
      .where(eq(outboxMessages.id, id));
    return "sent";
  } catch (error) {
    const delay = RETRY_DELAYS_MS[claimed.attempts - 1];
    const status: OutboxStatus = delay === undefined ? "failed" : "pending";
    const lastError = error instanceof Error
      ? error.message.slice(0, 500)
      : String(error);
    await deps.db.update(outboxMessages)
      .set({
        status,
        lastError,
        nextAttemptAt: delay === undefined
          ? null
          : new Date(Date.now() + delay),
      })
      .where(eq(outboxMessages.id, id));
    deps.logger.warn("email delivery failed", {
      outboxId: id,
      attempt: claimed.attempts,
      status,
      error: lastError,
    });
    return status;
  }
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
