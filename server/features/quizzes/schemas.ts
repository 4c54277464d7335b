import * as v from "valibot";
import {
  ATTEMPT_STATUSES,
  CERTIFICATE_ROLES,
  GRADING_METHODS,
} from "../../../db/schema/mod.ts";
import { pageQuery, PaginationSchema } from "../../lib/pagination.ts";
import { DIFFICULTIES, type QuestionType } from "./question_model.ts";

/** 002 spells question types in kebab case and calls single choice `multiple-choice`. */
export const CONTRACT_TYPE_NAMES: Record<QuestionType, string> = {
  single_choice: "multiple-choice",
  multiple_answers: "multiple-answers",
  true_false: "true-false",
  short_answer: "short-answer",
  numerical: "numerical",
  matching: "matching",
  essay: "essay",
  description: "description",
};

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const title = v.pipe(
  v.string("Must be a string"),
  v.trim(),
  v.minLength(1, "Cannot be empty"),
  v.maxLength(200, "At most 200 characters"),
);
const wholeNumber = (min: number, max: number, what: string) =>
  v.pipe(
    v.number(`${what} must be a number`),
    v.integer(`${what} must be a whole number`),
    v.minValue(min, `${what} must be at least ${min}`),
    v.maxValue(max, `${what} must be at most ${max}`),
  );

/** 002's inline question: `{questionText, questionType, options, correctAnswer, explanation, points}`. */
export const ContractQuestionSchema = v.object({
  questionText: v.pipe(v.string(), v.minLength(1), v.maxLength(50_000)),
  questionType: v.optional(
    v.picklist(
      ["multiple-choice", "multiple-answers", "true-false", "short-answer"],
      "questionType must be multiple-choice, multiple-answers, true-false or short-answer (use the native `type` field for the others)",
    ),
    "multiple-choice",
  ),
  options: v.optional(v.array(v.pipe(v.string(), v.maxLength(10_000)))),
  correctAnswer: v.union([
    v.pipe(v.string(), v.maxLength(10_000)),
    v.array(v.pipe(v.string(), v.maxLength(10_000))),
    v.boolean(),
  ], "correctAnswer must be a string, a list of strings or a boolean"),
  explanation: v.optional(v.pipe(v.string(), v.maxLength(10_000))),
  points: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1000))),
  difficulty: v.optional(v.picklist(DIFFICULTIES)),
  category: v.optional(v.pipe(v.string(), v.maxLength(500))),
});
export type ContractQuestion = v.InferOutput<typeof ContractQuestionSchema>;

const DrawSchema = v.object({
  count: wholeNumber(1, 500, "draw.count"),
  category: v.optional(v.pipe(v.string(), v.maxLength(500))),
  difficulty: v.optional(
    v.picklist(DIFFICULTIES, "Must be easy, medium or hard"),
  ),
});

const settings = {
  description: v.optional(v.pipe(v.string(), v.maxLength(10_000))),
  difficulty: v.optional(
    v.nullable(v.picklist(DIFFICULTIES, "Must be easy, medium or hard")),
  ),
  /** Minutes. */
  duration: v.optional(v.nullable(wholeNumber(1, 24 * 60, "duration"))),
  passingScore: v.optional(wholeNumber(0, 100, "passingScore")),
  isTimed: v.optional(v.boolean()),
  allowRetake: v.optional(v.boolean()),
  showAnswersAfterSubmit: v.optional(v.boolean()),
  attemptsAllowed: v.optional(
    v.nullable(wholeNumber(1, 1000, "attemptsAllowed")),
  ),
  cooldownMinutes: v.optional(wholeNumber(0, 60 * 24 * 365, "cooldownMinutes")),
  gradingMethod: v.optional(
    v.picklist(
      GRADING_METHODS,
      `gradingMethod must be one of ${GRADING_METHODS.join(", ")}`,
    ),
  ),
  shuffleQuestions: v.optional(v.boolean()),
  shuffleOptions: v.optional(v.boolean()),
  /** For the certificate: `final` (the final exam), `required`, or `none`. */
  certificateRole: v.optional(
    v.picklist(
      CERTIFICATE_ROLES,
      `certificateRole must be one of ${CERTIFICATE_ROLES.join(", ")}`,
    ),
  ),
  /** New questions for the bank, in 002's shape or the native one (with `type`); they become the list. */
  questions: v.optional(
    v.pipe(v.array(v.unknown()), v.maxLength(1000, "At most 1000 questions")),
  ),
  /** Questions already in the program's bank, in order. */
  questionIds: v.optional(v.pipe(v.array(id), v.maxLength(1000))),
  /** Instead of a fixed list: a new random draw from the bank for every attempt. */
  draw: v.optional(v.nullable(DrawSchema)),
};

