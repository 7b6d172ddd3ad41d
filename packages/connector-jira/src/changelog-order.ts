import type { JiraHistory } from './jira-types.js';

function historyOrder(a: JiraHistory, b: JiraHistory): number {
  const dt = Date.parse(a.created) - Date.parse(b.created);
  if (dt !== 0) return dt;
  return Number(a.id) - Number(b.id) || a.id.localeCompare(b.id);
}

/** Sorts histories by time, then by history id, and drops duplicates (pages may overlap). */
export function orderHistories(histories: JiraHistory[]): JiraHistory[] {
  const byId = new Map<string, JiraHistory>();
  for (const h of histories) byId.set(h.id, h);
  return [...byId.values()].sort(historyOrder);
}
