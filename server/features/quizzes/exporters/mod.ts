import type { Question } from "../question_model.ts";
import { toGift } from "./gift.ts";
import { toJson } from "./json.ts";

export const EXPORT_FORMATS = ["gift", "json"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportedBank {
  body: string;
  contentType: string;
  /** With its dot: `.gift`, `.json`. */
  extension: string;
}

const EXPORTERS: Record<
  ExportFormat,
  Omit<ExportedBank, "body"> & { write: (questions: Question[]) => string }
> = {
  gift: {
    write: toGift,
    contentType: "text/plain; charset=utf-8",
    extension: ".gift",
  },
  json: { write: toJson, contentType: "application/json", extension: ".json" },
};

/** The questions as a file in the given format; GIFT leaves out what it cannot carry (see toGift). */
export function exportQuestions(
  questions: Question[],
  format: ExportFormat,
): ExportedBank {
  const { write, contentType, extension } = EXPORTERS[format];
  return { body: write(questions), contentType, extension };
}
