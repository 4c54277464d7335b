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
  relationship_requested: {
    optional: true,
    describes: "Someone asked to be your teacher or student",
  },
  relationship_accepted: {
    optional: true,
    describes: "A teacher or student request was accepted",
  },
  submission_shared: {
    optional: true,
    describes: "Someone shared a practice recording with you",
  },
  submission_ready: {
    optional: true,
    describes: "Your practice recording finished processing",
  },
  submission_comment: {
    optional: true,
    describes: "A new comment on your practice recording",
  },
  comment_reply: { optional: true, describes: "A reply to your comment" },
  progress_record: {
    optional: true,
    describes: "A teacher scored your practice recording",
  },
  session_booked: {
    optional: true,
    describes: "A tutoring session was booked",
  },
  session_rescheduled: {
    optional: true,
    describes: "A tutoring session moved to another time",
  },
  session_cancelled: {
    optional: true,
    describes: "A tutoring session was cancelled",
  },
  session_reminder: {
    optional: true,
    describes: "A tutoring session starts soon",
  },
  session_notes: {
    optional: true,
    describes: "Your instructor wrote notes on a session",
  },
  new_message: { optional: true, describes: "A new direct message" },
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
