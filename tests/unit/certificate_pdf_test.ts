import assert from "node:assert/strict";
import jsQRModule from "jsqr";
import fontkit, { type Font } from "@pdf-lib/fontkit";
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFName,
  type PDFRawStream,
  PDFRef,
} from "pdf-lib";
// @ts-types="@types/qrcode"
import QRCode from "qrcode";
import sharp from "sharp";
import { getDocumentProxy } from "unpdf";
import {
  type CertificateDocument,
  type CertificatePlan,
  formatCertificateDate,
  isRtlText,
  loadLayout,
  parseLayout,
  planCertificate,
  qrModules,
  renderCertificatePdf,
} from "../../server/features/certificates/pdf.ts";

const base: CertificateDocument = {
  schoolName: "Lectern Academy",
  recipientName: "José Müller",
  programTitle: "Introduction to Data Science",
  issuedAt: new Date("2026-11-21T09:30:00Z"),
  score: 92.5,
  code: "LCT-7K3M-Q9XP",
  verifyUrl: "https://lectern.example/verify/LCT-7K3M-Q9XP",
};

// jsqr is CommonJS with a `default` property; its typings describe only the ES side.
type DecodeQr = (
  rgba: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;
const jsQR = ((jsQRModule as unknown as { default?: DecodeQr }).default ??
  jsQRModule) as unknown as DecodeQr;

const NAMES = ["José Müller", "Ελένη", "Иван", "李雷", "أحمد", "José 李雷"];

/**
 * The page's text with pdf.js (through unpdf), one entry per text item, in drawing order.
 *
 * Normalization: none beyond what pdf.js does itself. Each element is drawn glyph by glyph with the
 * ToUnicode map of each subset font, so the items are the characters of the source strings. For a
 * right-to-left run the glyphs are drawn in visual order (shaped Arabic forms, right to left), and
 * pdf.js turns such an item back into logical order (its own bidi step), so `أحمد` comes back as
 * the same four code points. Shaping split-offs that stand for no character (the hamza of `أ`, the
 * dots of final `ي` in Noto Sans Arabic) are drawn as outlines, not text, so nothing stray appears.
 */
async function pdfTextItems(bytes: Uint8Array): Promise<string[]> {
  const pdf = await getDocumentProxy(bytes.slice());
  const page = await pdf.getPage(1);
  const content = await page.getTextContent();
  const items = content.items.flatMap((item) =>
    "str" in item && item.str.trim() !== "" ? [item.str] : []
  );
  return items;
}

/** Items of one line joined as they are drawn (a mixed name is several items, one per font). */
async function pdfText(bytes: Uint8Array): Promise<string> {
  const pdf = await getDocumentProxy(bytes.slice());
  const page = await pdf.getPage(1);
  const content = await page.getTextContent();
  const text = content.items.map((item) =>
    "str" in item ? item.str + (item.hasEOL ? "\n" : "") : ""
  ).join("");
  return text;
}

async function contentStream(bytes: Uint8Array): Promise<string> {
  const doc = await PDFDocument.load(bytes);
  const contents = doc.getPage(0).node.Contents();
  assert.ok(contents);
  const refs = contents instanceof PDFArray ? contents.asArray() : [contents];
  return refs.map((ref) => {
    const stream = doc.context.lookup(ref) as PDFRawStream;
    return new TextDecoder().decode(decodePDFRawStream(stream).decode());
  }).join("\n");
}

/** The TrueType subsets embedded in the PDF, by font name without the subset tag. */
async function embeddedFonts(bytes: Uint8Array) {
  const doc = await PDFDocument.load(bytes);
  const fonts = new Map<string, Font>();
  for (const [, object] of doc.context.enumerateIndirectObjects()) {
    if (
      !(object instanceof PDFDict) ||
      object.get(PDFName.of("Type")) !== PDFName.of("FontDescriptor")
    ) continue;
    const name = object.get(PDFName.of("FontName"))!.toString().slice(1);
    const ref = object.get(PDFName.of("FontFile2"));
    assert.ok(ref instanceof PDFRef, `${name} has no TrueType font file`);
    const stream = doc.context.lookup(ref) as PDFRawStream;
    const data = decodePDFRawStream(stream).decode();
    fonts.set(name.replace(/^[A-Z]{6}\+/, ""), fontkit.create(data));
  }
  return fonts;
}

/** Rasterizes the filled rectangles drawn inside the QR element's box and decodes them. */
async function decodeDrawnQr(
  bytes: Uint8Array,
  plan: CertificatePlan,
): Promise<string | null> {
  const qr = plan.elements.find((e) => e.kind === "qr");
  assert.ok(qr && qr.kind === "qr");
  const left = qr.x;
  const bottom = plan.height - qr.y - qr.size;
  const ops = await contentStream(bytes);
  const rects = [
    ...ops.matchAll(/(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re\b/g),
  ].map((m) => m.slice(1, 5).map(Number) as [number, number, number, number])
    .filter(([x, y, w, h]) =>
      x >= left - 0.01 && y >= bottom - 0.01 &&
      x + w <= left + qr.size + 0.01 && y + h <= bottom + qr.size + 0.01 &&
      w < qr.size - 0.01 // the light background square
    );
  const pxPerPt = 4;
  const side = Math.ceil(qr.size * pxPerPt);
  const rgba = new Uint8ClampedArray(side * side * 4).fill(255);
  for (const [x, y, w, h] of rects) {
    const x0 = Math.round((x - left) * pxPerPt);
    const x1 = Math.round((x + w - left) * pxPerPt);
    const y0 = Math.round((bottom + qr.size - (y + h)) * pxPerPt);
    const y1 = Math.round((bottom + qr.size - y) * pxPerPt);
    for (let py = y0; py < y1; py++) {
      for (let px = x0; px < x1; px++) {
        const i = (py * side + px) * 4;
        rgba[i] = rgba[i + 1] = rgba[i + 2] = 0;
      }
    }
  }
  return jsQR(rgba, side, side)?.data ?? null;
}

Deno.test("certificate PDF: names in every script come back out of the PDF", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const bytes = await renderCertificatePdf({
        ...base,
        recipientName: name,
      });
      assert.equal(new TextDecoder().decode(bytes.slice(0, 5)), "%PDF-");
      const text = await pdfText(bytes);
      assert.ok(text.includes(name), `${name} not in ${JSON.stringify(text)}`);
      for (
        const expected of [
          "Introduction to Data Science",
          "LCT-7K3M-Q9XP",
          "Lectern Academy",
          "Score 92.5%",
          "Issued 21 November 2026",
        ]
      ) {
        assert.ok(text.includes(expected), `${expected} missing`);
      }
      // Control characters would mean a glyph without a text mapping.
      assert.doesNotMatch(text.replaceAll("\n", " "), /\p{Cc}/u);
      // Subset fonts: a few glyphs of a 10 MB CJK font, not the font.
      assert.ok(bytes.length < 60_000, `${bytes.length} bytes`);
    });
  }
});

