import { Hono } from "hono";
import { requestActor } from "../audit/service.ts";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { stripControlChars } from "../../lib/plain_text.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { pageQuery, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { optionalAuth, requireAuth, viewerOf } from "../../middleware/auth.ts";
import type { AppEnv } from "../../types.ts";
import { getUser } from "../users/service.ts";
import * as reviews from "./service.ts";

const tags = ["Reviews"];
const id = v.pipe(v.string(), v.maxLength(40));
const Rating = v.pipe(
  v.number("Must be a number"),
  v.integer("Must be a whole number from 1 to 5"),
  v.minValue(1, "Must be from 1 to 5"),
  v.maxValue(5, "Must be from 1 to 5"),
);
// Plain text: kept as written (clients escape it), without control characters.
const Comment = v.pipe(
  v.string("Must be a string"),
  v.transform(stripControlChars),
  v.trim(),
  v.maxLength(2000, "Must be at most 2000 characters"),
);
const ReviewBody = v.strictObject({
  rating: Rating,
  comment: v.optional(Comment),
}, "Unknown field");
const UpdateReviewBody = v.strictObject({
  rating: v.optional(Rating),
  comment: v.optional(Comment),
}, "Unknown field");
const ListQuery = v.object({
  ...pageQuery(10),
  sort: v.optional(
    v.picklist(reviews.REVIEW_SORTS, "sort must be recent, rating or helpful"),
  ),
});
const ReviewSchema = v.object({
  id: v.string(),
  user: v.object({
    id: v.string(),
    name: v.string(),
    avatar: v.nullable(v.string()),
  }),
  rating: v.number(),
  comment: v.string(),
  helpful: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
const ReviewListResponse = v.object({
  success: v.literal(true),
  reviews: v.array(ReviewSchema),
  averageRating: v.number(),
  totalReviews: v.number(),
});
const ReviewResponse = v.object({
  success: v.literal(true),
  review: ReviewSchema,
});
const HelpfulResponse = v.object({
  success: v.literal(true),
  helpful: v.number(),
});

/** Reviews, under /api/programs/:id/reviews. */
export function reviewRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);
  const toResponse = async (
    review: Awaited<ReturnType<typeof reviews.createReview>>,
  ) => {
    const author = await getUser(deps, review.userId);
    return reviews.toReviewResponse(review, author.name, author.avatarUrl);
  };

  app.get(
    "/:id/reviews",
    describeRoute({
      tags,
      summary: "A program's reviews (sort recent, rating or helpful)",
      responses: responses({
        description: "Reviews",
        schema: ReviewListResponse,
      }, [401, 404, 422]),
    }),
    optionalAuth(deps),
    validate("param", v.object({ id })),
    validate("query", ListQuery),
    async (c) => {
      const query = c.req.valid("query");
      const result = await reviews.listReviews(
        deps,
        viewerOf(c),
        c.req.valid("param").id,
        query,
      );
      const pagination = paginate(c, query, result.totalReviews);
      return c.json({
        success: true,
        reviews: result.reviews,
        averageRating: result.averageRating,
        totalReviews: result.totalReviews,
        pagination,
      });
    },
  );

  app.post(
    "/:id/reviews",
    describeRoute({
      tags,
      summary:
        "Review a program you are enrolled in (once; rating 1-5, plain-text comment)",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Created",
        schema: ReviewResponse,
      }, [400, 401, 403, 404, 409, 415, 422]),
    }),
    signedIn,
    validate("param", v.object({ id })),
    validate("json", ReviewBody),
    async (c) => {
      const review = await reviews.createReview(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      return c.json({ success: true, review: await toResponse(review) }, 201);
    },
  );

  app.put(
    "/:id/reviews/:reviewId",
    describeRoute({
      tags,
      summary: "Edit your review",
      security: bearerAuth,
      responses: responses({
        description: "Updated",
        schema: ReviewResponse,
      }, [400, 401, 403, 404, 415, 422]),
    }),
    signedIn,
    validate("param", v.object({ id, reviewId: id })),
    validate("json", UpdateReviewBody),
    async (c) => {
      const { id, reviewId } = c.req.valid("param");
      const review = await reviews.updateReview(
        deps,
        c.get("auth").user,
        id,
        reviewId,
        c.req.valid("json"),
      );
      return c.json({ success: true, review: await toResponse(review) });
    },
  );

  app.delete(
    "/:id/reviews/:reviewId",
    describeRoute({
      tags,
      summary: "Delete your review (admins: any review)",
      security: bearerAuth,
      responses: responses(
        { description: "Deleted", schema: MessageResponse },
        [
          401,
          403,
          404,
        ],
      ),
    }),
    signedIn,
    validate("param", v.object({ id, reviewId: id })),
    async (c) => {
      const { id, reviewId } = c.req.valid("param");
      await reviews.deleteReview(deps, requestActor(c, deps), id, reviewId);
      return c.json({ success: true, message: "Review deleted" });
    },
  );

  app.post(
    "/:id/reviews/:reviewId/helpful",
    describeRoute({
      tags,
      summary: "Mark a review helpful (once per person)",
      security: bearerAuth,
      responses: responses({
        description: "The new count",
        schema: HelpfulResponse,
      }, [401, 403, 404, 409]),
    }),
    signedIn,
    validate("param", v.object({ id, reviewId: id })),
    async (c) => {
      const { id, reviewId } = c.req.valid("param");
      const helpful = await reviews.markHelpful(
        deps,
        c.get("auth").user,
        id,
        reviewId,
      );
      return c.json({ success: true, helpful });
    },
  );

  return app;
}
