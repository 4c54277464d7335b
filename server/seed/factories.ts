import type { AccessType, Role, User } from "../../db/schema/mod.ts";
import type { Deps } from "../deps.ts";
import { grantAccess } from "../features/enrollments/service.ts";
import type { CreateProgramInput } from "../features/programs/schemas.ts";
import { createProgram } from "../features/programs/service.ts";
import { createUser } from "../features/users/service.ts";

/**
 * The records the demo seed and the tests both make, through the real services (the same rules
 * the API and the CLI apply). Tests wrap these in tests/helpers/factories.ts.
 */
export async function newUser(
  deps: Pick<Deps, "db">,
  fields: {
    email: string;
    name: string;
    password: string;
    role?: Role;
    verified?: boolean;
  },
): Promise<User> {
  return await createUser(deps.db, {
    email: fields.email,
    name: fields.name,
    password: fields.password,
    role: fields.role ?? "student",
    emailVerified: fields.verified ?? true,
  });
}

export const DEFAULT_PRICING = {
  chatbot: 9.99,
  documentation: 14.99,
  examSimulator: 19.99,
  bundle: 34.99,
};

/** A program, published unless told otherwise. */
export async function newProgram(
  deps: Pick<Deps, "db" | "config">,
  owner: Pick<User, "id" | "role">,
  fields: Partial<CreateProgramInput> & { title: string },
) {
  return await createProgram(deps, owner, {
    category: "Development",
    description: "A program made by a test",
    status: "published",
    pricing: DEFAULT_PRICING,
    ...fields,
  });
}

/** Access for good, as `enrollments grant` gives it. */
export async function grantFor(
  deps: Pick<Deps, "db">,
  userId: string,
  programId: string,
  accessType: AccessType = "bundle",
) {
  return await deps.db.transaction((tx) =>
    grantAccess(tx, { userId, programId, accessType, source: "admin" })
  );
}