Deno.test("certificate PDF: embedded subsets hold the outlines of the glyphs drawn", async () => {
  // Regression: fontkit's subsetter corrupted every glyph after the first one of odd length.
  const doc = { ...base, recipientName: "José Müller أحمد 李雷 Ελένη Иван" };
  const plan = await planCertificate(doc);
  const fonts = await embeddedFonts(await renderCertificatePdf(doc));
  // Subset glyph ids follow the order in which glyphs are first drawn, after .notdef.
  const drawn = new Map<string, { font: Font; ids: number[] }>();
  for (const element of plan.elements) {
    if (element.kind !== "text") continue;
    for (const line of element.lines) {
      for (const { face, glyph } of line.glyphs) {
        if (glyph.codePoints.length === 0 || glyph.id === 0) continue;
        const entry = drawn.get(face.postscriptName) ??
          { font: face.font, ids: [] as number[] };
        if (!entry.ids.includes(glyph.id)) entry.ids.push(glyph.id);
        drawn.set(face.postscriptName, entry);
      }
    }
  }
  assert.deepEqual([...fonts.keys()].sort(), [...drawn.keys()].sort());
  assert.deepEqual([...drawn.keys()].sort(), [
    "NotoSans-Bold", // the name's Latin, Greek and Cyrillic; headings
    "NotoSans-Regular",
    "NotoSansArabic-Bold",
    "NotoSansSC-Bold",
  ]);
  for (const [name, { font, ids }] of drawn) {
    const subset = fonts.get(name)!;
    ids.forEach((id, i) => {
      assert.equal(
        subset.getGlyph(i + 1).path.toSVG(),
        font.getGlyph(id).path.toSVG(),
        `${name}: glyph ${id} (subset ${i + 1})`,
      );
    });
  }
});

