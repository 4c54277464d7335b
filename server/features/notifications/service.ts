import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type Notification,
  notificationDeliveries,
  notifications,
  type OutboxMessage,
  type Preferences,
  users,
} from "../../../db/schema/mod.ts";
import type {
  EmailData,
  EmailTemplateName,
} from "../../../templates/email/mod.tsx";
import type { Deps } from "../../deps.ts";
import { notFound } from "../../lib/errors.ts";
import { isId, newId } from "../../lib/ids.ts";
import { dispatchEmail, storeEmail } from "../email/service.ts";
import { NOTIFICATION_TYPES, type NotificationType } from "./types.ts";

export type NotifyDeps = Pick<
  Deps,
  "db" | "mail" | "logger" | "background" | "config"
>;

/** An email with its own template; without one, the generic `notification` email is sent. */
type EmailChoice = {
  [T in EmailTemplateName]: { template: T; data: EmailData<T> };
}[EmailTemplateName];

export interface NotificationInput {
  userId: string;
  type: NotificationType;
  title: string;
  message: string;
  /** An API path (`/api/programs/...`) or a page on this server. */
  link?: string | null;
  relatedId?: string | null;
  email?: EmailChoice;
}

/** Whether the user wants this type by email: account notices always go; others follow preferences. */
export function wantsEmail(
  preferences: Preferences,
  type: NotificationType,
): boolean {
  if (!NOTIFICATION_TYPES[type].optional) return true;
  return preferences.emailNotifications !== false &&
    preferences.emails?.[type] !== false;
}

/** A link a person can open from an email: a page, never a JSON API route (that would be a 401). */
const emailLink = (appUrl: string, link: string | null | undefined) =>
  !link || link.startsWith("/api/")
    ? undefined
    : /^https?:\/\//.test(link)
    ? link
    : `${appUrl}${link}`;

/**
 * Tells one person about something: an in-app notification always, an email when their preferences
 * allow, and a delivery-log row for each channel, in one transaction. Pass `tx` to commit the
 * notification with the change it reports; delivery starts once `deliver` is called after commit.
 */
export async function storeNotification(
  tx: DbOrTx,
  deps: Pick<Deps, "mail" | "config">,
  input: NotificationInput,
): Promise<{ notification?: Notification; email?: OutboxMessage }> {
  const [user] = await tx.select({
    email: users.email,
    name: users.name,
    status: users.status,
    preferences: users.preferences,
  }).from(users).where(eq(users.id, input.userId));
  if (!user || user.status === "deleted") return {};
  const now = new Date();
  const [notification] = await tx.insert(notifications).values({
    id: newId(),
    userId: input.userId,
    type: input.type,
    title: input.title,
    message: input.message,
    link: input.link ?? null,
    relatedId: input.relatedId ?? null,
    createdAt: now,
  }).returning();
  const logged = {
    notificationId: notification!.id,
    userId: input.userId,
    type: input.type,
    createdAt: now,
  };
  await tx.insert(notificationDeliveries).values({
    ...logged,
    id: newId(),
    channel: "in_app",
    status: "delivered",
  });
  if (!wantsEmail(user.preferences, input.type)) {
    await tx.insert(notificationDeliveries).values({
      ...logged,
      id: newId(),
      channel: "email",
      status: "suppressed",
    });
    return { notification };
  }
  const choice: EmailChoice = input.email ?? {
    template: "notification",
    data: {
      name: user.name,
      title: input.title,
      message: input.message,
      link: emailLink(deps.config.appUrl, input.link),
    },
  };
  const email = await storeEmail(
    tx,
    deps.mail !== undefined,
    user.email,
    choice.template,
    choice.data as never,
    {
      userId: input.userId,
      notificationId: notification!.id,
      type: input.type,
    },
  );
  return { notification, email };
}

/** Starts delivering what `storeNotification` queued; call after its transaction commits. */
export function deliver(
  deps: NotifyDeps,
  stored: { email?: OutboxMessage },
): void {
  if (stored.email) dispatchEmail(deps, stored.email);
}

/**
 * Notifies after the change has committed (its own transaction). A failure is logged, never
 * thrown: the change the learner asked for has already happened.
 */
export async function notify(
  deps: NotifyDeps,
  input: NotificationInput,
): Promise<Notification | undefined> {
  try {
    const stored = await deps.db.transaction((tx) =>
      storeNotification(tx, deps, input)
    );
    deliver(deps, stored);
    return stored.notification;
  } catch (error) {
    deps.logger.error("notification failed", {
      type: input.type,
      userId: input.userId,
      error: String(error),
    });
    return undefined;
  }
}

