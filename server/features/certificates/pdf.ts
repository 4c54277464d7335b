/**
 * Certificate PDF renderer: pdf-lib draws a layout from `templates/certificates/<name>.json`.
 *
 * Text goes through fontkit shaping (ligatures, kerning, Arabic joining forms and mark positions)
 * and is placed glyph by glyph, so what is drawn is exactly what was measured. Each string is cut
 * into runs by direction (a small subset of the Unicode bidi algorithm) and by font (Noto Sans for
 * Latin, Greek and Cyrillic, Noto Sans Arabic, Noto Sans SC for CJK); every font is a subset.
 *
 * Fonts and layouts are read and parsed once per process. The output is deterministic: the same
 * document gives the same bytes (dates in the metadata come from `issuedAt`).
 */
import fontkit from "@pdf-lib/fontkit";
import type { Font as FontkitFont, Glyph, GlyphRun } from "@pdf-lib/fontkit";
import {
  appendBezierCurve,
  beginText,
  closePath,
  endText,
  fill,
  lineTo,
  moveTo,
  PDFDocument,
  type PDFFont,
  PDFHexString,
  type PDFName,
  type PDFOperator,
  type PDFPage,
  popGraphicsState,
  pushGraphicsState,
  rectangle,
  setFillingRgbColor,
  setFontAndSize,
  setLineWidth,
  setStrokingRgbColor,
  setTextMatrix,
  showText,
  stroke,
} from "pdf-lib";
// @ts-types="@types/qrcode"
import QRCode from "qrcode";
import * as v from "valibot";

export interface CertificateDocument {
  schoolName: string;
  /** PNG or JPEG bytes of the school's logo, optional. */
  logo?: Uint8Array | undefined;
  recipientName: string;
  programTitle: string;
  issuedAt: Date;
  expiresAt?: Date | null;
  /** Percentage, shown when present. */
  score?: number | null;
  code: string;
  verifyUrl: string;
}

// ---------------------------------------------------------------------------------------------
// Layout

const TEMPLATES_DIR = new URL(
  "../../../templates/certificates/",
  import.meta.url,
);

/** The placeholders a text element may use, e.g. `Issued {date}`. */
export const LAYOUT_FIELDS = [
  "schoolName",
  "recipientName",
  "programTitle",
  "date",
  "expires",
  "score",
  "code",
  "verifyUrl",
] as const;
type Field = (typeof LAYOUT_FIELDS)[number];

const PLACEHOLDER = /\{([^{}]*)\}/g;
const Num = v.pipe(v.number(), v.finite());
const Positive = v.pipe(v.number(), v.finite(), v.gtValue(0));
const Color = v.pipe(
  v.string(),
  v.regex(/^#[0-9a-fA-F]{6}$/, "Colors are written #RRGGBB"),
);
const Align = v.picklist(["left", "center", "right"]);

const TextElement = v.strictObject({
  kind: v.literal("text"),
  text: v.pipe(
    v.string(),
    v.minLength(1),
    v.check(
      (text) =>
        [...text.matchAll(PLACEHOLDER)].every((m) =>
          (LAYOUT_FIELDS as readonly string[]).includes(m[1]!)
        ),
      `Unknown placeholder; known: ${
        LAYOUT_FIELDS.map((f) => `{${f}}`).join(" ")
      }`,
    ),
  ),
  align: v.optional(Align, "center"),
  x: v.optional(Num),
  y: Num,
  size: Positive,
  minSize: v.optional(Positive),
  maxWidth: v.optional(Positive),
  maxLines: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(6)),
    1,
  ),
  lineHeight: v.optional(
    v.pipe(v.number(), v.minValue(0.8), v.maxValue(3)),
    1.2,
  ),
  weight: v.optional(v.picklist(["regular", "bold"]), "regular"),
  color: v.optional(Color, "#000000"),
});

const QrElement = v.strictObject({
  kind: v.literal("qr"),
  align: v.optional(Align, "left"),
  x: v.optional(Num),
  y: Num,
  /** Side of the square, quiet zone included. */
  size: Positive,
  quietZone: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10)),
    4,
  ),
  color: v.optional(Color, "#000000"),
  background: v.optional(Color, "#FFFFFF"),
  errorCorrection: v.optional(v.picklist(["L", "M", "Q", "H"]), "M"),
});

const LogoElement = v.strictObject({
  kind: v.literal("logo"),
  align: v.optional(Align, "center"),
  x: v.optional(Num),
  y: Num,
  width: Positive,
  height: Positive,
});

const RuleElement = v.strictObject({
  kind: v.literal("rule"),
  x1: Num,
  y1: Num,
  x2: Num,
  y2: Num,
  thickness: v.optional(Positive, 1),
  color: v.optional(Color, "#000000"),
});

const FrameElement = v.strictObject({
  kind: v.literal("frame"),
  /** Distance from the page edge to the middle of the line. */
  inset: v.pipe(v.number(), v.minValue(0)),
  thickness: v.optional(Positive, 1),
  color: v.optional(Color, "#000000"),
});

const Element = v.variant("kind", [
  TextElement,
  QrElement,
  LogoElement,
  RuleElement,
  FrameElement,
]);

const LayoutSchema = v.strictObject({
  description: v.optional(v.string()),
  page: v.strictObject({
    size: v.optional(v.picklist(["A4", "Letter"]), "A4"),
    orientation: v.optional(v.picklist(["landscape", "portrait"]), "landscape"),
    margin: v.optional(v.pipe(v.number(), v.minValue(0)), 36),
    background: v.optional(Color, "#FFFFFF"),
  }),
  elements: v.pipe(v.array(Element), v.minLength(1)),
});

