import * as v from "valibot";
import {
  type EntityDecoderOptions,
  XMLParser,
  XMLValidator,
} from "fast-xml-parser";
import {
  type Choice,
  type DraftQuestion,
  normalizeSource,
  type NumericalAnswer,
  type ParseResult,
  QuestionSchema,
  type TextFormat,
} from "../question_model.ts";

type XmlNode = Record<string, unknown>;
type Common = Omit<Extract<DraftQuestion, { type: "essay" }>, "type">;

interface Issues {
  errors: string[];
  warnings: string[];
}

type Reader = (node: XmlNode, common: Common, issues: Issues) => DraftQuestion;

const ARRAY_TAGS = new Set(["question", "answer", "subquestion", "tag"]);
const XML_ENTITIES: Record<string, string> = {
  amp: "&",
  apos: "'",
  gt: ">",
  lt: "<",
  quot: '"',
};
const FORMATS: Record<string, TextFormat> = {
  html: "html",
  moodle_auto_format: "moodle",
  markdown: "markdown",
  plain_text: "plain",
};
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const CONTEXT_PREFIX = /^\$[a-z0-9]+\$(?:\/|$)/i;

/**
 * Decodes the five XML entities and character references in one pass, so `&amp;lt;` stays `&lt;`;
 * HTML entities such as `&nbsp;` are left for the HTML they belong to, DOCTYPE entities are ignored.
 */
const entityDecoder: EntityDecoderOptions = {
  setExternalEntities: () => {},
  addInputEntities: () => {},
  reset: () => {},
  setXmlVersion: () => {},
  decode: (text) =>
    text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, name: string) => {
      if (!name.startsWith("#")) return XML_ENTITIES[name] ?? entity;
      const code = name[1] === "x" || name[1] === "X"
        ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }),
};

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  entityDecoder,
  isArray: (name, _path, _leaf, isAttribute) =>
    !isAttribute && ARRAY_TAGS.has(name),
});

/**
 * Reads a Moodle XML question bank (`<quiz><question type="…">…</quiz>`). Category pseudo-questions
 * set the category of the questions after them. Locations are `question N ("name")`, where N counts
 * every `<question>` element in the file, category ones included, so it is the element's position.
 */
export function parseMoodleXml(source: string): ParseResult {
  const xml = normalizeSource(source);
  const result: ParseResult = { questions: [], warnings: [], errors: [] };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const column = valid.err.col ? ` (column ${valid.err.col})` : "";
    result.errors.push({
      location: `line ${valid.err.line}`,
      message: `malformed XML: ${valid.err.msg}${column}`,
    });
    return result;
  }
  const document = parser.parse(xml) as XmlNode;
  if (!("quiz" in document)) {
    result.errors.push({
      location: "file",
      message: "the root element must be <quiz>",
    });
    return result;
  }
  const elements = list(asNode(document.quiz).question);
  if (elements.length === 0) {
    result.warnings.push({ location: "file", message: "no questions found" });
  }
  let category: string | undefined;
  elements.forEach((node, index) => {
    const name = textOf(node.name);
    const location = `question ${index + 1}${name ? ` ("${name}")` : ""}`;
    const issues: Issues = { errors: [], warnings: [] };
    if (attr(node, "type") === "category") {
      category = readCategory(node, issues);
    } else {
      const question = readQuestion(node, name, category, issues);
      if (question) result.questions.push({ question, location });
    }
    for (const message of issues.errors) {
      result.errors.push({ location, message });
    }
    for (const message of issues.warnings) {
      result.warnings.push({ location, message });
    }
  });
  return result;
}

const READERS: Record<string, Reader> = {
  multichoice: readMultichoice,
  truefalse: readTrueFalse,
  shortanswer: readShortAnswer,
  numerical: readNumerical,
  matching: readMatching,
  essay: (_node, common) => ({ ...common, type: "essay" }),
  description: (_node, common) => ({ ...common, type: "description" }),
};

function readQuestion(
  node: XmlNode,
  name: string,
  category: string | undefined,
  issues: Issues,
): DraftQuestion | undefined {
  const type = attr(node, "type");
  if (!type) {
    issues.errors.push("the question has no type attribute");
    return undefined;
  }
  const reader = READERS[type];
  if (!reader) {
    issues.warnings.push(`unsupported question type "${type}"`);
    return undefined;
  }
  const draft = reader(node, readCommon(node, name, category, issues), issues);
  if (issues.errors.length > 0) return undefined;
  const checked = v.safeParse(QuestionSchema, draft);
  if (checked.success) return draft;
  for (const issue of checked.issues) {
    const path = v.getDotPath(issue);
    issues.errors.push(path ? `${path}: ${issue.message}` : issue.message);
  }
  return undefined;
}

