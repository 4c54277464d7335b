import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { OAuthEndpoints } from "../../server/deps.ts";

export interface FakeProfile {
  id: string;
  email: string;
  verified: boolean;
  name: string;
}

/**
 * A provider's token and profile endpoints on a loopback port. It checks the PKCE verifier against
 * the challenge the app put in its redirect, as a real provider does.
 */
export function startFakeOAuthProvider() {
  const grants = new Map<string, { challenge: string; profile: FakeProfile }>();
  const tokens = new Map<string, FakeProfile>();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
  }, async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/token" && request.method === "POST") {
      const form = new URLSearchParams(await request.text());
      const grant = grants.get(form.get("code") ?? "");
      const verifier = form.get("code_verifier") ?? "";
      const digest = new Uint8Array(
        await crypto.subtle.digest(
          "SHA-256",
          new TextEncoder().encode(verifier),
        ),
      );
      if (!grant || encodeBase64urlNoPadding(digest) !== grant.challenge) {
        return Response.json({ error: "invalid_grant" }, { status: 400 });
      }
      const accessToken = crypto.randomUUID();
      tokens.set(accessToken, grant.profile);
      return Response.json({
        access_token: accessToken,
        token_type: "bearer",
        expires_in: 3600,
      });
    }
    const profile = tokens.get(
      request.headers.get("authorization")?.replace("Bearer ", "") ?? "",
    );
    if (!profile) return new Response("unauthorized", { status: 401 });
    if (url.pathname === "/user") {
      return Response.json({
        id: Number(profile.id),
        login: "octo",
        name: profile.name,
        avatar_url: null,
      });
    }
    if (url.pathname === "/user/emails") {
      return Response.json([{
        email: profile.email,
        primary: true,
        verified: profile.verified,
      }]);
    }
    if (url.pathname === "/userinfo") {
      return Response.json({
        sub: profile.id,
        email: profile.email,
        email_verified: profile.verified,
        name: profile.name,
      });
    }
    return new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    endpoints: {
      github: {
        authorization: `${base}/authorize`,
        token: `${base}/token`,
        userInfo: `${base}/user`,
      },
      google: {
        authorization: `${base}/authorize`,
        token: `${base}/token`,
        userInfo: `${base}/userinfo`,
      },
    } satisfies Record<string, OAuthEndpoints>,
    /** What the provider will answer when the app redeems `code`. */
    grant(code: string, challenge: string, profile: FakeProfile) {
      grants.set(code, { challenge, profile });
    },
    close: () => server.shutdown(),
  };
}
