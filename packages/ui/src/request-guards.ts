import type { MiddlewareHandler } from 'hono';
import { httpRefusal } from './http-errors.js';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * Refuses cross-site state changes. Browsers send `Origin` (and `Sec-Fetch-Site`) on every non-GET
 * request, so a request from another site is recognised without a token; clients that send neither
 * (curl, other services) are let through, as they carry no ambient browser credentials.
 * A body must be JSON, which a plain HTML form cannot send.
 */
export function crossSiteGuard(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowedHosts = new Set(allowedOrigins.map((o) => hostOf(o)).filter((h): h is string => h !== null));
  return async (c, next) => {
    if (safeMethods.has(c.req.method)) return next();
    const fetchSite = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    if (origin !== undefined) {
      const requestHost = (
        c.req.header('x-forwarded-host') ??
        c.req.header('host') ??
        new URL(c.req.url).host
      )
        .split(',')[0]!
        .trim()
        .toLowerCase();
      const originHost = hostOf(origin);
      if (originHost === null || (originHost !== requestHost && !allowedHosts.has(originHost))) {
        throw httpRefusal(403, 'cross_site_request', `requests from origin ${origin} are not allowed`);
      }
    } else if (fetchSite === 'cross-site') {
      throw httpRefusal(403, 'cross_site_request', 'cross-site requests are not allowed');
    }
    const type = c.req.header('content-type');
    if (type !== undefined && type !== '' && !/^application\/json\s*(;|$)/i.test(type)) {
      throw httpRefusal(415, 'unsupported_media_type', 'request body must be application/json');
    }
    return next();
  };
}

/** Marks a route as a write: refused with 405 when the UI is read-only. */
export function writeGuard(readOnly: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (readOnly) {
      c.header('Allow', 'GET, HEAD');
      throw httpRefusal(405, 'read_only', 'this UI is read-only');
    }
    return next();
  };
}
