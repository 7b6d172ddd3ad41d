import { EtlError, type EtlErrorCode } from '@etl/core';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The body of every error the API returns. */
export interface ApiErrorBody {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

const statusByCode: Partial<Record<EtlErrorCode, ContentfulStatusCode>> = {
  invalid_input: 400,
  invalid_config: 400,
  unknown_connector: 400,
  not_found: 404,
  conflict: 409,
  illegal_transition: 409,
  forbidden: 403,
  auth_failed: 502,
  unreachable: 502,
  source_error: 502,
  rate_limited: 429,
  timeout: 504,
  unsupported: 501,
};

/** HTTP status for a thrown EtlError; client mistakes are 4xx, only the server's own faults are 500. */
export function statusForEtlError(error: EtlError): ContentfulStatusCode {
  return statusByCode[error.code] ?? 500;
}

function issuesOf(details: unknown): { path: string; message: string }[] | undefined {
  if (!Array.isArray(details)) return undefined;
  const issues = details.filter(
    (d): d is { path: string; message: string } =>
      typeof d === 'object' && d !== null && typeof d.path === 'string' && typeof d.message === 'string',
  );
  return issues.length > 0 ? issues : undefined;
}

export function errorBody(
  code: string,
  message: string,
  issues?: ApiErrorBody['error']['issues'],
): ApiErrorBody {
  return { error: issues ? { code, message, issues } : { code, message } };
}

/** Turns anything a route throws into a JSON error response. */
export function errorResponse(c: Context, error: unknown): Response {
  if (error instanceof EtlError) {
    const status = statusForEtlError(error);
    if (status >= 500 && status !== 501) console.error(error);
    return c.json(errorBody(error.code, error.message, issuesOf(error.details)), status);
  }
  if (error instanceof HTTPException) {
    // The host's middleware answered (basic auth's 401 with its WWW-Authenticate): its response passes unchanged.
    if (error.res) return error.getResponse();
    const status = error.status as ContentfulStatusCode;
    const code = (error.cause as { code?: string } | undefined)?.code ?? 'http_' + status;
    return c.json(errorBody(code, error.message), status);
  }
  console.error(error);
  return c.json(errorBody('internal', 'internal error; see the server log'), 500);
}

/** An HTTP-level refusal (wrong media type, cross-site request, read-only mode) with a stable code. */
export function httpRefusal(status: ContentfulStatusCode, code: string, message: string): HTTPException {
  return new HTTPException(status, { message, cause: { code } });
}
