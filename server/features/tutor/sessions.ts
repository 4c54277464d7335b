import { and, asc, count, desc, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type ChatMessage,
  chatMessages,
  type ChatSession,
  chatSessions,
} from "../../../db/schema/mod.ts";
import { notFound } from "../../lib/errors.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";

export const sessionView = (session: ChatSession) => ({
  id: session.id,
  title: session.title,
  programId: session.programId,
  messageCount: session.messageCount,
  lastMessageAt: session.lastMessageAt.toISOString(),
  createdAt: session.createdAt.toISOString(),
});

export const messageView = (message: ChatMessage) => ({
  id: message.id,
  role: message.role,
  content: message.content,
  timestamp: message.createdAt.toISOString(),
  status: message.status,
  mode: message.mode,
  citations: message.citations,
  errorCode: message.errorCode,
  rating: message.rating,
});

/** The learner's own sessions, most recently active first. */
export async function listSessions(
  db: DbOrTx,
  userId: string,
  page: PageRequest,
) {
  const mine = eq(chatSessions.userId, userId);
  const [rows, [totals]] = await Promise.all([
    db.select().from(chatSessions).where(mine)
      .orderBy(desc(chatSessions.lastMessageAt), desc(chatSessions.id))
      .limit(page.limit).offset(offsetOf(page)),
    db.select({ total: count() }).from(chatSessions).where(mine),
  ]);
  return { rows, total: totals?.total ?? 0 };
}

/** One of the learner's sessions with its messages in order; anyone else's is 404. */
export async function getSession(db: DbOrTx, userId: string, id: string) {
  const [session] = await db.select().from(chatSessions).where(and(
    eq(chatSessions.id, id),
    eq(chatSessions.userId, userId),
  ));
  if (!session) throw notFound("Chat session");
  // rowid keeps insertion order where messages share a millisecond.
  const messages = await db.select().from(chatMessages).where(
    eq(chatMessages.sessionId, id),
  ).orderBy(asc(chatMessages.createdAt), asc(sql`rowid`));
  return { session, messages };
}

/** Deletes a session and its messages (cascade); only the learner's own. */
export async function deleteSession(db: DbOrTx, userId: string, id: string) {
  const deleted = await db.delete(chatSessions).where(and(
    eq(chatSessions.id, id),
    eq(chatSessions.userId, userId),
  )).returning({ id: chatSessions.id });
  if (deleted.length === 0) throw notFound("Chat session");
}

/** 000: a learner rates an answer of their own sessions (up or down, optional comment); again replaces it. */
export async function rateMessage(
  db: DbOrTx,
  userId: string,
  messageId: string,
  feedback: { rating: "up" | "down"; comment?: string | undefined },
) {
  const [found] = await db.select({ message: chatMessages }).from(chatMessages)
    .innerJoin(chatSessions, eq(chatSessions.id, chatMessages.sessionId))
    .where(and(
      eq(chatMessages.id, messageId),
      eq(chatSessions.userId, userId),
      eq(chatMessages.role, "assistant"),
      eq(chatMessages.status, "complete"),
    ));
  if (!found) throw notFound("Answer");
  const changes = {
    rating: feedback.rating,
    feedbackComment: feedback.comment ?? null,
    feedbackAt: new Date(),
  };
  await db.update(chatMessages).set(changes).where(
    eq(chatMessages.id, messageId),
  );
  return { ...found.message, ...changes };
}
