/** `ABC-123` with word boundaries; matched case-insensitively so branch names like `feature/abc-123-fix` count. */
const KEY_PATTERN = /(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9_]*)-(\d+)(?![A-Za-z0-9])/g;

/**
 * Work-item keys named in pull-request texts, kept only when their project is one the workspace knows, so
 * look-alikes such as `UTF-8`, `SHA-256` or `CVE-2024` never link. Keys come back upper-case, deduplicated,
 * in order of first appearance.
 *
 * @example
 * findWorkItemKeys(['ABC-12: use SHA-256', 'feature/abc-7'], new Set(['ABC'])); // ['ABC-12', 'ABC-7']
 */
export function findWorkItemKeys(
  texts: (string | null | undefined)[],
  projects: ReadonlySet<string>,
): string[] {
  if (projects.size === 0) return [];
  const keys = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const match of text.matchAll(KEY_PATTERN)) {
      const project = match[1].toUpperCase();
      if (projects.has(project)) keys.add(`${project}-${Number(match[2])}`);
    }
  }
  return [...keys];
}
