import assert from "node:assert/strict";
import {
  api,
  createTestContext,
  type TestContext,
} from "../../helpers/context.ts";
import { makeUserAndLogin } from "../../helpers/factories.ts";
import {
  comment,
  connect,
  reply,
  sendForm,
  share,
  tinyWav,
  uploadRecording,
} from "./support.ts";

/**
 * Who asks. `public` is a signed-in stranger asking about a public recording; every other role asks
 * about a private one. `unsharedTeacher` is an active teacher of the owner it was not shared with.
 */
type Role =
  | "owner"
  | "shared"
  | "teacher"
  | "unsharedTeacher"
  | "stranger"
  | "admin"
  | "public"
  | "anonymous";

const ROLES: Role[] = [
  "owner",
  "shared",
  "teacher",
  "unsharedTeacher",
  "stranger",
  "admin",
  "public",
  "anonymous",
];

type Login = Awaited<ReturnType<typeof makeUserAndLogin>>;

interface People {
  owner: Login;
  friend: Login;
  teacher: Login;
  unsharedTeacher: Login;
  stranger: Login;
  admin: Login;
  /** Someone the recordings are shared with who plays no role: the target of unsharing. */
  bystander: Login;
  /** Someone the owner shares with in the share row. */
  newcomer: Login;
}

/** What one route acts on: a private and a public recording of the owner, each with a thread. */
interface Scene {
  privateVideo: string;
  publicVideo: string;
  /** By the shared person on the private recording, with a reply by the owner. */
  privateComment: string;
  /** By the owner on the public recording. */
  publicComment: string;
}

async function buildScene(ctx: TestContext, people: People): Promise<Scene> {
  const { owner, friend, teacher, bystander } = people;
  const privateRes = await uploadRecording(ctx, owner.token, {
    title: "Private take",
  });
  assert.equal(privateRes.status, 201, JSON.stringify(privateRes.body));
  const publicRes = await uploadRecording(ctx, owner.token, {
    title: "Public take",
    isPublic: "true",
  });
  assert.equal(publicRes.status, 201, JSON.stringify(publicRes.body));
  const privateVideo = privateRes.body.video.id as string;
  const publicVideo = publicRes.body.video.id as string;
  for (const who of [friend, teacher, bystander]) {
    await share(ctx, owner.token, privateVideo, who.user.id);
  }
  await share(ctx, owner.token, publicVideo, bystander.user.id);
  const privateComment = await comment(ctx, friend.token, privateVideo, {
    content: "Lovely phrasing here",
    timestamp: 0.25,
  });
  await reply(ctx, owner.token, privateComment.id, "Thank you!");
  const publicComment = await comment(ctx, owner.token, publicVideo, {
    content: "Listen for the slip",
    timestamp: 0.5,
  });
  return {
    privateVideo,
    publicVideo,
    privateComment: privateComment.id,
    publicComment: publicComment.id,
  };
}

interface Call {
  method: string;
  path: string;
  body?: unknown;
  upload?: true;
}

interface RouteCase {
  route: string;
  /** The request for a role; the target depends on whether the role asks about the public one. */
  call: (scene: Scene, people: People, isPublic: boolean) => Call;
  /** The status each role gets. */
  expect: Partial<Record<Role, number>>;
  /** Changes the scene when it succeeds: each role gets a scene of its own. */
  fresh?: true;
}

const video = (scene: Scene, isPublic: boolean) =>
  isPublic ? scene.publicVideo : scene.privateVideo;
const thread = (scene: Scene, isPublic: boolean) =>
  isPublic ? scene.publicComment : scene.privateComment;

