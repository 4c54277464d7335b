import {
  and,
  desc,
  eq,
  inArray,
  isNotNull,
  isNull,
  or,
  sql,
} from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type Message,
  messages,
  tutoringSessions,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { deliver, storeNotification } from "../notifications/service.ts";
import { assertWithinMessageLimit } from "../practice/comments.ts";
import type { Actor } from "../programs/service.ts";
import { areConnected } from "../relationships/service.ts";

type MessageDeps = Pick<
  Deps,
  "db" | "mail" | "logger" | "background" | "config" | "rateLimiter"
>;

/** A new message notifies at most once in this long per conversation, so a chat is not an email storm. */
const NOTIFY_QUIET_MS = 15 * 60_000;

/** A learner and an instructor may write to each other while they share a relationship or a session. */
export async function mayMessage(
  db: DbOrTx,
  a: string,
  b: string,
): Promise<boolean> {
  if (await areConnected(db, a, b)) return true;
  const [session] = await db.select({ id: tutoringSessions.id }).from(
    tutoringSessions,
  ).where(and(
    or(
      and(
        eq(tutoringSessions.learnerId, a),
        eq(tutoringSessions.instructorId, b),
      ),
      and(
        eq(tutoringSessions.learnerId, b),
        eq(tutoringSessions.instructorId, a),
      ),
    ),
    // A session that was really booked; an unpaid hold that lapsed opens nothing.
    or(
      inArray(tutoringSessions.status, ["booked", "completed"]),
      and(
        eq(tutoringSessions.status, "cancelled"),
        isNotNull(tutoringSessions.cancelledBy),
        or(
          eq(tutoringSessions.access, "mentorship"),
          isNotNull(tutoringSessions.refundStatus),
        ),
      ),
    ),
  )).limit(1);
  return !!session;
}

async function otherPerson(db: DbOrTx, viewer: Actor, userId: string) {
  if (userId === viewer.id) throw notFound("Conversation");
  const [other] = await db.select({
    id: users.id,
    name: users.name,
    avatar: users.avatarUrl,
    status: users.status,
  }).from(users).where(eq(users.id, userId));
  if (!other || other.status === "deleted") throw notFound("User");
  return other;
}

/** POST /api/messages/:userId. */
export async function sendMessage(
  deps: MessageDeps,
  sender: Actor,
  recipientId: string,
  body: string,
  now = new Date(),
): Promise<Message> {
  const other = await otherPerson(deps.db, sender, recipientId);
  if (other.status !== "active") {
    throw forbidden(
      "RECIPIENT_UNAVAILABLE",
      "This person cannot receive messages",
    );
  }
  if (!(await mayMessage(deps.db, sender.id, recipientId))) {
    throw forbidden(
      "NOT_CONNECTED",
      "You can message people you have a teacher-student relationship or a session with",
    );
  }
  assertWithinMessageLimit(deps, sender.id);
  const { message, stored } = await deps.db.transaction(async (tx) => {
    const [recent] = await tx.select({ at: messages.createdAt }).from(messages)
      .where(and(
        eq(messages.senderId, sender.id),
        eq(messages.recipientId, recipientId),
        isNull(messages.readAt),
      )).orderBy(desc(messages.createdAt)).limit(1);
    const [message] = await tx.insert(messages).values({
      id: newId(),
      senderId: sender.id,
      recipientId,
      body,
      createdAt: now,
    }).returning();
    const quiet = recent &&
      now.getTime() - recent.at.getTime() < NOTIFY_QUIET_MS;
    if (quiet) return { message: message!, stored: {} };
    const [me] = await tx.select({ name: users.name }).from(users).where(
      eq(users.id, sender.id),
    );
    const stored = await storeNotification(tx, deps, {
      userId: recipientId,
      type: "new_message",
      title: `New message from ${me?.name ?? "someone"}`,
      message: body.length > 140 ? `${body.slice(0, 139)}…` : body,
      link: `/api/messages/${sender.id}`,
      relatedId: message!.id,
    });
    return { message: message!, stored };
  });
  deliver(deps, stored);
  return message;
}

