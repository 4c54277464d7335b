import { and, asc, eq, or } from "drizzle-orm";
import {
  type CommentCategory,
  type SubmissionComment,
  submissionComments,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import {
  forbidden,
  notFound,
  tooManyRequests,
  validationFailed,
} from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import {
  deliver,
  type NotificationInput,
  storeNotification,
} from "../notifications/service.ts";
import type { Actor } from "../programs/service.ts";
import { loadSubmission, roleOf } from "./access.ts";

type CommentDeps = Pick<
  Deps,
  "db" | "mail" | "logger" | "background" | "config" | "rateLimiter"
>;

/** A recording of unknown length still cannot be commented past a day in. */
const MAX_UNKNOWN_DURATION_SECONDS = 24 * 3600;

/**
 * The budget messages and comments share: MESSAGE_RATE_LIMIT a minute per person, so one account
 * cannot flood a teacher or a thread.
 */
export function assertWithinMessageLimit(
  deps: Pick<Deps, "rateLimiter" | "config">,
  userId: string,
): void {
  const retryAfter = deps.rateLimiter.hit(
    `messages:${userId}`,
    deps.config.messageRateLimit,
    60_000,
  );
  if (retryAfter > 0) {
    throw tooManyRequests(
      retryAfter,
      "You are sending messages and comments too fast; wait a moment",
    );
  }
}

/** 0 <= t <= duration when the duration is known. */
function assertTimestamp(timestamp: number, duration: number | null) {
  const limit = duration ?? MAX_UNKNOWN_DURATION_SECONDS;
  if (timestamp > limit) {
    throw validationFailed({
      timestamp: duration === null
        ? `Must be at most ${limit} seconds`
        : `Must be within the recording (0 to ${duration} seconds)`,
    });
  }
}

export interface NewComment {
  content: string;
  timestamp: number;
  category?: CommentCategory | undefined;
}

async function commit(
  deps: CommentDeps,
  row: typeof submissionComments.$inferInsert,
  notices: NotificationInput[],
): Promise<SubmissionComment> {
  const { created, stored } = await deps.db.transaction(async (tx) => {
    const [created] = await tx.insert(submissionComments).values(row)
      .returning();
    const stored = [];
    for (const notice of notices) {
      stored.push(await storeNotification(tx, deps, notice));
    }
    return { created: created!, stored };
  });
  for (const one of stored) deliver(deps, one);
  return created;
}

async function nameOf(deps: CommentDeps, id: string) {
  const [row] = await deps.db.select({ name: users.name }).from(users).where(
    eq(users.id, id),
  );
  return row?.name ?? "Someone";
}

/** POST /api/videos/:videoId/comments: a remark at a moment of the recording. */
export async function addComment(
  deps: CommentDeps,
  author: Actor,
  submissionId: string,
  input: NewComment,
): Promise<SubmissionComment> {
  const { submission, access } = await loadSubmission(
    deps.db,
    author,
    submissionId,
  );
  if (!access.canComment) {
    throw forbidden(
      "CANNOT_COMMENT",
      "Only the owner and the people it is shared with can comment",
    );
  }
  assertTimestamp(input.timestamp, submission.durationSeconds);
  assertWithinMessageLimit(deps, author.id);
  const now = new Date();
  const notices: NotificationInput[] = author.id === submission.ownerId
    ? []
    : [{
      userId: submission.ownerId,
      type: "submission_comment",
      title: "New feedback on your recording",
      message: `${await nameOf(
        deps,
        author.id,
      )} commented on "${submission.title}" at ${
        formatMoment(input.timestamp)
      }.`,
      link: `/api/videos/${submission.id}/comments`,
      relatedId: submission.id,
    }];
  return await commit(deps, {
    id: newId(),
    submissionId: submission.id,
    authorId: author.id,
    parentId: null,
    content: input.content,
    timestampSeconds: input.timestamp,
    category: input.category ?? "general",
    createdAt: now,
    updatedAt: now,
  }, notices);
}

/** m:ss, as a player shows it. */
export function formatMoment(seconds: number): string {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

async function loadComment(deps: CommentDeps, viewer: Actor, id: string) {
  const [comment] = await deps.db.select().from(submissionComments).where(
    eq(submissionComments.id, id),
  );
  if (!comment) throw notFound("Comment");
  // A comment on a recording the viewer cannot see does not exist for them.
  const loaded = await loadSubmission(deps.db, viewer, comment.submissionId)
    .catch(() => {
      throw notFound("Comment");
    });
  return { comment, ...loaded };
}

/**
 * POST /api/comments/:id/replies. Threads are one level deep: a reply to a reply joins the same
 * thread, at the thread's moment.
 */
export async function replyToComment(
  deps: CommentDeps,
  author: Actor,
  commentId: string,
  content: string,
): Promise<SubmissionComment> {
  const { comment, submission, access } = await loadComment(
    deps,
    author,
    commentId,
  );
  if (!access.canComment) {
    throw forbidden(
      "CANNOT_COMMENT",
      "Only the owner and the people it is shared with can reply",
    );
  }
  assertWithinMessageLimit(deps, author.id);
  const threadId = comment.parentId ?? comment.id;
  const [thread] = comment.parentId
    ? await deps.db.select().from(submissionComments).where(
      eq(submissionComments.id, threadId),
    )
    : [comment];
  const name = await nameOf(deps, author.id);
  const notices: NotificationInput[] = [];
  // Someone who has since lost access to the recording is not told about it any more.
  const authorStillSees = comment.authorId !== author.id &&
    await roleOf(deps.db, { id: comment.authorId, role: "student" }, submission)
      .then((role) => role !== null);
  if (authorStillSees) {
    notices.push({
      userId: comment.authorId,
      type: "comment_reply",
      title: "A reply to your comment",
      message: `${name} replied to your comment on "${submission.title}".`,
      link: `/api/videos/${submission.id}/comments`,
      relatedId: submission.id,
    });
  }
  if (
    submission.ownerId !== author.id && submission.ownerId !== comment.authorId
  ) {
    notices.push({
      userId: submission.ownerId,
      type: "submission_comment",
      title: "New feedback on your recording",
      message: `${name} replied in a thread on "${submission.title}".`,
      link: `/api/videos/${submission.id}/comments`,
      relatedId: submission.id,
    });
  }
  const now = new Date();
  return await commit(deps, {
    id: newId(),
    submissionId: submission.id,
    authorId: author.id,
    parentId: threadId,
    content,
    timestampSeconds: thread?.timestampSeconds ?? comment.timestampSeconds,
    category: thread?.category ?? comment.category,
    createdAt: now,
    updatedAt: now,
  }, notices);
}

export interface CommentChanges {
  content?: string | undefined;
  timestamp?: number | undefined;
  category?: CommentCategory | undefined;
}

/** PUT /api/comments/:id: the author edits; a reply's moment follows its thread. */
export async function updateComment(
  deps: CommentDeps,
  viewer: Actor,
  id: string,
  changes: CommentChanges,
): Promise<SubmissionComment> {
  const { comment, submission } = await loadComment(deps, viewer, id);
  if (comment.authorId !== viewer.id) {
    throw forbidden("NOT_AUTHOR", "Only its author can edit a comment");
  }
  if (
    comment.parentId &&
    (changes.timestamp !== undefined || changes.category !== undefined)
  ) {
    const field = changes.timestamp !== undefined ? "timestamp" : "category";
    throw validationFailed({
      [field]: `A reply takes its thread's ${
        field === "timestamp" ? "moment" : "category"
      }; change the first comment`,
    });
  }
  if (changes.timestamp !== undefined) {
    assertTimestamp(changes.timestamp, submission.durationSeconds);
  }
  return await deps.db.transaction(async (tx) => {
    const [updated] = await tx.update(submissionComments).set({
      ...(changes.content !== undefined ? { content: changes.content } : {}),
      ...(changes.category !== undefined ? { category: changes.category } : {}),
      ...(changes.timestamp !== undefined
        ? { timestampSeconds: changes.timestamp }
        : {}),
      updatedAt: new Date(),
    }).where(eq(submissionComments.id, id)).returning();
    if (changes.timestamp !== undefined || changes.category !== undefined) {
      await tx.update(submissionComments).set({
        timestampSeconds: updated!.timestampSeconds,
        category: updated!.category,
      }).where(eq(submissionComments.parentId, id));
    }
    return updated!;
  });
}

/** DELETE /api/comments/:id: its author, the recording's owner, or an admin; replies go with it. */
export async function deleteComment(
  deps: CommentDeps,
  viewer: Actor,
  id: string,
): Promise<void> {
  const { comment, submission } = await loadComment(deps, viewer, id);
  const allowed = comment.authorId === viewer.id ||
    submission.ownerId === viewer.id || viewer.role === "admin";
  if (!allowed) {
    throw forbidden(
      "NOT_AUTHOR",
      "Only its author or the recording's owner can delete a comment",
    );
  }
  await deps.db.delete(submissionComments).where(or(
    eq(submissionComments.id, id),
    eq(submissionComments.parentId, id),
  ));
}

/** GET /api/videos/:videoId/comments: threads in the order of the recording, replies oldest first. */
export async function listComments(
  deps: CommentDeps,
  viewer: Actor,
  submissionId: string,
  filter: { category?: CommentCategory | undefined } = {},
) {
  const { submission } = await loadSubmission(deps.db, viewer, submissionId);
  const rows = await deps.db.select({
    comment: submissionComments,
    authorName: users.name,
    authorAvatar: users.avatarUrl,
    authorRole: users.role,
  }).from(submissionComments).innerJoin(
    users,
    eq(users.id, submissionComments.authorId),
  ).where(and(
    eq(submissionComments.submissionId, submission.id),
    filter.category
      ? eq(submissionComments.category, filter.category)
      : undefined,
  )).orderBy(
    asc(submissionComments.timestampSeconds),
    asc(submissionComments.createdAt),
    asc(submissionComments.id),
  );
  type Shaped = ReturnType<typeof shape> & {
    replies: ReturnType<typeof shape>[];
  };
  const shape = (row: (typeof rows)[number]) => ({
    ...toCommentResponse(row.comment),
    author: {
      id: row.comment.authorId,
      name: row.authorName,
      avatar: row.authorAvatar,
      role: row.authorRole,
    },
  });
  const threads: Shaped[] = [];
  const byId = new Map<string, Shaped>();
  for (const row of rows) {
    if (row.comment.parentId) continue;
    const thread = { ...shape(row), replies: [] };
    threads.push(thread);
    byId.set(row.comment.id, thread);
  }
  for (const row of rows) {
    if (row.comment.parentId) {
      byId.get(row.comment.parentId)?.replies.push(shape(row));
    }
  }
  return { comments: threads, total: rows.length };
}

export function toCommentResponse(comment: SubmissionComment) {
  return {
    id: comment.id,
    videoId: comment.submissionId,
    parentId: comment.parentId,
    content: comment.content,
    timestamp: comment.timestampSeconds,
    category: comment.category,
    authorId: comment.authorId,
    createdAt: comment.createdAt.toISOString(),
    updatedAt: comment.updatedAt.toISOString(),
  };
}