export const CreateQuizBody = v.object({
  title,
  programId: id,
  ...settings,
});
export type CreateQuizInput = v.InferOutput<typeof CreateQuizBody>;

export const UpdateQuizBody = v.object({
  title: v.optional(title),
  ...settings,
});
export type UpdateQuizInput = v.InferOutput<typeof UpdateQuizBody>;

export const ListQuizzesQuery = v.object({
  ...pageQuery(),
  programId: v.optional(id),
  difficulty: v.optional(v.picklist(DIFFICULTIES)),
});

export const QuizSummarySchema = v.object({
  id: v.string(),
  title: v.string(),
  programId: v.string(),
  programTitle: v.string(),
  difficulty: v.nullable(v.string()),
  questionCount: v.number(),
  duration: v.nullable(v.number()),
  passingScore: v.number(),
  isTimed: v.boolean(),
  createdAt: v.string(),
});

export const QuizDetailSchema = v.object({
  ...QuizSummarySchema.entries,
  description: v.string(),
  allowRetake: v.boolean(),
  showAnswersAfterSubmit: v.boolean(),
  attemptsAllowed: v.nullable(v.number()),
  cooldownMinutes: v.number(),
  gradingMethod: v.string(),
  shuffleQuestions: v.boolean(),
  shuffleOptions: v.boolean(),
  certificateRole: v.string(),
  draw: v.nullable(v.object({
    count: v.number(),
    category: v.nullable(v.string()),
    difficulty: v.nullable(v.string()),
  })),
  updatedAt: v.string(),
  /** Owner and admins only: the fixed list's question ids, in order. */
  questionIds: v.optional(v.array(v.string())),
});

export const QuizListResponse = v.object({
  success: v.literal(true),
  quizzes: v.array(QuizSummarySchema),
  pagination: PaginationSchema,
});
export const QuizResponse = v.object({
  success: v.literal(true),
  quiz: QuizDetailSchema,
});

export const AnswerInput = v.object({
  questionId: id,
  /** See scoring.ts `Response` for each type's shape. */
  selectedAnswer: v.unknown(),
});
export const SaveAnswersBody = v.object({
  answers: v.pipe(v.array(AnswerInput), v.maxLength(1000)),
});
export const SubmitBody = v.object({
  attemptId: id,
  answers: v.optional(v.pipe(v.array(AnswerInput), v.maxLength(1000)), []),
});
export const GradeBody = v.object({
  grades: v.pipe(
    v.array(v.object({
      questionId: id,
      points: v.pipe(v.number(), v.minValue(0)),
      comment: v.optional(v.pipe(v.string(), v.maxLength(10_000))),
    })),
    v.minLength(1, "Grade at least one question"),
  ),
});
export const AccommodationBody = v.object({
  userId: id,
  programId: id,
  timeMultiplier: v.pipe(
    v.number("timeMultiplier must be a number"),
    v.minValue(1, "timeMultiplier is at least 1 (no extra time)"),
    v.maxValue(5, "timeMultiplier is at most 5"),
  ),
  note: v.optional(v.pipe(v.string(), v.maxLength(1000))),
});

export const AttemptQuestionSchema = v.object({
  id: v.string(),
  questionText: v.string(),
  questionType: v.string(),
  format: v.string(),
  title: v.nullable(v.string()),
  options: v.optional(v.array(v.string())),
  /** Matching questions: the left-hand items to pair with `options`. */
  prompts: v.optional(v.array(v.string())),
  points: v.number(),
});

