import type { Db } from "../db/client.ts";
import {
  categories,
  lessons,
  modules,
  programs,
  users,
} from "../db/schema/mod.ts";
import { newId } from "../server/lib/ids.ts";

const WORDS = (
  "algebra biology chemistry design economics finance geometry history illustration javascript " +
  "kinetics leadership marketing nutrition optics photography quantum rhetoric statistics typography " +
  "urbanism vocabulary writing yoga zoology react python databases networks security"
).split(" ");

const SYLLABLES = "ka lo mi nu pe ra si to vu ze ba de fi go hu ja".split(" ");
/** 4,096 made-up words for body text, so a topic word matches a realistic share of programs. */
const filler = (n: number) =>
  SYLLABLES[n % 16]! + SYLLABLES[(n >> 4) % 16]! + SYLLABLES[(n >> 8) % 16]!;
const pick = (i: number, salt: number) =>
  WORDS[(i * 7919 + salt * 104729) % WORDS.length]!;
const sentence = (i: number, length: number) =>
  Array.from({ length }, (_, k) => filler((i * 31 + k * 977) % 4096)).join(
    " ",
  );

/**
 * A catalog of `programCount` published programs with `lessonsPerProgram` lessons each, written in
 * large batches straight into the tables (the search triggers still run). For the benchmark only.
 */
export async function seedCatalog(
  db: Db,
  programCount: number,
  lessonsPerProgram: number,
): Promise<void> {
  const now = Date.now();
  const categoryIds = (await db.select({ id: categories.id }).from(categories))
    .map((c) => c.id);
  const instructorIds = Array.from({ length: 50 }, () => newId());
  await db.insert(users).values(instructorIds.map((id, i) => ({
    id,
    email: `instructor-${i}@bench.test`,
    name: `Instructor ${pick(i, 1)} ${i}`,
    role: "instructor" as const,
    createdAt: new Date(now),
    updatedAt: new Date(now),
  })));
  const BATCH = 250;
  for (let start = 0; start < programCount; start += BATCH) {
    await db.transaction(async (tx) => {
      const programRows = [];
      const moduleRows = [];
      const lessonRows = [];
      for (let i = start; i < Math.min(start + BATCH, programCount); i++) {
        const programId = newId(now + i);
        const moduleId = newId(now + i);
        programRows.push({
          id: programId,
          instructorId: instructorIds[i % instructorIds.length]!,
          title: `${pick(i, 1)} ${pick(i, 2)} ${i}`,
          slug: `program-${i}`,
          description: sentence(i + 1, 20),
          overviewHtml: `<p>${sentence(i + 2, 40)}</p>`,
          overviewText: sentence(i + 2, 40),
          categoryId: categoryIds[i % categoryIds.length]!,
          priceBundle: (i % 100) * 100 + 99,
          status: "published" as const,
          enrolledCount: (i * 31) % 997,
          ratingSum: (i % 5 + 1) * 3,
          reviewCount: 3,
          publishedAt: new Date(now),
          createdAt: new Date(now - i * 1000),
          updatedAt: new Date(now),
        });
        moduleRows.push({
          id: moduleId,
          programId,
          title: "Module 1",
          position: 1,
          createdAt: new Date(now),
          updatedAt: new Date(now),
        });
        for (let j = 0; j < lessonsPerProgram; j++) {
          const text = sentence(i * lessonsPerProgram + j, 60);
          lessonRows.push({
            id: newId(),
            programId,
            moduleId,
            title: `Lesson ${j + 1}`,
            contentMarkdown: text,
            contentHtml: `<p>${text}</p>`,
            contentText: text,
            estimatedMinutes: 15,
            position: j + 1,
            createdAt: new Date(now),
            updatedAt: new Date(now),
          });
        }
      }
      await tx.insert(programs).values(programRows);
      await tx.insert(modules).values(moduleRows);
      for (let k = 0; k < lessonRows.length; k += 500) {
        await tx.insert(lessons).values(lessonRows.slice(k, k + 500));
      }
    });
  }
}
