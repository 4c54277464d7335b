import * as v from "valibot";
import { ProgramSummarySchema } from "../programs/schemas.ts";

export const DEFAULT_RECOMMENDATIONS = 5;
export const MAX_RECOMMENDATIONS = 20;

export const RecommendationsQuery = v.object({
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,6}$/, "limit must be a whole number"),
      v.transform(Number),
      v.minValue(1, "limit must be at least 1"),
      v.maxValue(
        MAX_RECOMMENDATIONS,
        `limit must be at most ${MAX_RECOMMENDATIONS}`,
      ),
    ),
    String(DEFAULT_RECOMMENDATIONS),
  ),
});

/** `ai`: phrased by the provider; `unavailable`: it failed or timed out; `none`: no provider. */
export const SUMMARY_SOURCES = ["ai", "unavailable", "none"] as const;
export type SummarySource = (typeof SUMMARY_SOURCES)[number];

export const RecommendationSchema = v.object({
  program: ProgramSummarySchema,
  score: v.number(),
  reasons: v.array(v.string()),
});

export const RecommendationsResponse = v.object({
  success: v.literal(true),
  recommendations: v.array(RecommendationSchema),
  summary: v.nullable(v.string()),
  summarySource: v.picklist(SUMMARY_SOURCES),
});
