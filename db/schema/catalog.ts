import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const PROGRAM_STATUSES = ["draft", "published"] as const;
export type ProgramStatus = (typeof PROGRAM_STATUSES)[number];
export const PROGRAM_LEVELS = [
  "Beginner",
  "Intermediate",
  "Advanced",
  "All Levels",
] as const;
export type ProgramLevel = (typeof PROGRAM_LEVELS)[number];

/** The features a program sells separately; `bundle` is all three. */
export const ACCESS_TYPES = [
  "chatbot",
  "documentation",
  "examSimulator",
  "bundle",
] as const;
export type AccessType = (typeof ACCESS_TYPES)[number];

export const categories = sqliteTable(
  "categories",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    slug: text("slug").notNull().unique(),
    position: integer("position").notNull().default(0),
    createdAt: timestamp("created_at").notNull(),
  },
  (
    t,
  ) => [
    uniqueIndex("categories_name_nocase_idx").on(sql`${t.name} COLLATE NOCASE`),
  ],
);

export const MEDIA_KINDS = ["image", "pdf", "audio", "video"] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];
export const MEDIA_VISIBILITIES = ["public", "private"] as const;
export type MediaVisibility = (typeof MEDIA_VISIBILITIES)[number];

export interface MediaVariant {
  key: string;
  mime: string;
  width: number;
  height: number;
  size: number;
}
export type MediaVariants = Partial<
  Record<"thumbnail" | "display", MediaVariant>
>;

/** One uploaded file. The bytes live in the media storage under a content-addressed key. */
export const media = sqliteTable("media", {
  id: text("id").primaryKey(),
  ownerId: text("owner_id").notNull().references(() => users.id),
  /** Set for program media; null for avatars and thumbnails until attached. */
  programId: text("program_id").references(() => programs.id),
  kind: text("kind", { enum: MEDIA_KINDS }).notNull(),
  mime: text("mime").notNull(),
  sizeBytes: integer("size_bytes").notNull(),
  sha256: text("sha256").notNull(),
  storageKey: text("storage_key").notNull(),
  variants: text("variants", { mode: "json" }).$type<MediaVariants>().notNull()
    .default({}),
  width: integer("width"),
  height: integer("height"),
  visibility: text("visibility", { enum: MEDIA_VISIBILITIES }).notNull(),
  originalName: text("original_name"),
  title: text("title"),
  createdAt: timestamp("created_at").notNull(),
  deletedAt: timestamp("deleted_at"),
}, (t) => [
  index("media_program_idx").on(t.programId),
  index("media_owner_idx").on(t.ownerId),
]);

export interface CertificateRule {
  finalExam: boolean;
  requiredQuizzes: boolean;
  allLessons: boolean;
}

export const programs = sqliteTable("programs", {
  id: text("id").primaryKey(),
  instructorId: text("instructor_id").notNull().references(() => users.id),
  title: text("title").notNull(),
  /** Derived from the title; frozen once the program has been published. */
  slug: text("slug").notNull().unique(),
  description: text("description").notNull().default(""),
  /** Sanitized on write; `overviewText` is its plain text, for search. */
  overviewHtml: text("overview_html").notNull().default(""),
  overviewText: text("overview_text").notNull().default(""),
  categoryId: text("category_id").notNull().references(() => categories.id),
  thumbnailMediaId: text("thumbnail_media_id"),
  /** Prices in minor units of `currency`. */
  priceChatbot: integer("price_chatbot").notNull().default(0),
  priceDocumentation: integer("price_documentation").notNull().default(0),
  priceExamSimulator: integer("price_exam_simulator").notNull().default(0),
  priceBundle: integer("price_bundle").notNull().default(0),
  currency: text("currency").notNull().default("USD"),
  freeQuestionsCount: integer("free_questions_count").notNull().default(0),
  /**
   * What earns the certificate, all of it: null means the final exam when the program has one,
   * otherwise every lesson.
   */
  certificateRule: text("certificate_rule", { mode: "json" }).$type<
    CertificateRule
  >(),
  /** Null: certificates do not expire. */
  certificateValidityDays: integer("certificate_validity_days"),
  prerequisites: text("prerequisites", { mode: "json" }).$type<string[]>()
    .notNull().default([]),
  features: text("features", { mode: "json" }).$type<string[]>().notNull()
    .default([]),
  level: text("level", { enum: PROGRAM_LEVELS }).notNull().default(
    "All Levels",
  ),
  duration: text("duration").notNull().default(""),
  language: text("language").notNull().default("English"),
  status: text("status", { enum: PROGRAM_STATUSES }).notNull().default("draft"),
  featured: integer("featured", { mode: "boolean" }).notNull().default(false),
  /** Kept exact by the review service in the same transaction as each review change. */
  ratingSum: integer("rating_sum").notNull().default(0),
  reviewCount: integer("review_count").notNull().default(0),
  /** Active enrollments; maintained by the enrollment service. */
  enrolledCount: integer("enrolled_count").notNull().default(0),
  publishedAt: timestamp("published_at"),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
  deletedAt: timestamp("deleted_at"),
}, (t) => [
  index("programs_listing_idx").on(t.status, t.deletedAt, t.createdAt),
  index("programs_instructor_idx").on(t.instructorId),
  index("programs_category_idx").on(t.categoryId),
  index("programs_price_idx").on(t.priceBundle),
  index("programs_popular_idx").on(t.enrolledCount),
]);