Deno.test("certificate PDF: Arabic is shaped and laid out right to left", async () => {
  assert.equal(isRtlText("أحمد"), true);
  assert.equal(isRtlText("José أحمد"), false);

  // A right-to-left name mixed with Latin and digits: pdf.js gives one item per direction run, in
  // visual order; each run reads correctly.
  const bytes = await renderCertificatePdf({
    ...base,
    recipientName: "محمد علي José 12",
  });
  const items = await pdfTextItems(bytes);
  assert.ok(items.includes("محمد علي"), JSON.stringify(items));
  assert.ok(items.some((i) => i.includes("José 12")), JSON.stringify(items));
  const line = items.join("|");
  // Visual order: the Latin run, drawn last in logical order, stands to the left of the Arabic.
  assert.ok(line.indexOf("José") < line.indexOf("محمد"), line);

  // Brackets in right-to-left text are drawn mirrored (the opening one, on the right, looks like
  // `)`), and still read as the characters typed.
  const bracketed = await pdfTextItems(
    await renderCertificatePdf({ ...base, recipientName: "أحمد (علي)" }),
  );
  assert.ok(bracketed.includes("أحمد (علي)"), JSON.stringify(bracketed));
  const mirroredPlan = await planCertificate({
    ...base,
    recipientName: "أحمد (علي)",
  });
  const mirrored = mirroredPlan.elements.find((e) =>
    e.kind === "text" && e.text === "أحمد (علي)"
  );
  assert.ok(mirrored && mirrored.kind === "text");
  const parens = mirrored.lines[0]!.glyphs.filter((g) =>
    g.glyph.codePoints.length === 1 &&
    "()".includes(String.fromCodePoint(g.glyph.codePoints[0]!))
  );
  // Left to right on the page: the closing bracket's glyph is `(`-shaped, the opening one `)`.
  assert.deepEqual(
    parens.map((g) => String.fromCodePoint(...g.glyph.codePoints)),
    [")", "("],
  );
  assert.deepEqual(
    parens.map((g) => g.glyph.id),
    ["(", ")"].map((c) =>
      parens[0]!.face.font.glyphForCodePoint(c.codePointAt(0)!).id
    ),
  );

  // Shaping: the four letters of أحمد join, so the drawn glyphs are contextual forms (not the
  // isolated ones a naive renderer draws), placed right to left.
  const plan = await planCertificate({ ...base, recipientName: "أحمد" });
  const name = plan.elements.find((e) =>
    e.kind === "text" && e.text === "أحمد"
  );
  assert.ok(name && name.kind === "text");
  const glyphs = name.lines[0]!.glyphs;
  const letters = glyphs.filter((g) => g.glyph.codePoints.length > 0);
  // Left to right on the page: dal (final), meem (medial), hah (initial), alef with hamza.
  assert.deepEqual(
    letters.map((g) => String.fromCodePoint(...g.glyph.codePoints)),
    ["د", "م", "ح", "أ"],
  );
  const isolated = letters.map((g) =>
    g.face.font.glyphForCodePoint(g.glyph.codePoints[0]!).id
  );
  assert.notDeepEqual(letters.map((g) => g.glyph.id), isolated);
  for (let i = 1; i < letters.length; i++) {
    assert.ok(letters[i]!.x > letters[i - 1]!.x);
  }
});

Deno.test("certificate PDF: characters no font has still render", async () => {
  // Devanagari is in no bundled font, and fontkit's Indic shaper does not run under Deno: drawn as
  // missing-glyph boxes, but the certificate is still produced.
  const bytes = await renderCertificatePdf({
    ...base,
    recipientName: "नमस्ते Ravi",
  });
  assert.ok((await pdfText(bytes)).includes("Ravi"));
});

