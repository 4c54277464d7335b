import * as v from "valibot";
import { ProgressSchema } from "../enrollments/schemas.ts";
import { PROGRAM_LEVELS, PROGRAM_STATUSES } from "../../../db/schema/mod.ts";
import { Currency, Price } from "../../lib/money.ts";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";
import { stripControlChars } from "../../lib/plain_text.ts";
import { MAX_RICH_TEXT_LENGTH } from "../../lib/rich_text.ts";

const text = (max: number) =>
  v.pipe(
    v.string("Must be a string"),
    v.transform(stripControlChars),
    v.trim(),
    v.maxLength(max, `Must be at most ${max} characters`),
  );
const requiredText = (max: number) =>
  v.pipe(text(max), v.nonEmpty("Is required"));
const shortList = (maxItems: number) =>
  v.pipe(
    v.array(requiredText(200), "Must be a list of strings"),
    v.maxLength(maxItems, `Must have at most ${maxItems} items`),
  );

export const Pricing = v.strictObject({
  chatbot: Price,
  documentation: Price,
  examSimulator: Price,
  bundle: Price,
}, "Unknown price: use chatbot, documentation, examSimulator and bundle");

const programFields = {
  title: requiredText(150),
  description: text(2000),
  overview: v.pipe(
    v.string("Must be a string"),
    v.transform(stripControlChars),
    v.maxLength(
      MAX_RICH_TEXT_LENGTH,
      `Must be at most ${MAX_RICH_TEXT_LENGTH} characters`,
    ),
  ),
  category: requiredText(100),
  thumbnailMediaId: v.nullable(v.string()),
  pricing: Pricing,
  currency: Currency,
  freeQuestionsCount: v.pipe(
    v.number("Must be a number"),
    v.integer("Must be a whole number"),
    v.minValue(0, "Must not be negative"),
    v.maxValue(1000, "Must be at most 1000"),
  ),
  prerequisites: shortList(30),
  features: shortList(30),
  level: v.picklist(
    PROGRAM_LEVELS,
    `Must be one of ${PROGRAM_LEVELS.join(", ")}`,
  ),
  duration: text(100),
  language: requiredText(50),
  status: v.picklist(PROGRAM_STATUSES, "Must be draft or published"),
  featured: v.boolean("Must be true or false"),
  certificateRule: v.nullable(v.pipe(
    v.strictObject({
      finalExam: v.boolean("Must be true or false"),
      requiredQuizzes: v.boolean("Must be true or false"),
      allLessons: v.boolean("Must be true or false"),
    }, "Use finalExam, requiredQuizzes and allLessons"),
    v.check(
      (rule) => rule.finalExam || rule.requiredQuizzes || rule.allLessons,
      "Set at least one part of the rule, or null for the default",
    ),
  )),
  certificateValidityDays: v.nullable(v.pipe(
    v.number("Must be a number"),
    v.integer("Must be a whole number of days"),
    v.minValue(1, "Must be at least 1 day"),
    v.maxValue(36_500, "Must be at most 36500 days"),
  )),
};

type Fields = typeof programFields;
const optionalAll = <K extends keyof Fields>(keys: K[]) =>
  Object.fromEntries(keys.map((k) => [k, v.optional(programFields[k])])) as {
    [P in K]: v.OptionalSchema<Fields[P], undefined>;
  };

export const CreateProgramBody = v.strictObject({
  title: programFields.title,
  category: programFields.category,
  ...optionalAll([
    "description",
    "overview",
    "thumbnailMediaId",
    "pricing",
    "currency",
    "freeQuestionsCount",
    "prerequisites",
    "features",
    "level",
    "duration",
    "language",
    "status",
    "featured",
    "certificateRule",
    "certificateValidityDays",
  ]),
}, "Unknown field");
export type CreateProgramInput = v.InferOutput<typeof CreateProgramBody>;

export const UpdateProgramBody = v.strictObject(
  optionalAll(Object.keys(programFields) as (keyof Fields)[]),
  "Unknown field",
);
export type UpdateProgramInput = v.InferOutput<typeof UpdateProgramBody>;