const ROUTES: RouteCase[] = [
  {
    route: "POST /api/videos",
    call: () => ({ method: "POST", path: "/api/videos", upload: true }),
    expect: {
      owner: 201,
      shared: 201,
      teacher: 201,
      unsharedTeacher: 201,
      stranger: 201,
      admin: 201,
      anonymous: 401,
    },
  },
  {
    route: "GET /api/videos",
    call: () => ({ method: "GET", path: "/api/videos" }),
    expect: {
      owner: 200,
      shared: 200,
      teacher: 200,
      unsharedTeacher: 200,
      stranger: 200,
      admin: 200,
      anonymous: 401,
    },
  },
  {
    route: "GET /api/videos/shared",
    call: () => ({ method: "GET", path: "/api/videos/shared" }),
    expect: {
      owner: 200,
      shared: 200,
      teacher: 200,
      unsharedTeacher: 200,
      stranger: 200,
      admin: 200,
      anonymous: 401,
    },
  },
  {
    route: "GET /api/videos/:id",
    call: (s, _, pub) => ({
      method: "GET",
      path: `/api/videos/${video(s, pub)}`,
    }),
    expect: {
      owner: 200,
      shared: 200,
      teacher: 200,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 200,
      public: 200,
      anonymous: 401,
    },
  },
  {
    route: "PUT /api/videos/:id",
    call: (s, _, pub) => ({
      method: "PUT",
      path: `/api/videos/${video(s, pub)}`,
      body: { title: "Renamed take" },
    }),
    expect: {
      owner: 200,
      shared: 403,
      teacher: 403,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 403,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "DELETE /api/videos/:id",
    fresh: true,
    call: (s, _, pub) => ({
      method: "DELETE",
      path: `/api/videos/${video(s, pub)}`,
    }),
    expect: {
      owner: 200,
      shared: 403,
      teacher: 403,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 200,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "POST /api/videos/:id/share",
    call: (s, people, pub) => ({
      method: "POST",
      path: `/api/videos/${video(s, pub)}/share`,
      body: { userId: people.newcomer.user.id },
    }),
    expect: {
      owner: 200,
      shared: 403,
      teacher: 403,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 403,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "DELETE /api/videos/:id/share/:userId",
    fresh: true,
    call: (s, people, pub) => ({
      method: "DELETE",
      path: `/api/videos/${video(s, pub)}/share/${people.bystander.user.id}`,
    }),
    expect: {
      owner: 200,
      shared: 403,
      teacher: 403,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 403,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "POST /api/videos/:id/comments",
    call: (s, _, pub) => ({
      method: "POST",
      path: `/api/videos/${video(s, pub)}/comments`,
      body: { content: "A note", timestamp: 0.5 },
    }),
    expect: {
      owner: 201,
      shared: 201,
      teacher: 201,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 403,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "GET /api/videos/:id/comments",
    call: (s, _, pub) => ({
      method: "GET",
      path: `/api/videos/${video(s, pub)}/comments`,
    }),
    expect: {
      owner: 200,
      shared: 200,
      teacher: 200,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 200,
      public: 200,
      anonymous: 401,
    },
  },
  {
    // The private thread is the shared person's; the public one is the owner's.
    route: "PUT /api/comments/:id",
    call: (s, _, pub) => ({
      method: "PUT",
      path: `/api/comments/${thread(s, pub)}`,
      body: { content: "Edited note" },
    }),
    expect: {
      owner: 403,
      shared: 200,
      teacher: 403,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 403,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "DELETE /api/comments/:id",
    fresh: true,
    call: (s, _, pub) => ({
      method: "DELETE",
      path: `/api/comments/${thread(s, pub)}`,
    }),
    expect: {
      owner: 200,
      shared: 200,
      teacher: 403,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 200,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "POST /api/comments/:id/replies",
    call: (s, _, pub) => ({
      method: "POST",
      path: `/api/comments/${thread(s, pub)}/replies`,
      body: { content: "Agreed" },
    }),
    expect: {
      owner: 201,
      shared: 201,
      teacher: 201,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 403,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "POST /api/videos/:id/progress-records",
    call: (s, _, pub) => ({
      method: "POST",
      path: `/api/videos/${video(s, pub)}/progress-records`,
      body: { rating: 4, techniqueScore: 80 },
    }),
    expect: {
      owner: 403,
      shared: 403,
      teacher: 201,
      unsharedTeacher: 404,
      stranger: 404,
      admin: 403,
      public: 403,
      anonymous: 401,
    },
  },
  {
    route: "GET /api/users/:id/progress-records",
    call: (_, people) => ({
      method: "GET",
      path: `/api/users/${people.owner.user.id}/progress-records`,
    }),
    expect: {
      owner: 200,
      shared: 404,
      teacher: 200,
      unsharedTeacher: 200,
      stranger: 404,
      admin: 200,
      anonymous: 401,
    },
  },
];

function tokenOf(people: People, role: Role): string | undefined {
  switch (role) {
    case "owner":
      return people.owner.token;
    case "shared":
      return people.friend.token;
    case "teacher":
      return people.teacher.token;
    case "unsharedTeacher":
      return people.unsharedTeacher.token;
    case "stranger":
    case "public":
      return people.stranger.token;
    case "admin":
      return people.admin.token;
    case "anonymous":
      return undefined;
  }
}

async function send(ctx: TestContext, call: Call, token: string | undefined) {
  if (call.upload) {
    return await sendForm(ctx, call.path, {
      ...(token ? { token } : {}),
      file: { bytes: tinyWav(0.5), name: "take.wav", type: "audio/wav" },
      fields: { title: "My take" },
    });
  }
  return await api(ctx, call.method, call.path, {
    ...(token ? { token } : {}),
    ...(call.body !== undefined ? { body: call.body } : {}),
  });
}

Deno.test("practice recordings: who may do what", async (t) => {
  const ctx = await createTestContext({ MESSAGE_RATE_LIMIT: "100000" });
  try {
    const people: People = {
      owner: await makeUserAndLogin(ctx, { name: "Owner Olive" }),
      friend: await makeUserAndLogin(ctx, { name: "Friend Finn" }),
      teacher: await makeUserAndLogin(ctx, {
        role: "instructor",
        name: "Teacher Tess",
      }),
      unsharedTeacher: await makeUserAndLogin(ctx, {
        role: "instructor",
        name: "Teacher Uma",
      }),
      stranger: await makeUserAndLogin(ctx, { name: "Stranger Sid" }),
      admin: await makeUserAndLogin(ctx, { role: "admin", name: "Admin Ada" }),
      bystander: await makeUserAndLogin(ctx, { name: "Bystander Bo" }),
      newcomer: await makeUserAndLogin(ctx, { name: "Newcomer Nia" }),
    };
    await connect(ctx, people.teacher.token, people.owner);
    await connect(ctx, people.unsharedTeacher.token, people.owner);
    const shared = await buildScene(ctx, people);

    for (const route of ROUTES) {
      for (const role of ROLES) {
        const expected = route.expect[role];
        if (expected === undefined) continue;
        await t.step({
          name: `${route.route} as ${role}: ${expected}`,
          fn: async () => {
            const scene = route.fresh ? await buildScene(ctx, people) : shared;
            const call = route.call(scene, people, role === "public");
            const res = await send(ctx, call, tokenOf(people, role));
            assert.equal(
              res.status,
              expected,
              `${call.method} ${call.path}: ${JSON.stringify(res.body)}`,
            );
          },
        });
      }
    }

    await t.step(
      "the access flags each role is shown match the matrix",
      async () => {
        const flagged: Partial<Record<Role, Record<string, unknown>>> = {
          owner: {
            role: "owner",
            canComment: true,
            canEdit: true,
            canDelete: true,
            canScore: false,
          },
          shared: {
            role: "shared",
            canComment: true,
            canEdit: false,
            canDelete: false,
            canScore: false,
          },
          teacher: {
            role: "teacher",
            canComment: true,
            canEdit: false,
            canDelete: false,
            canScore: true,
          },
          // canComment for admins: see the step after this one.
          admin: {
            role: "admin",
            canEdit: false,
            canDelete: true,
            canScore: false,
          },
          public: {
            role: "public",
            canComment: false,
            canEdit: false,
            canDelete: false,
            canScore: false,
          },
        };
        for (const [role, access] of Object.entries(flagged)) {
          const res = await api(
            ctx,
            "GET",
            `/api/videos/${video(shared, role === "public")}`,
            { token: tokenOf(people, role as Role)! },
          );
          assert.equal(res.status, 200);
          const shown = Object.fromEntries(
            Object.keys(access).map((key) => [key, res.body.video.access[key]]),
          );
          assert.deepEqual(shown, access, role);
          assert.equal(
            "sharedWith" in res.body.video,
            role === "owner",
            `only the owner sees who it is shared with (${role})`,
          );
        }
      },
    );

    await t.step({
      name: "admins view and delete but do not comment (decision 015)",
      fn: async () => {
        const path = `/api/videos/${shared.privateVideo}`;
        const shown = await api(ctx, "GET", path, {
          token: people.admin.token,
        });
        assert.equal(shown.body.video.access.canComment, false);
        const res = await api(ctx, "POST", `${path}/comments`, {
          token: people.admin.token,
          body: { content: "Moderator here", timestamp: 0.1 },
        });
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(res.body.error.code, "CANNOT_COMMENT");
      },
    });

    await t.step(
      "lists hold the right recordings for each person",
      async () => {
        const ids = async (path: string, token: string) => {
          const res = await api(ctx, "GET", `${path}?limit=100`, { token });
          assert.equal(res.status, 200);
          return (res.body.videos as { id: string }[]).map((v) => v.id);
        };
        const own = await ids("/api/videos", people.owner.token);
        assert.ok(own.includes(shared.privateVideo));
        assert.ok(own.includes(shared.publicVideo));
        for (const who of [people.friend, people.teacher]) {
          assert.ok(
            (await ids("/api/videos/shared", who.token)).includes(
              shared.privateVideo,
            ),
          );
          assert.ok(
            !(await ids("/api/videos", who.token)).includes(
              shared.privateVideo,
            ),
            "someone else's recording is not in their own list",
          );
        }
        for (
          const who of [people.stranger, people.unsharedTeacher, people.admin]
        ) {
          const theirs = await ids("/api/videos/shared", who.token);
          assert.ok(!theirs.includes(shared.privateVideo));
          assert.ok(!theirs.includes(shared.publicVideo));
        }
      },
    );

    await t.step(
      "a share can be taken back, and with it the access",
      async () => {
        const scene = await buildScene(ctx, people);
        const path = `/api/videos/${scene.privateVideo}`;
        assert.equal(
          (await api(ctx, "GET", path, { token: people.friend.token })).status,
          200,
        );
        const removed = await api(
          ctx,
          "DELETE",
          `${path}/share/${people.friend.user.id}`,
          { token: people.owner.token },
        );
        assert.equal(removed.status, 200);
        assert.equal(
          (await api(ctx, "GET", path, { token: people.friend.token })).status,
          404,
        );
        const again = await api(
          ctx,
          "DELETE",
          `${path}/share/${people.friend.user.id}`,
          { token: people.owner.token },
        );
        assert.equal(again.status, 404, "no share left to remove");
        const edit = await api(
          ctx,
          "PUT",
          `/api/comments/${scene.privateComment}`,
          { token: people.friend.token, body: { content: "late edit" } },
        );
        assert.equal(edit.status, 404, "their old comment is out of reach too");
      },
    );

    await t.step(
      "making it public opens it to signed-in people; private closes it again",
      async () => {
        const path = `/api/videos/${shared.privateVideo}`;
        const asStranger = async () =>
          (await api(ctx, "GET", path, { token: people.stranger.token }))
            .status;
        assert.equal(await asStranger(), 404);
        const opened = await api(ctx, "PUT", path, {
          token: people.owner.token,
          body: { isPublic: true },
        });
        assert.equal(opened.status, 200);
        assert.equal(opened.body.video.isPublic, true);
        assert.equal(await asStranger(), 200);
        const closed = await api(ctx, "PUT", path, {
          token: people.owner.token,
          body: { isPublic: false },
        });
        assert.equal(closed.status, 200);
        assert.equal(await asStranger(), 404);
      },
    );

    await t.step(
      "editing details: empty title, unknown field or wrong type 422",
      async () => {
        const path = `/api/videos/${shared.privateVideo}`;
        for (
          const body of [
            { title: "  " },
            { ownerId: people.stranger.user.id },
            {
              isPublic: "yes",
            },
          ]
        ) {
          const res = await api(ctx, "PUT", path, {
            token: people.owner.token,
            body,
          });
          assert.equal(res.status, 422, JSON.stringify(body));
        }
        const ok = await api(ctx, "PUT", path, {
          token: people.owner.token,
          body: { title: "Final take", composer: "Bach", description: null },
        });
        assert.equal(ok.status, 200);
        assert.equal(ok.body.video.title, "Final take");
        assert.equal(ok.body.video.composer, "Bach");
        assert.equal(ok.body.video.description, null);
      },
    );

    await t.step(
      "sharing: with oneself 409, twice once, with nobody 404",
      async () => {
        const path = `/api/videos/${shared.privateVideo}/share`;
        const self = await api(ctx, "POST", path, {
          token: people.owner.token,
          body: { userId: people.owner.user.id },
        });
        assert.equal(self.status, 409);
        assert.equal(self.body.error.code, "SHARE_WITH_SELF");
        const twice = await api(ctx, "POST", path, {
          token: people.owner.token,
          body: { userId: people.friend.user.id },
        });
        assert.equal(twice.status, 200);
        assert.equal(twice.body.message, "Already shared with this person");
        const nobody = await api(ctx, "POST", path, {
          token: people.owner.token,
          body: { userId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" },
        });
        assert.equal(nobody.status, 404);
      },
    );

    await t.step({
      name: "an admin it is shared with keeps the admin's right to delete it",
      fn: async () => {
        const scene = await buildScene(ctx, people);
        await share(
          ctx,
          people.owner.token,
          scene.privateVideo,
          people.admin.user.id,
        );
        const shown = await api(
          ctx,
          "GET",
          `/api/videos/${scene.privateVideo}`,
          {
            token: people.admin.token,
          },
        );
        assert.equal(shown.body.video.access.canDelete, true);
        const res = await api(
          ctx,
          "DELETE",
          `/api/videos/${scene.privateVideo}`,
          {
            token: people.admin.token,
          },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
      },
    });

    await t.step({
      name:
        "canScore tells the truth: an unshared teacher cannot score a public recording",
      fn: async () => {
        const path = `/api/videos/${shared.publicVideo}`;
        const shown = await api(ctx, "GET", path, {
          token: people.unsharedTeacher.token,
        });
        assert.equal(shown.status, 200);
        assert.equal(shown.body.video.access.role, "public");
        assert.equal(shown.body.video.access.canScore, false);
        const res = await api(ctx, "POST", `${path}/progress-records`, {
          token: people.unsharedTeacher.token,
          body: { rating: 3 },
        });
        assert.equal(res.status, 403, JSON.stringify(res.body));
      },
    });

    await ctx.deps.background.idle();
  } finally {
    await ctx.close();
  }
});
