import * as v from "valibot";
import {
  DELIVERY_CHANNELS,
  DELIVERY_STATUSES,
} from "../../../db/schema/mod.ts";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";
import { NOTIFICATION_TYPE_NAMES, OPTIONAL_EMAIL_TYPES } from "./types.ts";

export const NotificationsQuery = v.object({
  ...pageQuery(),
  unread: v.optional(
    v.pipe(
      v.picklist(["true", "false"], "unread must be true or false"),
      v.transform((value) => value === "true"),
    ),
  ),
});

export const NotificationSchema = v.object({
  id: v.string(),
  type: v.string(),
  title: v.string(),
  message: v.string(),
  read: v.boolean(),
  readAt: v.nullable(v.string()),
  link: v.nullable(v.string()),
  relatedId: v.nullable(v.string()),
  createdAt: v.string(),
});

export const NotificationsResponse = v.object({
  success: v.literal(true),
  notifications: v.array(NotificationSchema),
  unreadCount: v.number(),
  pagination: PaginationSchema,
});

export const DeliveryLogQuery = v.object({
  ...pageQuery(),
  status: v.optional(
    v.picklist(
      DELIVERY_STATUSES,
      `status must be one of ${DELIVERY_STATUSES.join(", ")}`,
    ),
  ),
  channel: v.optional(
    v.picklist(DELIVERY_CHANNELS, "channel must be in_app or email"),
  ),
  type: v.optional(v.pipe(v.string(), v.maxLength(60))),
  userId: v.optional(v.pipe(v.string(), v.maxLength(40))),
  notificationId: v.optional(v.pipe(v.string(), v.maxLength(40))),
});

export const DeliveryLogResponse = v.object({
  success: v.literal(true),
  deliveries: v.array(v.object({
    id: v.string(),
    notificationId: v.nullable(v.string()),
    outboxId: v.nullable(v.string()),
    userId: v.nullable(v.string()),
    recipient: v.nullable(v.string()),
    type: v.string(),
    channel: v.string(),
    status: v.string(),
    attempt: v.number(),
    error: v.nullable(v.string()),
    createdAt: v.string(),
  })),
  pagination: PaginationSchema,
});

const emailToggles = Object.fromEntries(
  OPTIONAL_EMAIL_TYPES.map((type) => [
    type,
    v.optional(v.boolean("Must be true or false")),
  ]),
) as Record<
  (typeof OPTIONAL_EMAIL_TYPES)[number],
  v.OptionalSchema<v.BooleanSchema<string>, undefined>
>;

/** 001's preferences: the theme, the email master switch, and email per notification type. */
export const PreferencesBody = v.strictObject({
  emailNotifications: v.optional(v.boolean("Must be true or false")),
  theme: v.optional(
    v.picklist(["light", "dark", "system"], "Must be light, dark or system"),
  ),
  emails: v.optional(
    v.strictObject(
      emailToggles,
      `Unknown notification type; known: ${OPTIONAL_EMAIL_TYPES.join(", ")}`,
    ),
  ),
}, "Unknown field");

export const PreferencesResponse = v.object({
  success: v.literal(true),
  preferences: v.object({
    emailNotifications: v.boolean(),
    theme: v.string(),
    emails: v.record(v.string(), v.boolean()),
  }),
  notificationTypes: v.array(v.object({
    type: v.picklist(NOTIFICATION_TYPE_NAMES),
    description: v.string(),
    emailOptional: v.boolean(),
    email: v.boolean(),
  })),
});
