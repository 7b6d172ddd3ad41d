/** One failed API call, with the server's code, message and offending fields. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** Resolves an API path against `<base href>`, so the app works under any mount and proxy prefix. */
export function apiUrl(path: string, query?: Record<string, string | number | boolean | undefined>): string {
  const url = new URL(`api/${path}`, document.baseURI);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  return url.toString();
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  query?: Record<string, string | number | boolean | undefined>,
): Promise<T> {
  const response = await fetch(apiUrl(path, query), {
    method,
    headers:
      body === undefined
        ? { Accept: 'application/json' }
        : { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (
      data as {
        error?: { code?: string; message?: string; issues?: { path: string; message: string }[] };
      } | null
    )?.error;
    throw new ApiFailure(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `${response.status} ${response.statusText}`,
      error?.issues,
    );
  }
  return data as T;
}

export const readOnly =
  document.querySelector('meta[name="etl-read-only"]')?.getAttribute('content') === 'true';
