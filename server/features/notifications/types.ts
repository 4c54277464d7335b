/**
 * Every kind of notification the platform sends. `optional` ones can be turned off for email in a
 * user's preferences (in-app notifications always stay); the others concern the account itself.
 */
export const NOTIFICATION_TYPES = {
  enrollment: { optional: true, describes: "You enrolled in a program" },
  new_student: {
    optional: true,
    describes: "A learner enrolled in one of your programs",
  },
  payment_succeeded: { optional: true, describes: "A payment went through" },
  payment_failed: { optional: true, describes: "A payment failed" },
  refund: { optional: true, describes: "A payment was refunded" },
  certificate_issued: { optional: true, describes: "You earned a certificate" },
  certificate_revoked: {
    optional: true,
    describes: "One of your certificates was revoked",
  },
  certificate_reissued: {
    optional: true,
    describes: "One of your certificates was reissued",
  },
  application_submitted: {
    optional: true,
    describes: "Someone applied to teach (administrators)",
  },
  application_approved: {
    optional: true,
    describes: "Your instructor application was approved",
  },
  application_rejected: {
    optional: true,
    describes: "Your instructor application was declined",
  },
  new_review: {
    optional: true,
    describes: "A learner reviewed one of your programs",
  },
  account_banned: { optional: false, describes: "Your account was banned" },
  account_unbanned: {
    optional: false,
    describes: "Your account was restored",
  },
} as const;

export type NotificationType = keyof typeof NOTIFICATION_TYPES;
export const NOTIFICATION_TYPE_NAMES = Object.keys(
  NOTIFICATION_TYPES,
) as NotificationType[];
export const OPTIONAL_EMAIL_TYPES = NOTIFICATION_TYPE_NAMES.filter((type) =>
  NOTIFICATION_TYPES[type].optional
);
