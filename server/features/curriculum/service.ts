import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../../db/client.ts";
import {
  type Lesson,
  lessons,
  media,
  type Module,
  modules,
  type Program,
} from "../../../db/schema/mod.ts";
import { notFound, validationFailed } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { stripControlChars } from "../../lib/plain_text.ts";
import { renderMarkdown } from "../../lib/rich_text.ts";
import { canUseFeature } from "../access/service.ts";
import {
  type Actor,
  getEditableProgram,
  getVisibleProgram,
} from "../programs/service.ts";
import { paymentRequiredFor } from "../access/errors.ts";

interface DbDeps {
  db: Db;
}

export interface ModuleInput {
  title: string;
  description?: string | undefined;
}
export interface LessonInput {
  title?: string | undefined;
  content?: string | undefined;
  estimatedMinutes?: number | undefined;
  mediaId?: string | null | undefined;
}

/** "2 hours", "1 hour 30 min", "45 min": how 002 writes durations. */
export function formatMinutes(total: number): string {
  if (total < 60) return `${total} min`;
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  const h = `${hours} hour${hours === 1 ? "" : "s"}`;
  return minutes ? `${h} ${minutes} min` : h;
}

/** The public outline: module titles, lesson titles, counts and durations, never content. */
export async function curriculumSummary(
  deps: { db: DbOrTx },
  programId: string,
) {
  const [moduleRows, lessonRows] = await Promise.all([
    deps.db.select().from(modules).where(eq(modules.programId, programId))
      .orderBy(asc(modules.position)),
    deps.db.select({
      id: lessons.id,
      moduleId: lessons.moduleId,
      title: lessons.title,
      estimatedMinutes: lessons.estimatedMinutes,
      mediaId: lessons.mediaId,
    }).from(lessons).where(eq(lessons.programId, programId))
      .orderBy(asc(lessons.position)),
  ]);
  return moduleRows.map((module) => {
    const own = lessonRows.filter((lesson) => lesson.moduleId === module.id);
    const minutes = own.reduce(
      (sum, lesson) => sum + lesson.estimatedMinutes,
      0,
    );
    return {
      id: module.id,
      title: module.title,
      description: module.description,
      lessons: own.length,
      duration: formatMinutes(minutes),
      durationMinutes: minutes,
      lessonList: own.map((lesson) => ({
        id: lesson.id,
        title: lesson.title,
        estimatedMinutes: lesson.estimatedMinutes,
        hasMedia: lesson.mediaId !== null,
      })),
    };
  });
}

export async function getPublicCurriculum(
  deps: DbDeps,
  viewer: Actor | undefined,
  programRef: string,
) {
  const program = await getVisibleProgram(deps, viewer, programRef);
  return { program, modules: await curriculumSummary(deps, program.id) };
}

async function getModule(db: DbOrTx, program: Program, moduleId: string) {
  const [found] = await db.select().from(modules).where(
    and(eq(modules.id, moduleId), eq(modules.programId, program.id)),
  );
  if (!found) throw notFound("Module");
  return found;
}

async function getLessonOf(db: DbOrTx, program: Program, lessonId: string) {
  const [found] = await db.select().from(lessons).where(
    and(eq(lessons.id, lessonId), eq(lessons.programId, program.id)),
  );
  if (!found) throw notFound("Lesson");
  return found;
}

async function assertAttachable(
  db: DbOrTx,
  program: Program,
  mediaId: string,
) {
  const [found] = await db.select({ id: media.id }).from(media).where(and(
    eq(media.id, mediaId),
    eq(media.programId, program.id),
    isNull(media.deletedAt),
  ));
  if (!found) {
    throw validationFailed({
      mediaId: "Must be media uploaded to this program",
    });
  }
}

const nextPosition = async (
  db: DbOrTx,
  table: typeof modules | typeof lessons,
  where: ReturnType<typeof eq>,
) => {
  const [row] = await db.select({
    last: sql<number>`coalesce(max(${table.position}), 0)`,
  }).from(table).where(where);
  return (row?.last ?? 0) + 1;
};

export async function addModule(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  input: ModuleInput,
): Promise<Module> {
  return await deps.db.transaction(async (tx) => {
    const program = await getEditableProgram({ db: tx }, actor, programRef);
    const now = new Date();
    const [created] = await tx.insert(modules).values({
      id: newId(),
      programId: program.id,
      title: stripControlChars(input.title),
      description: input.description ?? "",
      position: await nextPosition(
        tx,
        modules,
        eq(modules.programId, program.id),
      ),
      createdAt: now,
      updatedAt: now,
    }).returning();
    return created!;
  });
}

export async function updateModule(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  moduleId: string,
  input: Partial<ModuleInput>,
): Promise<Module> {
  const program = await getEditableProgram(deps, actor, programRef);
  const module = await getModule(deps.db, program, moduleId);
  const [updated] = await deps.db.update(modules).set({
    ...(input.title !== undefined
      ? { title: stripControlChars(input.title) }
      : {}),
    ...(input.description !== undefined
      ? { description: input.description }
      : {}),
    updatedAt: new Date(),
  }).where(eq(modules.id, module.id)).returning();
  return updated!;
}

