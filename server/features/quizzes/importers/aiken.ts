import * as v from "valibot";
import {
  type DraftQuestion,
  type ImportIssue,
  normalizeSource,
  type ParseResult,
  QuestionSchema,
} from "../question_model.ts";

interface Option {
  letter: string;
  text: string;
}

/** A question being read: from its first line up to its `ANSWER:` line. */
interface Block {
  line: number;
  text: string[];
  options: Option[];
  lastLetter: string;
  afterBlank: boolean;
  /** Options met with no question line before them: reported once, then skipped. */
  orphan: boolean;
  errors: Issue[];
}

interface Issue {
  line: number;
  message: string;
}

const OPTION = /^([A-Z])[.)](?:[ \t]+(.*))?$/;
const ANSWER = /^ANSWER[ \t]*:[ \t]*(.*)$/;

/**
 * Reads Moodle's Aiken format: a question line, options `A. text` or `A) text`, then `ANSWER: B`.
 * Questions are separated by blank lines or simply follow an `ANSWER:` line. A question line
 * followed directly (no blank line, no option yet) by more plain lines keeps them as its text.
 */
export function parseAiken(source: string): ParseResult {
  const result: ParseResult = { questions: [], warnings: [], errors: [] };
  const issues: Issue[] = [];
  let block: Block | null = null;
  const close = (answer?: { line: number; value: string }) => {
    if (block) finish(block, answer, result, issues);
    block = null;
  };
  for (const [index, raw] of normalizeSource(source).split("\n").entries()) {
    const line = index + 1;
    const text = raw.trim();
    const option = OPTION.exec(text);
    const answer = ANSWER.exec(text);
    if (text === "") {
      if (block) block.afterBlank = true;
    } else if (option) {
      block ??= orphanBlock(line, issues);
      addOption(block, option[1] ?? "", (option[2] ?? "").trim(), line);
    } else if (answer) {
      if (block) close({ line, value: (answer[1] ?? "").trim() });
      else issues.push({ line, message: "ANSWER line without a question" });
    } else if (
      block && !block.orphan && block.options.length === 0 && !block.afterBlank
    ) {
      block.text.push(text);
    } else {
      close();
      block = newBlock(line, [text], false);
    }
  }
  close();
  result.errors = issues.sort((a, b) => a.line - b.line).map(toIssue);
  return result;
}

function newBlock(line: number, text: string[], orphan: boolean): Block {
  return {
    line,
    text,
    options: [],
    lastLetter: "",
    afterBlank: false,
    orphan,
    errors: [],
  };
}

function orphanBlock(line: number, issues: Issue[]): Block {
  issues.push({ line, message: "Options without a question line before them" });
  return newBlock(line, [], true);
}

function addOption(block: Block, letter: string, text: string, line: number) {
  if (block.orphan) return;
  const expected = block.lastLetter
    ? String.fromCharCode(block.lastLetter.charCodeAt(0) + 1)
    : "A";
  const duplicate = block.options.some((o) => o.letter === letter);
  if (duplicate) {
    block.errors.push({ line, message: `Option ${letter} appears twice` });
    return;
  }
  if (letter !== expected) {
    block.errors.push({
      line,
      message: `Option ${letter} is out of order: expected ${expected}`,
    });
  }
  if (text === "") {
    block.errors.push({ line, message: `Option ${letter} has no text` });
  }
  block.options.push({ letter, text });
  block.lastLetter = letter;
}

function finish(
  block: Block,
  answer: { line: number; value: string } | undefined,
  result: ParseResult,
  issues: Issue[],
) {
  if (block.orphan) return;
  const errors = block.errors;
  const count = block.options.length;
  if (!answer) {
    errors.push({
      line: block.line,
      message: count === 0
        ? "Question has no options and no ANSWER line"
        : "Question has options but no ANSWER line",
    });
  }
  if (count === 1 || (count === 0 && answer)) {
    errors.push({
      line: block.line,
      message: `Question needs at least two options, found ${count}`,
    });
  }
  const right = answer && count > 0
    ? answerLetter(block, answer, errors)
    : undefined;
  if (errors.length === 0 && right !== undefined) {
    const question: DraftQuestion = {
      type: "single_choice",
      text: block.text.join("\n"),
      choices: block.options.map((o) => ({
        text: o.text,
        weight: o.letter === right ? 1 : 0,
      })),
    };
    schemaErrors(question, block.line, errors);
    if (errors.length === 0) {
      result.questions.push({ question, location: `line ${block.line}` });
    }
  }
  issues.push(...errors);
}

function answerLetter(
  block: Block,
  answer: { line: number; value: string },
  errors: Issue[],
): string | undefined {
  const letter = answer.value.toUpperCase();
  if (!/^[A-Z]$/.test(letter)) {
    errors.push({
      line: answer.line,
      message: answer.value === ""
        ? "ANSWER line names no option"
        : `ANSWER must be one option letter, not "${answer.value}"`,
    });
    return undefined;
  }
  if (!block.options.some((o) => o.letter === letter)) {
    const letters = block.options.map((o) => o.letter).join(", ");
    errors.push({
      line: answer.line,
      message: `ANSWER names ${letter}, which is not an option` +
        (letters ? ` (options: ${letters})` : ""),
    });
    return undefined;
  }
  return letter;
}

function schemaErrors(question: DraftQuestion, line: number, errors: Issue[]) {
  const parsed = v.safeParse(QuestionSchema, question);
  if (parsed.success) return;
  for (const issue of parsed.issues) {
    const path = v.getDotPath(issue);
    errors.push({
      line,
      message: path ? `${path}: ${issue.message}` : issue.message,
    });
  }
}

function toIssue(issue: Issue): ImportIssue {
  return { location: `line ${issue.line}`, message: issue.message };
}