type LayoutInput = v.InferOutput<typeof LayoutSchema>;
export type LayoutElement = v.InferOutput<typeof Element>;
export interface CertificateLayout extends LayoutInput {
  width: number;
  height: number;
}

const PAGE_SIZES = { A4: [595.28, 841.89], Letter: [612, 792] } as const;

/** Validates a layout (already parsed JSON); throws with every problem listed. */
export function parseLayout(
  input: unknown,
  source = "layout",
): CertificateLayout {
  const result = v.safeParse(LayoutSchema, input);
  if (!result.success) {
    const problems = result.issues.map((issue) =>
      `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`
    );
    throw new Error(
      `Invalid certificate layout ${source}:\n  ${problems.join("\n  ")}`,
    );
  }
  const layout = result.output;
  const [short, long] = PAGE_SIZES[layout.page.size];
  const landscape = layout.page.orientation === "landscape";
  const width = landscape ? long : short;
  const height = landscape ? short : long;
  const problems: string[] = [];
  const inside = (what: string, x: number, y: number) => {
    if (x < 0 || x > width || y < 0 || y > height) {
      problems.push(
        `${what} (${x}, ${y}) is outside the ${width}×${height} page`,
      );
    }
  };
  if (layout.page.margin * 2 >= Math.min(width, height)) {
    problems.push("page.margin leaves no room");
  }
  layout.elements.forEach((element, i) => {
    const name = `elements.${i} (${element.kind})`;
    if (element.kind === "text") {
      inside(name, element.x ?? width / 2, element.y);
      if (element.minSize !== undefined && element.minSize > element.size) {
        problems.push(`${name}: minSize is larger than size`);
      }
    } else if (element.kind === "qr") {
      const x = boxX(element, element.size, width, layout.page.margin);
      inside(name, x, element.y);
      inside(name, x + element.size, element.y + element.size);
    } else if (element.kind === "logo") {
      const x = boxX(element, element.width, width, layout.page.margin);
      inside(name, x, element.y);
      inside(name, x + element.width, element.y + element.height);
    } else if (element.kind === "rule") {
      inside(name, element.x1, element.y1);
      inside(name, element.x2, element.y2);
    } else if (element.inset * 2 >= Math.min(width, height)) {
      problems.push(`${name}: inset leaves no room`);
    }
  });
  if (problems.length > 0) {
    throw new Error(
      `Invalid certificate layout ${source}:\n  ${problems.join("\n  ")}`,
    );
  }
  return { ...layout, width, height };
}

function boxX(
  element: { x?: number | undefined; align: "left" | "center" | "right" },
  boxWidth: number,
  pageWidth: number,
  margin: number,
): number {
  if (element.x !== undefined) return element.x;
  if (element.align === "left") return margin;
  if (element.align === "right") return pageWidth - margin - boxWidth;
  return (pageWidth - boxWidth) / 2;
}

const layouts = new Map<string, Promise<CertificateLayout>>();

/** Reads, validates and caches `templates/certificates/<name>.json`. */
export function loadLayout(name = "default"): Promise<CertificateLayout> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    return Promise.reject(
      new Error(`Invalid certificate layout name "${name}"`),
    );
  }
  let layout = layouts.get(name);
  if (!layout) {
    const url = new URL(`${name}.json`, TEMPLATES_DIR);
    layout = Deno.readTextFile(url).then(
      (text) => parseLayout(JSON.parse(text), `${name}.json`),
      (error) => {
        throw new Error(`Cannot read certificate layout ${url.pathname}`, {
          cause: error,
        });
      },
    );
    layouts.set(name, layout);
    layout.catch(() => layouts.delete(name));
  }
  return layout;
}

// ---------------------------------------------------------------------------------------------
// Fonts

type Weight = "regular" | "bold";

/** In fallback order: the first face that has a glyph for a letter draws it. */
const FONT_FILES: Record<Weight, readonly string[]> = {
  regular: [
    "@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf",
    "@expo-google-fonts/noto-sans-arabic/400Regular/NotoSansArabic_400Regular.ttf",
    "@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf",
  ],
  bold: [
    "@expo-google-fonts/noto-sans/700Bold/NotoSans_700Bold.ttf",
    "@expo-google-fonts/noto-sans-arabic/700Bold/NotoSansArabic_700Bold.ttf",
    "@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf",
  ],
};
const NODE_MODULES = new URL("../../../node_modules/", import.meta.url);

/** fontkit's `layout` takes script, language and direction too; its typings leave them out. */
interface ShapingFont extends FontkitFont {
  layout(
    text: string,
    features?: undefined,
    script?: string,
    language?: string,
    direction?: "ltr" | "rtl",
  ): GlyphRun;
}

interface Face {
  /** Index in the fallback list. */
  index: number;
  weight: Weight;
  bytes: Uint8Array;
  font: ShapingFont;
  unitsPerEm: number;
  postscriptName: string;
}

const faces = new Map<string, Promise<Face>>();
/** pdf-lib asks its fontkit to parse the bytes again for every document; hand back the parsed font. */
const parsedFonts = new WeakMap<Uint8Array, FontkitFont>();
const cachingFontkit = {
  create(bytes: Uint8Array): FontkitFont {
    return parsedFonts.get(bytes) ?? fontkit.create(bytes);
  },
};

function loadFace(weight: Weight, index: number): Promise<Face> {
  const key = `${weight}:${index}`;
  let face = faces.get(key);
  if (!face) {
    face = readFace(weight, index);
    faces.set(key, face);
    face.catch(() => faces.delete(key));
  }
  return face;
}

