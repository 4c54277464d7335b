import { AppError } from "../../../lib/errors.ts";
import {
  type ImportFormat,
  normalizeSource,
  type ParseResult,
} from "../question_model.ts";
import { parseAiken } from "./aiken.ts";
import { parseCsv } from "./csv.ts";
import { parseGift } from "./gift.ts";
import { parseJsonBank } from "./json.ts";
import { parseMoodleXml } from "./moodle_xml.ts";

export const PARSERS: Record<ImportFormat, (source: string) => ParseResult> = {
  gift: parseGift,
  xml: parseMoodleXml,
  aiken: parseAiken,
  csv: parseCsv,
  json: parseJsonBank,
};

/**
 * Guesses the format from the content: XML and JSON by their first character, Aiken by its
 * `ANSWER:` lines, CSV by a header naming a `question` column, GIFT by its braces or titles.
 */
export function detectFormat(source: string): ImportFormat {
  const text = normalizeSource(source);
  const start = text.trimStart();
  if (start.startsWith("<")) return "xml";
  if (start.startsWith("[") || start.startsWith("{")) return "json";
  const firstLine = start.split("\n", 1)[0]!.toLowerCase();
  if (/(^|,)\s*"?question"?\s*(,|$)/.test(firstLine)) return "csv";
  if (/^ANSWER:\s*[A-Z]\s*$/m.test(text) && !/[{}]/.test(text)) return "aiken";
  if (/[{}]|^::|^\$CATEGORY:/m.test(text)) return "gift";
  throw new AppError(
    422,
    "UNKNOWN_FORMAT",
    "Could not tell the file's format; give it as gift, xml, aiken, csv or json",
  );
}
