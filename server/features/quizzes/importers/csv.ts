import * as v from "valibot";
import {
  DIFFICULTIES,
  type Difficulty,
  type DraftQuestion,
  type ImportIssue,
  normalizeSource,
  type NumericalAnswer,
  type ParseResult,
  QuestionSchema,
} from "../question_model.ts";

/** One record of the file and the physical line it starts on. */
export interface CsvRow {
  line: number;
  cells: string[];
  /** Set when the quoting is broken; the cells are then unreliable. */
  problem?: string;
}

const LETTERS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] as const;

const CSV_TYPES = [
  "single_choice",
  "multiple_answers",
  "true_false",
  "short_answer",
  "numerical",
  "essay",
  "description",
] as const;
type CsvType = (typeof CSV_TYPES)[number];

const COLUMNS = new Set([
  "type",
  "question",
  "title",
  "category",
  "difficulty",
  "points",
  "tags",
  "correct",
  "weights",
  "general_feedback",
  "explanation",
  ...LETTERS.map((l) => `option_${l}`),
  ...LETTERS.map((l) => `feedback_${l}`),
]);

/** Columns that belong to some types only: filled in for another type, they draw a warning. */
const TYPE_COLUMNS = /^(option_|feedback_|correct$|weights$)/;
const USES: Record<CsvType, RegExp> = {
  single_choice: /^(option_|feedback_|correct$)/,
  multiple_answers: TYPE_COLUMNS,
  true_false: /^correct$/,
  short_answer: /^correct$/,
  numerical: /^correct$/,
  essay: /^$/,
  description: /^$/,
};

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * Splits RFC 4180 text into rows: quoted fields may hold commas, line breaks and doubled quotes.
 * Expects normalized `\n` line ends; a final line break does not start an empty row.
 */
export function readCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let row: CsvRow = { line: 1, cells: [] };
  let cell = "";
  let line = 1;
  let quoted = false;
  let closed = false;
  let fieldStart = true;
  const endCell = () => {
    row.cells.push(cell);
    cell = "";
    closed = false;
    fieldStart = true;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') {
        cell += c;
        if (c === "\n") line++;
      } else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else {
        quoted = false;
        closed = true;
      }
    } else if (c === ",") {
      endCell();
    } else if (c === "\n") {
      endCell();
      rows.push(row);
      line++;
      row = { line, cells: [] };
    } else if (c === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
    } else {
      if (closed) row.problem ??= "Unexpected text after a closing quote";
      cell += c;
      fieldStart = false;
    }
  }
  if (quoted) row.problem = "A quoted field is never closed";
  if (!fieldStart || row.cells.length > 0) {
    endCell();
    rows.push(row);
  }
  return rows;
}

/**
 * Reads the CSV question-bank format documented in docs/question-bank-csv.md: a header row, then
 * one question per row. Every problem is reported with the line its row starts on.
 */
export function parseCsv(source: string): ParseResult {
  const result: ParseResult = { questions: [], warnings: [], errors: [] };
  const rows = readCsv(normalizeSource(source)).filter((r) =>
    r.problem || r.cells.some((c) => c.trim() !== "")
  );
  const [header, ...body] = rows;
  if (!header) {
    result.errors.push({
      location: "line 1",
      message: "The file is empty: a header row is required",
    });
    return result;
  }
  const columns = readHeader(header, result);
  if (!columns) return result;
  for (const row of body) {
    const question = readRow(row, columns, header.cells.length, result);
    if (question) {
      result.questions.push({ question, location: `line ${row.line}` });
    }
  }
  return result;
}

function issue(row: CsvRow, message: string): ImportIssue {
  return { location: `line ${row.line}`, message };
}

