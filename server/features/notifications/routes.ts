import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as v from "valibot";
import type { Deps } from "../../deps.ts";
import { bearerAuth, responses } from "../../lib/openapi.ts";
import { offsetOf, paginate } from "../../lib/pagination.ts";
import { validate } from "../../lib/validation.ts";
import { requireAuth } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { getUser } from "../users/service.ts";
import { describePreferences, updatePreferences } from "./preferences.ts";
import {
  DeliveryLogQuery,
  DeliveryLogResponse,
  NotificationSchema,
  NotificationsQuery,
  NotificationsResponse,
  PreferencesBody,
  PreferencesResponse,
} from "./schemas.ts";
import {
  deleteNotification,
  deliveryLog,
  listNotifications,
  markAllRead,
  markRead,
  toNotificationResponse,
  unreadCountOf,
} from "./service.ts";

const tags = ["Notifications"];
const Id = v.object({ id: v.pipe(v.string(), v.maxLength(40)) });

/** /api/notifications: the signed-in user's own, and the delivery log for administrators. */
export function notificationRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use("*", requireAuth(deps));

  app.get(
    "/",
    describeRoute({
      tags,
      summary: "Your notifications, newest first, with the unread count",
      security: bearerAuth,
      responses: responses({
        description: "Notifications",
        schema: NotificationsResponse,
      }, [401, 422]),
    }),
    validate("query", NotificationsQuery),
    async (c) => {
      const query = c.req.valid("query");
      const result = await listNotifications(deps, c.get("auth").user.id, {
        unreadOnly: query.unread === true,
        limit: query.limit,
        offset: offsetOf(query),
      });
      return c.json({
        success: true,
        notifications: result.notifications.map(toNotificationResponse),
        unreadCount: result.unreadCount,
        pagination: paginate(c, query, result.total),
      });
    },
  );

  app.get(
    "/log",
    describeRoute({
      tags,
      summary:
        "The delivery log (admin): every in-app delivery and email attempt, newest first",
      security: bearerAuth,
      responses: responses({
        description: "Deliveries",
        schema: DeliveryLogResponse,
      }, [401, 403, 422]),
    }),
    requireRole("admin"),
    validate("query", DeliveryLogQuery),
    async (c) => {
      const query = c.req.valid("query");
      const { entries, total } = await deliveryLog(deps, {
        ...query,
        offset: offsetOf(query),
      });
      return c.json({
        success: true,
        deliveries: entries,
        pagination: paginate(c, query, total),
      });
    },
  );

  app.put(
    "/read-all",
    describeRoute({
      tags,
      summary: "Mark every notification read",
      security: bearerAuth,
      responses: responses({
        description: "How many changed",
        schema: v.object({
          success: v.literal(true),
          updated: v.number(),
          unreadCount: v.number(),
        }),
      }, [401]),
    }),
    async (c) => {
      const updated = await markAllRead(deps, c.get("auth").user.id);
      return c.json({ success: true, updated, unreadCount: 0 });
    },
  );

  app.put(
    "/:id/read",
    describeRoute({
      tags,
      summary: "Mark one notification read (your own; others are 404)",
      security: bearerAuth,
      responses: responses({
        description: "The notification",
        schema: v.object({
          success: v.literal(true),
          notification: NotificationSchema,
          unreadCount: v.number(),
        }),
      }, [401, 404]),
    }),
    validate("param", Id),
    async (c) => {
      const userId = c.get("auth").user.id;
      const notification = await markRead(
        deps,
        userId,
        c.req.valid("param").id,
      );
      return c.json({
        success: true,
        notification: toNotificationResponse(notification),
        unreadCount: await unreadCountOf(deps, userId),
      });
    },
  );

  app.delete(
    "/:id",
    describeRoute({
      tags,
      summary: "Delete one of your notifications",
      security: bearerAuth,
      responses: responses({
        description: "Deleted",
        schema: v.object({ success: v.literal(true), message: v.string() }),
      }, [401, 404]),
    }),
    validate("param", Id),
    async (c) => {
      await deleteNotification(
        deps,
        c.get("auth").user.id,
        c.req.valid("param").id,
      );
      return c.json({ success: true, message: "Notification deleted" });
    },
  );

  return app;
}

/** /api/user/preferences (001): what to be told by email, and the theme. */
export function preferenceRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const meta = {
    tags: ["Users"],
    security: bearerAuth,
  };

  app.get(
    "/preferences",
    describeRoute({
      ...meta,
      summary: "Your preferences, with what each notification type will do",
      responses: responses({
        description: "Preferences",
        schema: PreferencesResponse,
      }, [401]),
    }),
    requireAuth(deps),
    async (c) => {
      const user = await getUser(deps, c.get("auth").user.id);
      return c.json({
        success: true,
        ...describePreferences(user.preferences),
      });
    },
  );

  app.put(
    "/preferences",
    describeRoute({
      ...meta,
      summary:
        "Change preferences: the email master switch, email per notification type, the theme. In-app notifications always stay.",
      responses: responses({
        description: "Preferences",
        schema: PreferencesResponse,
      }, [400, 401, 415, 422]),
    }),
    requireAuth(deps),
    validate("json", PreferencesBody),
    async (c) => {
      const preferences = await updatePreferences(
        deps,
        c.get("auth").user.id,
        c.req.valid("json"),
      );
      return c.json({ success: true, ...describePreferences(preferences) });
    },
  );

  return app;
}