async function readFace(weight: Weight, index: number): Promise<Face> {
  const path = FONT_FILES[weight][index]!;
  const url = new URL(path, NODE_MODULES);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(url);
  } catch (error) {
    throw new Error(
      `Certificate font missing: ${url.pathname}. Fonts come from the npm package ` +
        `${
          path.split("/").slice(0, 2).join("/")
        } in deno.json; run \`deno install\`.`,
      { cause: error },
    );
  }
  const font = fontkit.create(bytes) as ShapingFont;
  repairShaperInheritance(font);
  keepCodePointsPerUse(font);
  parsedFonts.set(bytes, font);
  return {
    index,
    weight,
    bytes,
    font,
    unitsPerEm: font.unitsPerEm,
    postscriptName: (font.postscriptName ?? `Font${index}`).replace(
      /[^A-Za-z0-9-]/g,
      "",
    ),
  };
}

/**
 * @pdf-lib/fontkit's classes inherit static methods through `subClass.__proto__ = superClass`;
 * Deno has no `Object.prototype.__proto__`, so that line only adds a plain property and the Arabic
 * shaper loses the `plan` it inherits from the default shaper ("this.shaper.plan is not a
 * function"). Shaping a sample makes fontkit pick the shaper class; we then link the class to the
 * parent it names. Only the Arabic shaper matters for these fonts (the Indic and Universal shapers
 * also need a missing regenerator runtime; `shapeRun` falls back to unshaped glyphs for them).
 */
function repairShaperInheritance(font: ShapingFont): void {
  if (!font.hasGlyphForCodePoint(0x0628)) return;
  try {
    font.layout("\u0628\u0628");
  } catch {
    const engine = (font as unknown as {
      _layoutEngine?: { engine?: { shaper?: object } };
    })._layoutEngine?.engine;
    const shaper = engine?.shaper;
    const parent = shaper &&
      Object.getOwnPropertyDescriptor(shaper, "__proto__")?.value;
    if (shaper && typeof parent === "function") {
      Object.setPrototypeOf(shaper, parent);
    }
    font.layout("\u0628\u0628"); // throws again if the repair did not work
  }
}

/**
 * fontkit caches one Glyph per id, with the code points of whichever string asked first, and
 * those code points become the PDF's ToUnicode map (what copy and paste or a text extractor see).
 * Hand out per-use views instead, so a document's text map depends only on that document.
 */
function keepCodePointsPerUse(font: FontkitFont): void {
  const getGlyph = font.getGlyph.bind(font);
  font.getGlyph = (id: number, codePoints: number[] = []) =>
    Object.create(getGlyph(id, codePoints), {
      codePoints: { value: codePoints, enumerable: true },
    }) as Glyph;
}

/** Faces of one weight, loaded in fallback order until every character has one (or none is left). */
async function facesFor(weight: Weight, texts: string[]): Promise<Face[]> {
  const chain = [await loadFace(weight, 0)];
  for (const text of texts) {
    for (const char of text) {
      const cp = char.codePointAt(0)!;
      if (
        !isLetterLike(char) ||
        chain.some((f) => f.font.hasGlyphForCodePoint(cp))
      ) {
        continue;
      }
      while (chain.length < FONT_FILES[weight].length) {
        const face = await loadFace(weight, chain.length);
        chain.push(face);
        if (face.font.hasGlyphForCodePoint(cp)) break;
      }
    }
  }
  return chain;
}

/** Letters, marks and digits pick a font; punctuation and spaces follow their neighbours. */
const isLetterLike = (char: string) => /[\p{L}\p{M}\p{N}]/u.test(char);

// ---------------------------------------------------------------------------------------------
// Bidi: paragraph direction, levels (0, 1, 2) and visual order of runs. Enough of UAX #9 for names
// and titles: strong letters, numbers, neutrals; no explicit embeddings or bracket pairs.

type BidiType = "L" | "R" | "EN" | "N" | "NSM";