/** The active administrators, for notices about the school itself (applications). */
export async function adminIds(db: DbOrTx): Promise<string[]> {
  const rows = await db.select({ id: users.id }).from(users).where(and(
    eq(users.role, "admin"),
    eq(users.status, "active"),
  )).limit(100);
  return rows.map((row) => row.id);
}

// ---- the reader's side ------------------------------------------------------------------------

export async function listNotifications(
  deps: { db: DbOrTx },
  userId: string,
  filter: { unreadOnly: boolean; limit: number; offset: number },
) {
  const where = and(
    eq(notifications.userId, userId),
    filter.unreadOnly ? isNull(notifications.readAt) : undefined,
  );
  const [rows, total, unreadCount] = await Promise.all([
    deps.db.select().from(notifications).where(where)
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(filter.limit).offset(filter.offset),
    deps.db.$count(notifications, where),
    unreadCountOf(deps, userId),
  ]);
  return { notifications: rows, total, unreadCount };
}

export async function unreadCountOf(
  deps: { db: DbOrTx },
  userId: string,
): Promise<number> {
  return await deps.db.$count(
    notifications,
    and(eq(notifications.userId, userId), isNull(notifications.readAt)),
  );
}

/** Someone else's notification is a 404, as if it did not exist. */
async function ownNotification(
  db: DbOrTx,
  userId: string,
  id: string,
): Promise<Notification> {
  if (!isId(id)) throw notFound("Notification");
  const [row] = await db.select().from(notifications).where(and(
    eq(notifications.id, id),
    eq(notifications.userId, userId),
  ));
  if (!row) throw notFound("Notification");
  return row;
}

export async function markRead(
  deps: { db: DbOrTx },
  userId: string,
  id: string,
): Promise<Notification> {
  const row = await ownNotification(deps.db, userId, id);
  if (row.readAt) return row;
  const [updated] = await deps.db.update(notifications).set({
    readAt: new Date(),
  }).where(eq(notifications.id, row.id)).returning();
  return updated!;
}

export async function markAllRead(
  deps: { db: DbOrTx },
  userId: string,
): Promise<number> {
  const updated = await deps.db.update(notifications).set({
    readAt: new Date(),
  }).where(and(
    eq(notifications.userId, userId),
    isNull(notifications.readAt),
  )).returning({ id: notifications.id });
  return updated.length;
}

export async function deleteNotification(
  deps: { db: DbOrTx },
  userId: string,
  id: string,
): Promise<void> {
  const row = await ownNotification(deps.db, userId, id);
  await deps.db.delete(notifications).where(eq(notifications.id, row.id));
}

export function toNotificationResponse(row: Notification) {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    message: row.message,
    read: row.readAt !== null,
    readAt: row.readAt?.toISOString() ?? null,
    link: row.link,
    relatedId: row.relatedId,
    createdAt: row.createdAt.toISOString(),
  };
}

// ---- the delivery log (administrators) --------------------------------------------------------

export interface DeliveryFilter {
  status?: string | undefined;
  channel?: "in_app" | "email" | undefined;
  type?: string | undefined;
  userId?: string | undefined;
  notificationId?: string | undefined;
  limit: number;
  offset: number;
}

export async function deliveryLog(
  deps: { db: DbOrTx },
  filter: DeliveryFilter,
) {
  const d = notificationDeliveries;
  const where = and(
    filter.status
      ? eq(d.status, filter.status as typeof d.$inferSelect.status)
      : undefined,
    filter.channel ? eq(d.channel, filter.channel) : undefined,
    filter.type ? eq(d.type, filter.type) : undefined,
    filter.userId ? eq(d.userId, filter.userId) : undefined,
    filter.notificationId
      ? eq(d.notificationId, filter.notificationId)
      : undefined,
  );
  const [rows, total] = await Promise.all([
    deps.db.select({
      delivery: d,
      recipient: sql<
        string | null
      >`(SELECT o."to" FROM outbox_messages o WHERE o.id = ${d.outboxId})`,
    }).from(d).where(where).orderBy(desc(d.createdAt), desc(d.id))
      .limit(filter.limit).offset(filter.offset),
    deps.db.$count(d, where),
  ]);
  return {
    entries: rows.map(({ delivery, recipient }) => ({
      id: delivery.id,
      notificationId: delivery.notificationId,
      outboxId: delivery.outboxId,
      userId: delivery.userId,
      recipient,
      type: delivery.type,
      channel: delivery.channel,
      status: delivery.status,
      attempt: delivery.attempt,
      error: delivery.error,
      createdAt: delivery.createdAt.toISOString(),
    })),
    total,
  };
}

/** Notifies several people the same way (e.g. every administrator). */
export async function notifyAll(
  deps: NotifyDeps,
  userIds: string[],
  input: Omit<NotificationInput, "userId">,
): Promise<void> {
  for (const userId of new Set(userIds)) {
    await notify(deps, { ...input, userId });
  }
}
