import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { certificates, type User } from "../../../db/schema/mod.ts";
import { startSession } from "../../../server/features/auth/service.ts";
import {
  canonicalCode,
  newVerificationCode,
} from "../../../server/features/certificates/codes.ts";
import { issueManually } from "../../../server/features/certificates/service.ts";
import {
  FREE_MISSES,
  missDelayMs,
} from "../../../server/features/certificates/verification.ts";
import { createUser } from "../../../server/features/users/service.ts";
import type { CreateProgramInput } from "../../../server/features/programs/schemas.ts";
import {
  api,
  APP_URL,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { uniqueEmail } from "../../helpers/factories.ts";
import { learner, programWithLesson } from "../payments/support.ts";

const SCHOOL = "Ada & Grace Academy";
const JWKS_URL = `${APP_URL}/.well-known/jwks.json`;
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

/** "21 November 2026", worked out here rather than with the page's own helper. */
const longDate = (date: Date) =>
  `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
};
const decodeEntities = (text: string) =>
  text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      return String.fromCodePoint(
        name[1] === "x" || name[1] === "X"
          ? Number.parseInt(name.slice(2), 16)
          : Number.parseInt(name.slice(1), 10),
      );
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });

/**
 * What a reader sees: the stylesheet dropped, inline tags dropped, block tags read as a space,
 * entities decoded, spaces collapsed.
 */
const textOf = (html: string) =>
  decodeEntities(
    html.replace(/<style[\s\S]*?<\/style>/gi, " ")
      .replace(/<\/?(?:a|span|b|strong|em|code)\b[^>]*>/gi, "")
      .replace(/<[^>]+>/g, " "),
  ).replace(/\s+/g, " ").trim();

/**
 * Each lookup from an address of its own (TRUST_PROXY is on), so that the per-IP limits and the
 * slowing of misses never reach the tests that are not about them. Tests about the limits pass
 * their own X-Forwarded-For.
 */
let nextIp = 0;
const freshIp = () => {
  nextIp++;
  return `10.${(nextIp >> 16) & 255}.${(nextIp >> 8) & 255}.${nextIp & 255}`;
};
const withIp = (headers: Record<string, string>) => ({
  "X-Forwarded-For": freshIp(),
  ...headers,
});

/** The decoded `content` of `<meta property|name="...">`, or undefined. */
function metaContent(html: string, key: string): string | undefined {
  const tag = new RegExp(`<meta\\s[^>]*(?:property|name)="${key}"[^>]*>`, "i")
    .exec(html)?.[0];
  const content = tag && /\scontent="([^"]*)"/.exec(tag)?.[1];
  return content === undefined ? undefined : decodeEntities(content);
}

interface PageResponse {
  status: number;
  headers: Headers;
  html: string;
  text: string;
}

/** A browser's request for the page (no Accept: JSON). */
async function page(
  ctx: TestContext,
  code: string,
  headers: Record<string, string> = {},
): Promise<PageResponse> {
  const res = await ctx.app.request(`/verify/${encodeURIComponent(code)}`, {
    headers: withIp(headers),
  });
  const html = await res.text();
  return { status: res.status, headers: res.headers, html, text: textOf(html) };
}

/** The same URL asked for JSON. */
const pageJson = (
  ctx: TestContext,
  code: string,
  headers: Record<string, string> = {},
) =>
  api(ctx, "GET", `/verify/${encodeURIComponent(code)}`, {
    headers: withIp({ Accept: "application/json", ...headers }),
  });

/** The API's twin. */
const apiVerify = (
  ctx: TestContext,
  code: string,
  headers: Record<string, string> = {},
) =>
  api(ctx, "GET", `/api/certificates/verify/${encodeURIComponent(code)}`, {
    headers: withIp(headers),
  });

function assertHtmlPage(res: PageResponse, status: number) {
  assert.equal(res.status, status, res.text.slice(0, 500));
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.doesNotMatch(res.html, /<script/i, "no script element, ever");
}

function assertNotFoundEnvelope(
  res: Awaited<ReturnType<typeof api>>,
) {
  assert.equal(res.status, 404, JSON.stringify(res.body));
  assert.equal(res.body.success, false);
  assert.equal(res.body.error.code, "CERTIFICATE_NOT_FOUND");
}

/** A learner with a chosen name, holding a certificate issued by an admin. */
async function holder(
  ctx: TestContext,
  owners: { admin: { user: User }; teacher: { user: User } },
  name: string,
  programFields: Partial<CreateProgramInput> = {},
) {
  const user = await createUser(ctx.deps.db, {
    email: uniqueEmail("holder"),
    name,
    password: null,
    role: "student",
    emailVerified: true,
  });
  const { token } = await startSession(ctx.deps, user, {});
  const { program } = await programWithLesson(
    ctx,
    owners.teacher.user,
    programFields,
  );
  const { certificate } = await issueManually(ctx.deps, owners.admin.user, {
    userId: user.id,
    programId: program.id,
    reason: "Verification page test",
  });
  return { user, token, program, certificate };
}

/** Literal text in a pattern (a code's check symbol may be `*`, `$`...). */
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A code of the right shape (check symbol included) that no certificate has. */
function unknownCode(): string {
  return newVerificationCode();
}

/** The same code with its check symbol replaced: the right shape, but a typo. */
function wrongCheckSymbol(code: string): string {
  const last = code.at(-1)!;
  return code.slice(0, -1) + (last === "7" ? "8" : "7");
}

Deno.test("GET /verify/:code and its JSON twin show every status", async (t) => {
  const ctx = await createTestContext({
    SCHOOL_NAME: SCHOOL,
    VERIFY_MISS_DELAY_MS: "1",
    // This test is about what the page says: every lookup comes from an address of its own
    // (see freshIp), and the limits have tests of their own below.
    TRUST_PROXY: "true",
  });
  try {
    const admin = await learner(ctx, "admin");
    const teacher = await learner(ctx, "instructor");
    const owners = { admin, teacher };

    await t.step(
      "valid: name, program, date, school and code on the page; 200, no-cache",
      async () => {
        const { certificate } = await holder(ctx, owners, "Grace Hopper", {
          title: "Compilers 101",
        });
        const res = await page(ctx, certificate.code);
        assertHtmlPage(res, 200);
        assert.equal(res.headers.get("cache-control"), "no-cache");
        assert.match(res.html, /class="status valid"/);
        assert.ok(res.text.includes("Valid certificate"), res.text);
        assert.ok(res.text.includes("Grace Hopper"));
        assert.ok(res.text.includes("completed Compilers 101"));
        assert.ok(res.text.includes(`Issued by ${SCHOOL}`), res.text);
        assert.ok(
          res.text.includes(`Issued on ${longDate(certificate.issuedAt)}`),
          res.text,
        );
        assert.ok(res.text.includes(`Code ${certificate.code}`));
        assert.ok(!res.text.includes("Valid until"), "no expiry, no date");
        assert.ok(!/revoked|reissued|expired/i.test(res.text), res.text);
        assert.match(res.html, /<title>Valid certificate · Ada &amp; Grace/);
      },
    );

    await t.step(
      "valid as JSON: the page with Accept: application/json and the API answer alike",
      async () => {
        const { certificate, program } = await holder(
          ctx,
          owners,
          "Katherine Johnson",
        );
        const res = await pageJson(ctx, certificate.code);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.match(
          res.headers.get("content-type") ?? "",
          /application\/json/,
        );
        assert.deepEqual(res.body, {
          success: true,
          isValid: true,
          status: "valid",
          certificate: {
            recipientName: "Katherine Johnson",
            programTitle: program.title,
            issuedDate: certificate.issuedAt.toISOString().slice(0, 10),
            verificationCode: certificate.code,
            schoolName: SCHOOL,
            issuedAt: certificate.issuedAt.toISOString(),
            expiresAt: null,
            score: null,
            revokedAt: null,
            revocationReason: null,
            supersededBy: null,
            verifyUrl: `${APP_URL}/verify/${certificate.code}`,
          },
          issuer: { name: SCHOOL, url: APP_URL, jwksUrl: JWKS_URL },
        });
        const twin = await apiVerify(ctx, certificate.code);
        assert.equal(twin.status, 200);
        assert.deepEqual(twin.body, res.body);
      },
    );

    await t.step(
      "Accept decides: JSON only when asked for without text/html",
      async () => {
        const { certificate } = await holder(ctx, owners, "Alan Turing");
        for (
          const accept of [
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "text/html, application/json",
            "*/*",
          ]
        ) {
          const res = await page(ctx, certificate.code, { Accept: accept });
          assertHtmlPage(res, 200);
        }
        const json = await pageJson(ctx, certificate.code, {
          Accept: "application/json, */*;q=0.5",
        });
        assert.equal(json.body.status, "valid");
      },
    );

    await t.step(
      "codes are found in any case, without dashes, with O for 0 and L for 1",
      async () => {
        const { certificate } = await holder(ctx, owners, "Ada Lovelace");
        const code = certificate.code;
        const compact = code.toLowerCase().replaceAll("-", "");
        const misread = compact.replaceAll("0", "o").replaceAll("1", "l");
        const spaced = code.replaceAll("-", " ").toLowerCase();
        for (const typed of [compact, misread, spaced, ` ${code} `]) {
          assert.equal(canonicalCode(typed), code, typed);
          const html = await page(ctx, typed);
          assertHtmlPage(html, 200);
          assert.ok(html.text.includes("Ada Lovelace"), typed);
          // The page names the certificate by its canonical code wherever it links to itself.
          assert.equal(
            metaContent(html.html, "og:url"),
            `${APP_URL}/verify/${code}`,
          );
          assert.match(
            html.html,
            new RegExp(
              `<link rel="canonical" href="${
                esc(`${APP_URL}/verify/${code}`)
              }"`,
            ),
          );
          const json = await pageJson(ctx, typed);
          assert.equal(json.status, 200, typed);
          assert.equal(json.body.certificate.verificationCode, code);
          const twin = await apiVerify(ctx, typed);
          assert.equal(twin.status, 200, typed);
          assert.equal(twin.body.certificate.verificationCode, code);
        }
      },
    );

    await t.step(
      "revoked: the page says so at once, with the date and the reason",
      async () => {
        const { certificate, program } = await holder(
          ctx,
          owners,
          "Revoked Person",
        );
        // Looked up first, so a cached hit must not outlive the revoke.
        assert.equal((await page(ctx, certificate.code)).status, 200);
        assert.equal(
          (await apiVerify(ctx, certificate.code)).body.isValid,
          true,
        );
        const revoke = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${certificate.code}/revoke`,
          {
            token: admin.token,
            body: { reason: "Exam misconduct <proven>" },
          },
        );
        assert.equal(revoke.status, 200, JSON.stringify(revoke.body));
        const revokedAt = new Date(revoke.body.certificate.revokedAt);

        const res = await page(ctx, certificate.code);
        assertHtmlPage(res, 200);
        assert.equal(res.headers.get("cache-control"), "no-cache");
        assert.match(res.html, /class="status revoked"/);
        assert.ok(res.text.includes("Revoked: no longer valid"), res.text);
        assert.ok(
          res.text.includes(
            `Revoked on ${
              longDate(revokedAt)
            }. Reason: Exam misconduct <proven>.`,
          ),
          res.text,
        );
        assert.ok(res.html.includes("Exam misconduct &lt;proven&gt;"));
        assert.ok(!res.text.includes("Valid certificate"));
        assert.equal(
          metaContent(res.html, "og:title"),
          `Revoked: no longer valid: ${program.title}`,
        );

        for (
          const json of [
            await pageJson(ctx, certificate.code),
            await apiVerify(ctx, certificate.code),
          ]
        ) {
          assert.equal(json.status, 200);
          assert.equal(json.body.isValid, false);
          assert.equal(json.body.status, "revoked");
          assert.equal(
            json.body.certificate.revokedAt,
            revokedAt.toISOString(),
          );
          assert.equal(
            json.body.certificate.revocationReason,
            "Exam misconduct <proven>",
          );
        }
      },
    );

    await t.step(
      "superseded: the page links to the replacement's page, following every reissue",
      async () => {
        const { certificate } = await holder(ctx, owners, "Misspeled Name");
        assert.equal((await page(ctx, certificate.code)).status, 200);
        const reissued = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${certificate.id}/reissue`,
          { token: admin.token, body: { name: "Misspelled Name" } },
        );
        assert.equal(reissued.status, 201, JSON.stringify(reissued.body));
        const second = reissued.body.certificate.verificationCode as string;
        const secondUrl = `${APP_URL}/verify/${second}`;

        const old = await page(ctx, certificate.code);
        assertHtmlPage(old, 200);
        assert.match(old.html, /class="status superseded"/);
        assert.ok(
          old.text.includes("Replaced by a newer certificate"),
          old.text,
        );
        assert.ok(
          old.text.includes(
            `This certificate was reissued as ${second}. Check that one instead.`,
          ),
          old.text,
        );
        assert.ok(old.html.includes(`<a href="${secondUrl}">`), old.html);
        for (
          const json of [
            await pageJson(ctx, certificate.code),
            await apiVerify(ctx, certificate.code),
          ]
        ) {
          assert.equal(json.body.status, "superseded");
          assert.equal(json.body.isValid, false);
          assert.deepEqual(json.body.certificate.supersededBy, {
            verificationCode: second,
            verifyUrl: secondUrl,
          });
        }
        const fresh = await page(ctx, second);
        assertHtmlPage(fresh, 200);
        assert.ok(fresh.text.includes("Valid certificate"));
        assert.ok(fresh.text.includes("Misspelled Name"));

        // Reissued again: the first page sends people to the last one, not to the middle one.
        const again = await api(
          ctx,
          "POST",
          `/api/admin/certificates/${second}/reissue`,
          { token: admin.token, body: { reason: "New template" } },
        );
        assert.equal(again.status, 201, JSON.stringify(again.body));
        const third = again.body.certificate.verificationCode as string;
        const first = await page(ctx, certificate.code);
        assert.ok(
          first.html.includes(`<a href="${APP_URL}/verify/${third}">`),
          first.text,
        );
        assert.equal(
          (await apiVerify(ctx, certificate.code)).body.certificate.supersededBy
            .verificationCode,
          third,
        );
        assert.equal((await apiVerify(ctx, second)).body.status, "superseded");
      },
    );

    await t.step(
      "expired: once expiresAt has passed, the page and the JSON say expired",
      async () => {
        const { certificate } = await holder(ctx, owners, "Expiring Person", {
          certificateValidityDays: 30,
        });
        assert.ok(certificate.expiresAt);
        const before = await page(ctx, certificate.code);
        assertHtmlPage(before, 200);
        assert.ok(before.text.includes("Valid certificate"));
        assert.ok(
          before.text.includes(
            `Valid until ${longDate(certificate.expiresAt)}`,
          ),
          before.text,
        );
        assert.equal(
          (await apiVerify(ctx, certificate.code)).body.status,
          "valid",
        );

        // A write through the app's database handle: the cached hit above must be dropped.
        const expiresAt = new Date(Date.now() - 2 * 86_400_000);
        await ctx.deps.db.update(certificates).set({ expiresAt }).where(
          eq(certificates.id, certificate.id),
        );

        const res = await page(ctx, certificate.code);
        assertHtmlPage(res, 200);
        assert.equal(res.headers.get("cache-control"), "no-cache");
        assert.match(res.html, /class="status expired"/);
        assert.ok(res.text.includes("Expired"), res.text);
        assert.ok(!res.text.includes("Valid certificate"));
        assert.ok(
          res.text.includes(`It was valid until ${longDate(expiresAt)}.`),
          res.text,
        );
        assert.ok(
          res.text.includes(`Expired on ${longDate(expiresAt)}`),
          res.text,
        );
        for (
          const json of [
            await pageJson(ctx, certificate.code),
            await apiVerify(ctx, certificate.code),
          ]
        ) {
          assert.equal(json.status, 200);
          assert.equal(json.body.status, "expired");
          assert.equal(json.body.isValid, false);
          assert.equal(
            json.body.certificate.expiresAt,
            expiresAt.toISOString(),
          );
        }
      },
    );

    await t.step(
      "an unknown code: a 404 page for people, a 404 envelope for scripts",
      async () => {
        const code = unknownCode();
        const res = await page(ctx, code);
        assertHtmlPage(res, 404);
        assert.equal(res.headers.get("cache-control"), "no-cache");
        assert.ok(res.text.includes("No certificate has this code"), res.text);
        assert.ok(res.text.includes(`Nothing matches ${code}`), res.text);
        assert.ok(res.text.includes(SCHOOL));
        assertNotFoundEnvelope(await pageJson(ctx, code));
        assertNotFoundEnvelope(await apiVerify(ctx, code));
      },
    );

    await t.step(
      "malformed codes: 404 too, and whatever was typed is shown escaped",
      async () => {
        const { certificate } = await holder(ctx, owners, "Typo Victim");
        const code = certificate.code;
        const payloadTypo = code.slice(0, 10) +
          (code[10] === "A" ? "B" : "A") + code.slice(11);
        for (
          const typed of [
            "not-a-code",
            "CERT-2026",
            wrongCheckSymbol(code),
            payloadTypo, // one wrong symbol: caught by the check symbol
            `${code}X`,
          ]
        ) {
          assert.equal(canonicalCode(typed), undefined, typed);
          const res = await page(ctx, typed);
          assertHtmlPage(res, 404);
          assert.ok(res.text.includes("No certificate has this code"), typed);
          assertNotFoundEnvelope(await pageJson(ctx, typed));
          assertNotFoundEnvelope(await apiVerify(ctx, typed));
        }

        const hostile = `<script>alert("x")</script>`;
        const res = await page(ctx, hostile);
        assertHtmlPage(res, 404);
        assert.ok(res.html.includes("&lt;script&gt;"), res.html);
        assert.ok(res.text.includes(`Nothing matches ${hostile}`), res.text);

        // Longer than any code: the page shows a bounded echo; the API refuses the parameter.
        const long = "C".repeat(300);
        const longPage = await page(ctx, long);
        assertHtmlPage(longPage, 404);
        assert.ok(!longPage.html.includes("C".repeat(65)));
        const longApi = await apiVerify(ctx, long);
        assert.ok([404, 422].includes(longApi.status), String(longApi.status));
        assert.equal(longApi.body.success, false);
      },
    );

    await t.step(
      "OpenGraph tags are there and escaped; a hostile name never becomes markup",
      async () => {
        const name = `Robert "Bobby" <script>alert('pwned')</script> Tables`;
        const title = `Tags & <b>"Quotes"</b> 101`;
        const { certificate } = await holder(ctx, owners, name, { title });
        const res = await page(ctx, certificate.code);
        assertHtmlPage(res, 200);
        assert.ok(!res.html.includes("<b>"), "the title is not markup");
        assert.ok(res.html.includes("&lt;script&gt;"), "escaped in the body");
        assert.equal(metaContent(res.html, "og:title"), `${name}: ${title}`);
        assert.equal(
          metaContent(res.html, "og:description"),
          `Certificate issued by ${SCHOOL} on ${
            longDate(certificate.issuedAt)
          }. Verification code ${certificate.code}.`,
        );
        assert.equal(
          metaContent(res.html, "description"),
          metaContent(res.html, "og:description"),
        );
        assert.equal(
          metaContent(res.html, "og:url"),
          `${APP_URL}/verify/${certificate.code}`,
        );
        assert.equal(metaContent(res.html, "og:site_name"), SCHOOL);
        assert.equal(metaContent(res.html, "og:type"), "website");
        // Each tag is one element whose attributes were not broken by the quotes in the name.
        const ogTitleTag = /<meta property="og:title"[^>]*>/.exec(res.html)![0];
        assert.match(
          ogTitleTag,
          /^<meta property="og:title" content="[^"<>]*"\s*\/?>$/,
        );
        assert.ok(ogTitleTag.includes("&quot;Bobby&quot;"), ogTitleTag);
        assert.ok(res.text.includes(name));
        assert.ok(res.text.includes(`completed ${title}`));

        const json = await apiVerify(ctx, certificate.code);
        assert.equal(json.body.certificate.recipientName, name);
        assert.equal(json.body.certificate.programTitle, title);
      },
    );

    await t.step(
      "names in other scripts come through intact on the page, in its tags and in JSON",
      async () => {
        for (
          const [name, title] of [
            ["李雷", "数据结构"],
            ["أحمد المصري", "مقدمة في البرمجة"],
            ["Zoë Ångström-Ñúñez", "Résumé writing"],
          ]
        ) {
          const { certificate } = await holder(ctx, owners, name!, {
            title: title!,
          });
          const res = await page(ctx, certificate.code);
          assertHtmlPage(res, 200);
          assert.match(res.headers.get("content-type") ?? "", /charset=utf-8/i);
          assert.match(res.html, /<meta charset="utf-8"/i);
          assert.ok(res.html.includes(name!), `${name} as UTF-8 text`);
          assert.ok(res.html.includes(title!));
          assert.equal(metaContent(res.html, "og:title"), `${name}: ${title}`);
          const json = await pageJson(ctx, certificate.code);
          assert.equal(json.body.certificate.recipientName, name);
          assert.equal(json.body.certificate.programTitle, title);
        }
      },
    );

    await t.step(
      "the page names the signing key and links the published key set",
      async () => {
        const { certificate } = await holder(ctx, owners, "Key Checker");
        const res = await page(ctx, certificate.code);
        assert.ok(res.html.includes(`<a href="${JWKS_URL}">`), res.html);
        assert.ok(res.text.includes(ctx.deps.signer.kid));
        const jwks = await api(ctx, "GET", "/.well-known/jwks.json");
        assert.ok(
          res.text.includes(jwks.body.keys[0].kid),
          "the key id on the page is the one published",
        );
      },
    );

    await t.step(
      "GET /.well-known/jwks.json lists one public Ed25519 key with its id",
      async () => {
        const res = await api(ctx, "GET", "/.well-known/jwks.json");
        assert.equal(res.status, 200);
        assert.match(
          res.headers.get("content-type") ?? "",
          /application\/json/,
        );
        assert.equal(res.body.keys.length, 1);
        const [key] = res.body.keys;
        assert.equal(key.kty, "OKP");
        assert.equal(key.crv, "Ed25519");
        assert.equal(key.kid, ctx.deps.signer.kid);
        assert.equal(typeof key.kid, "string");
        assert.ok(key.kid.length > 0);
        assert.match(key.x, /^[A-Za-z0-9_-]{43}$/, "32 bytes, base64url");
        assert.equal(key.d, undefined, "never the private part");
        assert.ok(
          !JSON.stringify(res.body).includes('"d"'),
          "no private member anywhere",
        );
        // It really is usable as a verification key.
        await crypto.subtle.importKey(
          "jwk",
          { kty: key.kty, crv: key.crv, x: key.x },
          { name: "Ed25519" },
          false,
          ["verify"],
        );
      },
    );

    await t.step(
      "the page starts with a doctype, so browsers do not use quirks mode",
      async () => {
        const { certificate } = await holder(ctx, owners, "Doctype Reader");
        const res = await page(ctx, certificate.code);
        assert.match(res.html, /^<!doctype html>/i);
        const missing = await page(ctx, unknownCode());
        assert.match(missing.html, /^<!doctype html>/i);
      },
    );

    await t.step({
      name:
        "/verify/:code answers HTML or JSON by Accept, so it says Vary: Accept",
      fn: async () => {
        const { certificate } = await holder(ctx, owners, "Vary Reader");
        const html = await page(ctx, certificate.code);
        const json = await ctx.app.request(`/verify/${certificate.code}`, {
          headers: withIp({ Accept: "application/json" }),
        });
        await json.body?.cancel();
        for (const headers of [html.headers, json.headers]) {
          assert.match(headers.get("vary") ?? "", /accept/i);
        }
        assert.equal(json.headers.get("cache-control"), "no-cache");
      },
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("verification is rate limited per IP, as a page for browsers and JSON for scripts", async (t) => {
  const ctx = await createTestContext({
    SCHOOL_NAME: SCHOOL,
    TRUST_PROXY: "true",
    VERIFY_RATE_LIMIT: "5",
    VERIFY_MISS_DELAY_MS: "1",
  });
  try {
    const admin = await learner(ctx, "admin");
    const teacher = await learner(ctx, "instructor");
    const { certificate } = await holder(
      ctx,
      { admin, teacher },
      "Limited Person",
    );
    const code = certificate.code;
    const from = (ip: string) => ({ "X-Forwarded-For": ip });

    await t.step(
      "the 6th lookup from one IP is 429, HTML with Retry-After; another IP still gets 200",
      async () => {
        const ip = "203.0.113.7";
        for (let i = 1; i <= 5; i++) {
          const res = await page(ctx, code, from(ip));
          assert.equal(res.status, 200, `lookup ${i}`);
        }
        const refused = await page(ctx, code, from(ip));
        assertHtmlPage(refused, 429);
        assert.ok(refused.text.includes("Too many lookups"), refused.text);
        const retryAfter = Number(refused.headers.get("retry-after"));
        assert.ok(
          Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
          `Retry-After ${refused.headers.get("retry-after")}`,
        );
        assert.ok(!refused.text.includes("Limited Person"), "no answer");

        const json = await pageJson(ctx, code, from(ip));
        assert.equal(json.status, 429);
        assert.equal(json.body.success, false);
        assert.equal(json.body.error.code, "RATE_LIMITED");
        assert.ok(Number(json.headers.get("retry-after")) >= 1);

        const other = await page(ctx, code, from("198.51.100.9"));
        assertHtmlPage(other, 200);
        assert.ok(other.text.includes("Limited Person"));
        assert.equal(
          (await pageJson(ctx, code, from("198.51.100.9"))).status,
          200,
        );
      },
    );

    await t.step(
      "the page and the API share one budget per IP",
      async () => {
        const ip = "203.0.113.8";
        for (let i = 1; i <= 3; i++) {
          assert.equal((await page(ctx, code, from(ip))).status, 200);
        }
        for (let i = 4; i <= 5; i++) {
          assert.equal((await apiVerify(ctx, code, from(ip))).status, 200);
        }
        const refused = await apiVerify(ctx, code, from(ip));
        assert.equal(refused.status, 429);
        assert.equal(refused.body.error.code, "RATE_LIMITED");
        assert.ok(Number(refused.headers.get("retry-after")) >= 1);
        assert.equal((await page(ctx, code, from(ip))).status, 429);
      },
    );

    await t.step(
      "misses count against the same budget: an IP guessing codes is limited too",
      async () => {
        const ip = "203.0.113.9";
        for (let i = 1; i <= 5; i++) {
          assert.equal((await page(ctx, unknownCode(), from(ip))).status, 404);
        }
        assert.equal((await page(ctx, unknownCode(), from(ip))).status, 429);
      },
    );
  } finally {
    await ctx.close();
  }
});

Deno.test("repeated misses from one IP are refused, even for a real code; hits never count", async (t) => {
  const ctx = await createTestContext({
    SCHOOL_NAME: SCHOOL,
    TRUST_PROXY: "true",
    VERIFY_RATE_LIMIT: "100000",
    VERIFY_MISS_LIMIT: "8",
    VERIFY_MISS_DELAY_MS: "1",
  });
  try {
    const admin = await learner(ctx, "admin");
    const teacher = await learner(ctx, "instructor");
    const { certificate } = await holder(
      ctx,
      { admin, teacher },
      "Guessed Person",
    );
    const code = certificate.code;
    const guesser = { "X-Forwarded-For": "192.0.2.66" };
    const bystander = { "X-Forwarded-For": "192.0.2.77" };

    await t.step(
      "many valid lookups are not misses: still 200 well past the miss limit",
      async () => {
        for (let i = 1; i <= 20; i++) {
          const res = i % 2 ? await page(ctx, code, guesser) : await apiVerify(
            ctx,
            code,
            guesser,
          );
          assert.equal(res.status, 200, `hit ${i}`);
        }
      },
    );

    await t.step(
      "after 8 misses (page, JSON and API alike) the IP is refused, valid code or not",
      async () => {
        for (let i = 1; i <= 7; i++) {
          const typed = i % 3 === 0 ? "not-a-code" : unknownCode();
          const res = i % 2 ? await page(ctx, typed, guesser) : await apiVerify(
            ctx,
            typed,
            guesser,
          );
          assert.equal(res.status, 404, `miss ${i}`);
        }
        assert.equal(
          (await page(ctx, code, guesser)).status,
          200,
          "7 misses: under the limit",
        );
        assertNotFoundEnvelope(await pageJson(ctx, unknownCode(), guesser));

        const refused = await page(ctx, code, guesser);
        assertHtmlPage(refused, 429);
        assert.ok(refused.text.includes("Too many lookups"), refused.text);
        assert.ok(!refused.text.includes("Guessed Person"), "no answer");
        const retryAfter = Number(refused.headers.get("retry-after"));
        assert.ok(
          retryAfter >= 1 && retryAfter <= 15 * 60,
          `Retry-After ${retryAfter}`,
        );
        const json = await pageJson(ctx, code, guesser);
        assert.equal(json.status, 429);
        assert.equal(json.body.error.code, "RATE_LIMITED");
        const twin = await apiVerify(ctx, code, guesser);
        assert.equal(twin.status, 429);
        assert.equal(twin.body.error.code, "RATE_LIMITED");
        assert.ok(Number(twin.headers.get("retry-after")) >= 1);
        assert.equal(
          (await page(ctx, unknownCode(), guesser)).status,
          429,
          "no more 404s to learn from either",
        );
      },
    );

    await t.step({
      name: "concurrent misses from one IP are held to the same limit",
      fn: async () => {
        const racer = { "X-Forwarded-For": "192.0.2.99" };
        const statuses = await Promise.all(
          Array.from(
            { length: 30 },
            () => apiVerify(ctx, unknownCode(), racer).then((r) => r.status),
          ),
        );
        const answered = statuses.filter((status) => status === 404).length;
        assert.ok(answered <= 8, `${answered} of 30 parallel misses answered`);
        assert.equal(
          statuses.filter((status) => status === 429).length,
          30 - answered,
        );
      },
    });

    await t.step("another IP is not affected", async () => {
      const res = await page(ctx, code, bystander);
      assertHtmlPage(res, 200);
      assert.ok(res.text.includes("Guessed Person"));
      assert.equal((await apiVerify(ctx, code, bystander)).status, 200);
      assertNotFoundEnvelope(await apiVerify(ctx, unknownCode(), bystander));
    });
  } finally {
    await ctx.close();
  }
});

Deno.test("missDelayMs: free misses first, then doubling from the base, capped at 10 s", () => {
  assert.equal(FREE_MISSES, 5);
  for (let misses = 0; misses <= FREE_MISSES; misses++) {
    assert.equal(missDelayMs(misses, 250), 0, `miss ${misses}`);
  }
  assert.equal(missDelayMs(FREE_MISSES + 1, 250), 250);
  assert.equal(missDelayMs(FREE_MISSES + 2, 250), 500);
  assert.equal(missDelayMs(FREE_MISSES + 3, 250), 1000);
  assert.equal(missDelayMs(FREE_MISSES + 4, 250), 2000);
  assert.equal(missDelayMs(FREE_MISSES + 5, 250), 4000);
  assert.equal(missDelayMs(FREE_MISSES + 6, 250), 8000);
  assert.equal(missDelayMs(FREE_MISSES + 7, 250), 10_000, "capped");
  assert.equal(missDelayMs(1_000, 250), 10_000);
  assert.equal(missDelayMs(1_000_000, 250), 10_000, "no Infinity or NaN");
  assert.equal(missDelayMs(FREE_MISSES + 1, 1), 1);
  assert.equal(missDelayMs(FREE_MISSES + 11, 1), 1024);
  assert.equal(missDelayMs(FREE_MISSES + 1, 20_000), 10_000);
  // Never shrinks as misses grow.
  let previous = 0;
  for (let misses = 0; misses <= 40; misses++) {
    const delay = missDelayMs(misses, 3);
    assert.ok(delay >= previous && delay <= 10_000, `miss ${misses}`);
    previous = delay;
  }
});