function readCommon(
  node: XmlNode,
  name: string,
  category: string | undefined,
  issues: Issues,
): Common {
  const text = textOf(node.questiontext);
  if (!text) issues.errors.push("the question has no text");
  if (text.includes("@@PLUGINFILE@@")) {
    issues.warnings.push(
      "the text refers to embedded files (@@PLUGINFILE@@), which are not imported",
    );
  }
  const common: Common = {
    text,
    format: readFormat(asNode(node.questiontext), issues),
    tags: readTags(node),
  };
  if (name) common.title = name;
  if (category) common.category = category;
  const generalFeedback = textOf(node.generalfeedback);
  if (generalFeedback) common.generalFeedback = generalFeedback;
  if (node.defaultgrade !== undefined) {
    const points = readNumber(textOf(node.defaultgrade));
    if (points === undefined) {
      issues.errors.push(
        `defaultgrade "${textOf(node.defaultgrade)}" is not a number`,
      );
    } else common.points = points;
  }
  return common;
}

function readCategory(node: XmlNode, issues: Issues): string | undefined {
  const path = textOf(node.category)
    .replace(CONTEXT_PREFIX, "")
    .replace(/^top(?:\/|$)/, "")
    .replace(/^\/+|\/+$/g, "");
  if (!textOf(node.category)) {
    issues.warnings.push(
      "category without a path; the questions after it have no category",
    );
  }
  return path || undefined;
}

function readFormat(node: XmlNode, issues: Issues): TextFormat {
  const format = attr(node, "format") ?? "moodle_auto_format";
  const known = FORMATS[format];
  if (known) return known;
  issues.warnings.push(`unknown text format "${format}", read as plain text`);
  return "plain";
}

function readTags(node: XmlNode): string[] {
  const tags = list(asNode(node.tags).tag).map(textOf).filter(Boolean);
  return [...new Set(tags)];
}

function readMultichoice(
  node: XmlNode,
  common: Common,
  issues: Issues,
): DraftQuestion {
  const read = readChoices(node, issues);
  requirePositive(read, issues);
  const choices = read.filter((choice) => choice !== undefined);
  const single = node.single === undefined ||
    !["false", "0", ""].includes(textOf(node.single).toLowerCase());
  return single
    ? { ...common, type: "single_choice", choices }
    : { ...common, type: "multiple_answers", choices };
}

function readTrueFalse(
  node: XmlNode,
  common: Common,
  issues: Issues,
): DraftQuestion {
  let correct: boolean | undefined;
  let best = 0;
  const feedback = new Map<boolean, string | undefined>();
  const choices = readChoices(node, issues);
  choices.forEach((choice, index) => {
    if (!choice) return;
    const value = choice.text.toLowerCase();
    if (value !== "true" && value !== "false") {
      issues.errors.push(
        `answer ${index + 1}: "${choice.text}" is neither "true" nor "false"`,
      );
      return;
    }
    feedback.set(value === "true", choice.feedback);
    if (choice.weight > best) {
      best = choice.weight;
      correct = value === "true";
    }
  });
  if (correct === undefined) {
    if (!choices.includes(undefined)) {
      issues.errors.push("neither true nor false has a positive fraction");
    }
    return { ...common, type: "true_false", correct: true };
  }
  const right = feedback.get(correct);
  const wrong = feedback.get(!correct);
  return {
    ...common,
    type: "true_false",
    correct,
    ...(right ? { feedbackRight: right } : {}),
    ...(wrong ? { feedbackWrong: wrong } : {}),
  };
}

function readShortAnswer(
  node: XmlNode,
  common: Common,
  issues: Issues,
): DraftQuestion {
  const read = readChoices(node, issues);
  const answers: Choice[] = [];
  read.forEach((answer, index) => {
    if (answer?.text) answers.push(answer);
    else if (answer) {
      issues.warnings.push(`answer ${index + 1} is empty and was skipped`);
    }
  });
  requirePositive(read, issues);
  return {
    ...common,
    type: "short_answer",
    answers,
    caseSensitive: textOf(node.usecase) === "1",
  };
}

