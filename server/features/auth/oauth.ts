import { and, eq } from "drizzle-orm";
import {
  CodeChallengeMethod,
  generateCodeVerifier,
  generateState,
  OAuth2Client,
} from "arctic";
import {
  oauthAccounts,
  type OAuthProviderName,
  type User,
} from "../../../db/schema/mod.ts";
import type { Deps, OAuthEndpoints } from "../../deps.ts";
import { AppError, badRequest, notConfigured } from "../../lib/errors.ts";
import { banned, type IssuedTokens, startSession } from "./service.ts";
import type { ClientInfo } from "./sessions.ts";
import {
  findUserByEmail,
  getUser,
  insertUser,
  prepareUser,
} from "../users/service.ts";

interface ProviderProfile {
  providerUserId: string;
  email: string | null;
  emailVerified: boolean;
  name: string;
  avatarUrl: string | null;
}

interface ProviderSpec {
  envVars: [string, string];
  endpoints: OAuthEndpoints;
  scopes: string[];
  fetchProfile(
    endpoints: OAuthEndpoints,
    accessToken: string,
  ): Promise<ProviderProfile>;
}

async function getJson(url: string, accessToken: string): Promise<unknown> {
  const response = await fetch(url, {
    headers: {
      Authorization: `Bearer ${accessToken}`,
      Accept: "application/json",
      "User-Agent": "Lectern",
    },
  });
  if (!response.ok) {
    throw new Error(`profile request failed with ${response.status}`);
  }
  return await response.json();
}

const PROVIDERS: Record<OAuthProviderName, ProviderSpec> = {
  google: {
    envVars: ["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"],
    endpoints: {
      authorization: "https://accounts.google.com/o/oauth2/v2/auth",
      token: "https://oauth2.googleapis.com/token",
      userInfo: "https://openidconnect.googleapis.com/v1/userinfo",
    },
    scopes: ["openid", "email", "profile"],
    async fetchProfile(endpoints, accessToken) {
      const p = await getJson(endpoints.userInfo, accessToken) as Record<
        string,
        unknown
      >;
      return {
        providerUserId: String(p.sub),
        email: typeof p.email === "string" ? p.email : null,
        emailVerified: p.email_verified === true,
        name: typeof p.name === "string" && p.name ? p.name : "Google user",
        avatarUrl: typeof p.picture === "string" ? p.picture : null,
      };
    },
  },
  github: {
    envVars: ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"],
    endpoints: {
      authorization: "https://github.com/login/oauth/authorize",
      token: "https://github.com/login/oauth/access_token",
      userInfo: "https://api.github.com/user",
    },
    scopes: ["read:user", "user:email"],
    async fetchProfile(endpoints, accessToken) {
      const p = await getJson(endpoints.userInfo, accessToken) as Record<
        string,
        unknown
      >;
      const emails = await getJson(
        `${endpoints.userInfo}/emails`,
        accessToken,
      ) as {
        email: string;
        primary: boolean;
        verified: boolean;
      }[];
      const primary = emails.find((e) => e.primary && e.verified) ??
        emails.find((e) => e.verified);
      return {
        providerUserId: String(p.id),
        email: primary?.email ?? null,
        emailVerified: primary !== undefined,
        name: String(p.name || p.login || "GitHub user"),
        avatarUrl: typeof p.avatar_url === "string" ? p.avatar_url : null,
      };
    },
  },
};

function configured(deps: Deps, provider: OAuthProviderName) {
  const credentials = deps.config.oauth[provider];
  const spec = PROVIDERS[provider];
  if (!credentials) {
    throw notConfigured(
      `Sign-in with ${provider === "google" ? "Google" : "GitHub"}`,
      spec.envVars,
    );
  }
  const endpoints = deps.oauthEndpoints?.[provider] ?? spec.endpoints;
  const redirectUri =
    `${deps.config.appUrl}/api/auth/oauth/${provider}/callback`;
  return {
    spec,
    endpoints,
    client: new OAuth2Client(
      credentials.clientId,
      credentials.clientSecret,
      redirectUri,
    ),
  };
}

/** The provider's sign-in URL plus the state and PKCE verifier the callback must present again. */
export function beginOAuth(deps: Deps, provider: OAuthProviderName) {
  const { spec, endpoints, client } = configured(deps, provider);
  const state = generateState();
  const codeVerifier = generateCodeVerifier();
  const url = client.createAuthorizationURLWithPKCE(
    endpoints.authorization,
    state,
    CodeChallengeMethod.S256,
    codeVerifier,
    spec.scopes,
  );
  return { url: url.toString(), state, codeVerifier };
}

/** Exchanges the code, then signs in the linked account, links one by verified email, or creates one. */
export async function completeOAuth(
  deps: Deps,
  provider: OAuthProviderName,
  code: string,
  codeVerifier: string,
  client: ClientInfo,
): Promise<IssuedTokens> {
  const { spec, endpoints, client: oauth } = configured(deps, provider);
  let profile: ProviderProfile;
  try {
    const tokens = await oauth.validateAuthorizationCode(
      endpoints.token,
      code,
      codeVerifier,
    );
    profile = await spec.fetchProfile(endpoints, tokens.accessToken());
  } catch (error) {
    deps.logger.warn("oauth exchange failed", {
      provider,
      error: error instanceof Error ? error.message : "unknown",
    });
    throw badRequest(
      "OAUTH_FAILED",
      "The sign-in with the provider did not succeed; try again",
    );
  }
  const user = await findOrCreateOAuthUser(deps, provider, profile);
  if (user.status === "banned") throw banned();
  if (user.status !== "active") {
    throw new AppError(
      403,
      "ACCOUNT_UNAVAILABLE",
      "This account is not available",
    );
  }
  return await startSession(deps, user, client);
}

async function findOrCreateOAuthUser(
  deps: Deps,
  provider: OAuthProviderName,
  profile: ProviderProfile,
): Promise<User> {
  const [linked] = await deps.db.select().from(oauthAccounts)
    .where(
      and(
        eq(oauthAccounts.provider, provider),
        eq(oauthAccounts.providerUserId, profile.providerUserId),
      ),
    );
  if (linked) return await getUser(deps, linked.userId);
  if (!profile.email || !profile.emailVerified) {
    throw badRequest(
      "OAUTH_EMAIL_UNVERIFIED",
      "The provider did not share a verified email address for this account",
    );
  }
  const existing = await findUserByEmail(deps, profile.email);
  const row = existing ? undefined : await prepareUser(deps.db, {
    email: profile.email,
    name: profile.name.slice(0, 100),
    password: null,
    emailVerified: true,
    avatarUrl: profile.avatarUrl,
  });
  return await deps.db.transaction(async (tx) => {
    const user = existing ?? await insertUser(tx, row!);
    await tx.insert(oauthAccounts).values({
      provider,
      providerUserId: profile.providerUserId,
      userId: user.id,
      createdAt: new Date(),
    });
    return user;
  });
}