export const StartResponse = v.object({
  success: v.literal(true),
  attemptId: v.string(),
  quizId: v.string(),
  mode: v.picklist(["exam", "practice"]),
  status: v.string(),
  resumed: v.boolean(),
  questions: v.array(AttemptQuestionSchema),
  answers: v.array(v.object({
    questionId: v.string(),
    selectedAnswer: v.unknown(),
  })),
  startedAt: v.string(),
  expiresAt: v.nullable(v.string()),
  timeLimitSeconds: v.nullable(v.number()),
  timeMultiplier: v.number(),
  serverTime: v.string(),
});

export const FeedbackItem = v.object({
  questionId: v.string(),
  isCorrect: v.boolean(),
  outcome: v.string(),
  points: v.nullable(v.number()),
  maxPoints: v.number(),
  selectedAnswer: v.unknown(),
  correctAnswer: v.optional(v.unknown()),
  explanation: v.optional(v.string()),
  feedback: v.optional(v.array(v.string())),
  generalFeedback: v.optional(v.string()),
  graderComment: v.optional(v.string()),
});

export const ResultSchema = v.object({
  attemptId: v.string(),
  quizId: v.string(),
  mode: v.string(),
  status: v.string(),
  score: v.nullable(v.number()),
  totalPoints: v.number(),
  scorePercentage: v.nullable(v.number()),
  passed: v.nullable(v.boolean()),
  correctAnswers: v.number(),
  incorrectAnswers: v.number(),
  pendingReview: v.number(),
  timeTaken: v.number(),
  finishedBy: v.nullable(v.string()),
  reviewAvailable: v.boolean(),
  feedback: v.array(FeedbackItem),
  certificateGenerated: v.boolean(),
  certificateId: v.nullable(v.string()),
  /** On submit: the quiz grade by its grading method after this attempt. */
  finalGrade: v.optional(v.nullable(v.number())),
  /** On a submit after the deadline: answers sent with it were not counted. */
  lateAnswersIgnored: v.optional(v.boolean()),
});

export const SubmitResponse = v.object({
  success: v.literal(true),
  result: ResultSchema,
});

export const ListAttemptsQuery = v.object({
  ...pageQuery(),
  userId: v.optional(id),
  status: v.optional(v.picklist(ATTEMPT_STATUSES)),
});

export const StandingSchema = v.object({
  gradingMethod: v.string(),
  finalGrade: v.nullable(v.number()),
  passed: v.nullable(v.boolean()),
  attemptsUsed: v.number(),
  attemptsRemaining: v.nullable(v.number()),
  canStart: v.boolean(),
  nextAttemptAt: v.nullable(v.string()),
  openAttemptId: v.nullable(v.string()),
});

export const AttemptListResponse = v.object({
  success: v.literal(true),
  attempts: v.array(v.object({
    id: v.string(),
    quizId: v.string(),
    quizTitle: v.string(),
    mode: v.string(),
    status: v.string(),
    score: v.nullable(v.number()),
    totalPoints: v.nullable(v.number()),
    scorePercentage: v.nullable(v.number()),
    passed: v.nullable(v.boolean()),
    attemptedAt: v.string(),
    submittedAt: v.nullable(v.string()),
    timeTaken: v.nullable(v.number()),
    finishedBy: v.nullable(v.string()),
    user: v.optional(
      v.object({ id: v.string(), name: v.string(), email: v.string() }),
    ),
  })),
  pagination: PaginationSchema,
  /** The viewer's own standing on the quiz. */
  standing: StandingSchema,
  /** Owner and admins: per-question statistics over finished exam attempts. */
  questionStats: v.optional(v.array(v.object({
    questionId: v.string(),
    title: v.nullable(v.string()),
    answered: v.number(),
    percentCorrect: v.number(),
    averageScore: v.nullable(v.number()),
    mostChosenWrongAnswer: v.nullable(
      v.object({ answer: v.string(), count: v.number() }),
    ),
  }))),
});

/** An open attempt reads as on start; a finished one as on submit. */
export const AttemptViewResponse = v.union([
  StartResponse,
  v.object({
    success: v.literal(true),
    attemptId: v.string(),
    status: v.string(),
    result: ResultSchema,
  }),
]);
