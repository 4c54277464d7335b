import OpenAI from "openai";
import type { AiConfig } from "../env.ts";
import { AppError } from "./errors.ts";

export const AI_ENV_VARS = [
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENAI_MODEL",
];

export interface AiProvider {
  client: OpenAI;
  model: string;
}

/** The official SDK for any OpenAI-compatible endpoint; undefined when no key is set. */
export function createAiProvider(config: AiConfig): AiProvider | undefined {
  if (!config.apiKey) return undefined;
  return {
    client: new OpenAI({
      apiKey: config.apiKey,
      ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
      timeout: config.timeoutMs,
      maxRetries: 2,
    }),
    model: config.model,
  };
}

/** 503 naming the variables, for features that need a provider and have no offline fallback. */
export function requireAi(deps: { ai: AiProvider | undefined }): AiProvider {
  if (!deps.ai) {
    throw new AppError(
      503,
      "AI_NOT_CONFIGURED",
      "No AI provider is configured on this server: set OPENAI_API_KEY, and OPENAI_BASE_URL and OPENAI_MODEL for a provider other than OpenAI",
      { env: AI_ENV_VARS },
    );
  }
  return deps.ai;
}

/** Provider failures in the contract's envelope: 504 on timeout, 502 otherwise, no internals. */
export function aiFailure(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new AppError(
      504,
      "AI_PROVIDER_TIMEOUT",
      "The AI provider did not answer in time; try again",
    );
  }
  return new AppError(
    502,
    "AI_PROVIDER_ERROR",
    "The AI provider could not answer; try again later",
    error instanceof OpenAI.APIError && error.status
      ? { providerStatus: error.status }
      : {},
  );
}
