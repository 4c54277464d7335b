import type { Child } from "hono/jsx";

/** A plain, table-free email body that reads well in any client, including text-only ones. */
export function EmailLayout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
      </head>
      <body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 560px; margin: 0 auto; padding: 24px;">
        <p style="font-weight: 600; font-size: 18px;">Lectern</p>
        {props.children}
        <p style="color: #666; font-size: 13px; margin-top: 32px;">
          You received this email because of an action on your Lectern account.
          If it was not you, you can ignore it.
        </p>
      </body>
    </html>
  );
}

export function ActionLink(props: { href: string; label: string }) {
  return (
    <p>
      <a
        href={props.href}
        style="display: inline-block; background: #2d5be3; color: #fff; padding: 10px 18px; border-radius: 6px; text-decoration: none;"
      >
        {props.label}
      </a>
    </p>
  );
}
