import { and, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client.ts";
import {
  type Media,
  media,
  type PracticeSubmission,
  practiceSubmissions,
  submissionComments,
  submissionShares,
  type SubmissionStatus,
  users,
} from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { conflict, forbidden, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { offsetOf, type PageRequest } from "../../lib/pagination.ts";
import { signPath } from "../../lib/signed_urls.ts";
import { storeUpload, type Upload } from "../media/service.ts";
import { deliver, storeNotification } from "../notifications/service.ts";
import { type Actor, getVisibleProgram } from "../programs/service.ts";
import { accessFor, loadSubmission, roleOf } from "./access.ts";
import { processSubmission } from "./processing.ts";

export type PracticeDeps = Pick<
  Deps,
  "db" | "storage" | "mail" | "logger" | "background" | "config"
>;

export interface SubmissionFields {
  title: string;
  description?: string | undefined;
  pieceName?: string | undefined;
  composer?: string | undefined;
  practiceGoals?: string | undefined;
  programId?: string | undefined;
  isPublic?: boolean | undefined;
}

/**
 * POST /api/videos: stores the recording (sniffed: real audio or video only) as private media, then
 * processes it in the background. The job also runs on the scheduler, so a restart loses nothing.
 */
export async function createSubmission(
  deps: PracticeDeps,
  owner: Actor,
  file: Upload,
  fields: SubmissionFields,
): Promise<PracticeSubmission> {
  const program = fields.programId
    ? await getVisibleProgram(deps, owner, fields.programId)
    : undefined;
  const stored = await storeUpload(deps, owner, file, {
    visibility: "private",
    recordingsOnly: true,
    title: fields.title,
  });
  const now = new Date();
  const [created] = await deps.db.insert(practiceSubmissions).values({
    id: newId(),
    ownerId: owner.id,
    programId: program?.id ?? null,
    mediaId: stored.id,
    title: fields.title,
    description: fields.description ?? null,
    pieceName: fields.pieceName ?? null,
    composer: fields.composer ?? null,
    practiceGoals: fields.practiceGoals ?? null,
    isPublic: fields.isPublic ?? false,
    status: "processing",
    createdAt: now,
    updatedAt: now,
  }).returning();
  deps.background.run(
    "practice processing",
    () => processSubmission(deps, created!.id),
  );
  return created!;
}

export interface SubmissionListQuery extends PageRequest {
  status?: SubmissionStatus | undefined;
}

async function page(
  db: DbOrTx,
  where: SQL | undefined,
  query: PageRequest,
): Promise<{ items: PracticeSubmission[]; total: number }> {
  const items = await db.select().from(practiceSubmissions).where(where)
    .orderBy(desc(practiceSubmissions.createdAt), desc(practiceSubmissions.id))
    .limit(query.limit).offset(offsetOf(query));
  const [count] = await db.select({ total: sql<number>`count(*)` }).from(
    practiceSubmissions,
  ).where(where);
  return { items, total: count?.total ?? 0 };
}

/** GET /api/videos: the caller's own recordings, newest first. */
export async function listOwnSubmissions(
  deps: Pick<Deps, "db">,
  owner: Actor,
  query: SubmissionListQuery,
) {
  return await page(
    deps.db,
    and(
      eq(practiceSubmissions.ownerId, owner.id),
      query.status ? eq(practiceSubmissions.status, query.status) : undefined,
    ),
    query,
  );
}

/** GET /api/videos/shared: recordings others shared with the caller. */
export async function listSharedWithMe(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  query: SubmissionListQuery,
) {
  const shared = deps.db.select({ id: submissionShares.submissionId }).from(
    submissionShares,
  ).where(eq(submissionShares.userId, viewer.id));
  return await page(
    deps.db,
    and(
      inArray(practiceSubmissions.id, shared),
      query.status ? eq(practiceSubmissions.status, query.status) : undefined,
    ),
    query,
  );
}

export async function getSubmission(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  id: string,
) {
  return await loadSubmission(deps.db, viewer, id);
}

export interface SubmissionChanges {
  title?: string | undefined;
  description?: string | null | undefined;
  pieceName?: string | null | undefined;
  composer?: string | null | undefined;
  practiceGoals?: string | null | undefined;
  programId?: string | null | undefined;
  isPublic?: boolean | undefined;
}

/** PUT /api/videos/:id: the owner edits the details (the recording itself never changes). */
export async function updateSubmission(
  deps: PracticeDeps,
  viewer: Actor,
  id: string,
  changes: SubmissionChanges,
): Promise<PracticeSubmission> {
  const { submission, access } = await loadSubmission(deps.db, viewer, id);
  if (!access.canEdit) throw notOwner();
  const programId = changes.programId === undefined
    ? undefined
    : changes.programId === null
    ? null
    : (await getVisibleProgram(deps, viewer, changes.programId)).id;
  const [updated] = await deps.db.update(practiceSubmissions).set({
    ...(changes.title !== undefined ? { title: changes.title } : {}),
    ...(changes.description !== undefined
      ? { description: changes.description }
      : {}),
    ...(changes.pieceName !== undefined
      ? { pieceName: changes.pieceName }
      : {}),
    ...(changes.composer !== undefined ? { composer: changes.composer } : {}),
    ...(changes.practiceGoals !== undefined
      ? { practiceGoals: changes.practiceGoals }
      : {}),
    ...(changes.isPublic !== undefined ? { isPublic: changes.isPublic } : {}),
    ...(programId !== undefined ? { programId } : {}),
    updatedAt: new Date(),
  }).where(eq(practiceSubmissions.id, submission.id)).returning();
  return updated!;
}

const notOwner = () =>
  forbidden("NOT_OWNER", "Only the person who uploaded it can do this");

/**
 * DELETE /api/videos/:id (owner or admin): comments, shares and scores go with it; the media record
 * is retired and its bytes stay until no other record uses them (content-addressed storage).
 */
export async function deleteSubmission(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  id: string,
): Promise<void> {
  const { submission, access } = await loadSubmission(deps.db, viewer, id);
  if (!access.canDelete) throw notOwner();
  await deps.db.transaction(async (tx) => {
    await tx.delete(practiceSubmissions).where(
      eq(practiceSubmissions.id, submission.id),
    );
    await tx.update(media).set({ deletedAt: new Date() }).where(
      eq(media.id, submission.mediaId),
    );
  });
}

/** POST /api/videos/:id/share {userId}: the owner shares with one person, who is told once. */
export async function shareSubmission(
  deps: PracticeDeps,
  viewer: Actor,
  id: string,
  userId: string,
): Promise<{ shared: boolean }> {
  const { submission, access } = await loadSubmission(deps.db, viewer, id);
  if (!access.canEdit) throw notOwner();
  if (userId === viewer.id) {
    throw conflict("SHARE_WITH_SELF", "This recording is already yours");
  }
  const outcome = await deps.db.transaction(async (tx) => {
    const [target] = await tx.select({ status: users.status }).from(users)
      .where(eq(users.id, userId));
    if (!target || target.status !== "active") throw notFound("User");
    const inserted = await tx.insert(submissionShares).values({
      submissionId: submission.id,
      userId,
      createdAt: new Date(),
    }).onConflictDoNothing().returning();
    if (inserted.length === 0) return { shared: false, stored: {} };
    const [owner] = await tx.select({ name: users.name }).from(users).where(
      eq(users.id, viewer.id),
    );
    const stored = await storeNotification(tx, deps, {
      userId,
      type: "submission_shared",
      title: "A recording was shared with you",
      message: `${
        owner?.name ?? "Someone"
      } shared "${submission.title}" with you.`,
      link: `/api/videos/${submission.id}`,
      relatedId: submission.id,
    });
    return { shared: true, stored };
  });
  deliver(deps, outcome.stored);
  return { shared: outcome.shared };
}

/** DELETE /api/videos/:id/share/:userId. */
export async function unshareSubmission(
  deps: Pick<Deps, "db">,
  viewer: Actor,
  id: string,
  userId: string,
): Promise<void> {
  const { submission, access } = await loadSubmission(deps.db, viewer, id);
  if (!access.canEdit) throw notOwner();
  const removed = await deps.db.delete(submissionShares).where(and(
    eq(submissionShares.submissionId, submission.id),
    eq(submissionShares.userId, userId),
  )).returning();
  if (removed.length === 0) throw notFound("Share");
}

export async function sharesOf(db: DbOrTx, submissionId: string) {
  return await db.select({
    id: users.id,
    name: users.name,
    avatar: users.avatarUrl,
    sharedAt: submissionShares.createdAt,
  }).from(submissionShares).innerJoin(
    users,
    eq(users.id, submissionShares.userId),
  ).where(eq(submissionShares.submissionId, submissionId)).orderBy(
    submissionShares.createdAt,
  );
}

/** Signed, expiring links to the recording and its thumbnail: never guessable, never permanent. */
export function playbackLinks(
  deps: Pick<Deps, "config">,
  item: Pick<Media, "id" | "variants">,
  now = Date.now(),
) {
  const base = deps.config.appUrl;
  const secret = deps.config.jwtSecret;
  const recording = signPath(secret, `/media/signed/${item.id}`, now);
  const thumbnail = item.variants.thumbnail
    ? signPath(secret, `/media/signed/${item.id}/thumbnail`, now)
    : undefined;
  return {
    url: `${base}${recording.path}`,
    thumbnailUrl: thumbnail ? `${base}${thumbnail.path}` : null,
    urlExpiresAt: recording.expiresAt.toISOString(),
  };
}

/** The API shape of a list of recordings, with their media and owners, in two queries. */
export async function toSubmissionResponses(
  deps: Pick<Deps, "db" | "config">,
  viewer: Actor,
  items: PracticeSubmission[],
) {
  if (items.length === 0) return [];
  const mediaRows = await deps.db.select().from(media).where(
    inArray(media.id, items.map((item) => item.mediaId)),
  );
  const ownerRows = await deps.db.select({
    id: users.id,
    name: users.name,
    avatar: users.avatarUrl,
  })
    .from(users).where(
      inArray(users.id, [...new Set(items.map((item) => item.ownerId))]),
    );
  const counts = await deps.db.select({
    id: submissionComments.submissionId,
    count: sql<number>`count(*)`,
  }).from(submissionComments).where(
    inArray(submissionComments.submissionId, items.map((item) => item.id)),
  ).groupBy(submissionComments.submissionId);
  const mediaById = new Map(mediaRows.map((row) => [row.id, row]));
  const ownerById = new Map(ownerRows.map((row) => [row.id, row]));
  const countById = new Map(counts.map((row) => [row.id, row.count]));
  const roles = await Promise.all(
    items.map((item) => roleOf(deps.db, viewer, item)),
  );
  return items.map((item, index) => {
    const file = mediaById.get(item.mediaId)!;
    const access = accessFor(roles[index] ?? "public", viewer);
    return {
      id: item.id,
      title: item.title,
      description: item.description,
      pieceName: item.pieceName,
      composer: item.composer,
      practiceGoals: item.practiceGoals,
      programId: item.programId,
      isPublic: item.isPublic,
      status: item.status,
      statusDetail: item.statusDetail,
      duration: item.durationSeconds,
      kind: file.kind,
      mime: file.mime,
      size: file.sizeBytes,
      ...playbackLinks(deps, file),
      owner: ownerById.get(item.ownerId) ?? null,
      commentCount: countById.get(item.id) ?? 0,
      access: {
        role: access.role,
        canComment: access.canComment,
        canEdit: access.canEdit,
        canDelete: access.canDelete,
        canScore: access.canScore,
      },
      createdAt: item.createdAt.toISOString(),
      updatedAt: item.updatedAt.toISOString(),
    };
  });
}
