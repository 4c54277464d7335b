import * as v from "valibot";
import { stripControlChars } from "../../lib/plain_text.ts";

const title = v.pipe(
  v.string("Must be a string"),
  v.transform(stripControlChars),
  v.trim(),
  v.nonEmpty("Is required"),
  v.maxLength(200, "Must be at most 200 characters"),
);
const description = v.pipe(
  v.string("Must be a string"),
  v.transform(stripControlChars),
  v.trim(),
  v.maxLength(2000, "Must be at most 2000 characters"),
);
const content = v.pipe(
  v.string("Must be a string"),
  v.transform(stripControlChars),
  v.maxLength(200_000, "Must be at most 200000 characters"),
);
const minutes = v.pipe(
  v.number("Must be a number"),
  v.integer("Must be a whole number"),
  v.minValue(0, "Must not be negative"),
  v.maxValue(10_000, "Must be at most 10000"),
);
const id = v.pipe(v.string(), v.maxLength(40));

export const ModuleBody = v.strictObject({
  title,
  description: v.optional(description),
}, "Unknown field");
export const UpdateModuleBody = v.strictObject({
  title: v.optional(title),
  description: v.optional(description),
}, "Unknown field");

export const LessonBody = v.strictObject({
  title,
  content: v.optional(content),
  estimatedMinutes: v.optional(minutes),
  mediaId: v.optional(v.nullable(id)),
}, "Unknown field");
export const UpdateLessonBody = v.strictObject({
  title: v.optional(title),
  content: v.optional(content),
  estimatedMinutes: v.optional(minutes),
  mediaId: v.optional(v.nullable(id)),
}, "Unknown field");

export const OrderBody = v.strictObject({
  modules: v.pipe(
    v.array(
      v.strictObject({
        id,
        lessonIds: v.pipe(v.array(id), v.maxLength(1000)),
      }),
    ),
    v.maxLength(500),
  ),
});

export const ProgramParam = v.object({ id });
export const ModuleParam = v.object({ id, moduleId: id });
export const LessonParam = v.object({ id, lessonId: id });

const ModuleSchema = v.object({
  id: v.string(),
  title: v.string(),
  description: v.string(),
  lessons: v.number(),
  duration: v.string(),
  durationMinutes: v.number(),
  lessonList: v.array(v.object({
    id: v.string(),
    title: v.string(),
    estimatedMinutes: v.number(),
    hasMedia: v.boolean(),
  })),
});
export const CurriculumResponse = v.object({
  success: v.literal(true),
  curriculum: v.array(ModuleSchema),
});
export const ModuleResponse = v.object({
  success: v.literal(true),
  module: v.object({
    id: v.string(),
    title: v.string(),
    description: v.string(),
    position: v.number(),
  }),
});
export const LessonSchema = v.object({
  id: v.string(),
  moduleId: v.string(),
  title: v.string(),
  content: v.string(),
  contentHtml: v.string(),
  estimatedMinutes: v.number(),
  position: v.number(),
  media: v.nullable(v.object({ id: v.string(), url: v.string() })),
  updatedAt: v.string(),
});
export const LessonResponse = v.object({
  success: v.literal(true),
  lesson: LessonSchema,
});
