import type { Certificate } from "../../db/schema/mod.ts";
import { Page } from "./layout.tsx";

type State = "valid" | "revoked" | "superseded" | "expired";

export interface CertificatePageProps {
  state: State;
  certificate: Pick<
    Certificate,
    | "code"
    | "recipientName"
    | "programTitle"
    | "schoolName"
    | "issuedAt"
    | "expiresAt"
    | "score"
    | "revokedAt"
    | "revokedReason"
  >;
  /** For a superseded certificate: where its replacement is verified. */
  replacement?: { code: string; url: string } | undefined;
  pageUrl: string;
  jwksUrl: string;
  keyId: string;
  /** The Ed25519 public key (JWK `x`, base64url). */
  publicKey: string;
}

const STYLE = `
.status { display: flex; align-items: center; gap: 12px; padding: 14px 16px; border-radius: 8px; margin: -4px 0 20px; font-weight: 600; font-size: 1.15rem; }
.status .mark { font-size: 1.6rem; line-height: 1; }
.status.valid { background: #e5f5ea; color: #17663a; }
.status.revoked { background: #fbe7e6; color: #a12622; }
.status.superseded, .status.expired { background: #fdf3dc; color: #7a5200; }
dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 6px 14px; }
dt { color: #555; } dd { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
.name { font-size: 1.5rem; font-weight: 700; margin: 0 0 4px; overflow-wrap: anywhere; }
.program { margin: 0 0 18px; color: #333; }
.code { font-family: ui-monospace, monospace; font-size: .95rem; }
.fine { color: #666; font-size: .85rem; margin-top: 22px; overflow-wrap: anywhere; }
a { color: #2d5be3; }
`;

const HEADLINES: Record<State, { mark: string; text: string }> = {
  valid: { mark: "✓", text: "Valid certificate" },
  revoked: { mark: "✕", text: "Revoked: no longer valid" },
  superseded: { mark: "↻", text: "Replaced by a newer certificate" },
  expired: { mark: "!", text: "Expired" },
};

/** "21 November 2026": unambiguous wherever the reader is. */
export const longDate = (date: Date) =>
  date.toLocaleDateString("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });

function OpenGraph(
  props: { title: string; description: string; url: string; site: string },
) {
  return (
    <>
      <meta name="description" content={props.description} />
      <meta property="og:type" content="website" />
      <meta property="og:site_name" content={props.site} />
      <meta property="og:title" content={props.title} />
      <meta property="og:description" content={props.description} />
      <meta property="og:url" content={props.url} />
      <meta name="twitter:card" content="summary" />
      <link rel="canonical" href={props.url} />
    </>
  );
}

/** The public verification page: a person on a phone sees the answer before anything else. */
export function CertificatePage(props: CertificatePageProps) {
  const { certificate: cert, state } = props;
  const headline = HEADLINES[state];
  const ogTitle = state === "valid"
    ? `${cert.recipientName}: ${cert.programTitle}`
    : `${headline.text}: ${cert.programTitle}`;
  const ogDescription = state === "valid"
    ? `Certificate issued by ${cert.schoolName} on ${
      longDate(cert.issuedAt)
    }. Verification code ${cert.code}.`
    : `Certificate ${cert.code} from ${cert.schoolName}: ${headline.text.toLowerCase()}.`;
  return (
    <Page
      title={headline.text}
      brand={cert.schoolName}
      style={STYLE}
      head={
        <OpenGraph
          title={ogTitle}
          description={ogDescription}
          url={props.pageUrl}
          site={cert.schoolName}
        />
      }
    >
      <div class={`status ${state}`} role="status">
        <span class="mark" aria-hidden="true">{headline.mark}</span>
        <span>{headline.text}</span>
      </div>
      <p class="name" dir="auto">{cert.recipientName}</p>
      <p class="program">
        completed <bdi>{cert.programTitle}</bdi>
      </p>
      {state === "revoked"
        ? (
          <p>
            Revoked on{" "}
            {cert.revokedAt ? longDate(cert.revokedAt) : "—"}. Reason:{" "}
            {cert.revokedReason ?? "not given"}.
          </p>
        )
        : null}
      {state === "superseded"
        ? (
          <p>
            This certificate was reissued
            {props.replacement
              ? (
                <>
                  {" "}as{" "}
                  <a href={props.replacement.url}>
                    <span class="code">{props.replacement.code}</span>
                  </a>. Check that one instead.
                </>
              )
              : "."}
          </p>
        )
        : null}
      {state === "superseded" && cert.revokedAt
        ? (
          <p>
            It had been revoked on {longDate(cert.revokedAt)}:{" "}
            {cert.revokedReason ?? "no reason given"}.
          </p>
        )
        : null}
      {state === "expired" && cert.expiresAt
        ? <p>It was valid until {longDate(cert.expiresAt)}.</p>
        : null}
      <dl>
        <dt>Issued by</dt>
        <dd>{cert.schoolName}</dd>
        <dt>Issued on</dt>
        <dd>{longDate(cert.issuedAt)}</dd>
        {cert.expiresAt
          ? (
            <>
              <dt>
                {state === "expired"
                  ? "Expired on"
                  : state === "valid"
                  ? "Valid until"
                  : "Expiry date"}
              </dt>
              <dd>{longDate(cert.expiresAt)}</dd>
            </>
          )
          : null}
        {cert.score !== null
          ? (
            <>
              <dt>Score</dt>
              <dd>{cert.score}%</dd>
            </>
          )
          : null}
        <dt>Code</dt>
        <dd class="code">{cert.code}</dd>
      </dl>
      <p class="fine">
        This page is the authority on this certificate's status. Its signed
        digital credential (Open Badges 3.0) can be checked against the school's
        Ed25519 public key <span class="code">{props.publicKey}</span> (key id
        {" "}
        <span class="code">{props.keyId}</span>), published at{" "}
        <a href={props.jwksUrl}>{props.jwksUrl}</a>.
      </p>
    </Page>
  );
}

export function CertificateNotFoundPage(
  props: { code: string; school: string },
) {
  return (
    <Page title="Certificate not found" brand={props.school} style={STYLE}>
      <h1 class="bad">No certificate has this code</h1>
      <p>
        Nothing matches{" "}
        <span class="code">{props.code.slice(0, 64)}</span>. Check the code on
        the document: it looks like CERT-2026-7K3Q-9XWD-M2QA-5ZT8, and letters
        may be typed in any case.
      </p>
      <p>
        If the code is right, the certificate was not issued by {props.school}.
      </p>
    </Page>
  );
}

export function TooManyLookupsPage(
  props: { school: string; retryAfter: number; message: string },
) {
  return (
    <Page title="Too many lookups" brand={props.school}>
      <h1 class="bad">Too many lookups</h1>
      <p>
        {props.message.replace(/; try again later$/, "")}. Try again in{" "}
        {Math.ceil(props.retryAfter / 60)} minute(s).
      </p>
    </Page>
  );
}
