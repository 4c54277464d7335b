import { raw } from "hono/html";
import type { Child } from "hono/jsx";

const STYLE = `
body { font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; background: #f6f7f9; margin: 0; }
main { max-width: 480px; margin: 0 auto; padding: 32px 20px; }
.card { background: #fff; border-radius: 10px; padding: 24px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h1 { font-size: 1.4rem; margin-top: 0; }
.brand { font-weight: 600; color: #2d5be3; margin-bottom: 16px; }
.ok { color: #17663a; } .bad { color: #a12622; }
label { display: block; margin: 12px 0 4px; font-weight: 500; }
input { width: 100%; box-sizing: border-box; padding: 10px; font-size: 1rem; border: 1px solid #bbb; border-radius: 6px; }
button { margin-top: 16px; width: 100%; padding: 12px; font-size: 1rem; background: #2d5be3; color: #fff; border: 0; border-radius: 6px; }
.error { color: #a12622; font-size: .9rem; }
`;

/** The frame of every server-rendered page: readable on a phone, no JavaScript. */
export function Page(props: {
  title: string;
  children: Child;
  /** Shown above the card; the product's name unless a page speaks for the school. */
  brand?: string;
  /** Extra tags for <head>, e.g. OpenGraph. */
  head?: Child;
  style?: string;
}) {
  // Without a doctype, browsers lay the page out in quirks mode.
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>{props.title} · {props.brand ?? "Lectern"}</title>
          {props.head}
          <style>{STYLE + (props.style ?? "")}</style>
        </head>
        <body>
          <main>
            <div class="brand">{props.brand ?? "Lectern"}</div>
            <div class="card">{props.children}</div>
          </main>
        </body>
      </html>
    </>
  );
}