Deno.test("certificate PDF: no score, no score line; expiry shown when set", async () => {
  const bytes = await renderCertificatePdf({
    ...base,
    score: null,
    expiresAt: new Date("2028-11-21T00:00:00Z"),
  });
  const text = await pdfText(bytes);
  assert.ok(!text.includes("Score"), text);
  assert.ok(!text.includes("%"), text);
  assert.ok(text.includes("Valid until 21 November 2028"), text);
  assert.ok(
    !(await pdfText(await renderCertificatePdf(base))).includes("Valid until"),
  );
  const zero = await pdfText(await renderCertificatePdf({ ...base, score: 0 }));
  assert.ok(zero.includes("Score 0%"), zero);
});

Deno.test("certificate PDF: long names and titles shrink or wrap to stay on the page", async () => {
  const layout = await loadLayout();
  const spec = (field: string) => {
    const element = layout.elements.find((e) =>
      e.kind === "text" && e.text === field
    );
    assert.ok(element && element.kind === "text");
    return element;
  };
  const doc = {
    ...base,
    recipientName:
      "Maximilian Alexander Christopher von Habsburg-Lothringen Müller-Lüdenscheidt Ortega y Gasset",
    programTitle:
      "Advanced Topics in Distributed Systems: Consensus, Replication, Fault Tolerance and the Practical Engineering of Planet-Scale Databases for Everyone Who Ever Needed One",
    schoolName: "École Supérieure d’Informatique ".repeat(6),
  };
  const plan = await planCertificate(doc);
  const texts = plan.elements.flatMap((e) => (e.kind === "text" ? [e] : []));
  for (const element of texts) {
    for (const line of element.lines) {
      assert.ok(
        line.x >= plan.margin - 0.01,
        `${line.text} starts at ${line.x}`,
      );
      assert.ok(
        line.x + line.width <= plan.width - plan.margin + 0.01,
        `${line.text} ends at ${line.x + line.width}`,
      );
    }
  }
  const title = texts.find((e) => e.text === doc.programTitle);
  const name = texts.find((e) => e.text === doc.recipientName);
  assert.ok(title && name);
  assert.ok(title.size < spec("{programTitle}").size);
  assert.equal(title.lines.length, spec("{programTitle}").maxLines);
  assert.equal(title.lines.map((l) => l.text).join(" "), doc.programTitle);
  assert.ok(name.size < spec("{recipientName}").size);
  for (const e of [title, name]) {
    const maxWidth: number = spec(
      e === title ? "{programTitle}" : "{recipientName}",
    )
      .maxWidth!;
    for (const line of e.lines) assert.ok(line.width <= maxWidth + 0.01);
  }
  // The widths are what is drawn: glyph positions of a line end at its measured width.
  const last = name.lines[0]!.glyphs.at(-1)!;
  assert.ok(last.x * name.size <= name.lines[0]!.width + 0.01);

  // Chinese has no spaces: lines break between characters.
  const chineseTitle =
    "数据科学与机器学习高级课程：从统计基础到深度神经网络的完整实践指南以及大规模分布式系统工程";
  const chinesePlan = await planCertificate({
    ...base,
    programTitle: chineseTitle,
  });
  const chinese = chinesePlan.elements.find((e) =>
    e.kind === "text" && e.text === chineseTitle
  );
  assert.ok(chinese && chinese.kind === "text");
  assert.equal(chinese.lines.length, 2);
  assert.equal(chinese.lines.map((l) => l.text).join(""), chineseTitle);
  for (const line of chinese.lines) {
    assert.ok(line.width <= spec("{programTitle}").maxWidth! + 0.01);
  }

  const bytes = await renderCertificatePdf(doc);
  const text = await pdfText(bytes);
  assert.ok(text.includes("Advanced Topics in Distributed Systems"));
  assert.ok(text.includes(doc.recipientName));
});

Deno.test("certificate PDF: the QR code opens the verification page", async () => {
  const matrix = qrModules(base.verifyUrl);
  const reference = QRCode.create(base.verifyUrl, {
    errorCorrectionLevel: "M",
  });
  assert.equal(matrix.length, reference.modules.size);
  assert.deepEqual(
    matrix.flat().map((dark) => (dark ? 1 : 0)),
    [...reference.modules.data],
  );

  const bytes = await renderCertificatePdf(base);
  const plan = await planCertificate(base);
  assert.equal(await decodeDrawnQr(bytes, plan), base.verifyUrl);
});