const between = (a: string, b: string) =>
  or(
    and(eq(messages.senderId, a), eq(messages.recipientId, b)),
    and(eq(messages.senderId, b), eq(messages.recipientId, a)),
  );

/** GET /api/messages/:userId: the conversation, newest first, with how many are unread. */
export async function conversation(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  userId: string,
  query: PageRequest,
) {
  const other = await otherPerson(deps.db, viewer, userId);
  const where = between(viewer.id, userId);
  const rows = await deps.db.select().from(messages).where(where).orderBy(
    desc(messages.createdAt),
    desc(messages.id),
  ).limit(query.limit).offset(offsetOf(query));
  const [count] = await deps.db.select({
    total: sql<number>`count(*)`,
    unread: sql<
      number
    >`coalesce(sum(case when ${messages.recipientId} = ${viewer.id} and ${messages.readAt} is null then 1 else 0 end), 0)`,
  }).from(messages).where(where);
  return {
    with: { id: other.id, name: other.name, avatar: other.avatar },
    messages: rows.map(toMessageResponse),
    unreadCount: count?.unread ?? 0,
    total: count?.total ?? 0,
  };
}

/** PUT /api/messages/:userId/read: everything they sent you is read now. */
export async function markConversationRead(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  userId: string,
): Promise<number> {
  await otherPerson(deps.db, viewer, userId);
  const updated = await deps.db.update(messages).set({ readAt: new Date() })
    .where(and(
      eq(messages.senderId, userId),
      eq(messages.recipientId, viewer.id),
      isNull(messages.readAt),
    )).returning({ id: messages.id });
  return updated.length;
}

/** GET /api/messages: one line per conversation, newest first, with unread counts and a total. */
export async function conversations(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  query: PageRequest,
) {
  const me = viewer.id;
  const other = sql<
    string
  >`case when ${messages.senderId} = ${me} then ${messages.recipientId} else ${messages.senderId} end`;
  const mine = or(eq(messages.senderId, me), eq(messages.recipientId, me));
  const grouped = await deps.db.select({
    userId: other,
    lastAt: sql<number>`max(${messages.createdAt})`,
    unread: sql<
      number
    >`sum(case when ${messages.recipientId} = ${me} and ${messages.readAt} is null then 1 else 0 end)`,
  }).from(messages).where(mine).groupBy(other).orderBy(
    sql`max(${messages.createdAt}) desc`,
  ).limit(query.limit).offset(offsetOf(query));
  const [totals] = await deps.db.select({
    conversations: sql<number>`count(distinct ${other})`,
    unread: sql<
      number
    >`coalesce(sum(case when ${messages.recipientId} = ${me} and ${messages.readAt} is null then 1 else 0 end), 0)`,
  }).from(messages).where(mine);
  const result = [];
  for (const row of grouped) {
    const [person] = await deps.db.select({
      id: users.id,
      name: users.name,
      avatar: users.avatarUrl,
    }).from(users).where(eq(users.id, row.userId));
    const [last] = await deps.db.select().from(messages).where(
      between(me, row.userId),
    ).orderBy(desc(messages.createdAt), desc(messages.id)).limit(1);
    result.push({
      with: person ?? { id: row.userId, name: "Deleted user", avatar: null },
      lastMessage: last ? toMessageResponse(last) : null,
      unreadCount: row.unread,
    });
  }
  return {
    conversations: result,
    unreadCount: totals?.unread ?? 0,
    total: totals?.conversations ?? 0,
  };
}

export function toMessageResponse(message: Message) {
  return {
    id: message.id,
    senderId: message.senderId,
    recipientId: message.recipientId,
    content: message.body,
    readAt: message.readAt?.toISOString() ?? null,
    createdAt: message.createdAt.toISOString(),
  };
}
