import { useEffect, useState } from 'preact/hooks';

export interface Prefs {
  theme: 'system' | 'light' | 'dark';
  timeZone: string;
  pageSize: number;
}

const key = 'etl.prefs';
const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const defaults: Prefs = { theme: 'system', timeZone: localZone, pageSize: 25 };
const listeners = new Set<(p: Prefs) => void>();

function load(): Prefs {
  try {
    const stored = JSON.parse(localStorage.getItem(key) ?? '{}') as Partial<Prefs>;
    return {
      theme: stored.theme === 'light' || stored.theme === 'dark' ? stored.theme : 'system',
      timeZone:
        typeof stored.timeZone === 'string' && validZone(stored.timeZone) ? stored.timeZone : localZone,
      pageSize: [10, 25, 50, 100].includes(stored.pageSize as number)
        ? (stored.pageSize as number)
        : defaults.pageSize,
    };
  } catch {
    return defaults;
  }
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

let current = load();

export function applyTheme(prefs: Prefs = current): void {
  document.documentElement.dataset.theme = prefs.theme;
}

export function getPrefs(): Prefs {
  return current;
}

export function savePrefs(next: Prefs): void {
  current = next;
  localStorage.setItem(key, JSON.stringify(next));
  applyTheme(next);
  for (const listener of listeners) listener(next);
}

export function usePrefs(): Prefs {
  const [prefs, setPrefs] = useState(current);
  useEffect(() => {
    listeners.add(setPrefs);
    return () => void listeners.delete(setPrefs);
  }, []);
  return prefs;
}

export function formatTime(iso: string | null | undefined, prefs: Prefs = current): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, {
    timeZone: prefs.timeZone,
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(date);
}

export function timeZones(): string[] {
  const withSupported = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const zones = withSupported.supportedValuesOf?.('timeZone') ?? [];
  return zones.includes(localZone) ? zones : [localZone, ...zones];
}
