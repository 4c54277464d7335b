import * as v from "valibot";
import {
  type DraftQuestion,
  normalizeSource,
  type ParseResult,
  QuestionSchema,
  type TextFormat,
} from "../question_model.ts";

type SharedField =
  | "title"
  | "text"
  | "format"
  | "category"
  | "generalFeedback";
type AnswerPart<Q = DraftQuestion> = Q extends unknown ? Omit<Q, SharedField>
  : never;
type NumericalPart = Extract<AnswerPart, { type: "numerical" }>;
type NumericalAnswer = NumericalPart["answers"][number];

interface Context {
  errors: string[];
  warnings: string[];
  formats: TextFormat[];
}

interface Chunk {
  line: number;
  lines: string[];
}

interface Marked {
  mark: string;
  body: string;
}

const PLACEHOLDERS: Record<string, string> = {
  "\\": "\uE000",
  "~": "\uE001",
  "=": "\uE002",
  "#": "\uE003",
  "{": "\uE004",
  "}": "\uE005",
  ":": "\uE006",
  n: "\uE007",
};
const LITERALS: Record<string, string> = Object.fromEntries(
  Object.entries(PLACEHOLDERS).map(([char, placeholder]) => [
    placeholder,
    char === "n" ? "\n" : char,
  ]),
);
const FORMAT_PREFIX = /^\[(html|markdown|plain|moodle)\]/i;
const WEIGHT = /^\s*%([^%\s]*)%/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const TRUE_FALSE = /^(?:t|true|f|false)$/i;
const BLANK = "_____";

/**
 * Reads a Moodle GIFT file: every question it understands, with a `line N` location, and every
 * problem it finds. A question with an error is reported and left out; parsing goes on.
 */
export function parseGift(source: string): ParseResult {
  const result: ParseResult = { questions: [], warnings: [], errors: [] };
  let category: string | undefined;
  let chunk: Chunk | undefined;
  const flush = () => {
    if (chunk) addQuestion(result, chunk, category);
    chunk = undefined;
  };
  for (const [index, line] of normalizeSource(source).split("\n").entries()) {
    const trimmed = line.trim();
    if (!trimmed) {
      flush();
      continue;
    }
    if (trimmed.startsWith("//")) continue;
    const directive = /^\$CATEGORY:(.*)$/i.exec(trimmed);
    if (directive) {
      flush();
      category = readCategory(result, directive[1] ?? "", index + 1);
      continue;
    }
    chunk ??= { line: index + 1, lines: [] };
    chunk.lines.push(line);
  }
  flush();
  return result;
}

function readCategory(
  result: ParseResult,
  raw: string,
  line: number,
): string | undefined {
  if (!raw.trim()) {
    result.warnings.push({
      location: `line ${line}`,
      message: "$CATEGORY: names no category; the questions after it have none",
    });
  }
  const path = raw.trim()
    .replace(/^\$[a-z]+\$(?:\/|$)/i, "")
    .replace(/^top(?:\/|$)/, "")
    .trim();
  return path || undefined;
}

function addQuestion(
  result: ParseResult,
  chunk: Chunk,
  category: string | undefined,
): void {
  const location = `line ${chunk.line}`;
  const ctx: Context = { errors: [], warnings: [], formats: [] };
  const question = parseQuestion(ctx, chunk.lines.join("\n"), category);
  result.errors.push(...ctx.errors.map((message) => ({ location, message })));
  result.warnings.push(
    ...ctx.warnings.map((message) => ({ location, message })),
  );
  if (question) result.questions.push({ question, location });
}

