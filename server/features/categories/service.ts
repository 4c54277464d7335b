import { asc, count, eq, or, sql } from "drizzle-orm";
import { audit, type AuditedActor } from "../audit/service.ts";
import type { DbOrTx } from "../../../db/client.ts";
import { categories, type Category, programs } from "../../../db/schema/mod.ts";
import { conflict, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { slugify } from "../../lib/slug.ts";

interface DbDeps {
  db: DbOrTx;
}

export async function listCategories(
  deps: DbDeps,
): Promise<(Category & { programCount: number })[]> {
  return await deps.db.select({
    id: categories.id,
    name: categories.name,
    slug: categories.slug,
    position: categories.position,
    createdAt: categories.createdAt,
    // Aliased and qualified: drizzle leaves single-table column names bare, and inside the subquery
    // a bare "id" would be the program's own.
    programCount: sql<number>`(SELECT count(*) FROM programs p
      WHERE p.category_id = "categories"."id" AND p.status = 'published' AND p.deleted_at IS NULL)`,
  }).from(categories).orderBy(asc(categories.position), asc(categories.name));
}

/** By id, slug or name (any case): what a person or a form would send. */
export async function findCategory(
  deps: DbDeps,
  ref: string,
): Promise<Category | undefined> {
  const [found] = await deps.db.select().from(categories).where(
    or(
      eq(categories.id, ref),
      eq(categories.slug, ref.toLowerCase()),
      sql`${categories.name} = ${ref.trim()} COLLATE NOCASE`,
    ),
  ).limit(1);
  return found;
}

export async function getCategory(deps: DbDeps, ref: string) {
  const found = await findCategory(deps, ref);
  if (!found) throw notFound("Category");
  return found;
}

async function assertNameFree(deps: DbDeps, name: string, exceptId?: string) {
  const taken = await findCategory(deps, name) ??
    await findCategory(deps, slugify(name));
  if (taken && taken.id !== exceptId) {
    throw conflict(
      "CATEGORY_EXISTS",
      `A category named "${taken.name}" already exists`,
    );
  }
}

export async function addCategory(
  deps: DbDeps,
  actor: AuditedActor,
  name: string,
): Promise<Category> {
  const trimmed = name.trim();
  await assertNameFree(deps, trimmed);
  return await deps.db.transaction(async (tx) => {
    const [{ last } = { last: 0 }] = await tx.select({
      last: sql<number>`coalesce(max(${categories.position}), 0)`,
    }).from(categories);
    const [created] = await tx.insert(categories).values({
      id: newId(),
      name: trimmed,
      slug: slugify(trimmed),
      position: last + 1,
      createdAt: new Date(),
    }).returning();
    await audit(tx, actor, {
      action: "category.create",
      targetType: "category",
      targetId: created!.id,
      after: { name: trimmed },
    });
    return created!;
  });
}

export async function renameCategory(
  deps: DbDeps,
  actor: AuditedActor,
  ref: string,
  name: string,
): Promise<Category> {
  const category = await getCategory(deps, ref);
  const trimmed = name.trim();
  if (trimmed === category.name) return category;
  await assertNameFree(deps, trimmed, category.id);
  return await deps.db.transaction(async (tx) => {
    const [updated] = await tx.update(categories).set({
      name: trimmed,
      slug: slugify(trimmed),
    }).where(eq(categories.id, category.id)).returning();
    await audit(tx, actor, {
      action: "category.rename",
      targetType: "category",
      targetId: category.id,
      before: { name: category.name },
      after: { name: trimmed },
    });
    return updated!;
  });
}

/** Only an empty category can go: programs (deleted ones too, which keep their history) hold it. */
export async function removeCategory(
  deps: DbDeps,
  actor: AuditedActor,
  ref: string,
): Promise<Category> {
  const category = await getCategory(deps, ref);
  const [{ n } = { n: 0 }] = await deps.db.select({ n: count() }).from(
    programs,
  ).where(eq(programs.categoryId, category.id));
  if (n > 0) {
    throw conflict(
      "CATEGORY_IN_USE",
      `"${category.name}" still has ${n} program${
        n === 1 ? "" : "s"
      } (deleted ones included); move them first`,
    );
  }
  await deps.db.transaction(async (tx) => {
    await tx.delete(categories).where(eq(categories.id, category.id));
    await audit(tx, actor, {
      action: "category.delete",
      targetType: "category",
      targetId: category.id,
      before: { name: category.name },
    });
  });
  return category;
}
