import {
  and,
  asc,
  count,
  desc,
  eq,
  gte,
  isNotNull,
  isNull,
  like,
  lte,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import type { Db, DbOrTx } from "../../../db/client.ts";
import {
  categories,
  instructorProfiles,
  media,
  type Program,
  programs,
  type User,
  users,
} from "../../../db/schema/mod.ts";
import type { Config } from "../../env.ts";
import {
  AppError,
  forbidden,
  notFound,
  validationFailed,
} from "../../lib/errors.ts";
import { isId, newId } from "../../lib/ids.ts";
import { toMajor, toMinor } from "../../lib/money.ts";
import { offsetOf } from "../../lib/pagination.ts";
import { sanitizeRichHtml } from "../../lib/rich_text.ts";
import { stripControlChars } from "../../lib/plain_text.ts";
import { slugify } from "../../lib/slug.ts";
import { isOwnerOrAdmin } from "../access/service.ts";
import { findCategory } from "../categories/service.ts";
import { mediaUrl } from "../media/urls.ts";
import { ftsQuery } from "../search/fts_query.ts";
import { audit, type AuditOrigin, changedFields } from "../audit/service.ts";
import type {
  CreateProgramInput,
  ListProgramsFilter,
  UpdateProgramInput,
} from "./schemas.ts";

/** Whoever acts; routes and the CLI add where the action came from, for the audit log. */
export type Actor = Pick<User, "id" | "role"> & { origin?: AuditOrigin };
interface Deps {
  db: Db;
  config: Pick<Config, "appUrl">;
}

const canAuthor = (actor: Actor) =>
  actor.role === "instructor" || actor.role === "admin";

export function assertCanEdit(actor: Actor, program: Program): void {
  if (!isOwnerOrAdmin(actor, program)) {
    throw forbidden(
      "FORBIDDEN",
      "Only the program's instructor or an admin can change it",
    );
  }
}

/** A program by id or slug, deleted ones included (callers decide what a viewer may see). */
export async function findProgram(
  deps: { db: DbOrTx },
  idOrSlug: string,
): Promise<Program | undefined> {
  const [found] = await deps.db.select().from(programs).where(
    isId(idOrSlug) ? eq(programs.id, idOrSlug) : eq(programs.slug, idOrSlug),
  ).limit(1);
  return found;
}

/** Published and not deleted for everyone; drafts for their owner; everything for admins. */
export function isVisibleTo(viewer: Actor | undefined, program: Program) {
  if (viewer?.role === "admin") return true;
  if (program.deletedAt) return false;
  return program.status === "published" || isOwnerOrAdmin(viewer, program);
}

export async function getVisibleProgram(
  deps: { db: DbOrTx },
  viewer: Actor | undefined,
  idOrSlug: string,
): Promise<Program> {
  const program = await findProgram(deps, idOrSlug);
  if (!program || !isVisibleTo(viewer, program)) throw notFound("Program");
  return program;
}

/** The program an actor is about to change: 404 if gone, 403 if not theirs. */
export async function getEditableProgram(
  deps: { db: DbOrTx },
  actor: Actor,
  idOrSlug: string,
): Promise<Program> {
  const program = await findProgram(deps, idOrSlug);
  if (!program || program.deletedAt) throw notFound("Program");
  if (!isVisibleTo(actor, program)) throw notFound("Program");
  assertCanEdit(actor, program);
  return program;
}

async function uniqueSlug(db: DbOrTx, title: string, exceptId?: string) {
  const base = slugify(title);
  const taken = new Set(
    (await db.select({ slug: programs.slug, id: programs.id }).from(programs)
      .where(or(eq(programs.slug, base), like(programs.slug, `${base}-%`))))
      .filter((row) => row.id !== exceptId).map((row) => row.slug),
  );
  if (!taken.has(base)) return base;
  for (let n = 2;; n++) {
    if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
  }
}

async function resolveCategoryId(db: DbOrTx, ref: string) {
  const category = await findCategory({ db }, ref);
  if (!category) {
    throw validationFailed({
      category: "Unknown category: GET /api/categories lists them",
    });
  }
  return category.id;
}

async function assertUsableThumbnail(
  db: DbOrTx,
  actor: Actor,
  mediaId: string,
) {
  const [found] = await db.select().from(media).where(
    and(eq(media.id, mediaId), isNull(media.deletedAt)),
  );
  if (
    !found || found.kind !== "image" ||
    (actor.role !== "admin" && found.ownerId !== actor.id)
  ) {
    throw validationFailed({
      thumbnailMediaId: "Must be an image you uploaded",
    });
  }
}

/**
 * The checks a create or update makes before writing, callable on their own so a route can run them
 * before it stores an uploaded thumbnail for a request that would fail anyway.
 */
export async function precheckProgramInput(
  deps: { db: DbOrTx },
  actor: Actor,
  input: { category?: string | undefined; featured?: boolean | undefined },
): Promise<void> {
  if (!canAuthor(actor)) {
    throw forbidden(
      "FORBIDDEN",
      "Only instructors and admins can create programs",
    );
  }
  assertMayFeature(actor, input.featured);
  if (input.category !== undefined) {
    await resolveCategoryId(deps.db, input.category);
  }
}

function assertMayFeature(actor: Actor, featured: boolean | undefined) {
  if (featured !== undefined && actor.role !== "admin") {
    throw forbidden("FORBIDDEN", "Only admins can feature programs");
  }
}

/** The columns that come straight from input, converted to how they are stored. */
function storedFields(input: UpdateProgramInput): Partial<Program> {
  const fields: Partial<Program> = {};
  if (input.description !== undefined) {
    fields.description = stripControlChars(input.description);
  }
  if (input.overview !== undefined) {
    const clean = sanitizeRichHtml(stripControlChars(input.overview));
    fields.overviewHtml = clean.html;
    fields.overviewText = clean.text;
  }
  if (input.thumbnailMediaId !== undefined) {
    fields.thumbnailMediaId = input.thumbnailMediaId;
  }
  if (input.pricing) {
    fields.priceChatbot = toMinor(input.pricing.chatbot);
    fields.priceDocumentation = toMinor(input.pricing.documentation);
    fields.priceExamSimulator = toMinor(input.pricing.examSimulator);
    fields.priceBundle = toMinor(input.pricing.bundle);
  }
  for (
    const key of [
      "currency",
      "freeQuestionsCount",
      "prerequisites",
      "features",
      "level",
      "duration",
      "language",
      "featured",
      "certificateRule",
      "certificateValidityDays",
    ] as const
  ) {
    if (input[key] !== undefined) {
      (fields as Record<string, unknown>)[key] = input[key];
    }
  }
  return fields;
}

export async function createProgram(
  deps: { db: Db },
  actor: Actor,
  input: CreateProgramInput,
): Promise<Program> {
  if (!canAuthor(actor)) {
    throw forbidden(
      "FORBIDDEN",
      "Only instructors and admins can create programs",
    );
  }
  assertMayFeature(actor, input.featured);
  return await deps.db.transaction(async (tx) => {
    const categoryId = await resolveCategoryId(tx, input.category);
    if (input.thumbnailMediaId) {
      await assertUsableThumbnail(tx, actor, input.thumbnailMediaId);
    }
    const now = new Date();
    const status = input.status ?? "draft";
    const [created] = await tx.insert(programs).values({
      ...storedFields(input),
      id: newId(),
      instructorId: actor.id,
      title: stripControlChars(input.title),
      slug: await uniqueSlug(tx, input.title),
      categoryId,
      status,
      publishedAt: status === "published" ? now : null,
      createdAt: now,
      updatedAt: now,
    }).returning();
    return created!;
  });
}

export async function updateProgram(
  deps: { db: Db },
  actor: Actor,
  idOrSlug: string,
  input: UpdateProgramInput,
): Promise<Program> {
  assertMayFeature(actor, input.featured);
  return await deps.db.transaction(async (tx) => {
    const program = await getEditableProgram({ db: tx }, actor, idOrSlug);
    const fields = storedFields(input);
    if (input.category !== undefined) {
      fields.categoryId = await resolveCategoryId(tx, input.category);
    }
    if (input.thumbnailMediaId) {
      await assertUsableThumbnail(tx, actor, input.thumbnailMediaId);
    }
    if (input.title !== undefined) {
      fields.title = stripControlChars(input.title);
      // Links to a published program must keep working, so its slug never changes again.
      if (!program.publishedAt) {
        fields.slug = await uniqueSlug(tx, input.title, program.id);
      }
    }
    if (input.status !== undefined) {
      fields.status = input.status;
      if (input.status === "published" && !program.publishedAt) {
        fields.publishedAt = new Date();
      }
    }
    const [updated] = await tx.update(programs).set({
      ...fields,
      updatedAt: new Date(),
    }).where(eq(programs.id, program.id)).returning();
    if (actor.role === "admin") {
      await auditProgramChange(tx, actor, program, updated!);
    }
    return updated!;
  });
}

/** Administrators' edits go to the audit log; featuring gets its own action name. */
async function auditProgramChange(
  tx: DbOrTx,
  actor: Actor,
  before: Program,
  after: Program,
) {
  const fields = (Object.keys(after) as (keyof Program & string)[]).filter((
    key,
  ) => key !== "updatedAt");
  const change = changedFields(before, after, fields);
  const changed = Object.keys(change.after);
  if (changed.length === 0) return;
  const action = changed.length === 1 && changed[0] === "featured"
    ? after.featured ? "program.feature" : "program.unfeature"
    : after.deletedAt && !before.deletedAt
    ? "program.delete"
    : "program.update";
  await audit(tx, actor, {
    action,
    targetType: "program",
    targetId: after.id,
    ...change,
  });
}

/** Soft delete: enrollments, certificates, reviews and history stay; the program leaves the catalog. */
export async function deleteProgram(
  deps: { db: Db },
  actor: Actor,
  idOrSlug: string,
): Promise<Program> {
  return await deps.db.transaction(async (tx) => {
    const program = await getEditableProgram({ db: tx }, actor, idOrSlug);
    const [deleted] = await tx.update(programs).set({
      deletedAt: new Date(),
      featured: false,
      updatedAt: new Date(),
    }).where(eq(programs.id, program.id)).returning();
    if (actor.role === "admin") {
      await auditProgramChange(tx, actor, program, deleted!);
    }
    return deleted!;
  });
}

/** Publish, unpublish, feature and unfeature: admin actions shared by the API and the CLI. */
export async function setProgramFlags(
  deps: { db: Db },
  actor: Actor,
  idOrSlug: string,
  flags: { status?: "draft" | "published"; featured?: boolean },
): Promise<Program> {
  return await updateProgram(deps, actor, idOrSlug, flags);
}

// ---- listing ---------------------------------------------------------------------------------

export const summaryColumns = {
  program: programs,
  instructorName: users.name,
  instructorAvatar: users.avatarUrl,
  expertise: instructorProfiles.expertise,
  category: categories.name,
};
export type SummaryRow = {
  program: Program;
  instructorName: string;
  instructorAvatar: string | null;
  expertise: string[] | null;
  category: string;
};

/** The rows of a program list, joined with what the 002 summary shows. */
export function selectSummaries(db: DbOrTx) {
  return db.select(summaryColumns).from(programs)
    .innerJoin(users, eq(users.id, programs.instructorId))
    .innerJoin(categories, eq(categories.id, programs.categoryId))
    .leftJoin(
      instructorProfiles,
      eq(instructorProfiles.userId, programs.instructorId),
    );
}

/** Title counts most, then description, overview and lesson text. */
export const BM25 = sql.raw("bm25(program_search, 10.0, 4.0, 2.0, 1.0)");

const averageRating =
  sql`(CASE WHEN ${programs.reviewCount} = 0 THEN 0 ELSE CAST(${programs.ratingSum} AS REAL) / ${programs.reviewCount} END)`;

function visibilityCondition(
  viewer: Actor | undefined,
  status: ListProgramsFilter["status"],
): SQL | undefined {
  const live = isNull(programs.deletedAt);
  const published = and(live, eq(programs.status, "published"));
  if (viewer?.role === "admin") {
    if (status === "deleted") return isNotNull(programs.deletedAt);
    return status ? and(live, eq(programs.status, status)) : live;
  }
  const own = viewer?.role === "instructor"
    ? and(live, eq(programs.instructorId, viewer.id))
    : undefined;
  if (status === "deleted") return sql`0`;
  if (status === "draft") {
    return own ? and(own, eq(programs.status, "draft")) : sql`0`;
  }
  if (status === "published") return published;
  return own ? or(published, own) : published;
}

export async function listPrograms(
  deps: { db: DbOrTx },
  viewer: Actor | undefined,
  filter: ListProgramsFilter,
): Promise<{ rows: SummaryRow[]; total: number }> {
  // A blank search box means no search, not "nothing matches".
  const match = filter.search ? ftsQuery(filter.search) : undefined;
  if (match === null) return { rows: [], total: 0 };
  const category = filter.category
    ? await findCategory(deps, filter.category)
    : undefined;
  if (filter.category && !category) return { rows: [], total: 0 };
  const conditions: (SQL | undefined)[] = [
    visibilityCondition(viewer, filter.status),
    category ? eq(programs.categoryId, category.id) : undefined,
    filter.priceMin !== undefined
      ? gte(programs.priceBundle, toMinor(filter.priceMin))
      : undefined,
    filter.priceMax !== undefined
      ? lte(programs.priceBundle, toMinor(filter.priceMax))
      : undefined,
    filter.level
      ? sql`${programs.level} = ${filter.level} COLLATE NOCASE`
      : undefined,
    filter.instructorId
      ? eq(programs.instructorId, filter.instructorId)
      : undefined,
    filter.featured !== undefined
      ? eq(programs.featured, filter.featured)
      : undefined,
  ];
  const where = and(...conditions);
  const sort = filter.sort ?? (match ? "relevance" : "popular");
  const order: SQL[] = {
    popular: [desc(programs.enrolledCount), desc(averageRating)],
    newest: [desc(programs.createdAt)],
    "price-low": [asc(programs.priceBundle)],
    "price-high": [desc(programs.priceBundle)],
    rating: [desc(averageRating), desc(programs.reviewCount)],
    relevance: match ? [sql`hit.rank`] : [desc(programs.createdAt)],
  }[sort];
  let rowsQuery = selectSummaries(deps.db).$dynamic();
  // The count filters with `rowid IN (…)`: one MATCH scan, where a join can probe it per program.
  const countWhere = match
    ? and(
      where,
      sql`${programs}.rowid IN (SELECT rowid FROM program_search WHERE program_search MATCH ${match})`,
    )
    : where;
  if (match) {
    // Joined once, not probed per row: a correlated MATCH per candidate row is quadratic.
    const hits =
      sql`(SELECT rowid AS program_rowid, ${BM25} AS rank FROM program_search WHERE program_search MATCH ${match}) AS hit`;
    const on = sql`hit.program_rowid = ${programs}.rowid`;
    rowsQuery = rowsQuery.innerJoin(hits, on);
  }
  const [rows, [totals]] = await Promise.all([
    rowsQuery.where(where)
      .orderBy(...order, desc(programs.createdAt), desc(programs.id))
      .limit(filter.limit).offset(offsetOf(filter)),
    deps.db.select({ n: count() }).from(programs).where(countWhere),
  ]);
  return { rows, total: totals?.n ?? 0 };
}

// ---- response shapes ---------------------------------------------------------------------------

export const ratingOf = (program: Pick<Program, "ratingSum" | "reviewCount">) =>
  program.reviewCount === 0
    ? 0
    : Math.round((program.ratingSum / program.reviewCount) * 10) / 10;

export const pricingOf = (program: Program) => ({
  chatbot: toMajor(program.priceChatbot),
  documentation: toMajor(program.priceDocumentation),
  examSimulator: toMajor(program.priceExamSimulator),
  bundle: toMajor(program.priceBundle),
});

/** 002's program list item. */
export function toProgramSummary(appUrl: string, row: SummaryRow) {
  const { program } = row;
  return {
    id: program.id,
    title: program.title,
    slug: program.slug,
    description: program.description,
    category: row.category,
    thumbnail: program.thumbnailMediaId
      ? mediaUrl(appUrl, program.thumbnailMediaId, "display")
      : null,
    instructor: {
      id: program.instructorId,
      name: row.instructorName,
      avatar: row.instructorAvatar,
      expertise: row.expertise ?? [],
    },
    pricing: pricingOf(program),
    currency: program.currency,
    freeQuestionsCount: program.freeQuestionsCount,
    rating: ratingOf(program),
    totalReviews: program.reviewCount,
    enrolledCount: program.enrolledCount,
    level: program.level,
    status: program.status,
    featured: program.featured,
    createdAt: program.createdAt.toISOString(),
    updatedAt: program.updatedAt.toISOString(),
  };
}

export async function getSummaryRow(
  deps: { db: DbOrTx },
  programId: string,
): Promise<SummaryRow> {
  const [row] = await selectSummaries(deps.db).where(
    eq(programs.id, programId),
  );
  if (!row) throw new AppError(404, "NOT_FOUND", "Program not found");
  return row;
}