function readHeader(
  header: CsvRow,
  result: ParseResult,
): Map<string, number> | undefined {
  if (header.problem) {
    result.errors.push(issue(header, `Header row: ${header.problem}`));
    return undefined;
  }
  const columns = new Map<string, number>();
  const unknown: string[] = [];
  const errorsBefore = result.errors.length;
  header.cells.forEach((cell, index) => {
    const name = cell.trim().toLowerCase();
    if (name === "") return;
    if (columns.has(name)) {
      result.errors.push(issue(header, `Column "${name}" appears twice`));
    } else if (COLUMNS.has(name)) {
      columns.set(name, index);
    } else {
      unknown.push(cell.trim());
    }
  });
  if (!columns.has("question")) {
    result.errors.push(issue(header, 'Missing required column "question"'));
  }
  if (unknown.length > 0) {
    result.warnings.push(
      issue(header, `Unknown columns ignored: ${unknown.join(", ")}`),
    );
  }
  return result.errors.length === errorsBefore ? columns : undefined;
}

/** The cells of one row by column name, trimmed; absent columns read as "". */
type Cells = (column: string) => string;

/** One row as a question, or undefined after reporting every problem it has. */
function readRow(
  row: CsvRow,
  columns: Map<string, number>,
  width: number,
  result: ParseResult,
): DraftQuestion | undefined {
  if (row.problem) {
    result.errors.push(issue(row, row.problem));
    return undefined;
  }
  const errors: string[] = [];
  if (row.cells.slice(width).some((c) => c.trim() !== "")) {
    errors.push(
      `The row has ${row.cells.length} cells but the header only ${width}`,
    );
  }
  const cell: Cells = (column) => {
    const index = columns.get(column);
    return index === undefined ? "" : (row.cells[index] ?? "").trim();
  };
  const type = readType(cell("type"), errors);
  const common = readCommon(cell, errors);
  const question = type && readTyped(type, common, cell, errors);
  if (type) ignoredColumns(type, columns, cell, row, result);
  if (question && errors.length === 0) schemaErrors(question, errors);
  result.errors.push(...errors.map((message) => issue(row, message)));
  return errors.length === 0 ? question : undefined;
}

function readType(value: string, errors: string[]): CsvType | undefined {
  const type = value.toLowerCase() || "single_choice";
  if (type === "matching") {
    errors.push(
      "Matching questions are not supported in CSV: import them as GIFT, Moodle XML or JSON",
    );
    return undefined;
  }
  if (!(CSV_TYPES as readonly string[]).includes(type)) {
    errors.push(
      `Unknown type "${value}": expected one of ${CSV_TYPES.join(", ")}`,
    );
    return undefined;
  }
  return type as CsvType;
}

interface Common {
  text: string;
  title?: string;
  category?: string;
  difficulty?: Difficulty;
  points?: number;
  tags: string[];
  generalFeedback?: string;
  explanation?: string;
}

function readCommon(cell: Cells, errors: string[]): Common {
  const text = cell("question");
  if (text === "") errors.push("The question is empty");
  const common: Common = { text, tags: splitList(cell("tags")) };
  const title = cell("title");
  if (title) common.title = title;
  const category = splitList(cell("category"), "/").join("/");
  if (category) common.category = category;
  const difficulty = cell("difficulty").toLowerCase();
  if (difficulty) {
    if ((DIFFICULTIES as readonly string[]).includes(difficulty)) {
      common.difficulty = difficulty as Difficulty;
    } else {
      errors.push(
        `Unknown difficulty "${
          cell("difficulty")
        }": expected easy, medium or hard`,
      );
    }
  }
  const points = cell("points");
  if (points) {
    const value = readNumber(points, "points", errors);
    if (value !== undefined && (value < 0 || value > 1000)) {
      errors.push(`points: ${value} is not between 0 and 1000`);
    } else if (value !== undefined) common.points = value;
  }
  const generalFeedback = cell("general_feedback");
  if (generalFeedback) common.generalFeedback = generalFeedback;
  const explanation = cell("explanation");
  if (explanation) common.explanation = explanation;
  return common;
}

