import * as v from "valibot";
import {
  COMMENT_CATEGORIES,
  SUBMISSION_STATUSES,
} from "../../../db/schema/mod.ts";
import { pageQuery } from "../../lib/pagination.ts";
import { stripControlChars } from "../../lib/plain_text.ts";

export const Id = v.pipe(v.string(), v.maxLength(40));

/** Plain text as written (clients escape it), without control characters. */
export const PlainText = (max: number, min = 0) =>
  v.pipe(
    v.string("Must be a string"),
    v.transform(stripControlChars),
    v.trim(),
    v.minLength(
      min,
      min === 1 ? "Must not be empty" : `Must be at least ${min} characters`,
    ),
    v.maxLength(max, `Must be at most ${max} characters`),
  );

const optionalText = (max: number) => v.optional(PlainText(max));
const nullableText = (max: number) => v.optional(v.nullable(PlainText(max)));

/** The text fields of POST /api/videos (multipart: every value arrives as a string). */
export const UploadFields = v.object({
  title: PlainText(200, 1),
  description: optionalText(5000),
  pieceName: optionalText(255),
  composer: optionalText(255),
  practiceGoals: optionalText(2000),
  programId: v.optional(Id),
  isPublic: v.optional(
    v.pipe(
      v.picklist(["true", "false"], "Must be true or false"),
      v.transform((value) => value === "true"),
    ),
  ),
});

export const UpdateBody = v.strictObject({
  title: v.optional(PlainText(200, 1)),
  description: nullableText(5000),
  pieceName: nullableText(255),
  composer: nullableText(255),
  practiceGoals: nullableText(2000),
  programId: v.optional(v.nullable(Id)),
  isPublic: v.optional(v.boolean("Must be true or false")),
}, "Unknown field");

export const ListQuery = v.object({
  ...pageQuery(12),
  status: v.optional(
    v.picklist(
      SUBMISSION_STATUSES,
      "status must be processing, ready or error",
    ),
  ),
});

export const ShareBody = v.strictObject({ userId: Id }, "Unknown field");

const Timestamp = v.pipe(
  v.number("Must be a number of seconds"),
  v.finite("Must be a number of seconds"),
  v.minValue(0, "Must be 0 or more"),
  v.transform((seconds) => Math.round(seconds * 1000) / 1000),
);
const Category = v.picklist(
  COMMENT_CATEGORIES,
  `Must be one of ${COMMENT_CATEGORIES.join(", ")}`,
);
export const CommentBody = v.strictObject({
  content: PlainText(2000, 1),
  timestamp: Timestamp,
  category: v.optional(Category),
}, "Unknown field");
export const UpdateCommentBody = v.strictObject({
  content: v.optional(PlainText(2000, 1)),
  timestamp: v.optional(Timestamp),
  category: v.optional(Category),
}, "Unknown field");
export const ReplyBody = v.strictObject({
  content: PlainText(2000, 1),
}, "Unknown field");
export const CommentQuery = v.object({ category: v.optional(Category) });

const Score = v.optional(
  v.pipe(
    v.number("Must be a number"),
    v.integer("Must be a whole number from 1 to 100"),
    v.minValue(1, "Must be from 1 to 100"),
    v.maxValue(100, "Must be from 1 to 100"),
  ),
);
export const RecordBody = v.strictObject({
  rating: v.pipe(
    v.number("Must be a number"),
    v.integer("Must be a whole number from 1 to 5"),
    v.minValue(1, "Must be from 1 to 5"),
    v.maxValue(5, "Must be from 1 to 5"),
  ),
  techniqueScore: Score,
  musicalityScore: Score,
  rhythmScore: Score,
  overallScore: Score,
  notes: optionalText(5000),
}, "Unknown field");

export const SubmissionSchema = v.object({
  id: v.string(),
  title: v.string(),
  description: v.nullable(v.string()),
  pieceName: v.nullable(v.string()),
  composer: v.nullable(v.string()),
  practiceGoals: v.nullable(v.string()),
  programId: v.nullable(v.string()),
  isPublic: v.boolean(),
  status: v.picklist(SUBMISSION_STATUSES),
  statusDetail: v.nullable(v.string()),
  duration: v.nullable(v.number()),
  kind: v.string(),
  mime: v.string(),
  size: v.number(),
  url: v.string(),
  thumbnailUrl: v.nullable(v.string()),
  urlExpiresAt: v.string(),
  commentCount: v.number(),
  access: v.object({
    role: v.string(),
    canComment: v.boolean(),
    canEdit: v.boolean(),
    canDelete: v.boolean(),
    canScore: v.boolean(),
  }),
  createdAt: v.string(),
  updatedAt: v.string(),
});

export const CommentSchema = v.object({
  id: v.string(),
  videoId: v.string(),
  parentId: v.nullable(v.string()),
  content: v.string(),
  timestamp: v.number(),
  category: v.string(),
  authorId: v.string(),
  createdAt: v.string(),
  updatedAt: v.string(),
});

export const RecordSchema = v.object({
  id: v.string(),
  studentId: v.string(),
  teacherId: v.string(),
  videoId: v.string(),
  rating: v.number(),
  techniqueScore: v.nullable(v.number()),
  musicalityScore: v.nullable(v.number()),
  rhythmScore: v.nullable(v.number()),
  overallScore: v.nullable(v.number()),
  notes: v.nullable(v.string()),
  createdAt: v.string(),
});