/** Removes the module and its lessons. */
export async function deleteModule(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  moduleId: string,
): Promise<void> {
  const program = await getEditableProgram(deps, actor, programRef);
  const module = await getModule(deps.db, program, moduleId);
  await deps.db.delete(modules).where(eq(modules.id, module.id));
}

function renderedContent(source: string) {
  const markdown = stripControlChars(source);
  const rendered = renderMarkdown(markdown);
  return {
    contentMarkdown: markdown,
    contentHtml: rendered.html,
    contentText: rendered.text,
  };
}

export async function addLesson(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  moduleId: string,
  input: LessonInput & { title: string },
): Promise<Lesson> {
  return await deps.db.transaction(async (tx) => {
    const program = await getEditableProgram({ db: tx }, actor, programRef);
    const module = await getModule(tx, program, moduleId);
    if (input.mediaId) await assertAttachable(tx, program, input.mediaId);
    const now = new Date();
    const [created] = await tx.insert(lessons).values({
      id: newId(),
      programId: program.id,
      moduleId: module.id,
      title: stripControlChars(input.title),
      ...renderedContent(input.content ?? ""),
      estimatedMinutes: input.estimatedMinutes ?? 0,
      mediaId: input.mediaId ?? null,
      position: await nextPosition(
        tx,
        lessons,
        eq(lessons.moduleId, module.id),
      ),
      createdAt: now,
      updatedAt: now,
    }).returning();
    return created!;
  });
}

export async function updateLesson(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  lessonId: string,
  input: LessonInput,
): Promise<Lesson> {
  return await deps.db.transaction(async (tx) => {
    const program = await getEditableProgram({ db: tx }, actor, programRef);
    const lesson = await getLessonOf(tx, program, lessonId);
    if (input.mediaId) await assertAttachable(tx, program, input.mediaId);
    const [updated] = await tx.update(lessons).set({
      ...(input.title !== undefined
        ? { title: stripControlChars(input.title) }
        : {}),
      ...(input.content !== undefined ? renderedContent(input.content) : {}),
      ...(input.estimatedMinutes !== undefined
        ? { estimatedMinutes: input.estimatedMinutes }
        : {}),
      ...(input.mediaId !== undefined ? { mediaId: input.mediaId } : {}),
      updatedAt: new Date(),
    }).where(eq(lessons.id, lesson.id)).returning();
    return updated!;
  });
}

export async function deleteLesson(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  lessonId: string,
): Promise<void> {
  const program = await getEditableProgram(deps, actor, programRef);
  const lesson = await getLessonOf(deps.db, program, lessonId);
  await deps.db.delete(lessons).where(eq(lessons.id, lesson.id));
}

/** A lesson with its content, for those with `documentation` access (402 otherwise). */
export async function readLesson(
  deps: DbDeps,
  viewer: Actor,
  programRef: string,
  lessonId: string,
): Promise<{ program: Program; lesson: Lesson }> {
  const program = await getVisibleProgram(deps, viewer, programRef);
  const lesson = await getLessonOf(deps.db, program, lessonId);
  if (!(await canUseFeature(deps, viewer, program, "documentation"))) {
    throw paymentRequiredFor(program, "documentation");
  }
  return { program, lesson };
}

export interface CurriculumOrder {
  modules: { id: string; lessonIds: string[] }[];
}

/**
 * Sets the whole order at once: every module and every lesson of the program exactly once. Lessons
 * may move between modules.
 */
export async function reorderCurriculum(
  deps: DbDeps,
  actor: Actor,
  programRef: string,
  order: CurriculumOrder,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const program = await getEditableProgram({ db: tx }, actor, programRef);
    const [moduleRows, lessonRows] = await Promise.all([
      tx.select({ id: modules.id }).from(modules).where(
        eq(modules.programId, program.id),
      ),
      tx.select({ id: lessons.id }).from(lessons).where(
        eq(lessons.programId, program.id),
      ),
    ]);
    const sentModules = order.modules.map((m) => m.id);
    const sentLessons = order.modules.flatMap((m) => m.lessonIds);
    const sameSet = (sent: string[], actual: { id: string }[]) =>
      sent.length === actual.length && new Set(sent).size === sent.length &&
      actual.every((row) => sent.includes(row.id));
    if (!sameSet(sentModules, moduleRows)) {
      throw validationFailed({
        modules: "Must list every module of the program exactly once",
      });
    }
    if (!sameSet(sentLessons, lessonRows)) {
      throw validationFailed({
        lessonIds: "Must list every lesson of the program exactly once",
      });
    }
    const now = new Date();
    for (const [i, module] of order.modules.entries()) {
      await tx.update(modules).set({ position: i + 1, updatedAt: now })
        .where(eq(modules.id, module.id));
      for (const [j, lessonId] of module.lessonIds.entries()) {
        await tx.update(lessons).set({
          moduleId: module.id,
          position: j + 1,
          updatedAt: now,
        }).where(eq(lessons.id, lessonId));
      }
    }
  });
}