function readTyped(
  type: CsvType,
  common: Common,
  cell: Cells,
  errors: string[],
): DraftQuestion | undefined {
  const correct = cell("correct");
  switch (type) {
    case "single_choice":
    case "multiple_answers": {
      const choices = readChoices(type, cell, errors);
      return choices && { ...common, type, choices };
    }
    case "true_false": {
      const value = correct.toLowerCase();
      if (value === "true" || value === "false") {
        return { ...common, type, correct: value === "true" };
      }
      errors.push(
        correct
          ? `correct must be true or false, not "${correct}"`
          : "correct is required: true or false",
      );
      return undefined;
    }
    case "short_answer": {
      const answers = splitList(correct).map((text) => ({ text, weight: 1 }));
      if (answers.length > 0) return { ...common, type, answers };
      errors.push("correct is required: the accepted answers, separated by |");
      return undefined;
    }
    case "numerical": {
      const answers = readNumericalAnswers(correct, errors);
      return answers && { ...common, type, answers };
    }
    case "essay":
    case "description":
      return { ...common, type };
  }
}

interface CsvChoice {
  letter: string;
  text: string;
  feedback?: string;
}

function readChoices(
  type: "single_choice" | "multiple_answers",
  cell: Cells,
  errors: string[],
): { text: string; weight: number; feedback?: string }[] | undefined {
  const options: CsvChoice[] = [];
  for (const letter of LETTERS) {
    const text = cell(`option_${letter}`);
    const feedback = cell(`feedback_${letter}`);
    if (text) {
      options.push({
        letter: letter.toUpperCase(),
        text,
        ...withFeedback(feedback),
      });
    } else if (feedback) {
      errors.push(`feedback_${letter} is set but option_${letter} is empty`);
    }
  }
  if (options.length < 2) {
    errors.push(`Needs at least two options, found ${options.length}`);
  }
  const weights = type === "single_choice"
    ? singleWeights(options, cell("correct"), errors)
    : multipleWeights(options, cell("correct"), cell("weights"), errors);
  if (!weights || options.length < 2) return undefined;
  return options.map(({ text, feedback }, i) => ({
    text,
    weight: weights[i] ?? 0,
    ...withFeedback(feedback),
  }));
}

function singleWeights(
  options: CsvChoice[],
  correct: string,
  errors: string[],
): number[] | undefined {
  if (!correct) {
    errors.push("correct is required: the letter of the right option");
    return undefined;
  }
  if (splitList(correct).length > 1) {
    errors.push(
      "A single_choice question has one correct letter; use multiple_answers for several",
    );
    return undefined;
  }
  const letter = readLetters(correct, options, errors)?.[0];
  if (letter === undefined) return undefined;
  return options.map((o) => (o.letter === letter ? 1 : 0));
}

function multipleWeights(
  options: CsvChoice[],
  correct: string,
  weightsCell: string,
  errors: string[],
): number[] | undefined {
  const letters = correct ? readLetters(correct, options, errors) : [];
  if (!letters) return undefined;
  if (weightsCell) {
    return readWeights(weightsCell, options, letters, errors);
  }
  if (letters.length === 0) {
    errors.push(
      "correct is required: the letters of the right options, like A|C",
    );
    return undefined;
  }
  return options.map((o) =>
    letters.includes(o.letter) ? 1 / letters.length : 0
  );
}

/** `50|-50|50`: one percentage per option, positives adding up to 100. */
function readWeights(
  cell: string,
  options: CsvChoice[],
  letters: string[],
  errors: string[],
): number[] | undefined {
  const parts = cell.split("|").map((p) => p.trim());
  if (parts.length !== options.length) {
    errors.push(
      `weights has ${parts.length} values but there are ${options.length} options`,
    );
    return undefined;
  }
  const before = errors.length;
  const percents = parts.map((part) => {
    const value = readNumber(part.replace(/%$/, ""), "weights", errors) ?? 0;
    if (value < -100 || value > 100) {
      errors.push(`weights: ${part} is not between -100 and 100`);
    }
    return value;
  });
  if (errors.length > before) return undefined;
  const total = percents.filter((p) => p > 0).reduce((a, b) => a + b, 0);
  if (Math.abs(total - 100) > 0.01) {
    errors.push(`weights: the positive values add up to ${total}, not 100`);
    return undefined;
  }
  const positive = options.filter((_, i) => (percents[i] ?? 0) > 0)
    .map((o) => o.letter);
  if (
    letters.length > 0 && positive.join("|") !== [...letters].sort().join("|")
  ) {
    errors.push(
      `correct (${letters.join("|")}) disagrees with weights (positive for ${
        positive.join("|")
      })`,
    );
    return undefined;
  }
  return percents.map((p) => p / 100);
}

