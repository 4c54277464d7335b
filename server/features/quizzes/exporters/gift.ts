import type {
  Choice,
  NumericalAnswer,
  Question,
  TextFormat,
} from "../question_model.ts";

/**
 * Writes questions as Moodle GIFT that `parseGift` reads back to the same questions, except for
 * what GIFT has no syntax for:
 *
 * - `difficulty`, `points`, `tags` and `explanation` are not written (they come back as the
 *   defaults: no difficulty, 1 point, no tags, no explanation);
 * - a short answer's `caseSensitive` is not written (it comes back false);
 * - a description's `generalFeedback` is not written (`{####…}` would make it an essay).
 *
 * GIFT also normalises some text: every text is trimmed, whitespace in a title collapses to single
 * spaces, empty titles and feedback come back absent, CR line ends become LF.
 *
 * Some questions cannot be written so that the parser reads them back as they were:
 * a single choice question with no positive weight, or with several positive weights all below 1
 * (read as multiple answers); empty question, choice, answer or matching right-hand texts; `->` in
 * a short answer's texts or in a matching pair's left-hand text; a matching pair with an empty left
 * (read as a distractor); the private-use characters U+E000 to U+E007, which the parser uses as
 * placeholders for escapes and turns into `\ ~ = # { } :` and a line break.
 */
export function toGift(questions: Question[]): string {
  const parts: string[] = [];
  let category: string | undefined;
  for (const question of questions) {
    if (question.category !== category) {
      category = question.category;
      parts.push(`$CATEGORY: ${categoryPath(category)}`);
    }
    parts.push(giftQuestion(question));
  }
  return parts.map((part) => `${part}\n`).join("\n");
}

/**
 * The parser drops a leading `$course$/` and `top/`, so a path that starts like that gets a `top/`
 * of its own; `top` alone means no category.
 */
function categoryPath(category: string | undefined): string {
  const path = (category ?? "").replace(/[\r\n]+/g, " ").trim();
  return /^(?:top|\$[a-z]+\$)(?:\/|$)/i.test(path)
    ? `top/${path}`
    : path || "top";
}

function escape(text: string): string {
  return text.replace(/\r\n?/g, "\n")
    .replace(/[\\~=#{}:]/g, "\\$&")
    .replace(/\n/g, "\\n");
}

/**
 * A leading `[html]`-like marker would be read as the text's format, and a leading `//` as a
 * comment line; neither can be escaped, so such a text is prefixed with the question's own marker.
 */
const MISREAD_START = /^\s*(?:\[(?:html|markdown|plain|moodle)\]|\/\/)/i;

function giftText(text: string, format: TextFormat, marked = false): string {
  const marker = marked || MISREAD_START.test(text) ? `[${format}]` : "";
  return marker + escape(text);
}

/** Moodle's percentage, written from the decimal digits so that 0.07 is 7, not 7.000000000000001. */
function percent(weight: number): string {
  if (weight === 0) return "0";
  const [mantissa = "0", exponent = "0"] = Math.abs(weight).toExponential()
    .split("e");
  const digits = mantissa.replace(".", "");
  const point = Number(exponent) + 3;
  const unsigned = point <= 0
    ? `0.${"0".repeat(-point)}${digits}`
    : point >= digits.length
    ? digits + "0".repeat(point - digits.length)
    : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return weight < 0 ? `-${unsigned}` : unsigned;
}

/** `%weight%` unless the mark already implies it; always before a text that starts with `%`. */
function weighted(weight: number, implied: number, text = ""): string {
  return weight === implied && !/^\s*%/.test(text)
    ? ""
    : `%${percent(weight)}%`;
}

function giftQuestion(question: Question): string {
  const { format } = question;
  const title = question.title ? `::${escape(question.title)}::` : "";
  const head = title + giftText(question.text, format, format !== "plain");
  const text = (value: string) => giftText(value, format);
  const feedback = (value: string | undefined) =>
    value ? `#${text(value)}` : "";
  const general = question.generalFeedback
    ? [`####${text(question.generalFeedback)}`]
    : [];
  const block = (lines: string[], lead = "") => {
    const all = [...lines, ...general];
    return all.length <= 1
      ? `${head}{${lead}${all.join("")}}`
      : `${head}{${lead}\n${all.map((line) => `\t${line}`).join("\n")}\n}`;
  };
  const choiceLine = (mark: "=" | "~", choice: Choice) =>
    mark + weighted(choice.weight, mark === "=" ? 1 : 0, choice.text) +
    text(choice.text) + feedback(choice.feedback);

  switch (question.type) {
    case "single_choice": {
      // The parser needs an = to read a single choice; the first best choice carries it.
      const best = Math.max(...question.choices.map((choice) => choice.weight));
      const right = question.choices.findIndex((choice) =>
        choice.weight === best
      );
      return block(
        question.choices.map((choice, index) =>
          choiceLine(index === right ? "=" : "~", choice)
        ),
      );
    }
    case "multiple_answers":
      return block(question.choices.map((choice) => choiceLine("~", choice)));
    case "true_false": {
      const { feedbackWrong = "", feedbackRight = "" } = question;
      const answer = question.correct ? "TRUE" : "FALSE";
      const wrong = feedbackWrong || feedbackRight
        ? `#${text(feedbackWrong)}`
        : "";
      const right = feedbackRight ? `#${text(feedbackRight)}` : "";
      return block([answer + wrong + right]);
    }
    case "short_answer":
      return block(
        question.answers.map((answer) =>
          `=${weighted(answer.weight, 1, answer.text)}${text(answer.text)}${
            feedback(answer.feedback)
          }`
        ),
      );
    case "numerical":
      return block(
        question.answers.map((answer) =>
          `=${weighted(answer.weight, 1)}${numerical(answer)}${
            feedback(answer.feedback)
          }`
        ),
        "#",
      );
    case "matching":
      return block([
        ...question.pairs.map(({ left, right }) =>
          `=${text(left)} -> ${text(right)}`
        ),
        ...question.distractors.map((right) => `= -> ${text(right)}`),
      ]);
    case "essay":
      return block([]);
    case "description":
      return head;
  }
}

function numerical(answer: NumericalAnswer): string {
  return answer.kind === "range"
    ? `${answer.min}..${answer.max}`
    : `${answer.value}:${answer.tolerance}`;
}
