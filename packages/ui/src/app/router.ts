import { useEffect, useState } from 'preact/hooks';

/** The path below the UI's base href (`''`, `jobs`, `jobs/abc`) and its query. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

function currentRoute(): Route {
  const base = new URL(document.baseURI);
  const here = new URL(location.href);
  const path = here.pathname.startsWith(base.pathname) ? here.pathname.slice(base.pathname.length) : '';
  return { path: decodeURIComponent(path.replace(/\/+$/, '')), query: here.searchParams };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

/** Navigates to a path relative to the base href (`jobs?status=failed`). */
export function navigate(href: string, replace = false): void {
  const url = new URL(href, document.baseURI).toString();
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((l) => l());
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return route;
}

/** Client-side navigation for plain left clicks on in-app links; other clicks keep browser behaviour. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as Element).closest('a');
  if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(anchor.href);
  const base = new URL(document.baseURI);
  if (
    url.origin !== base.origin ||
    !url.pathname.startsWith(base.pathname) ||
    url.pathname.startsWith(base.pathname + 'api/')
  )
    return;
  event.preventDefault();
  history.pushState(null, '', url.toString());
  listeners.forEach((l) => l());
}