const RTL_CHAR =
  /[\u0590-\u05FF\u0600-\u065F\u066A-\u06EF\u06FA-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;

function bidiType(char: string): BidiType {
  if (char === "\u200E") return "L"; // left-to-right mark
  if (char === "\u200F" || char === "\u061C") return "R"; // right-to-left and Arabic letter marks
  if (/\p{M}/u.test(char)) return "NSM";
  if (/[\p{Nd}]/u.test(char)) return "EN";
  if (RTL_CHAR.test(char)) return /[\p{L}\p{Cf}]/u.test(char) ? "R" : "N";
  if (/\p{L}/u.test(char)) return "L";
  return "N";
}

/** True when the first strong character is right-to-left. */
export function isRtlText(text: string): boolean {
  for (const char of text) {
    const type = bidiType(char);
    if (type === "L") return false;
    if (type === "R") return true;
  }
  return false;
}

interface LevelRun {
  text: string;
  level: number;
}

/** Splits one line into runs of one embedding level, in visual (left-to-right) order. */
function bidiRuns(line: string, rtlParagraph: boolean): LevelRun[] {
  const chars = [...line];
  const base = rtlParagraph ? 1 : 0;
  const sos: BidiType = rtlParagraph ? "R" : "L";
  const types = chars.map(bidiType);
  // W1: marks take the type of what they follow.
  for (let i = 0; i < types.length; i++) {
    if (types[i] === "NSM") types[i] = i === 0 ? sos : types[i - 1]!;
  }
  // W4/W5: a separator between digits, or %-like signs next to digits, belong to the number.
  for (let i = 0; i < types.length; i++) {
    if (types[i] !== "N") continue;
    const c = chars[i]!;
    if (
      /^[.,:/]$/.test(c) && types[i - 1] === "EN" && types[i + 1] === "EN"
    ) types[i] = "EN";
  }
  for (let i = 0; i < types.length; i++) {
    if (types[i] === "N" && /^[%‰°#$€£¥+\-]$/.test(chars[i]!)) {
      if (types[i - 1] === "EN" || types[i + 1] === "EN") types[i] = "EN";
    }
  }
  // W7: numbers after a left-to-right letter are left-to-right.
  let lastStrong: BidiType = sos;
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    if (t === "L" || t === "R") lastStrong = t;
    else if (t === "EN" && lastStrong === "L") types[i] = "L";
  }
  // N1/N2: neutrals between two of the same direction take it; otherwise the paragraph's.
  const strongOf = (t: BidiType | undefined, edge: BidiType): BidiType =>
    t === undefined ? edge : t === "EN" ? "R" : t;
  for (let i = 0; i < types.length;) {
    if (types[i] !== "N") {
      i++;
      continue;
    }
    let j = i;
    while (j < types.length && types[j] === "N") j++;
    const before = strongOf(types[i - 1], sos);
    const after = strongOf(types[j], sos);
    const resolved = before === after ? before : sos;
    for (let k = i; k < j; k++) types[k] = resolved;
    i = j;
  }
  // I1/I2: levels.
  const levels = types.map((t) => {
    if (base === 0) return t === "R" ? 1 : t === "EN" ? 2 : 0;
    return t === "R" ? 1 : 2;
  });
  const runs: LevelRun[] = [];
  chars.forEach((char, i) => {
    const last = runs[runs.length - 1];
    if (last && last.level === levels[i]) last.text += char;
    else runs.push({ text: char, level: levels[i]! });
  });
  // L2: from the highest level down to the lowest odd one, reverse every sequence at or above it.
  const highest = Math.max(base, ...runs.map((r) => r.level));
  const lowestOdd = Math.min(...runs.map((r) => r.level), base) | 1;
  for (let level = highest; level >= lowestOdd; level--) {
    for (let i = 0; i < runs.length;) {
      if (runs[i]!.level < level) {
        i++;
        continue;
      }
      let j = i;
      while (j < runs.length && runs[j]!.level >= level) j++;
      runs.splice(i, j - i, ...runs.slice(i, j).reverse());
      i = j;
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Shaping and measuring. Distances are in ems (multiply by the font size for points).

interface PlacedGlyph {
  face: Face;
  glyph: Glyph;
  x: number;
  y: number;
}

interface ShapedLine {
  text: string;
  glyphs: PlacedGlyph[];
  width: number;
}

/** Which face draws each character of a same-direction run; cut into font runs. */
function fontRuns(text: string, chain: Face[]): { text: string; face: Face }[] {
  const chars = [...text];
  const first = (char: string) => {
    const cp = char.codePointAt(0)!;
    return chain.find((f) => f.font.hasGlyphForCodePoint(cp));
  };
  const picks: (Face | undefined)[] = chars.map((c) =>
    isLetterLike(c) ? first(c) ?? chain[0] : undefined
  );
  // Marks stay with their base when it can draw them; punctuation and spaces join a neighbour.
  const covers = (f: Face | undefined, c: string) =>
    f !== undefined && f.font.hasGlyphForCodePoint(c.codePointAt(0)!);
  chars.forEach((c, i) => {
    if (/\p{M}/u.test(c) && covers(picks[i - 1], c)) picks[i] = picks[i - 1];
  });
  chars.forEach((c, i) => {
    if (picks[i] !== undefined) return;
    const previous = picks[i - 1];
    const next = picks.slice(i + 1).find((p) => p !== undefined);
    picks[i] = covers(previous, c)
      ? previous
      : covers(next, c)
      ? next
      : first(c) ?? chain[0];
  });
  const runs: { text: string; face: Face }[] = [];
  chars.forEach((c, i) => {
    const last = runs[runs.length - 1];
    if (last && last.face === picks[i]) last.text += c;
    else runs.push({ text: c, face: picks[i]! });
  });
  return runs;
}

/** Shapes with fontkit; a script whose shaper fails here is drawn unshaped rather than not at all. */
function shapeRun(
  face: Face,
  text: string,
  direction: "ltr" | "rtl",
): { glyphs: Glyph[]; advances: { x: number; dx: number; dy: number }[] } {
  const em = 1 / face.unitsPerEm;
  try {
    const run = face.font.layout(
      text,
      undefined,
      undefined,
      undefined,
      direction,
    );
    return {
      glyphs: run.glyphs,
      advances: run.positions.map((p) => ({
        x: p.xAdvance * em,
        dx: p.xOffset * em,
        dy: p.yOffset * em,
      })),
    };
  } catch {
    const glyphs = face.font.glyphsForString(text);
    if (direction === "rtl") glyphs.reverse();
    return {
      glyphs,
      advances: glyphs.map((g) => ({ x: g.advanceWidth * em, dx: 0, dy: 0 })),
    };
  }
}

/** Brackets and quotes that right-to-left text draws with their mirror image (Bidi_Mirrored). */
const MIRRORED: Record<string, string> = {
  "(": ")",
  ")": "(",
  "[": "]",
  "]": "[",
  "{": "}",
  "}": "{",
  "<": ">",
  ">": "<",
  "«": "»",
  "»": "«",
  "‹": "›",
  "›": "‹",
};

/**
 * In a right-to-left run an opening bracket stands on the right and must look like `)`. Shape the
 * mirrored characters, then give their glyphs the original characters back for the text layer.
 */
function shapeMirrored(face: Face, text: string) {
  const mirrored = [...text].map((c) => MIRRORED[c] ?? c).join("");
  if (mirrored === text) return shapeRun(face, text, "rtl");
  const shaped = shapeRun(face, mirrored, "rtl");
  shaped.glyphs = shaped.glyphs.map((glyph) => {
    const char = glyph.codePoints.length === 1
      ? String.fromCodePoint(glyph.codePoints[0]!)
      : "";
    const original = MIRRORED[char];
    return original === undefined ? glyph : Object.create(glyph, {
      codePoints: { value: [original.codePointAt(0)!], enumerable: true },
    }) as Glyph;
  });
  return shaped;
}

function shapeLine(text: string, chain: Face[], rtl: boolean): ShapedLine {
  const glyphs: PlacedGlyph[] = [];
  let pen = 0;
  for (const levelRun of bidiRuns(text, rtl)) {
    const odd = levelRun.level % 2 === 1;
    const runs = fontRuns(levelRun.text, chain);
    if (odd) runs.reverse();
    for (const run of runs) {
      const shaped = odd
        ? shapeMirrored(run.face, run.text)
        : shapeRun(run.face, run.text, "ltr");
      shaped.glyphs.forEach((glyph, i) => {
        const a = shaped.advances[i]!;
        glyphs.push({ face: run.face, glyph, x: pen + a.dx, y: a.dy });
        pen += a.x;
      });
    }
  }
  return { text, glyphs, width: pen };
}

/** Break opportunities: after spaces, and around CJK characters. */
function breakTokens(text: string): string[] {
  const tokens: string[] = [];
  let current = "";
  const cjk =
    /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\u3000-\u303F\uFF00-\uFFEF]/u;
  for (const char of text) {
    if (cjk.test(char) && current !== "" && !/\s$/.test(current)) {
      tokens.push(current);
      current = "";
    }
    current += char;
    if (/\s/.test(char) || cjk.test(char)) {
      tokens.push(current);
      current = "";
    }
  }
  if (current !== "") tokens.push(current);
  return tokens;
}

interface Token {
  text: string;
  /** With its trailing space, and without (a line that ends there does not draw it). */
  width: number;
  trimmedWidth: number;
}

/** Greedy line breaking: the index of the first token of each line. */
function wrap(tokens: Token[], maxEm: number): number[] {
  const starts: number[] = [];
  let width = 0;
  tokens.forEach((token, i) => {
    if (starts.length === 0 || width + token.trimmedWidth > maxEm) {
      starts.push(i);
      width = 0;
    }
    width += token.width;
  });
  return starts;
}

/** The lines' text, the last one taking every token from its start on. */
function linesFrom(tokens: Token[], starts: number[], count: number): string[] {
  const kept = starts.slice(0, count);
  return kept.map((start, i) =>
    tokens.slice(start, i + 1 < kept.length ? kept[i + 1] : tokens.length)
      .map((t) => t.text).join("").trim()
  );
}

// ---------------------------------------------------------------------------------------------
// Planning: every element's position, size and lines, measured with the fonts that draw them.

export interface PlannedLine {
  text: string;
  /** Left edge of the line and its baseline, in points from the page's top-left corner. */
  x: number;
  y: number;
  width: number;
  /** @internal glyphs placed in ems from the line's origin. */
  glyphs: PlacedGlyph[];
}

export type PlannedElement =
  | {
    kind: "text";
    text: string;
    size: number;
    weight: Weight;
    color: string;
    lines: PlannedLine[];
  }
  | {
    kind: "qr";
    x: number;
    y: number;
    size: number;
    quietZone: number;
    color: string;
    background: string;
    modules: boolean[][];
  }
  | { kind: "logo"; x: number; y: number; width: number; height: number }
  | {
    kind: "rule";
    x1: number;
    y1: number;
    x2: number;
    y2: number;
    thickness: number;
    color: string;
  }
  | { kind: "frame"; inset: number; thickness: number; color: string };

export interface CertificatePlan {
  width: number;
  height: number;
  margin: number;
  background: string;
  elements: PlannedElement[];
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** `21 November 2026`, in UTC. */
export function formatCertificateDate(date: Date): string {
  return `${date.getUTCDate()} ${
    MONTHS[date.getUTCMonth()]
  } ${date.getUTCFullYear()}`;
}

/** `92%`, `87.5%`: at most one decimal. */
export function formatScore(score: number): string {
  return `${Math.round(score * 10) / 10}%`;
}

/** Control characters and line breaks become spaces; NFC so accents find precomposed glyphs. */
function clean(text: string): string {
  return text.normalize("NFC").replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ").trim();
}

function fieldValues(doc: CertificateDocument): Record<Field, string | null> {
  const present = (s: string) => (clean(s) === "" ? null : clean(s));
  return {
    schoolName: present(doc.schoolName),
    recipientName: present(doc.recipientName),
    programTitle: present(doc.programTitle),
    date: formatCertificateDate(doc.issuedAt),
    expires: doc.expiresAt ? formatCertificateDate(doc.expiresAt) : null,
    score: typeof doc.score === "number" && Number.isFinite(doc.score)
      ? formatScore(doc.score)
      : null,
    code: present(doc.code),
    verifyUrl: present(doc.verifyUrl),
  };
}

/** The filled-in text, or null when a placeholder has no value (the element is left out). */
function fillTemplate(
  template: string,
  values: Record<Field, string | null>,
): string | null {
  let missing = false;
  const text = template.replace(PLACEHOLDER, (_, name: Field) => {
    const value = values[name];
    if (value === null) missing = true;
    return value ?? "";
  });
  return missing ? null : clean(text);
}

/** Positions and sizes of everything on the certificate, without drawing it. */
export async function planCertificate(
  doc: CertificateDocument,
  layoutName = "default",
): Promise<CertificatePlan> {
  const layout = await loadLayout(layoutName);
  const { width, height } = layout;
  const margin = layout.page.margin;
  const values = fieldValues(doc);
  const elements: PlannedElement[] = [];
  for (const element of layout.elements) {
    switch (element.kind) {
      case "text": {
        const text = fillTemplate(element.text, values);
        if (text === null || text === "") break;
        const chain = await facesFor(element.weight, [text]);
        elements.push(fitText(text, element, chain, width, margin));
        break;
      }
      case "qr": {
        if (values.verifyUrl === null) break;
        elements.push({
          kind: "qr",
          x: boxX(element, element.size, width, margin),
          y: element.y,
          size: element.size,
          quietZone: element.quietZone,
          color: element.color,
          background: element.background,
          modules: qrModules(values.verifyUrl, element.errorCorrection),
        });
        break;
      }
      case "logo": {
        if (!doc.logo || doc.logo.length === 0) break;
        elements.push({
          kind: "logo",
          x: boxX(element, element.width, width, margin),
          y: element.y,
          width: element.width,
          height: element.height,
        });
        break;
      }
      case "rule":
        elements.push({ ...element });
        break;
      case "frame":
        elements.push({ ...element });
        break;
    }
  }
  return {
    width,
    height,
    margin,
    background: layout.page.background,
    elements,
  };
}

type TextSpec = v.InferOutput<typeof TextElement>;

function fitText(
  text: string,
  spec: TextSpec,
  chain: Face[],
  pageWidth: number,
  margin: number,
): PlannedElement {
  const anchor = spec.x ??
    (spec.align === "left"
      ? margin
      : spec.align === "right"
      ? pageWidth - margin
      : pageWidth / 2);
  const room = spec.align === "left"
    ? pageWidth - margin - anchor
    : spec.align === "right"
    ? anchor - margin
    : 2 * Math.min(anchor - margin, pageWidth - margin - anchor);
  const maxWidth = Math.max(1, Math.min(spec.maxWidth ?? Infinity, room));
  const minSize = Math.min(spec.minSize ?? spec.size, spec.size);
  const rtl = isRtlText(text);
  const whole = shapeLine(text, chain, rtl);

  let size = spec.size;
  let lines: ShapedLine[] = [whole];
  const fitsAt = (s: number) => whole.width * s <= maxWidth;
  // A little shrinking first; then more lines (when allowed); then down to minSize and below:
  // text never leaves its box or the page.
  const gentle = Math.max(minSize, spec.size * 0.85);
  if (!fitsAt(spec.size)) {
    if (fitsAt(gentle)) {
      size = maxWidth / whole.width;
    } else if (spec.maxLines > 1) {
      const tokens = breakTokens(text).map((t): Token => {
        const width = shapeLine(t, chain, rtl).width;
        const trimmed = t.trimEnd();
        return {
          text: t,
          width,
          trimmedWidth: trimmed === t
            ? width
            : shapeLine(trimmed, chain, rtl).width,
        };
      });
      let starts: number[] | null = null;
      for (let s = spec.size; s >= minSize - 1e-9; s -= 0.5) {
        const candidate = wrap(tokens, maxWidth / s);
        if (candidate.length <= spec.maxLines) {
          starts = candidate;
          size = s;
          break;
        }
      }
      if (starts === null) {
        // Too long even at minSize: the last line takes the rest, and shrinks below.
        starts = wrap(tokens, maxWidth / minSize);
        size = minSize;
      }
      lines = linesFrom(tokens, starts, spec.maxLines).map((l) =>
        shapeLine(l, chain, rtl)
      );
    } else {
      size = maxWidth / whole.width;
    }
    const widest = Math.max(...lines.map((l) => l.width));
    size = Math.min(size, maxWidth / widest);
    size = Math.floor(size * 100) / 100;
  }

  const leading = spec.lineHeight * size;
  const planned = lines.map((line, i): PlannedLine => {
    const w = line.width * size;
    const x = spec.align === "left"
      ? anchor
      : spec.align === "right"
      ? anchor - w
      : anchor - w / 2;
    return {
      text: line.text,
      x,
      y: spec.y + (i - (lines.length - 1) / 2) * leading,
      width: w,
      glyphs: line.glyphs,
    };
  });
  return {
    kind: "text",
    text,
    size,
    weight: spec.weight,
    color: spec.color,
    lines: planned,
  };
}

// ---------------------------------------------------------------------------------------------
// QR code

/** The QR code's modules, row by row (true = dark), without the quiet zone. */
export function qrModules(
  text: string,
  errorCorrection: "L" | "M" | "Q" | "H" = "M",
): boolean[][] {
  const { modules } = QRCode.create(text, {
    errorCorrectionLevel: errorCorrection,
  });
  const rows: boolean[][] = [];
  for (let r = 0; r < modules.size; r++) {
    const row: boolean[] = [];
    for (let c = 0; c < modules.size; c++) {
      row.push(modules.data[r * modules.size + c] === 1);
    }
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Drawing

const round = (n: number) => Math.round(n * 1000) / 1000;

function hexColor(hex: string) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16 & 255) / 255, (n >> 8 & 255) / 255, (n & 255) / 255].map(
    (c) => round(c),
  ) as [number, number, number];
}

const fillColor = (hex: string) => setFillingRgbColor(...hexColor(hex));
const strokeColor = (hex: string) => setStrokingRgbColor(...hexColor(hex));

/** pdf-lib's subsetting embedder; we place glyphs ourselves, so we add them to the subset ourselves. */
interface SubsetEmbedder {
  subset: { includeGlyph(glyph: Glyph): number };
  glyphs: Glyph[];
  glyphIdMap: Map<number, number>;
  glyphCache: { invalidate(): void };
}

interface EmbeddedFace {
  font: PDFFont;
  key: PDFName;
  embedder: SubsetEmbedder;
}

class FontEmbeds {
  #embeds = new Map<Face, Promise<EmbeddedFace>>();
  #count = 0;
  constructor(private doc: PDFDocument, private page: PDFPage) {}

  get(face: Face): Promise<EmbeddedFace> {
    let embed = this.#embeds.get(face);
    if (!embed) {
      // Subset tags are six capitals; fixed per document order so the bytes are reproducible.
      const tag = `LCT${
        String.fromCharCode(65 + Math.floor(this.#count / 26))
      }${String.fromCharCode(65 + (this.#count % 26))}A`;
      this.#count++;
      embed = this.doc.embedFont(face.bytes, {
        subset: true,
        customName: `${tag}+${face.postscriptName}`,
      }).then((font) => {
        const embedder = (font as unknown as { embedder?: SubsetEmbedder })
          .embedder;
        if (
          !embedder || typeof embedder.subset?.includeGlyph !== "function" ||
          !Array.isArray(embedder.glyphs) ||
          !(embedder.glyphIdMap instanceof Map)
        ) {
          throw new Error("pdf-lib's font subset embedder changed shape");
        }
        padGlyphsToEvenLength(embedder.subset);
        const key = this.page.node.newFontDictionary(font.name, font.ref);
        return { font, key, embedder };
      });
      this.#embeds.set(face, embed);
    }
    return embed;
  }
}

/**
 * fontkit's TrueType subsetter copies each glyph's bytes as they are and, for a small subset, writes
 * the short `loca` format, which stores offsets divided by two. Google's Noto builds do not pad
 * glyphs, so after the first glyph of odd length every offset is off by one and viewers draw
 * nothing for most letters. Padding each glyph to an even length (the spec's own rule for the
 * short format) keeps the offsets exact.
 */
function padGlyphsToEvenLength(subset: object): void {
  const ttf = subset as {
    _addGlyph?: (gid: number) => number;
    glyf?: Uint8Array[];
    offset?: number;
  };
  const addGlyph = ttf._addGlyph?.bind(subset);
  if (!addGlyph) throw new Error("fontkit's TrueType subset changed shape");
  ttf._addGlyph = (gid: number) => {
    const index = addGlyph(gid);
    const data = ttf.glyf?.[index];
    if (data && data.length % 2 === 1) {
      // Same Buffer class as fontkit's (its stream accepts nothing else); alloc zero-fills.
      const buffers = data.constructor as unknown as {
        alloc(size: number): Uint8Array;
      };
      const padded = buffers.alloc(data.length + 1);
      padded.set(data);
      ttf.glyf![index] = padded;
      ttf.offset! += 1;
    }
    return index;
  };
}

/** The glyph's id in the subset (what the content stream shows); registers width and text. */
function subsetGlyphId(embed: EmbeddedFace, glyph: Glyph): number {
  const { embedder } = embed;
  const id = embedder.subset.includeGlyph(glyph);
  if (id > 0 && embedder.glyphs[id - 1] === undefined) {
    embedder.glyphs[id - 1] = glyph;
    embedder.glyphIdMap.set(glyph.id, id);
    embedder.glyphCache.invalidate();
  }
  return id;
}

async function textOperators(
  element: Extract<PlannedElement, { kind: "text" }>,
  embeds: FontEmbeds,
  pageHeight: number,
): Promise<PDFOperator[]> {
  const ops: PDFOperator[] = [beginText(), fillColor(element.color)];
  const outlines: PDFOperator[] = [];
  const size = element.size;
  let current: EmbeddedFace | null = null;
  let hex = "";
  let expectedX = NaN;
  let expectedY = NaN;
  const flush = () => {
    if (hex !== "") ops.push(showText(PDFHexString.of(hex)));
    hex = "";
  };
  for (const line of element.lines) {
    const baseline = pageHeight - line.y;
    for (const placed of line.glyphs) {
      const gx = round(line.x + placed.x * size);
      const gy = round(baseline + placed.y * size);
      if (placed.glyph.codePoints.length === 0 && placed.glyph.id !== 0) {
        outlines.push(
          ...outlineOperators(
            placed.glyph,
            gx,
            gy,
            size / placed.face.unitsPerEm,
          ),
        );
        continue;
      }
      const embed = await embeds.get(placed.face);
      if (embed !== current) {
        flush();
        ops.push(setFontAndSize(embed.key, size));
        current = embed;
        expectedX = NaN;
      }
      if (Math.abs(gx - expectedX) > 0.002 || gy !== expectedY) {
        flush();
        ops.push(setTextMatrix(1, 0, 0, 1, gx, gy));
      }
      const id = subsetGlyphId(embed, placed.glyph);
      hex += id.toString(16).padStart(4, "0");
      // Where the viewer's pen ends up: the glyph's width in the font's /W array.
      expectedX = round(
        gx + placed.glyph.advanceWidth / placed.face.unitsPerEm * size,
      );
      expectedY = gy;
    }
    flush();
    expectedX = NaN;
  }
  ops.push(endText());
  if (outlines.length > 0) {
    ops.push(
      pushGraphicsState(),
      fillColor(element.color),
      ...outlines,
      fill(),
      popGraphicsState(),
    );
  }
  return ops;
}

/**
 * A glyph that stands for no character of its own (shaping split it off a base, as Noto Sans
 * Arabic does with hamza and dots) is drawn as a filled outline, not as text: in the text layer it
 * would map to nothing, which extractors turn into control characters.
 */
function outlineOperators(
  glyph: Glyph,
  x: number,
  y: number,
  scale: number,
): PDFOperator[] {
  const { commands } = glyph.path as unknown as {
    commands: { command: string; args: number[] }[];
  };
  const ops: PDFOperator[] = [];
  const px = (n: number) => round(x + n * scale);
  const py = (n: number) => round(y + n * scale);
  let cx = 0;
  let cy = 0;
  for (const { command, args: a } of commands) {
    if (command === "moveTo") {
      ops.push(moveTo(px(a[0]!), py(a[1]!)));
      [cx, cy] = [a[0]!, a[1]!];
    } else if (command === "lineTo") {
      ops.push(lineTo(px(a[0]!), py(a[1]!)));
      [cx, cy] = [a[0]!, a[1]!];
    } else if (command === "quadraticCurveTo") {
      // A quadratic Bézier is the cubic whose controls lie 2/3 of the way to the quadratic one.
      const [qx, qy, ex, ey] = a as [number, number, number, number];
      ops.push(appendBezierCurve(
        px(cx + (2 / 3) * (qx - cx)),
        py(cy + (2 / 3) * (qy - cy)),
        px(ex + (2 / 3) * (qx - ex)),
        py(ey + (2 / 3) * (qy - ey)),
        px(ex),
        py(ey),
      ));
      [cx, cy] = [ex, ey];
    } else if (command === "bezierCurveTo") {
      ops.push(appendBezierCurve(
        px(a[0]!),
        py(a[1]!),
        px(a[2]!),
        py(a[3]!),
        px(a[4]!),
        py(a[5]!),
      ));
      [cx, cy] = [a[4]!, a[5]!];
    } else if (command === "closePath") {
      ops.push(closePath());
    }
  }
  return ops;
}

function qrOperators(
  element: Extract<PlannedElement, { kind: "qr" }>,
  pageHeight: number,
): PDFOperator[] {
  const count = element.modules.length;
  const unit = element.size / (count + 2 * element.quietZone);
  const left = element.x + element.quietZone * unit;
  const top = pageHeight - element.y - element.quietZone * unit;
  const ops: PDFOperator[] = [
    pushGraphicsState(),
    fillColor(element.background),
    rectangle(
      round(element.x),
      round(pageHeight - element.y - element.size),
      round(element.size),
      round(element.size),
    ),
    fill(),
    fillColor(element.color),
  ];
  // One rectangle per horizontal run of dark modules, all in one path so no seams show.
  element.modules.forEach((row, r) => {
    for (let c = 0; c < count;) {
      if (!row[c]) {
        c++;
        continue;
      }
      let end = c;
      while (end < count && row[end]) end++;
      ops.push(rectangle(
        round(left + c * unit),
        round(top - (r + 1) * unit),
        round((end - c) * unit),
        round(unit),
      ));
      c = end;
    }
  });
  ops.push(fill(), popGraphicsState());
  return ops;
}

async function drawLogo(
  pdf: PDFDocument,
  page: PDFPage,
  element: Extract<PlannedElement, { kind: "logo" }>,
  logo: Uint8Array,
  pageHeight: number,
): Promise<void> {
  const png = logo[0] === 0x89 && logo[1] === 0x50 && logo[2] === 0x4e &&
    logo[3] === 0x47;
  const jpeg = logo[0] === 0xff && logo[1] === 0xd8 && logo[2] === 0xff;
  if (!png && !jpeg) {
    throw new Error("The school logo must be a PNG or JPEG image");
  }
  const image = png ? await pdf.embedPng(logo) : await pdf.embedJpg(logo);
  const scale = Math.min(
    element.width / image.width,
    element.height / image.height,
  );
  const w = image.width * scale;
  const h = image.height * scale;
  page.drawImage(image, {
    x: round(element.x + (element.width - w) / 2),
    y: round(
      pageHeight - element.y - element.height + (element.height - h) / 2,
    ),
    width: round(w),
    height: round(h),
  });
}

/** Renders the certificate to PDF bytes; the same document gives the same bytes. */
export async function renderCertificatePdf(
  doc: CertificateDocument,
  layoutName = "default",
): Promise<Uint8Array> {
  const plan = await planCertificate(doc, layoutName);
  const pdf = await PDFDocument.create({ updateMetadata: false });
  pdf.registerFontkit(cachingFontkit);
  const when = new Date(doc.issuedAt.getTime());
  const title = `${clean(doc.programTitle)} — ${clean(doc.recipientName)}`;
  pdf.setTitle(title);
  pdf.setAuthor(clean(doc.schoolName));
  pdf.setSubject(`Certificate ${clean(doc.code)}`);
  pdf.setCreator("Lectern");
  pdf.setProducer("Lectern");
  pdf.setCreationDate(when);
  pdf.setModificationDate(when);

  const { width, height } = plan;
  const page = pdf.addPage([width, height]);
  const embeds = new FontEmbeds(pdf, page);

  if (plan.background.toUpperCase() !== "#FFFFFF") {
    page.pushOperators(
      fillColor(plan.background),
      rectangle(0, 0, width, height),
      fill(),
    );
  }
  for (const element of plan.elements) {
    switch (element.kind) {
      case "frame": {
        const i = element.inset;
        page.pushOperators(
          pushGraphicsState(),
          strokeColor(element.color),
          setLineWidth(element.thickness),
          rectangle(
            round(i),
            round(i),
            round(width - 2 * i),
            round(height - 2 * i),
          ),
          stroke(),
          popGraphicsState(),
        );
        break;
      }
      case "rule":
        page.pushOperators(
          pushGraphicsState(),
          strokeColor(element.color),
          setLineWidth(element.thickness),
          moveTo(round(element.x1), round(height - element.y1)),
          lineTo(round(element.x2), round(height - element.y2)),
          stroke(),
          popGraphicsState(),
        );
        break;
      case "text":
        page.pushOperators(...await textOperators(element, embeds, height));
        break;
      case "qr":
        page.pushOperators(...qrOperators(element, height));
        break;
      case "logo":
        await drawLogo(pdf, page, element, doc.logo!, height);
        break;
    }
  }
  return await pdf.save({ useObjectStreams: true });
}
