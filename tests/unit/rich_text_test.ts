import assert from "node:assert/strict";
import {
  MAX_RICH_TEXT_LENGTH,
  renderMarkdown,
  sanitizeRichHtml,
} from "../../server/lib/rich_text.ts";
import {
  assertNoActiveContent,
  XSS_PAYLOADS,
} from "../fixtures/xss_payloads.ts";

const REL = 'rel="noopener noreferrer nofollow" target="_blank"';

function assertSafe(payload: string, html: string): void {
  try {
    assertNoActiveContent(html);
  } catch (error) {
    throw new Error(`payload ${JSON.stringify(payload)} gave ${html}`, {
      cause: error,
    });
  }
}

Deno.test("XSS payloads leave no active content", async (t) => {
  await t.step("there are enough payloads to mean something", () => {
    assert.ok(XSS_PAYLOADS.length >= 30);
  });

  await t.step("sanitizeRichHtml neutralises every payload", () => {
    for (const payload of XSS_PAYLOADS) {
      assertSafe(payload, sanitizeRichHtml(payload).html);
    }
  });

  await t.step("renderMarkdown neutralises every payload", () => {
    for (const payload of XSS_PAYLOADS) {
      assertSafe(payload, renderMarkdown(payload).html);
    }
  });

  await t.step("script and style content is removed, not shown", () => {
    const { html } = sanitizeRichHtml(
      "<p>a</p><script>steal()</script><style>p{}</style><svg><text>s</text></svg>",
    );
    assert.equal(html, "<p>a</p>");
  });

  await t.step("a link with a bad scheme keeps its text, not its href", () => {
    const { html } = sanitizeRichHtml(
      '<a href="jav&#x09;ascript:alert(1)">click</a>',
    );
    assert.equal(html, `<a ${REL}>click</a>`);
  });

  await t.step("an image whose src is refused is dropped", () => {
    const { html } = sanitizeRichHtml(
      '<p><img src="data:image/png;base64,AAAA" alt="x"></p>',
    );
    assert.equal(html, "<p></p>");
  });

  await t.step("http, https, mailto and relative URLs are kept", () => {
    const { html } = sanitizeRichHtml(
      '<a href="mailto:a@school.test">m</a><a href="/lessons/1">r</a>' +
        '<img src="/media/a.png"><img src="https://cdn.test/b.png">',
    );
    assert.match(html, /href="mailto:a@school.test"/);
    assert.match(html, /href="\/lessons\/1"/);
    assert.match(html, /src="\/media\/a.png"/);
    assert.match(html, /src="https:\/\/cdn.test\/b.png"/);
  });

  await t.step("mailto is not accepted as an image src", () => {
    assert.equal(sanitizeRichHtml('<img src="mailto:a@b.test">').html, "");
  });
});

Deno.test("sanitizeRichHtml keeps Quill formatting", async (t) => {
  await t.step("headings, paragraphs and inline marks survive", () => {
    const input =
      "<h1>Title</h1><h2>Sub</h2><p><strong>b</strong> <em>i</em> <u>u</u> " +
      "<s>s</s> <sub>2</sub><sup>3</sup><br></p><blockquote>q</blockquote>";
    assert.equal(
      sanitizeRichHtml(input).html,
      input.replace("<br>", "<br />"),
    );
  });

  await t.step("lists and Quill indent classes survive", () => {
    const input =
      '<ol><li>one</li><li class="ql-indent-1">nested</li></ol><ul><li>dot</li></ul>';
    assert.equal(sanitizeRichHtml(input).html, input);
  });

  await t.step("links keep href and title and gain rel and target", () => {
    const { html } = sanitizeRichHtml(
      '<a href="https://deno.com" title="Deno" rel="opener" target="_self">d</a>',
    );
    assert.equal(html, `<a href="https://deno.com" title="Deno" ${REL}>d</a>`);
  });

  await t.step("ql-align class is kept and unknown classes are dropped", () => {
    const { html } = sanitizeRichHtml(
      '<p class="ql-align-center evil ql-size-large">c</p><p class="x">y</p>',
    );
    assert.equal(
      html,
      '<p class="ql-align-center ql-size-large">c</p><p>y</p>',
    );
  });

  await t.step("code blocks keep ql-syntax and escaped code", () => {
    const { html } = sanitizeRichHtml(
      '<pre class="ql-syntax" spellcheck="false">if (a &lt; b) {}\n</pre>',
    );
    assert.equal(html, '<pre class="ql-syntax">if (a &lt; b) {}\n</pre>');
  });

  await t.step("style attributes and unlisted tags are removed", () => {
    const { html } = sanitizeRichHtml(
      '<div style="color:red"><span style="color:red">x</span></div>',
    );
    assert.equal(html, "<span>x</span>");
  });

  await t.step("images keep size and alt", () => {
    const { html } = sanitizeRichHtml(
      '<img src="/media/a.png" alt="A" width="200" height="100" class="x">',
    );
    assert.equal(
      html,
      '<img src="/media/a.png" alt="A" width="200" height="100" />',
    );
  });
});

