import { useEffect, useState } from 'preact/hooks';
import { api, readOnly } from '../api';
import { ErrorNote, useLoad, useNotice } from '../components';
import { navigate, type Route } from '../router';
import type { Integration, Mappings } from '../types';

type WorkItemType = Mappings['workItemTypes'][number]['type'];
type StatusCategory = Mappings['statuses'][number]['category'];

interface MappingsResponse {
  version: number;
  mappings: Mappings;
  choices: { workItemTypes: WorkItemType[]; statusCategories: StatusCategory[] };
}

function Remove({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <button type="button" class="quiet danger" onClick={onClick} aria-label={label} disabled={readOnly}>
      Remove
    </button>
  );
}

export function MappingsPage({ route }: { route: Route }) {
  const integrations = useLoad(() => api<{ integrations: Integration[] }>('GET', 'integrations'), []);
  const list = integrations.data?.integrations ?? [];
  const integrationId = route.query.get('integration') ?? list[0]?.id ?? '';
  const loaded = useLoad(
    () =>
      integrationId
        ? api<MappingsResponse>('GET', `integrations/${encodeURIComponent(integrationId)}/mappings`)
        : Promise.resolve(null),
    [integrationId],
  );
  const [draft, setDraft] = useState<Mappings | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [notice, notify] = useNotice();
  useEffect(() => setDraft(loaded.data ? structuredClone(loaded.data.mappings) : null), [loaded.data]);

  const save = async (event: Event) => {
    event.preventDefault();
    if (!draft) return;
    try {
      setError(undefined);
      const body: Mappings = {
        workItemTypes: draft.workItemTypes,
        statuses: draft.statuses.map((s) =>
          s.workflowStep ? s : { rawStatus: s.rawStatus, category: s.category },
        ),
        workflows: draft.workflows,
      };
      const saved = await api<{ version: number }>(
        'PUT',
        `integrations/${encodeURIComponent(integrationId)}/mappings`,
        body,
      );
      notify(`Saved mappings version ${saved.version}. Replay raw data to apply them to loaded records.`);
      loaded.reload();
    } catch (e) {
      setError(e);
    }
  };
  const set = (fn: (m: Mappings) => void) => {
    if (!draft) return;
    const next = structuredClone(draft);
    fn(next);
    setDraft(next);
  };
  const choices = loaded.data?.choices ?? { workItemTypes: [], statusCategories: [] };

  return (
    <section aria-labelledby="mappings-title">
      <h1 id="mappings-title">Mappings</h1>
      <ErrorNote error={integrations.error} />
      {integrations.data && list.length === 0 && (
        <p class="empty">
          No integrations yet. <a href="integrations">Create one</a> first.
        </p>
      )}
      {list.length > 0 && (
        <label>
          Integration
          <select
            value={integrationId}
            onChange={(e) =>
              navigate(`mappings?integration=${encodeURIComponent(e.currentTarget.value)}`, true)
            }
          >
            {list.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <ErrorNote error={loaded.error} />
      {notice}
      {draft && loaded.data && (
        <form onSubmit={save} class="mappings">
          <p>Version {loaded.data.version}</p>
          <fieldset disabled={readOnly}>
            <h2 id="types-title">Work-item types and hierarchy</h2>
            <div class="table-wrap">
              <table aria-labelledby="types-title">
                <thead>
                  <tr>
                    <th scope="col">Source type</th>
                    <th scope="col">Canonical type</th>
                    <th scope="col">Hierarchy level</th>
                    <th scope="col">
                      <span class="sr-only">Remove</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {draft.workItemTypes.map((t, i) => (
                    <tr key={i}>
                      <td>
                        <input
                          aria-label={`Source type ${i + 1}`}
                          value={t.rawType}
                          required
                          onInput={(e) => set((m) => (m.workItemTypes[i]!.rawType = e.currentTarget.value))}
                        />
                      </td>
                      <td>
                        <select
                          aria-label={`Canonical type for ${t.rawType || 'row ' + (i + 1)}`}
                          value={t.type}
                          onChange={(e) =>
                            set((m) => (m.workItemTypes[i]!.type = e.currentTarget.value as WorkItemType))
                          }
                        >
                          {choices.workItemTypes.map((c) => (
                            <option key={c}>{c}</option>
                          ))}
                        </select>
                      </td>
                      <td>
                        <input
                          type="number"
                          min={-5}
                          max={10}
                          aria-label={`Hierarchy level for ${t.rawType || 'row ' + (i + 1)}`}
                          value={t.level}
                          onInput={(e) =>
                            set((m) => (m.workItemTypes[i]!.level = Number(e.currentTarget.value)))
                          }
                        />
                      </td>
                      <td>
                        <Remove
                          label={`Remove type ${t.rawType}`}
                          onClick={() => set((m) => m.workItemTypes.splice(i, 1))}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <button
              type="button"
              onClick={() =>
                set((m) =>
                  m.workItemTypes.push({ rawType: '', type: choices.workItemTypes[0] ?? 'task', level: 0 }),
                )
              }
            >
              Add type
            </button>

            <h2 id="statuses-title">Statuses → categories</h2>
            <div class="table-wrap">
              <table aria-labelledby="statuses-title">
                <thead>
                  <tr>
                    <th scope="col">Source status</th>
                    <th scope="col">Category</th>
                    <th scope="col">Workflow step</th>
                    <th scope="col">
                      <span class="sr-only">Remove</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {draft.statuses.map((s, i) => (
                    <tr key={i}>
                      <td>
                        <input
                          aria-label={`Source status ${i + 1}`}
                          value={s.rawStatus}
                          required
                          onInput={(e) => set((m) => (m.statuses[i]!.rawStatus = e.currentTarget.value))}
                        />
                      </td>
                      <td>
                        <select
                          aria-label={`Category for ${s.rawStatus || 'row ' + (i + 1)}`}
                          value={s.category}
                          onChange={(e) =>
                            set((m) => (m.statuses[i]!.category = e.currentTarget.value as StatusCategory))
                          }
                        >
                          {choices.statusCategories.map((c) => (
                            <option key={c}>{c}</option>
                          ))}
                        </select>
                      </td>
                      <td>
                        <input
                          aria-label={`Workflow step for ${s.rawStatus || 'row ' + (i + 1)}`}
                          value={s.workflowStep ?? ''}
                          onInput={(e) =>
                            set((m) => (m.statuses[i]!.workflowStep = e.currentTarget.value || undefined))
                          }
                        />
                      </td>
                      <td>
                        <Remove
                          label={`Remove status ${s.rawStatus}`}
                          onClick={() => set((m) => m.statuses.splice(i, 1))}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <button
              type="button"
              onClick={() =>
                set((m) =>
                  m.statuses.push({ rawStatus: '', category: choices.statusCategories[0] ?? 'todo' }),
                )
              }
            >
              Add status
            </button>

            <h2 id="workflows-title">Workflows</h2>
            <div class="table-wrap">
              <table aria-labelledby="workflows-title">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Steps (comma-separated, in order)</th>
                    <th scope="col">
                      <span class="sr-only">Remove</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {draft.workflows.map((w, i) => (
                    <tr key={i}>
                      <td>
                        <input
                          aria-label={`Workflow name ${i + 1}`}
                          value={w.name}
                          required
                          onInput={(e) => set((m) => (m.workflows[i]!.name = e.currentTarget.value))}
                        />
                      </td>
                      <td>
                        <input
                          aria-label={`Steps of ${w.name || 'workflow ' + (i + 1)}`}
                          value={w.steps.join(', ')}
                          required
                          onChange={(e) =>
                            set(
                              (m) =>
                                (m.workflows[i]!.steps = e.currentTarget.value
                                  .split(',')
                                  .map((x) => x.trim())
                                  .filter(Boolean)),
                            )
                          }
                        />
                      </td>
                      <td>
                        <Remove
                          label={`Remove workflow ${w.name}`}
                          onClick={() => set((m) => m.workflows.splice(i, 1))}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <button type="button" onClick={() => set((m) => m.workflows.push({ name: '', steps: [] }))}>
              Add workflow
            </button>
          </fieldset>
          <ErrorNote error={error} />
          {!readOnly && (
            <div class="buttons">
              <button type="submit" class="primary">
                Save mappings
              </button>
              <button type="button" onClick={() => setDraft(structuredClone(loaded.data!.mappings))}>
                Revert
              </button>
              <a class="button" href={`raw?integrationId=${encodeURIComponent(integrationId)}`}>
                Replay raw data…
              </a>
            </div>
          )}
        </form>
      )}
    </section>
  );
}
