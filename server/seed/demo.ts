import { and, eq, ne } from "drizzle-orm";
import {
  lessons,
  modules,
  programs,
  quizAttempts,
  quizzes,
  reviews,
  type SnapshotQuestion,
  type User,
  users,
} from "../../db/schema/mod.ts";
import type { Deps } from "../deps.ts";
import { issueManually } from "../features/certificates/service.ts";
import { addLesson, addModule } from "../features/curriculum/service.ts";
import { importQuestions } from "../features/quizzes/import.ts";
import { startAttempt, submitAttempt } from "../features/quizzes/attempts.ts";
import { createReview } from "../features/reviews/service.ts";
import { findUserByEmail } from "../features/users/service.ts";
import { randomSecret } from "../lib/ids.ts";
import { grantFor, newProgram, newUser } from "./factories.ts";

const SEED_DIR = new URL("../../db/seed/", import.meta.url);
const SEED_ACTOR = { id: "cli", role: "admin" } as const;

interface Person {
  email: string;
  name: string;
  role: User["role"];
}

const PEOPLE: Person[] = [
  { email: "admin@demo.lectern.example", name: "Ada Admin", role: "admin" },
  {
    email: "grace@demo.lectern.example",
    name: "Grace Hopper",
    role: "instructor",
  },
  {
    email: "edsger@demo.lectern.example",
    name: "Edsger Dijkstra",
    role: "instructor",
  },
  { email: "lina@demo.lectern.example", name: "Lina Park", role: "student" },
  { email: "omar@demo.lectern.example", name: "Omar Haddad", role: "student" },
  { email: "sofia@demo.lectern.example", name: "Sofia Rossi", role: "student" },
  { email: "kenji@demo.lectern.example", name: "Kenji Sato", role: "student" },
];

interface DemoProgram {
  title: string;
  owner: string;
  category: string;
  level: "Beginner" | "Intermediate" | "Advanced";
  description: string;
  free: boolean;
  bank?: { file: string; quiz: string };
  modules: { title: string; lessons: { title: string; content: string }[] }[];
}

const PROGRAMS: DemoProgram[] = [
  {
    title: "Python Foundations",
    owner: "grace@demo.lectern.example",
    category: "Development",
    level: "Beginner",
    description:
      "Variables, types, loops and functions: the first steps in Python, with a final exam.",
    free: true,
    bank: {
      file: "python-basics.gift",
      quiz: "Python Foundations: final exam",
    },
    modules: [
      {
        title: "Getting started",
        lessons: [
          {
            title: "Your first program",
            content:
              '# Your first program\n\nPython runs a file from top to bottom. `print("Hello")` writes a line to the screen.\n\nVariables are names for values: `x = 3` makes `x` refer to 3.',
          },
          {
            title: "Numbers and text",
            content:
              '# Numbers and text\n\nIntegers have no decimal point; floats do (`3.0`). Text is a string: `"hello"`, and `len("hello")` is 5.',
          },
        ],
      },
      {
        title: "Control flow",
        lessons: [
          {
            title: "Loops",
            content:
              "# Loops\n\n`for i in range(3):` repeats a block three times, with `i` = 0, 1, 2. `break` stops a loop early; `continue` skips to the next round.",
          },
          {
            title: "Functions",
            content:
              "# Functions\n\n`def greet(name):` defines a function. Indentation marks the block that belongs to it.",
          },
        ],
      },
    ],
  },
  {
    title: "Data Analysis with SQL",
    owner: "edsger@demo.lectern.example",
    category: "Technology",
    level: "Intermediate",
    description:
      "Ask questions of your data: filtering, grouping, joins and the pitfalls of NULL.",
    free: false,
    bank: {
      file: "sql-essentials.xml",
      quiz: "Data Analysis with SQL: final exam",
    },
    modules: [
      {
        title: "Queries",
        lessons: [
          {
            title: "Filtering rows",
            content:
              "# Filtering rows\n\n`WHERE` keeps the rows that match before any grouping; `HAVING` filters the groups after `GROUP BY`.",
          },
          {
            title: "NULL",
            content:
              "# NULL\n\nNULL is unknown, so `NULL = NULL` is not true. Test for it with `IS NULL`.",
          },
        ],
      },
      {
        title: "Combining tables",
        lessons: [{
          title: "Joins",
          content:
            "# Joins\n\nAn `INNER JOIN` keeps matching rows only; `LEFT JOIN` and `FULL OUTER JOIN` keep rows without a match too.",
        }],
      },
    ],
  },
  {
    title: "Marketing for Small Schools",
    owner: "grace@demo.lectern.example",
    category: "Marketing",
    level: "Beginner",
    description:
      "Find your first hundred learners: a clear offer, a simple page, and word of mouth.",
    free: false,
    modules: [{
      title: "Your offer",
      lessons: [{
        title: "Who is it for?",
        content:
          "# Who is it for?\n\nWrite one sentence that names your learner and the change your program makes for them.",
      }],
    }],
  },
];