function parseQuestion(
  ctx: Context,
  raw: string,
  category: string | undefined,
): DraftQuestion | undefined {
  let source = protect(raw).trim();
  let title: string | undefined;
  if (source.startsWith("::")) {
    const end = source.indexOf("::", 2);
    if (end < 0) {
      ctx.errors.push("The title has no closing ::");
      source = source.slice(2);
    } else {
      title = restore(source.slice(2, end)).replace(/\s+/g, " ").trim();
      source = source.slice(end + 2).trim();
    }
  }
  const split = splitBlock(ctx, source);
  if (!split) return undefined;
  const text = clean(ctx, split.text);
  if (!text) ctx.errors.push("The question has no text");

  let block = split.answers?.trim();
  let generalFeedback = "";
  const separator = block?.lastIndexOf("####") ?? -1;
  if (block !== undefined && separator >= 0) {
    generalFeedback = clean(ctx, block.slice(separator + 4));
    block = block.slice(0, separator).trim();
  }
  const part: AnswerPart | undefined = block === undefined
    ? { type: "description" }
    : parseAnswers(ctx, block);
  if (!part || ctx.errors.length) return undefined;

  const format = ctx.formats[0] ?? "plain";
  if (ctx.formats.some((f) => f !== format)) {
    ctx.warnings.push(
      `Parts of the question use different text formats; all of it is stored as ${format}`,
    );
  }
  const question: DraftQuestion = {
    ...part,
    ...(title ? { title } : {}),
    text,
    format,
    ...(category ? { category } : {}),
    ...(generalFeedback ? { generalFeedback } : {}),
  };
  const checked = v.safeParse(QuestionSchema, question);
  if (checked.success) return question;
  for (const issue of checked.issues) {
    const path = v.getDotPath(issue);
    ctx.errors.push(path ? `${path}: ${issue.message}` : issue.message);
  }
  return undefined;
}

/**
 * Escaped characters become private-use placeholders while the syntax is read. A placeholder
 * character already in the text is itself kept as an escape pair (U+E008 then the character moved
 * up by 0x10), so it comes back unchanged.
 */
