import {
  index,
  integer,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { sql } from "drizzle-orm";
import { programs } from "./catalog.ts";
import { users } from "./users.ts";

const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

export const CERTIFICATE_STATUSES = ["valid", "revoked", "superseded"] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];
/** Why it was issued: a passed quiz, the program's completion rule, or an administrator. */
export const CERTIFICATE_BASES = ["quiz", "completion", "manual"] as const;

/**
 * A certificate as issued: names and titles are copied, so later renames do not change a document
 * someone has shown an employer. At most one valid certificate per learner and program.
 */
export const certificates = sqliteTable("certificates", {
  id: text("id").primaryKey(),
  code: text("code").notNull().unique(),
  userId: text("user_id").notNull().references(() => users.id),
  programId: text("program_id").notNull().references(() => programs.id),
  recipientName: text("recipient_name").notNull(),
  programTitle: text("program_title").notNull(),
  schoolName: text("school_name").notNull(),
  issuedAt: timestamp("issued_at").notNull(),
  /** Null: does not expire. */
  expiresAt: timestamp("expires_at"),
  /** Percentage, when a quiz earned it. */
  score: real("score"),
  basis: text("basis", { enum: CERTIFICATE_BASES }).notNull(),
  quizAttemptId: text("quiz_attempt_id"),
  /** Why an administrator issued or reissued it. */
  reason: text("reason"),
  status: text("status", { enum: CERTIFICATE_STATUSES }).notNull().default(
    "valid",
  ),
  revokedAt: timestamp("revoked_at"),
  revokedReason: text("revoked_reason"),
  supersededById: text("superseded_by_id"),
  replacesId: text("replaces_id"),
  /** Storage key of the PDF, rendered once at issue; null until it is. */
  pdfKey: text("pdf_key"),
  pdfSha256: text("pdf_sha256"),
  /** The signed Open Badges 3.0 credential (VC-JWT). */
  credential: text("credential").notNull(),
  issuedBy: text("issued_by").references(() => users.id),
  createdAt: timestamp("created_at").notNull(),
}, (t) => [
  uniqueIndex("certificates_one_valid_idx").on(t.userId, t.programId).where(
    sql`status = 'valid'`,
  ),
  index("certificates_user_idx").on(t.userId, t.issuedAt),
  index("certificates_program_idx").on(t.programId),
]);

export type Certificate = typeof certificates.$inferSelect;