export const modules = sqliteTable("modules", {
  id: text("id").primaryKey(),
  programId: text("program_id").notNull().references(() => programs.id, {
    onDelete: "cascade",
  }),
  title: text("title").notNull(),
  description: text("description").notNull().default(""),
  position: integer("position").notNull(),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [index("modules_program_idx").on(t.programId, t.position)]);

export const lessons = sqliteTable("lessons", {
  id: text("id").primaryKey(),
  programId: text("program_id").notNull().references(() => programs.id, {
    onDelete: "cascade",
  }),
  moduleId: text("module_id").notNull().references(() => modules.id, {
    onDelete: "cascade",
  }),
  title: text("title").notNull(),
  /** What the author wrote; `contentHtml` is its sanitized rendering, `contentText` for search. */
  contentMarkdown: text("content_markdown").notNull().default(""),
  contentHtml: text("content_html").notNull().default(""),
  contentText: text("content_text").notNull().default(""),
  estimatedMinutes: integer("estimated_minutes").notNull().default(0),
  mediaId: text("media_id").references(() => media.id, {
    onDelete: "set null",
  }),
  position: integer("position").notNull(),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  index("lessons_module_idx").on(t.moduleId, t.position),
  index("lessons_program_idx").on(t.programId),
]);

export const reviews = sqliteTable("reviews", {
  id: text("id").primaryKey(),
  programId: text("program_id").notNull().references(() => programs.id),
  userId: text("user_id").notNull().references(() => users.id),
  rating: integer("rating").notNull(),
  comment: text("comment").notNull().default(""),
  helpfulCount: integer("helpful_count").notNull().default(0),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
}, (t) => [
  uniqueIndex("reviews_program_user_idx").on(t.programId, t.userId),
  index("reviews_program_created_idx").on(t.programId, t.createdAt),
]);

export const reviewVotes = sqliteTable("review_votes", {
  reviewId: text("review_id").notNull().references(() => reviews.id, {
    onDelete: "cascade",
  }),
  userId: text("user_id").notNull().references(() => users.id),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [primaryKey({ columns: [t.reviewId, t.userId] })]);

/** Public face of an instructor; created when someone becomes one. */
export const instructorProfiles = sqliteTable("instructor_profiles", {
  userId: text("user_id").primaryKey().references(() => users.id, {
    onDelete: "cascade",
  }),
  headline: text("headline").notNull().default(""),
  expertise: text("expertise", { mode: "json" }).$type<string[]>().notNull()
    .default([]),
  acceptingStudents: integer("accepting_students", { mode: "boolean" })
    .notNull().default(true),
  createdAt: timestamp("created_at").notNull(),
  updatedAt: timestamp("updated_at").notNull(),
});

export type Category = typeof categories.$inferSelect;
export type Program = typeof programs.$inferSelect;
export type Module = typeof modules.$inferSelect;
export type Lesson = typeof lessons.$inferSelect;
export type Review = typeof reviews.$inferSelect;
export type Media = typeof media.$inferSelect;
export type InstructorProfile = typeof instructorProfiles.$inferSelect;