Deno.test("certificate PDF: the same document gives the same bytes", async () => {
  const first = await renderCertificatePdf({
    ...base,
    recipientName: "أحمد José",
  });
  // Rendering other documents in between must not change anything (fontkit caches glyphs).
  await renderCertificatePdf({ ...base, recipientName: "Ελένη 李雷 أ" });
  const second = await renderCertificatePdf({
    ...base,
    recipientName: "أحمد José",
  });
  assert.deepEqual(second, first);

  // One glyph can stand for several characters: in Noto Sans SC the middle dot of a Chinese
  // transliteration (U+00B7) is the same glyph as the katakana one (U+30FB). Each document maps
  // it to its own character, whatever was rendered before.
  await renderCertificatePdf({ ...base, recipientName: "ジョン・スミス" });
  const chinese = await pdfText(
    await renderCertificatePdf({ ...base, recipientName: "约翰·史密斯" }),
  );
  assert.ok(chinese.includes("约翰·史密斯"), chinese);

  const doc = await PDFDocument.load(first, { updateMetadata: false });
  assert.equal(doc.getCreationDate()?.getTime(), base.issuedAt.getTime());
  assert.equal(doc.getModificationDate()?.getTime(), base.issuedAt.getTime());
  assert.equal(doc.getProducer(), "Lectern");
  assert.equal(doc.getTitle(), "Introduction to Data Science — أحمد José");
});

Deno.test("certificate PDF: logo, PNG or JPEG", async () => {
  const png = new Uint8Array(
    await sharp({
      create: { width: 240, height: 80, channels: 3, background: "#1F3A5F" },
    }).png().toBuffer(),
  );
  const jpeg = new Uint8Array(
    await sharp({
      create: { width: 80, height: 80, channels: 3, background: "#B08D57" },
    }).jpeg().toBuffer(),
  );
  for (const logo of [png, jpeg]) {
    const bytes = await renderCertificatePdf({ ...base, logo });
    assert.match(await contentStream(bytes), /\/Image-?\w* Do/);
  }
  const plan = await planCertificate({ ...base, logo: png });
  assert.ok(plan.elements.some((e) => e.kind === "logo"));
  assert.ok(
    !(await planCertificate(base)).elements.some((e) => e.kind === "logo"),
  );
  await assert.rejects(
    renderCertificatePdf({
      ...base,
      logo: new TextEncoder().encode("GIF89a..."),
    }),
    /PNG or JPEG/,
  );
});

Deno.test("certificate layout: validation", async () => {
  assert.equal(
    formatCertificateDate(new Date("2026-11-21T23:59:59Z")),
    "21 November 2026",
  );
  assert.equal(
    formatCertificateDate(new Date("2027-01-01T00:00:00+02:00")),
    "31 December 2026",
  );

  const layout = {
    page: { size: "A4", orientation: "landscape" },
    elements: [{ kind: "text", text: "{recipientName}", y: 100, size: 20 }],
  };
  const parsed = parseLayout(layout);
  assert.equal(parsed.width, 841.89);
  assert.equal(parsed.height, 595.28);

  assert.throws(
    () =>
      parseLayout({
        ...layout,
        elements: [{ kind: "text", text: "Hello {nmae}", y: 100, size: 20 }],
      }),
    /Unknown placeholder/,
  );
  assert.throws(
    () =>
      parseLayout({
        ...layout,
        elements: [{ kind: "qr", x: 800, y: 500, size: 96 }],
      }),
    /outside/,
  );
  assert.throws(
    () =>
      parseLayout({
        ...layout,
        elements: [{ kind: "text", text: "x", y: 100, size: 20, fontSize: 3 }],
      }),
    /fontSize/,
  );
  await assert.rejects(
    loadLayout("../secrets"),
    /Invalid certificate layout name/,
  );
  await assert.rejects(
    loadLayout("no-such-layout"),
    /Cannot read certificate layout/,
  );
});
