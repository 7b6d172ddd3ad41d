import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface SpaAsset {
  body: Uint8Array;
  type: string;
  etag: string;
}

/** The built SPA, read once from disk. */
export interface SpaAssets {
  get(name: string): Promise<SpaAsset | undefined>;
}

const assetTypes: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/**
 * Where the bundle lives: next to the built module (`dist/app/`), or, when running from source
 * (tests, the workspace), in the package's `dist/app/`.
 */
export function spaAssetDir(): string {
  const candidates = [new URL('./app/', import.meta.url), new URL('../dist/app/', import.meta.url)];
  const found = candidates.find((dir) => existsSync(new URL('app.js', dir)));
  return fileURLToPath(found ?? candidates[candidates.length - 1]!);
}

export function spaAssets(dir: string = spaAssetDir()): SpaAssets {
  const cache = new Map<string, Promise<SpaAsset | undefined>>();
  const load = async (name: string): Promise<SpaAsset | undefined> => {
    try {
      const body = new Uint8Array(await readFile(`${dir}/${name}`));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      return { body, type: assetTypes[name]!, etag };
    } catch {
      cache.delete(name);
      return undefined;
    }
  };
  return {
    get(name) {
      if (!(name in assetTypes)) return Promise.resolve(undefined);
      let entry = cache.get(name);
      if (!entry) {
        entry = load(name);
        cache.set(name, entry);
      }
      return entry;
    },
  };
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The SPA's one HTML page. Every URL in it, and in the bundle, is relative to `<base href>`. */
export function renderIndexHtml(options: { baseHref: string; readOnly: boolean; title: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<base href="${escapeAttribute(options.baseHref)}">
<meta name="etl-read-only" content="${options.readOnly ? 'true' : 'false'}">
<title>${escapeAttribute(options.title)}</title>
<link rel="stylesheet" href="assets/app.css">
<script type="module" src="assets/app.js"></script>
</head>
<body>
<div id="app"><noscript>This operations UI needs JavaScript.</noscript></div>
</body>
</html>
`;
}

/**
 * The base href for a page, relative so that it survives any reverse-proxy prefix: `pathInUi` is the
 * request path below the UI's mount point (`/`, `/jobs`, `/jobs/abc`), `mountSegment` the last segment
 * of the mount path, used when the UI root is requested without its trailing slash.
 */
export function relativeBaseHref(pathInUi: string, mountSegment: string | null): string {
  if (pathInUi === '' && mountSegment) return `${encodeURIComponent(mountSegment)}/`;
  const depth = (pathInUi.match(/\//g) ?? []).length;
  return depth <= 1 ? './' : '../'.repeat(depth - 1);
}

export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "object-src 'none'",
].join('; ');