function readNumerical(
  node: XmlNode,
  common: Common,
  issues: Issues,
): DraftQuestion {
  const read = list(node.answer).flatMap((answer, index) => {
    const label = `answer ${index + 1}`;
    if (textOf(answer) !== "*") {
      return [readNumericalAnswer(answer, label, issues)];
    }
    issues.warnings.push(
      `${label}: the catch-all answer "*" is not supported and was skipped`,
    );
    return [];
  });
  requirePositive(read, issues);
  if (list(asNode(node.units).unit).length > 0) {
    issues.warnings.push("units are not imported; answers are plain numbers");
  }
  const answers = read.filter((answer) => answer !== undefined);
  return { ...common, type: "numerical", answers };
}

function readNumericalAnswer(
  answer: XmlNode,
  label: string,
  issues: Issues,
): NumericalAnswer | undefined {
  const weight = readWeight(answer, label, issues);
  const text = textOf(answer);
  const value = readNumber(text);
  if (value === undefined) {
    issues.errors.push(`${label}: "${text}" is not a number`);
  }
  const toleranceText = textOf(answer.tolerance) || "0";
  const tolerance = readNumber(toleranceText);
  if (tolerance === undefined) {
    issues.errors.push(
      `${label}: tolerance "${toleranceText}" is not a number`,
    );
  }
  if (value === undefined || tolerance === undefined || weight === undefined) {
    return undefined;
  }
  const exact = { kind: "exact" as const, value, weight };
  return withFeedback(
    { ...exact, tolerance: Math.abs(tolerance) },
    textOf(answer.feedback),
  );
}

function readMatching(
  node: XmlNode,
  common: Common,
  issues: Issues,
): DraftQuestion {
  const pairs: { left: string; right: string }[] = [];
  const distractors: string[] = [];
  list(node.subquestion).forEach((subquestion, index) => {
    const left = textOf(subquestion);
    const right = textOf(subquestion.answer);
    if (left && right) pairs.push({ left, right });
    else if (right) distractors.push(right);
    else if (left) {
      issues.errors.push(`subquestion ${index + 1} has no matching answer`);
    }
  });
  return { ...common, type: "matching", pairs, distractors };
}

/** One entry per `<answer>`, undefined where its fraction is unreadable (already reported). */
function readChoices(node: XmlNode, issues: Issues): (Choice | undefined)[] {
  return list(node.answer).map((answer, index) => {
    const weight = readWeight(answer, `answer ${index + 1}`, issues);
    if (weight === undefined) return undefined;
    return withFeedback(
      { text: textOf(answer), weight },
      textOf(answer.feedback),
    );
  });
}

/** Reports answers of which none earns credit, unless some fraction was already unreadable. */
function requirePositive(
  answers: ({ weight: number } | undefined)[],
  issues: Issues,
) {
  if (answers.length === 0 || answers.includes(undefined)) return;
  if (!answers.some((answer) => answer && answer.weight > 0)) {
    issues.errors.push(
      "no answer has a positive fraction, so none can be right",
    );
  }
}

function readWeight(
  answer: XmlNode,
  label: string,
  issues: Issues,
): number | undefined {
  const fraction = attr(answer, "fraction")?.trim() ?? "0";
  const percent = readNumber(fraction);
  if (percent === undefined) {
    issues.errors.push(`${label}: fraction "${fraction}" is not a number`);
    return undefined;
  }
  if (percent < -100 || percent > 100) {
    issues.errors.push(
      `${label}: fraction ${fraction} is outside -100..100`,
    );
    return undefined;
  }
  return Math.round(percent * 1e5) / 1e7 || 0;
}

function withFeedback<T extends object>(
  answer: T,
  feedback: string,
): T & { feedback?: string } {
  return feedback ? { ...answer, feedback } : answer;
}

function readNumber(text: string): number | undefined {
  return NUMBER.test(text) ? Number(text) : undefined;
}

function textOf(value: unknown): string {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === "string") return first.trim();
  if (!isNode(first)) return "";
  return textOf("text" in first ? first.text : first["#text"]);
}

function attr(node: XmlNode, name: string): string | undefined {
  const value = node[`@_${name}`];
  return typeof value === "string" ? value : undefined;
}

function list(value: unknown): XmlNode[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(asNode);
}

function asNode(value: unknown): XmlNode {
  const first = Array.isArray(value) ? value[0] : value;
  return isNode(first) ? first : {};
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
