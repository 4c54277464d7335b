import { eq } from "drizzle-orm";
import { type Preferences, users } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { getUser } from "../users/service.ts";
import { wantsEmail } from "./service.ts";
import {
  NOTIFICATION_TYPE_NAMES,
  NOTIFICATION_TYPES,
  OPTIONAL_EMAIL_TYPES,
} from "./types.ts";

export interface PreferenceChanges {
  emailNotifications?: boolean | undefined;
  theme?: Preferences["theme"] | undefined;
  emails?: Partial<Record<string, boolean | undefined>> | undefined;
}

/**
 * The stored choices with every optional type filled in (true unless turned off), and what each
 * type will actually do by email given the master switch.
 */
export function describePreferences(preferences: Preferences) {
  return {
    preferences: {
      emailNotifications: preferences.emailNotifications !== false,
      theme: preferences.theme,
      emails: Object.fromEntries(
        OPTIONAL_EMAIL_TYPES.map((type) => [
          type,
          preferences.emails?.[type] !== false,
        ]),
      ),
    },
    notificationTypes: NOTIFICATION_TYPE_NAMES.map((type) => ({
      type,
      description: NOTIFICATION_TYPES[type].describes,
      emailOptional: NOTIFICATION_TYPES[type].optional,
      email: wantsEmail(preferences, type),
    })),
  };
}

/** PUT /api/user/preferences: fields not sent keep their value, per-type switches included. */
export async function updatePreferences(
  deps: Pick<Deps, "db">,
  userId: string,
  changes: PreferenceChanges,
): Promise<Preferences> {
  const user = await getUser(deps, userId);
  const emails: Record<string, boolean> = { ...user.preferences.emails };
  for (const [type, on] of Object.entries(changes.emails ?? {})) {
    if (on !== undefined) emails[type] = on;
  }
  const preferences: Preferences = {
    ...user.preferences,
    ...(changes.emailNotifications !== undefined
      ? { emailNotifications: changes.emailNotifications }
      : {}),
    ...(changes.theme !== undefined ? { theme: changes.theme } : {}),
    emails,
  };
  await deps.db.update(users).set({ preferences, updatedAt: new Date() })
    .where(eq(users.id, userId));
  return preferences;
}
