// @ts-types="@types/sanitize-html"
import sanitizeHtml from "sanitize-html";
import { Marked } from "marked";

/** Characters of rich text or Markdown input accepted; callers validate. */
export const MAX_RICH_TEXT_LENGTH = 200_000;

export interface RenderedText {
  html: string;
  text: string;
}

const LINK_REL = "noopener noreferrer nofollow";

// Classes React Quill emits for alignment, indentation, size, font and
// code blocks; any other class is dropped.
const QUILL_CLASSES: RegExp[] = [
  /^ql-align-(?:left|center|right|justify)$/,
  /^ql-indent-\d+$/,
  /^ql-size-[a-z0-9-]+$/,
  /^ql-font-[a-z0-9-]+$/,
  /^ql-direction-rtl$/,
  /^ql-syntax$/,
];

function alignToClass(
  tagName: string,
  attribs: sanitizeHtml.Attributes,
): sanitizeHtml.Tag {
  const { align, ...rest } = attribs;
  return align
    ? { tagName, attribs: { ...rest, class: `ql-align-${align}` } }
    : { tagName, attribs: rest };
}

// The one allowlist shared by Quill HTML and rendered Markdown.
const ALLOWLIST: sanitizeHtml.IOptions = {
  allowedTags: [
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "strike",
    "sub",
    "sup",
    "a",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "code",
    "hr",
    "img",
    "span",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
  ],
  allowedAttributes: {
    a: ["href", "title", "rel", "target"],
    img: ["src", "alt", "width", "height"],
  },
  allowedClasses: { "*": QUILL_CLASSES },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["http", "https"] },
  allowedSchemesAppliedToAttributes: ["href", "src"],
  // Disallowed tags are unwrapped, keeping their text, except these, whose
  // content is code, markup or otherwise not meant to be read as prose.
  nonTextTags: [
    "script",
    "style",
    "noscript",
    "template",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "select",
    "option",
    "head",
  ],
  transformTags: {
    // Overrides whatever rel/target the author sent, so every link gets both.
    a: (tagName, attribs) => ({
      tagName,
      attribs: { ...attribs, rel: LINK_REL, target: "_blank" },
    }),
    // Markdown's ~~strike~~ renders as <del>.
    del: "s",
    // Markdown table alignment arrives as align="..."; keep it as Quill's class.
    th: alignToClass,
    td: alignToClass,
  },
  // An image whose src failed the scheme check would only show a broken icon.
  exclusiveFilter: (frame) => frame.tag === "img" && !frame.attribs.src,
};

const markdown = new Marked({ gfm: true });

/** Sanitises HTML from a rich editor such as React Quill. */
export function sanitizeRichHtml(html: string): RenderedText {
  const safe = sanitizeHtml(html, ALLOWLIST);
  return { html: safe, text: toPlainText(safe) };
}

/**
 * Renders lesson Markdown (GFM). Raw HTML in the source passes through marked
 * and is then held to the same allowlist as rich-editor HTML.
 */
export function renderMarkdown(source: string): RenderedText {
  return sanitizeRichHtml(markdown.parse(source, { async: false }));
}

const BLOCK_BOUNDARY =
  /<\/?(?:p|br|li|ul|ol|h[1-6]|blockquote|pre|hr|table|thead|tbody|tr|th|td)\b[^>]*>/gi;

const ESCAPES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#39;": "'",
};

// Only valid for sanitize-html output: the parser has already decoded every
// entity, and on the way out it escapes `<` and `>` everywhere (attribute
// values included) and re-encodes text with nothing but the escapes above.
/** The text of each block (paragraph, heading, list item, cell) of sanitized HTML, in order. */
export function toParagraphs(safeHtml: string): string[] {
  return safeHtml.split(BLOCK_BOUNDARY).map(toPlainText).filter(Boolean);
}

function toPlainText(safeHtml: string): string {
  return safeHtml
    .replace(BLOCK_BOUNDARY, " ")
    .replace(/<[^>]*>/g, "")
    .replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ESCAPES[entity] ?? "")
    .replace(/\s+/g, " ")
    .trim();
}