Deno.test("renderMarkdown renders GFM", async (t) => {
  await t.step("headings and paragraphs", () => {
    assert.equal(
      renderMarkdown("# One\n\n## Two\n\nText").html,
      "<h1>One</h1>\n<h2>Two</h2>\n<p>Text</p>\n",
    );
  });

  await t.step("ordered and unordered lists", () => {
    const { html } = renderMarkdown("- a\n- b\n\n1. c\n2. d");
    assert.match(html, /<ul>\s*<li>a<\/li>\s*<li>b<\/li>\s*<\/ul>/);
    assert.match(html, /<ol>\s*<li>c<\/li>\s*<li>d<\/li>\s*<\/ol>/);
  });

  await t.step("fenced code is escaped and its language class dropped", () => {
    const { html } = renderMarkdown("```ts\nconst ok = 1 < 2;\n```");
    assert.equal(html, "<pre><code>const ok = 1 &lt; 2;\n</code></pre>\n");
  });

  await t.step("inline code and emphasis", () => {
    assert.equal(
      renderMarkdown("**b** _i_ `x<y` ~~gone~~").html,
      "<p><strong>b</strong> <em>i</em> <code>x&lt;y</code> <s>gone</s></p>\n",
    );
  });

  await t.step("links and autolinks gain rel and target", () => {
    const { html } = renderMarkdown(
      "[Deno](https://deno.com) and https://example.com",
    );
    assert.equal(
      html,
      `<p><a href="https://deno.com" ${REL}>Deno</a> and ` +
        `<a href="https://example.com" ${REL}>https://example.com</a></p>\n`,
    );
  });

  await t.step("tables keep their cells and column alignment", () => {
    const { html } = renderMarkdown("| a | b |\n|:-:|---|\n| 1 | 2 |");
    assert.match(html, /<table>/);
    assert.match(html, /<th class="ql-align-center">a<\/th>/);
    assert.match(html, /<td class="ql-align-center">1<\/td>/);
    assert.match(html, /<td>2<\/td>/);
  });

  await t.step("raw HTML goes through the same allowlist", () => {
    const { html } = renderMarkdown(
      '<u>kept</u> <span style="x" onclick="y">s</span> <script>z</script>',
    );
    assert.equal(html, "<p><u>kept</u> <span>s</span> </p>\n");
  });
});

Deno.test("plain text extraction", async (t) => {
  await t.step("entities are decoded", () => {
    assert.equal(
      sanitizeRichHtml("<p>a &amp; b &lt;c&gt; &quot;d&quot; &eacute;</p>")
        .text,
      'a & b <c> "d" é',
    );
  });

  await t.step("whitespace, including nbsp, is collapsed and trimmed", () => {
    assert.equal(
      sanitizeRichHtml("  <p>a&nbsp;&nbsp;\n\t b </p>  ").text,
      "a b",
    );
  });

  await t.step("block boundaries separate words; inline marks do not", () => {
    assert.equal(
      sanitizeRichHtml(
        "<h1>Title</h1><p>wo<strong>rd</strong><br>next</p>" +
          "<ul><li>one</li><li>two</li></ul>",
      ).text,
      "Title word next one two",
    );
  });

  await t.step("no tags or removed content remain", () => {
    const { text } = sanitizeRichHtml(
      '<p>hi<script>x()</script><img src="/a.png" alt="pic"></p>',
    );
    assert.equal(text, "hi");
  });

  await t.step("markdown text comes from the rendered HTML", () => {
    assert.equal(
      renderMarkdown("# Hello &amp; welcome\n\n- `a < b`\n- *c*").text,
      "Hello & welcome a < b c",
    );
  });

  await t.step("the input limit is exported for callers", () => {
    assert.equal(MAX_RICH_TEXT_LENGTH, 200_000);
  });
});

Deno.test("assertNoActiveContent can fail", async (t) => {
  const rejects = (html: string, found: RegExp) =>
    assert.throws(() => assertNoActiveContent(html), found);

  await t.step("rejects forbidden tags in any case", () => {
    rejects("<p>x</p><SCRIPT>alert(1)</SCRIPT>", /<script>/);
    rejects("<Iframe src=x>", /<iframe>/);
    rejects("<svg/onload=x>", /<svg>/);
    rejects('<noscript><p title="</noscript><img onerror=x>">', /<noscript>/);
  });

  await t.step("rejects event handlers and style attributes", () => {
    rejects('<img src="a.png" ONERROR="x">', /event handler \(onerror=\)/);
    rejects("<p style='color:red'>x</p>", /style= attribute/);
  });

  await t.step("rejects script schemes even when entity-encoded", () => {
    rejects('<a href="javascript:x">a</a>', /"javascript:" in href=/);
    rejects('<a href="&#106;ava&#x09;script&colon;x">a</a>', /javascript:/);
    rejects("<img src=' VBScript:x'>", /"vbscript:" in src=/);
    rejects('<img src="data:image/png;base64,AA">', /"data:" in src=/);
  });

  await t.step("accepts safe markup and escaped text", () => {
    assertNoActiveContent(
      `<p class="ql-align-center">&lt;script&gt; onerror=x style=y</p>` +
        `<a href="https://ok.test" title="on=1" ${REL}>ok</a>`,
    );
  });
});
