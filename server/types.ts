import type { User } from "../db/schema/mod.ts";

export interface AuthContext {
  user: User;
  sessionId: string;
}

/** The typed context variables every route can read. */
export type AppEnv = {
  Variables: {
    requestId: string;
    auth: AuthContext;
  };
};