/** Who takes which program, and what they do there. */
const ENROLLMENTS = [
  { learner: "lina@demo.lectern.example", program: "Python Foundations" },
  { learner: "omar@demo.lectern.example", program: "Python Foundations" },
  { learner: "sofia@demo.lectern.example", program: "Data Analysis with SQL" },
  { learner: "kenji@demo.lectern.example", program: "Data Analysis with SQL" },
  {
    learner: "lina@demo.lectern.example",
    program: "Marketing for Small Schools",
  },
];
const ATTEMPTS = [
  { learner: "lina@demo.lectern.example", program: "Python Foundations" },
  { learner: "sofia@demo.lectern.example", program: "Data Analysis with SQL" },
];
const REVIEWS = [
  {
    learner: "lina@demo.lectern.example",
    program: "Python Foundations",
    rating: 5,
    comment:
      "Clear and friendly; the exam made me go back to the loops lesson.",
  },
  {
    learner: "kenji@demo.lectern.example",
    program: "Data Analysis with SQL",
    rating: 4,
    comment: "The NULL lesson alone was worth it.",
  },
];
const CERTIFIED = {
  learner: "lina@demo.lectern.example",
  program: "Python Foundations",
};

export interface SeedReport {
  accounts: { email: string; role: string; password: string | null }[];
  created: string[];
}

/** A right answer for each question of an attempt, from the snapshot it was started with. */
function rightAnswers(
  snapshot: SnapshotQuestion[],
): { questionId: string; selectedAnswer: unknown }[] {
  return snapshot.flatMap(({ id, question }): {
    questionId: string;
    selectedAnswer: unknown;
  }[] => {
    const q = question as {
      type: string;
      choices?: { text: string; weight: number }[];
      correct?: boolean;
      answers?: { text?: string; value?: number; weight: number }[];
    };
    const best = <T extends { weight: number }>(list: T[] = []) =>
      [...list].sort((a, b) => b.weight - a.weight)[0];
    switch (q.type) {
      case "single_choice":
        return [{ questionId: id, selectedAnswer: best(q.choices)?.text }];
      case "multiple_answers":
        return [{
          questionId: id,
          selectedAnswer: (q.choices ?? []).filter((c) => c.weight > 0).map((
            c,
          ) => c.text),
        }];
      case "true_false":
        return [{ questionId: id, selectedAnswer: q.correct }];
      case "short_answer":
        return [{
          questionId: id,
          selectedAnswer: best(q.answers)?.text,
        }];
      case "numerical":
        return [{
          questionId: id,
          selectedAnswer: best(q.answers)?.value,
        }];
      default:
        return [];
    }
  });
}

/**
 * `seed --demo`: a small living school through the real services and importers. Idempotent:
 * everything is looked up by a stable key (an email, a program title, a quiz title) and only what
 * is missing is made, so a second run changes nothing. Passwords are random and shown once, when
 * an account is created.
 */