export const PROGRAM_SORTS = [
  "popular",
  "newest",
  "price-low",
  "price-high",
  "rating",
  "relevance",
] as const;
export type ProgramSort = (typeof PROGRAM_SORTS)[number];

const decimalQuery = (field: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,7}(\.\d{1,2})?$/, `${field} must be a non-negative amount`),
    v.transform(Number),
  );

export const ListProgramsQuery = v.object({
  ...pageQuery(),
  category: v.optional(text(100)),
  search: v.optional(text(200)),
  sort: v.optional(
    v.picklist(
      PROGRAM_SORTS,
      `sort must be one of ${PROGRAM_SORTS.join(", ")}`,
    ),
  ),
  priceMin: v.optional(decimalQuery("priceMin")),
  priceMax: v.optional(decimalQuery("priceMax")),
  level: v.optional(text(50)),
  instructorId: v.optional(text(40)),
  featured: v.optional(
    v.pipe(
      v.picklist(["true", "false"], "featured must be true or false"),
      v.transform((s) => s === "true"),
    ),
  ),
  status: v.optional(
    v.picklist(
      ["draft", "published", "deleted"],
      "status must be draft, published or deleted",
    ),
  ),
});
export type ListProgramsFilter = v.InferOutput<typeof ListProgramsQuery>;

export const IdOrSlugParam = v.object({ idOrSlug: text(120) });
export const IdParam = v.object({ id: text(40) });

const PricingOut = v.object({
  chatbot: v.number(),
  documentation: v.number(),
  examSimulator: v.number(),
  bundle: v.number(),
});
export const ProgramSummarySchema = v.object({
  id: v.string(),
  title: v.string(),
  slug: v.string(),
  description: v.string(),
  category: v.string(),
  thumbnail: v.nullable(v.string()),
  instructor: v.object({
    id: v.string(),
    name: v.string(),
    avatar: v.nullable(v.string()),
    expertise: v.array(v.string()),
  }),
  pricing: PricingOut,
  currency: v.string(),
  freeQuestionsCount: v.number(),
  rating: v.number(),
  totalReviews: v.number(),
  enrolledCount: v.number(),
  level: v.string(),
  status: v.string(),
  featured: v.boolean(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export const ProgramListResponse = v.object({
  success: v.literal(true),
  programs: v.array(ProgramSummarySchema),
  pagination: v.object({
    ...PaginationSchema.entries,
    totalPrograms: v.number(),
  }),
});
export const ProgramDetailSchema = v.object({
  ...ProgramSummarySchema.entries,
  certificate: v.object({
    rule: v.nullable(v.object({
      finalExam: v.boolean(),
      requiredQuizzes: v.boolean(),
      allLessons: v.boolean(),
    })),
    validityDays: v.nullable(v.number()),
  }),
  overview: v.string(),
  instructor: v.object({
    id: v.string(),
    name: v.string(),
    avatar: v.nullable(v.string()),
    bio: v.nullable(v.string()),
    expertise: v.array(v.string()),
    rating: v.number(),
    studentsCount: v.number(),
    socialLinks: v.record(v.string(), v.string()),
  }),
  features: v.array(v.string()),
  curriculum: v.array(v.object({
    id: v.string(),
    title: v.string(),
    lessons: v.number(),
    duration: v.string(),
    durationMinutes: v.number(),
    lessonList: v.array(v.object({
      id: v.string(),
      title: v.string(),
      estimatedMinutes: v.number(),
      hasMedia: v.boolean(),
    })),
  })),
  totalQuestions: v.number(),
  prerequisites: v.array(v.string()),
  duration: v.string(),
  language: v.string(),
  lastUpdated: v.string(),
  deletedAt: v.nullable(v.string()),
});
export const ProgramDetailResponse = v.object({
  success: v.literal(true),
  program: ProgramDetailSchema,
  isEnrolled: v.boolean(),
  userProgress: v.nullable(ProgressSchema),
});
export const ProgramResponse = v.object({
  success: v.literal(true),
  program: ProgramDetailSchema,
});