/** `A|C` → ["A", "C"], each naming a filled option; undefined after reporting a problem. */
function readLetters(
  cell: string,
  options: CsvChoice[],
  errors: string[],
): string[] | undefined {
  const letters = [...new Set(splitList(cell).map((l) => l.toUpperCase()))];
  const before = errors.length;
  for (const letter of letters) {
    if (!/^[A-J]$/.test(letter)) {
      errors.push(`correct: "${letter}" is not an option letter A to J`);
    } else if (!options.some((o) => o.letter === letter)) {
      errors.push(
        `correct names ${letter}, but option_${letter.toLowerCase()} is empty`,
      );
    }
  }
  if (letters.length === 0) errors.push("correct names no option letter");
  return errors.length === before ? letters : undefined;
}

/** `3.14`, `3.14:0.01` or `1..2`, several separated by `|`, each worth full marks. */
function readNumericalAnswers(
  cell: string,
  errors: string[],
): NumericalAnswer[] | undefined {
  const parts = splitList(cell);
  if (parts.length === 0) {
    errors.push("correct is required: a number, number:tolerance or min..max");
    return undefined;
  }
  const before = errors.length;
  const answers = parts.map((part) => readNumerical(part, errors));
  return errors.length === before
    ? answers.filter((a) => a !== undefined)
    : undefined;
}

function readNumerical(
  part: string,
  errors: string[],
): NumericalAnswer | undefined {
  const range = part.split("..");
  if (range.length === 2) {
    const min = readNumber(range[0] ?? "", "correct", errors);
    const max = readNumber(range[1] ?? "", "correct", errors);
    if (min === undefined || max === undefined) return undefined;
    if (min > max) {
      errors.push(`correct: the range ${part} ends below its start`);
      return undefined;
    }
    return { kind: "range", min, max, weight: 1 };
  }
  const [value = "", tolerance = "0", ...rest] = part.split(":");
  if (rest.length > 0 || range.length > 2) {
    errors.push(
      `correct: "${part}" is not a number, number:tolerance or min..max`,
    );
    return undefined;
  }
  const exact = readNumber(value, "correct", errors);
  const margin = readNumber(tolerance, "correct", errors);
  if (exact === undefined || margin === undefined) return undefined;
  if (margin < 0) {
    errors.push(`correct: the tolerance ${tolerance} is negative`);
    return undefined;
  }
  return { kind: "exact", value: exact, tolerance: margin, weight: 1 };
}

function readNumber(
  text: string,
  column: string,
  errors: string[],
): number | undefined {
  const trimmed = text.trim();
  if (NUMBER.test(trimmed)) return Number(trimmed);
  errors.push(`${column}: "${trimmed}" is not a number`);
  return undefined;
}

function ignoredColumns(
  type: CsvType,
  columns: Map<string, number>,
  cell: Cells,
  row: CsvRow,
  result: ParseResult,
) {
  const ignored = [...columns.keys()].filter((c) =>
    TYPE_COLUMNS.test(c) && !USES[type].test(c) && cell(c) !== ""
  );
  if (ignored.length > 0) {
    result.warnings.push(
      issue(row, `Ignored for ${type} questions: ${ignored.join(", ")}`),
    );
  }
}

function schemaErrors(question: DraftQuestion, errors: string[]) {
  const parsed = v.safeParse(QuestionSchema, question);
  if (parsed.success) return;
  for (const problem of parsed.issues) {
    const path = v.getDotPath(problem);
    errors.push(path ? `${path}: ${problem.message}` : problem.message);
  }
}

function splitList(cell: string, separator = "|"): string[] {
  return cell.split(separator).map((s) => s.trim()).filter((s) => s !== "");
}

function withFeedback(feedback: string | undefined): { feedback?: string } {
  return feedback ? { feedback } : {};
}