export async function seedDemo(deps: Deps): Promise<SeedReport> {
  const report: SeedReport = { accounts: [], created: [] };
  const people = new Map<string, User>();
  for (const person of PEOPLE) {
    const existing = await findUserByEmail(deps, person.email);
    if (existing) {
      people.set(person.email, existing);
      report.accounts.push({
        email: person.email,
        role: existing.role,
        password: null,
      });
      continue;
    }
    const password = `demo-${randomSecret(12)}`;
    const user = await newUser(deps, { ...person, password });
    people.set(person.email, user);
    report.accounts.push({ email: person.email, role: user.role, password });
    report.created.push(`account ${person.email}`);
  }

  const programIds = new Map<string, string>();
  for (const spec of PROGRAMS) {
    const owner = people.get(spec.owner)!;
    const [existing] = await deps.db.select({ id: programs.id }).from(programs)
      .where(and(
        eq(programs.title, spec.title),
        eq(programs.instructorId, owner.id),
      ));
    let programId = existing?.id;
    if (!programId) {
      const price = spec.free ? 0 : undefined;
      const program = await newProgram(deps, owner, {
        title: spec.title,
        category: spec.category,
        level: spec.level,
        description: spec.description,
        ...(price === 0
          ? {
            pricing: {
              chatbot: 0,
              documentation: 0,
              examSimulator: 0,
              bundle: 0,
            },
          }
          : {}),
      });
      programId = program.id;
      report.created.push(`program ${spec.title}`);
    }
    programIds.set(spec.title, programId);
    // Module by module and lesson by lesson, so a run that stopped half-way is completed.
    let added = 0;
    for (const module of spec.modules) {
      const [existingModule] = await deps.db.select({ id: modules.id }).from(
        modules,
      ).where(
        and(eq(modules.programId, programId), eq(modules.title, module.title)),
      );
      const moduleId = existingModule?.id ??
        (await addModule(deps, owner, programId, { title: module.title })).id;
      for (const lesson of module.lessons) {
        const [existingLesson] = await deps.db.select({ id: lessons.id }).from(
          lessons,
        ).where(
          and(eq(lessons.moduleId, moduleId), eq(lessons.title, lesson.title)),
        );
        if (existingLesson) continue;
        await addLesson(deps, owner, programId, moduleId, {
          ...lesson,
          estimatedMinutes: 10,
        });
        added++;
      }
    }
    if (added > 0) report.created.push(`${added} lessons of ${spec.title}`);
    if (spec.bank) {
      const [quiz] = await deps.db.select({ id: quizzes.id }).from(quizzes)
        .where(and(
          eq(quizzes.programId, programId),
          eq(quizzes.title, spec.bank.quiz),
        ));
      const source = await Deno.readTextFile(new URL(spec.bank.file, SEED_DIR));
      const imported = await importQuestions(deps, owner, {
        programRef: programId,
        ...(quiz ? { quizId: quiz.id } : { newQuizTitle: spec.bank.quiz }),
        source,
      });
      if (!imported.ok) {
        throw new Error(
          `the demo bank ${spec.bank.file} did not import: ${
            JSON.stringify(imported.errors)
          }`,
        );
      }
      if (imported.created > 0) {
        report.created.push(
          `${imported.created} questions from ${spec.bank.file}`,
        );
      }
    }
  }

  for (const { learner, program } of ENROLLMENTS) {
    const result = await grantFor(
      deps,
      people.get(learner)!.id,
      programIds.get(program)!,
    );
    if (result.granted) {
      report.created.push(`enrollment ${learner} in ${program}`);
    }
  }

  for (const { learner, program } of ATTEMPTS) {
    const user = people.get(learner)!;
    const programId = programIds.get(program)!;
    const [quiz] = await deps.db.select({ id: quizzes.id }).from(quizzes)
      .where(eq(quizzes.programId, programId)).limit(1);
    if (!quiz) continue;
    const [done] = await deps.db.select({ id: quizAttempts.id }).from(
      quizAttempts,
    ).where(and(
      eq(quizAttempts.userId, user.id),
      eq(quizAttempts.quizId, quiz.id),
      ne(quizAttempts.status, "in_progress"),
    )).limit(1);
    if (done) continue;
    // An attempt a stopped run left open is resumed by startAttempt and submitted now.
    const started = await startAttempt(deps, user, quiz.id);
    await submitAttempt(
      deps,
      user,
      quiz.id,
      started.attempt.id,
      rightAnswers(started.attempt.snapshot),
    );
    report.created.push(`exam attempt by ${learner} in ${program}`);
  }

  for (const review of REVIEWS) {
    const user = people.get(review.learner)!;
    const programId = programIds.get(review.program)!;
    const [existing] = await deps.db.select({ id: reviews.id }).from(reviews)
      .where(
        and(eq(reviews.userId, user.id), eq(reviews.programId, programId)),
      );
    if (existing) continue;
    await createReview(deps, user, programId, {
      rating: review.rating,
      comment: review.comment,
    });
    report.created.push(`review by ${review.learner} of ${review.program}`);
  }

  const issued = await issueManually(deps, SEED_ACTOR, {
    userId: people.get(CERTIFIED.learner)!.id,
    programId: programIds.get(CERTIFIED.program)!,
    reason: "Demo school",
  });
  if (issued.created) {
    report.created.push(
      `certificate ${issued.certificate.code} for ${CERTIFIED.learner}`,
    );
  }
  await deps.background.idle();
  return report;
}

/** Whether the database has no account yet: `start --demo` seeds only then. */
export async function isEmpty(deps: Pick<Deps, "db">): Promise<boolean> {
  const [any] = await deps.db.select({ id: users.id }).from(users).limit(1);
  return !any;
}
