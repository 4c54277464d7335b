import { and, desc, eq, sql } from "drizzle-orm";
import { audit } from "../audit/service.ts";
import type { Db, DbOrTx } from "../../../db/client.ts";
import {
  programs,
  type Review,
  reviews,
  reviewVotes,
  users,
} from "../../../db/schema/mod.ts";
import { conflict, forbidden, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { featureAccess } from "../access/service.ts";
import { notify, type NotifyDeps } from "../notifications/service.ts";
import {
  type Actor,
  getVisibleProgram,
  ratingOf,
} from "../programs/service.ts";

interface DbDeps {
  db: Db;
}

export const REVIEW_SORTS = ["recent", "rating", "helpful"] as const;
export type ReviewSort = (typeof REVIEW_SORTS)[number];

export interface ReviewInput {
  rating: number;
  comment?: string | undefined;
}

export async function listReviews(
  deps: DbDeps,
  viewer: Actor | undefined,
  programRef: string,
  query: PageRequest & { sort?: ReviewSort | undefined },
) {
  const program = await getVisibleProgram(deps, viewer, programRef);
  const order = {
    recent: [desc(reviews.createdAt)],
    rating: [desc(reviews.rating), desc(reviews.createdAt)],
    helpful: [desc(reviews.helpfulCount), desc(reviews.createdAt)],
  }[query.sort ?? "recent"];
  const rows = await deps.db.select({
    review: reviews,
    userName: users.name,
    userAvatar: users.avatarUrl,
  }).from(reviews).innerJoin(users, eq(users.id, reviews.userId))
    .where(eq(reviews.programId, program.id))
    .orderBy(...order, desc(reviews.id))
    .limit(query.limit).offset(offsetOf(query));
  return {
    program,
    reviews: rows.map((row) =>
      toReviewResponse(row.review, row.userName, row.userAvatar)
    ),
    averageRating: ratingOf(program),
    totalReviews: program.reviewCount,
  };
}

export function toReviewResponse(
  review: Review,
  userName: string,
  userAvatar: string | null,
) {
  return {
    id: review.id,
    user: { id: review.userId, name: userName, avatar: userAvatar },
    rating: review.rating,
    comment: review.comment,
    helpful: review.helpfulCount,
    createdAt: review.createdAt.toISOString(),
    updatedAt: review.updatedAt.toISOString(),
  };
}

/** The rating sum and count move in the same transaction as the review, so they stay exact. */
async function adjustRating(
  tx: DbOrTx,
  programId: string,
  ratingDelta: number,
  countDelta: number,
) {
  await tx.update(programs).set({
    ratingSum: sql`${programs.ratingSum} + ${ratingDelta}`,
    reviewCount: sql`${programs.reviewCount} + ${countDelta}`,
  }).where(eq(programs.id, programId));
}

export async function createReview(
  deps: NotifyDeps,
  actor: Actor,
  programRef: string,
  input: ReviewInput,
): Promise<Review> {
  const program = await getVisibleProgram(deps, actor, programRef);
  if (program.instructorId === actor.id) {
    throw forbidden("FORBIDDEN", "You cannot review your own program");
  }
  const access = await featureAccess(deps, actor, program);
  if (!Object.values(access).some(Boolean)) {
    throw forbidden(
      "NOT_ENROLLED",
      "Only learners enrolled in this program can review it",
    );
  }
  const review = await deps.db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: reviews.id }).from(reviews).where(
      and(eq(reviews.programId, program.id), eq(reviews.userId, actor.id)),
    );
    if (existing) {
      throw conflict(
        "ALREADY_REVIEWED",
        "You have already reviewed this program; edit your review instead",
      );
    }
    const now = new Date();
    const [created] = await tx.insert(reviews).values({
      id: newId(),
      programId: program.id,
      userId: actor.id,
      rating: input.rating,
      comment: input.comment ?? "",
      createdAt: now,
      updatedAt: now,
    }).returning();
    await adjustRating(tx, program.id, input.rating, 1);
    return created!;
  });
  await notify(deps, {
    userId: program.instructorId,
    type: "new_review",
    title: `New review of ${program.title}`,
    message: `A learner rated ${program.title} ${review.rating} out of 5${
      review.comment ? `: "${review.comment.slice(0, 200)}"` : ""
    }`,
    link: `/api/programs/${program.id}/reviews`,
    relatedId: review.id,
  });
  return review;
}

async function getOwnReview(
  tx: DbOrTx,
  actor: Actor,
  programId: string,
  reviewId: string,
  allowAdmin: boolean,
) {
  const [review] = await tx.select().from(reviews).where(
    and(eq(reviews.id, reviewId), eq(reviews.programId, programId)),
  );
  if (!review) throw notFound("Review");
  if (review.userId !== actor.id && !(allowAdmin && actor.role === "admin")) {
    throw forbidden("FORBIDDEN", "You can only change your own review");
  }
  return review;
}

export async function updateReview(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  reviewId: string,
  input: Partial<ReviewInput>,
): Promise<Review> {
  const program = await getVisibleProgram(deps, actor, programRef);
  return await deps.db.transaction(async (tx) => {
    const review = await getOwnReview(tx, actor, program.id, reviewId, false);
    const [updated] = await tx.update(reviews).set({
      ...(input.rating !== undefined ? { rating: input.rating } : {}),
      ...(input.comment !== undefined ? { comment: input.comment } : {}),
      updatedAt: new Date(),
    }).where(eq(reviews.id, review.id)).returning();
    if (input.rating !== undefined) {
      await adjustRating(tx, program.id, input.rating - review.rating, 0);
    }
    return updated!;
  });
}

/** The author removes their review; admins may remove any (moderation). */
export async function deleteReview(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  reviewId: string,
): Promise<void> {
  const program = await getVisibleProgram(deps, actor, programRef);
  await deps.db.transaction(async (tx) => {
    const review = await getOwnReview(tx, actor, program.id, reviewId, true);
    await tx.delete(reviews).where(eq(reviews.id, review.id));
    await adjustRating(tx, program.id, -review.rating, -1);
    if (review.userId !== actor.id) {
      await audit(tx, actor, {
        action: "review.delete",
        targetType: "review",
        targetId: review.id,
        before: {
          programId: review.programId,
          userId: review.userId,
          rating: review.rating,
          comment: review.comment,
        },
      });
    }
  });
}

export async function markHelpful(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  reviewId: string,
): Promise<number> {
  const program = await getVisibleProgram(deps, actor, programRef);
  return await deps.db.transaction(async (tx) => {
    const [review] = await tx.select().from(reviews).where(
      and(eq(reviews.id, reviewId), eq(reviews.programId, program.id)),
    );
    if (!review) throw notFound("Review");
    if (review.userId === actor.id) {
      throw forbidden("FORBIDDEN", "You cannot mark your own review helpful");
    }
    const inserted = await tx.insert(reviewVotes).values({
      reviewId: review.id,
      userId: actor.id,
      createdAt: new Date(),
    }).onConflictDoNothing().returning();
    if (!inserted.length) {
      throw conflict(
        "ALREADY_VOTED",
        "You have already marked this review helpful",
      );
    }
    const [updated] = await tx.update(reviews).set({
      helpfulCount: sql`${reviews.helpfulCount} + 1`,
    }).where(eq(reviews.id, review.id)).returning({
      helpful: reviews.helpfulCount,
    });
    return updated!.helpful;
  });
}