function protect(text: string): string {
  return text.replace(
    /[\uE000-\uE008]/g,
    (char) => `\uE008${String.fromCharCode(char.charCodeAt(0) + 0x10)}`,
  ).replace(
    /\\([\\~=#{}:n])/g,
    (_, char: string) => PLACEHOLDERS[char] ?? char,
  );
}

function restore(text: string): string {
  return text.replace(
    /\uE008([\uE010-\uE018])|[\uE000-\uE007]/g,
    (placeholder, kept?: string) =>
      kept
        ? String.fromCharCode(kept.charCodeAt(0) - 0x10)
        : LITERALS[placeholder] ?? placeholder,
  );
}

function clean(ctx: Context, raw: string): string {
  let text = raw.trim();
  const prefix = FORMAT_PREFIX.exec(text);
  if (prefix) {
    ctx.formats.push((prefix[1] ?? "").toLowerCase() as TextFormat);
    text = text.slice(prefix[0].length);
  }
  return restore(text).trim();
}

function splitBlock(
  ctx: Context,
  source: string,
): { text: string; answers?: string } | undefined {
  const open = source.indexOf("{");
  const close = source.indexOf("}");
  if (open < 0 && close < 0) return { text: source };
  if (close >= 0 && (open < 0 || close < open)) {
    ctx.errors.push(
      "Found } without an opening {; write a literal brace as \\}",
    );
    return undefined;
  }
  if (close < 0) {
    ctx.errors.push("Unclosed {: the answer block has no closing }");
    return undefined;
  }
  const nested = source.indexOf("{", open + 1);
  if (nested >= 0 && nested < close) {
    ctx.errors.push(
      "A second { opens before the answer block is closed with }",
    );
    return undefined;
  }
  const after = source.slice(close + 1);
  if (/[{}]/.test(after)) {
    ctx.errors.push(
      "A question has one answer block; write literal braces after it as \\{ and \\}",
    );
    return undefined;
  }
  return {
    text: source.slice(0, open) + (after.trim() ? BLANK + after : ""),
    answers: source.slice(open + 1, close),
  };
}

function parseAnswers(ctx: Context, block: string): AnswerPart | undefined {
  if (block === "") return { type: "essay" };
  if (block.startsWith("#")) return parseNumerical(ctx, block.slice(1));
  if (block.includes("~")) return parseChoices(ctx, block);
  if (block.includes("=") && block.includes("->")) {
    return parseMatching(ctx, block);
  }
  const trueFalse = parseTrueFalse(ctx, block);
  if (trueFalse) return trueFalse;
  if (block.includes("=")) return parseShortAnswer(ctx, block);
  ctx.errors.push(
    `Unrecognised answer block {${
      restore(block)
    }}: start answers with = or ~, or write T, F, {#number} or {}`,
  );
  return undefined;
}

function splitMarked(ctx: Context, block: string): Marked[] {
  const pieces = block.trim().split(/(?=[=~])/);
  const lead = pieces[0] ?? "";
  if (!/^[=~]/.test(lead)) {
    pieces.shift();
    if (lead.trim()) {
      ctx.errors.push(
        `Text before the first answer: "${
          restore(lead.trim())
        }"; start each answer with = or ~`,
      );
    }
  }
  return pieces.map((piece) => ({
    mark: piece.charAt(0),
    body: piece.slice(1),
  }));
}

function takeWeight(
  ctx: Context,
  raw: string,
  fallback: number,
): { weight: number; rest: string } {
  const match = WEIGHT.exec(raw);
  if (!match) return { weight: fallback, rest: raw };
  const rest = raw.slice(match[0].length);
  const value = match[1] ?? "";
  if (!DECIMAL.test(value)) {
    ctx.errors.push(`Weight "%${restore(value)}%" is not a number`);
    return { weight: fallback, rest };
  }
  if (Math.abs(Number(value)) > 100) {
    ctx.errors.push(`Weight ${value}% is outside -100% to 100%`);
    return { weight: fallback, rest };
  }
  return { weight: Number(`${value}e-2`) + 0, rest };
}

function withFeedback(
  ctx: Context,
  raw: string,
): { text: string; feedback?: string } {
  const hash = raw.indexOf("#");
  if (hash < 0) return { text: clean(ctx, raw) };
  const text = clean(ctx, raw.slice(0, hash));
  const feedback = clean(ctx, raw.slice(hash + 1));
  return feedback ? { text, feedback } : { text };
}

const percent = (fraction: number) => Number((fraction * 100).toFixed(4));

function parseChoices(ctx: Context, block: string): AnswerPart | undefined {
  const marked = splitMarked(ctx, block);
  const choices = marked.map(({ mark, body }, index) => {
    const { weight, rest } = takeWeight(ctx, body, mark === "=" ? 1 : 0);
    const choice = withFeedback(ctx, rest);
    if (!choice.text) ctx.errors.push(`Choice ${index + 1} is empty`);
    return { ...choice, weight };
  });
  if (choices.length < 2) {
    ctx.errors.push(
      `A choice question needs at least two choices (found ${choices.length})`,
    );
  }
  const right = choices.filter((choice) => choice.weight > 0);
  if (right.length === 0) {
    ctx.errors.push(
      "No right answer: mark one with = or give it a positive %weight%",
    );
    return undefined;
  }
  const multiple = !marked.some(({ mark }) => mark === "=") ||
    (right.length > 1 && right.every((choice) => choice.weight < 1));
  if (multiple) {
    const total = right.reduce((sum, choice) => sum + choice.weight, 0);
    if (Math.abs(total - 1) > 1e-6) {
      ctx.warnings.push(
        `The right answers' weights add up to ${percent(total)}%, not 100%`,
      );
    }
    return { type: "multiple_answers", choices };
  }
  const best = Math.max(...right.map((choice) => choice.weight));
  if (best < 1) {
    ctx.warnings.push(
      `No choice gives full marks; the best gives ${percent(best)}%`,
    );
  }
  return { type: "single_choice", choices };
}

function parseShortAnswer(ctx: Context, block: string): AnswerPart {
  const answers = splitMarked(ctx, block).map(({ body }, index) => {
    const { weight, rest } = takeWeight(ctx, body, 1);
    const answer = withFeedback(ctx, rest);
    if (!answer.text) ctx.errors.push(`Accepted answer ${index + 1} is empty`);
    return { ...answer, weight };
  });
  if (answers.length && !answers.some((answer) => answer.weight > 0)) {
    ctx.errors.push("No accepted answer gives marks");
  }
  return { type: "short_answer", answers };
}

function parseMatching(ctx: Context, block: string): AnswerPart {
  const pairs: { left: string; right: string }[] = [];
  const distractors: string[] = [];
  for (const [index, { body }] of splitMarked(ctx, block).entries()) {
    const arrow = body.indexOf("->");
    if (arrow < 0) {
      ctx.errors.push(
        `Pair ${index + 1} ("${restore(body.trim())}") has no ->`,
      );
      continue;
    }
    const left = clean(ctx, body.slice(0, arrow));
    const right = clean(ctx, body.slice(arrow + 2));
    if (!right) ctx.errors.push(`Pair ${index + 1} has nothing after ->`);
    else if (left) pairs.push({ left, right });
    else distractors.push(right);
  }
  if (pairs.length < 2) {
    ctx.errors.push(
      `A matching question needs at least two pairs (found ${pairs.length})`,
    );
  } else if (pairs.length + distractors.length < 3) {
    ctx.warnings.push(
      "Moodle needs at least three answers in a matching question; add a pair or a distractor (= -> answer)",
    );
  }
  return { type: "matching", pairs, distractors };
}

function parseTrueFalse(ctx: Context, block: string): AnswerPart | undefined {
  const [value = "", wrong = "", ...right] = block.split("#");
  if (!TRUE_FALSE.test(value.trim())) return undefined;
  const feedbackWrong = clean(ctx, wrong);
  const feedbackRight = clean(ctx, right.join("#"));
  return {
    type: "true_false",
    correct: /^t/i.test(value.trim()),
    ...(feedbackRight ? { feedbackRight } : {}),
    ...(feedbackWrong ? { feedbackWrong } : {}),
  };
}

function parseNumerical(ctx: Context, block: string): AnswerPart {
  let body = block;
  const other = body.indexOf("~");
  if (other >= 0) {
    ctx.warnings.push(
      "Feedback for any other answer (~#…) is not supported and was dropped",
    );
    body = body.slice(0, other);
  }
  const pieces = body.trim().split(/(?=[=])/);
  if (!pieces[0]?.trim()) pieces.shift();
  const answers = pieces.flatMap((piece, index) => {
    const answer = numericalAnswer(ctx, piece.replace(/^=/, ""), index + 1);
    return answer ? [answer] : [];
  });
  if (pieces.length === 0) {
    ctx.errors.push(
      "A numerical question needs an answer, e.g. {#42} or {#3.14:0.01}",
    );
  } else if (answers.length && !answers.some((answer) => answer.weight > 0)) {
    ctx.errors.push("No answer gives marks");
  }
  return { type: "numerical", answers };
}

function numericalAnswer(
  ctx: Context,
  raw: string,
  n: number,
): NumericalAnswer | undefined {
  const { weight, rest } = takeWeight(ctx, raw, 1);
  const { text, feedback } = withFeedback(ctx, rest);
  const extra = feedback ? { feedback } : {};
  if (!text) {
    ctx.errors.push(`Answer ${n} is empty`);
    return undefined;
  }
  if (text === "*") {
    ctx.warnings.push(
      `Answer ${n} (* for any answer) is not supported and was dropped`,
    );
    return undefined;
  }
  const range = text.indexOf("..");
  if (range > 0) {
    const min = toNumber(ctx, text.slice(0, range), n);
    const max = toNumber(ctx, text.slice(range + 2), n);
    if (min === undefined || max === undefined) return undefined;
    if (min > max) {
      ctx.errors.push(`Answer ${n}: the range ${text} runs backwards`);
      return undefined;
    }
    return { kind: "range", min, max, weight, ...extra };
  }
  const colon = text.indexOf(":");
  const value = toNumber(ctx, colon > 0 ? text.slice(0, colon) : text, n);
  const tolerance = colon > 0 ? toNumber(ctx, text.slice(colon + 1), n) : 0;
  if (value === undefined || tolerance === undefined) return undefined;
  if (tolerance < 0) {
    ctx.errors.push(`Answer ${n}: the tolerance cannot be negative`);
    return undefined;
  }
  return { kind: "exact", value, tolerance, weight, ...extra };
}

function toNumber(ctx: Context, raw: string, n: number): number | undefined {
  const text = raw.trim();
  if (NUMBER.test(text)) return Number(text) + 0;
  const hint = text.includes(",") ? " (write decimals with a dot)" : "";
  ctx.errors.push(`Answer ${n}: "${text}" is not a number${hint}`);
  return undefined;
}
