import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { Lesson, Module } from "../../../db/schema/mod.ts";
import type { Deps } from "../../deps.ts";
import { bearerAuth, MessageResponse, responses } from "../../lib/openapi.ts";
import { validate } from "../../lib/validation.ts";
import { optionalAuth, requireAuth, viewerOf } from "../../middleware/auth.ts";
import { requireRole } from "../../middleware/require_role.ts";
import type { AppEnv } from "../../types.ts";
import { mediaUrl } from "../media/urls.ts";
import {
  CurriculumResponse,
  LessonBody,
  LessonParam,
  LessonResponse,
  ModuleBody,
  ModuleParam,
  ModuleResponse,
  OrderBody,
  ProgramParam,
  UpdateLessonBody,
  UpdateModuleBody,
} from "./schemas.ts";
import * as curriculum from "./service.ts";

const tags = ["Curriculum"];

const toModule = (module: Module) => ({
  id: module.id,
  title: module.title,
  description: module.description,
  position: module.position,
});

const toLesson = (appUrl: string, lesson: Lesson) => ({
  id: lesson.id,
  moduleId: lesson.moduleId,
  title: lesson.title,
  content: lesson.contentMarkdown,
  contentHtml: lesson.contentHtml,
  estimatedMinutes: lesson.estimatedMinutes,
  position: lesson.position,
  media: lesson.mediaId
    ? { id: lesson.mediaId, url: mediaUrl(appUrl, lesson.mediaId) }
    : null,
  updatedAt: lesson.updatedAt.toISOString(),
});

/** Modules and lessons, under /api/programs/:id. */
export function curriculumRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const signedIn = requireAuth(deps);
  const author = requireRole("instructor", "admin");
  const appUrl = deps.config.appUrl;

  app.get(
    "/:id/curriculum",
    describeRoute({
      tags,
      summary: "The public outline: modules, lesson titles, counts, durations",
      responses: responses({
        description: "Outline",
        schema: CurriculumResponse,
      }, [401, 404]),
    }),
    optionalAuth(deps),
    validate("param", ProgramParam),
    async (c) => {
      const { modules } = await curriculum.getPublicCurriculum(
        deps,
        viewerOf(c),
        c.req.valid("param").id,
      );
      return c.json({ success: true, curriculum: modules });
    },
  );

  app.put(
    "/:id/curriculum/order",
    describeRoute({
      tags,
      summary:
        "Reorder everything at once: every module, and every lesson under its (new) module",
      security: bearerAuth,
      responses: responses({
        description: "The new outline",
        schema: CurriculumResponse,
      }, [400, 401, 403, 404, 415, 422]),
    }),
    signedIn,
    author,
    validate("param", ProgramParam),
    validate("json", OrderBody),
    async (c) => {
      const { id } = c.req.valid("param");
      const actor = c.get("auth").user;
      await curriculum.reorderCurriculum(deps, actor, id, c.req.valid("json"));
      const { modules } = await curriculum.getPublicCurriculum(deps, actor, id);
      return c.json({ success: true, curriculum: modules });
    },
  );

  app.post(
    "/:id/modules",
    describeRoute({
      tags,
      summary: "Add a module at the end",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Created",
        schema: ModuleResponse,
      }, [400, 401, 403, 404, 415, 422]),
    }),
    signedIn,
    author,
    validate("param", ProgramParam),
    validate("json", ModuleBody),
    async (c) => {
      const module = await curriculum.addModule(
        deps,
        c.get("auth").user,
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      return c.json({ success: true, module: toModule(module) }, 201);
    },
  );

  app.put(
    "/:id/modules/:moduleId",
    describeRoute({
      tags,
      summary: "Rename or describe a module",
      security: bearerAuth,
      responses: responses({
        description: "Updated",
        schema: ModuleResponse,
      }, [400, 401, 403, 404, 415, 422]),
    }),
    signedIn,
    author,
    validate("param", ModuleParam),
    validate("json", UpdateModuleBody),
    async (c) => {
      const { id, moduleId } = c.req.valid("param");
      const module = await curriculum.updateModule(
        deps,
        c.get("auth").user,
        id,
        moduleId,
        c.req.valid("json"),
      );
      return c.json({ success: true, module: toModule(module) });
    },
  );

  app.delete(
    "/:id/modules/:moduleId",
    describeRoute({
      tags,
      summary: "Delete a module and its lessons",
      security: bearerAuth,
      responses: responses(
        { description: "Deleted", schema: MessageResponse },
        [
          401,
          403,
          404,
        ],
      ),
    }),
    signedIn,
    author,
    validate("param", ModuleParam),
    async (c) => {
      const { id, moduleId } = c.req.valid("param");
      await curriculum.deleteModule(deps, c.get("auth").user, id, moduleId);
      return c.json({ success: true, message: "Module deleted" });
    },
  );

  app.post(
    "/:id/modules/:moduleId/lessons",
    describeRoute({
      tags,
      summary:
        "Add a lesson (Markdown content, rendered to sanitized HTML) at the end of a module",
      security: bearerAuth,
      responses: responses({
        status: 201,
        description: "Created",
        schema: LessonResponse,
      }, [400, 401, 403, 404, 415, 422]),
    }),
    signedIn,
    author,
    validate("param", ModuleParam),
    validate("json", LessonBody),
    async (c) => {
      const { id, moduleId } = c.req.valid("param");
      const lesson = await curriculum.addLesson(
        deps,
        c.get("auth").user,
        id,
        moduleId,
        c.req.valid("json"),
      );
      return c.json({ success: true, lesson: toLesson(appUrl, lesson) }, 201);
    },
  );

  app.get(
    "/:id/lessons/:lessonId",
    describeRoute({
      tags,
      summary:
        "A lesson with its content (needs documentation access: 402 with what would grant it)",
      security: bearerAuth,
      responses: responses({
        description: "The lesson",
        schema: LessonResponse,
      }, [401, 402, 403, 404]),
    }),
    signedIn,
    validate("param", LessonParam),
    async (c) => {
      const { id, lessonId } = c.req.valid("param");
      const { lesson } = await curriculum.readLesson(
        deps,
        c.get("auth").user,
        id,
        lessonId,
      );
      return c.json({ success: true, lesson: toLesson(appUrl, lesson) });
    },
  );

  app.put(
    "/:id/lessons/:lessonId",
    describeRoute({
      tags,
      summary: "Edit a lesson",
      security: bearerAuth,
      responses: responses({
        description: "Updated",
        schema: LessonResponse,
      }, [400, 401, 403, 404, 415, 422]),
    }),
    signedIn,
    author,
    validate("param", LessonParam),
    validate("json", UpdateLessonBody),
    async (c) => {
      const { id, lessonId } = c.req.valid("param");
      const lesson = await curriculum.updateLesson(
        deps,
        c.get("auth").user,
        id,
        lessonId,
        c.req.valid("json"),
      );
      return c.json({ success: true, lesson: toLesson(appUrl, lesson) });
    },
  );

  app.delete(
    "/:id/lessons/:lessonId",
    describeRoute({
      tags,
      summary: "Delete a lesson",
      security: bearerAuth,
      responses: responses(
        { description: "Deleted", schema: MessageResponse },
        [
          401,
          403,
          404,
        ],
      ),
    }),
    signedIn,
    author,
    validate("param", LessonParam),
    async (c) => {
      const { id, lessonId } = c.req.valid("param");
      await curriculum.deleteLesson(deps, c.get("auth").user, id, lessonId);
      return c.json({ success: true, message: "Lesson deleted" });
    },
  );

  return app;
}
