import { sql } from "drizzle-orm";

/**
 * Whether enrollment `e` counts as a learner of the program: not dropped, and either holding an
 * active grant or having never had one (enrolled under a plan). A learner whose every grant was
 * refunded or revoked is not counted. Used by programs.enrolled_count and instructor statistics.
 */
export const countsAsLearner = (alias: string) =>
  sql.raw(`${alias}.status != 'dropped' AND (
    EXISTS (SELECT 1 FROM access_grants g WHERE g.enrollment_id = ${alias}.id AND g.status = 'active')
    OR NOT EXISTS (SELECT 1 FROM access_grants g WHERE g.enrollment_id = ${alias}.id)
  )`);
