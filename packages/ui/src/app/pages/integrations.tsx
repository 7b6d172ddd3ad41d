import { useState } from 'preact/hooks';
import { api, readOnly } from '../api';
import { Dialog, ErrorNote, useLoad, useNotice } from '../components';
import { formatTime, usePrefs } from '../prefs';
import type { ConnectorInfo, Integration, JsonSchema } from '../types';

const masked = '••••••';

function typeOf(schema: JsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (schema.enum) return 'enum';
  return type ?? 'json';
}

function ConfigField({
  name,
  schema,
  secret,
  required,
  value,
  onChange,
}: {
  name: string;
  schema: JsonSchema;
  secret: boolean;
  required: boolean;
  value: unknown;
  onChange: (v: unknown) => void;
}) {
  const type = typeOf(schema);
  const id = `config-${name}`;
  const label = (
    <span>
      {name}
      {required ? ' *' : ''}
      {secret ? ' (secret)' : ''}
    </span>
  );
  if (type === 'boolean') {
    return (
      <label class="check" for={id}>
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.currentTarget.checked)}
        />
        {label}
      </label>
    );
  }
  if (type === 'enum') {
    return (
      <label for={id}>
        {label}
        <select
          id={id}
          value={String(value ?? '')}
          onChange={(e) => onChange(e.currentTarget.value || undefined)}
        >
          <option value="">—</option>
          {(schema.enum ?? []).map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      </label>
    );
  }
  if (type === 'string' || type === 'number' || type === 'integer') {
    const numeric = type !== 'string';
    return (
      <label for={id}>
        {label}
        <input
          id={id}
          type={(secret ? 'password' : numeric ? 'number' : 'text') as 'text'}
          autocomplete={secret ? 'new-password' : 'off'}
          value={value === undefined || value === null ? '' : String(value)}
          onInput={(e) => {
            const text = e.currentTarget.value;
            onChange(text === '' ? undefined : numeric ? Number(text) : text);
          }}
        />
        {schema.description && <small>{schema.description}</small>}
      </label>
    );
  }
  return (
    <label for={id}>
      {label} (JSON)
      <textarea
        id={id}
        rows={3}
        value={value === undefined ? '' : JSON.stringify(value)}
        onChange={(e) => {
          try {
            onChange(e.currentTarget.value.trim() ? JSON.parse(e.currentTarget.value) : undefined);
          } catch {
            onChange(e.currentTarget.value);
          }
        }}
      />
    </label>
  );
}

function IntegrationForm({
  connectors,
  editing,
  onSaved,
  onCancel,
}: {
  connectors: ConnectorInfo[];
  editing: Integration | null;
  onSaved: (i: Integration) => void;
  onCancel: () => void;
}) {
  const [connector, setConnector] = useState(editing?.connector ?? connectors[0]?.name ?? '');
  const [name, setName] = useState(editing?.name ?? '');
  const [config, setConfig] = useState<Record<string, unknown>>(editing?.config ?? {});
  const [rawConfig, setRawConfig] = useState(JSON.stringify(editing?.config ?? {}, null, 2));
  const [schedule, setSchedule] = useState(editing?.scheduleSeconds ? String(editing.scheduleSeconds) : '');
  const [enabled, setEnabled] = useState(editing?.enabled ?? true);
  const [error, setError] = useState<unknown>(undefined);
  const [tested, setTested] = useState<string | undefined>(undefined);
  const info = connectors.find((c) => c.name === connector);
  const properties = info?.configSchema?.properties;

  /** The config as the form holds it, or undefined (with the error shown) when the JSON is malformed. */
  const formConfig = (): Record<string, unknown> | undefined => {
    if (properties) return config;
    try {
      return JSON.parse(rawConfig) as Record<string, unknown>;
    } catch (e) {
      setError(new Error(`config is not valid JSON: ${(e as Error).message}`));
      return undefined;
    }
  };

  // Tests the unsaved settings; a changed site needs its secrets typed in again, as saving does.
  const testDraft = async () => {
    const cfg = formConfig();
    if (!cfg || !editing) return;
    try {
      setError(undefined);
      setTested(undefined);
      const { result } = await api<{ result: { ok: boolean; message: string } }>(
        'POST',
        `integrations/${encodeURIComponent(editing.id)}/test`,
        { config: cfg },
      );
      setTested(`${result.ok ? 'Connection OK' : 'Connection failed'} — ${result.message}`);
    } catch (e) {
      setError(e);
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const cfg = formConfig();
    if (!cfg) return;
    const scheduleSeconds = schedule ? Number(schedule) : null;
    try {
      setError(undefined);
      const body = editing
        ? { name, config: cfg, scheduleSeconds, enabled }
        : { connector, name, config: cfg, scheduleSeconds, enabled };
      const { integration } = editing
        ? await api<{ integration: Integration }>(
            'PATCH',
            `integrations/${encodeURIComponent(editing.id)}`,
            body,
          )
        : await api<{ integration: Integration }>('POST', 'integrations', body);
      onSaved(integration);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <form class="form" onSubmit={submit}>
      <label>
        Connector
        <select
          value={connector}
          disabled={editing !== null}
          onChange={(e) => {
            setConnector(e.currentTarget.value);
            setConfig({});
          }}
        >
          {connectors.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Name
        <input value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>Configuration</legend>
        {properties ? (
          Object.entries(properties).map(([key, schema]) => (
            <ConfigField
              key={key}
              name={key}
              schema={schema}
              secret={info?.secretFields.includes(key) ?? false}
              required={info?.configSchema?.required?.includes(key) ?? false}
              value={config[key]}
              onChange={(v) => setConfig({ ...config, [key]: v })}
            />
          ))
        ) : (
          <label>
            Config (JSON)
            <textarea rows={6} value={rawConfig} onInput={(e) => setRawConfig(e.currentTarget.value)} />
          </label>
        )}
        {editing && (
          <small>
            Secrets show as {masked}; leave them unchanged to keep the stored value. A secret is only sent to
            the site it was saved for: change the site's URL and enter its secrets again.
          </small>
        )}
      </fieldset>
      <label>
        Sync every (seconds, empty = manual only)
        <input type="number" min={60} value={schedule} onInput={(e) => setSchedule(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />{' '}
        Enabled
      </label>
      <ErrorNote error={error} />
      {tested && (
        <p class="notice" role="status">
          {tested}
        </p>
      )}
      <div class="buttons">
        <button type="submit" class="primary">
          {editing ? 'Save' : 'Create'}
        </button>
        {editing && (
          <button type="button" onClick={() => void testDraft()}>
            Test these settings
          </button>
        )}
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function IntegrationsPage() {
  const prefs = usePrefs();
  const list = useLoad(() => api<{ integrations: Integration[] }>('GET', 'integrations'), []);
  const connectors = useLoad(() => api<{ connectors: ConnectorInfo[] }>('GET', 'connectors'), []);
  const [editing, setEditing] = useState<Integration | 'new' | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [notice, notify] = useNotice();

  const test = async (integration: Integration) => {
    try {
      setError(undefined);
      const { result } = await api<{ result: { ok: boolean; message: string } }>(
        'POST',
        `integrations/${encodeURIComponent(integration.id)}/test`,
        {},
      );
      notify(`${integration.name}: ${result.ok ? 'connection OK' : 'connection failed'} — ${result.message}`);
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (integration: Integration) => {
    if (!confirm(`Delete integration "${integration.name}"?`)) return;
    try {
      setError(undefined);
      await api('DELETE', `integrations/${encodeURIComponent(integration.id)}`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="integrations-title">
      <div class="page-head">
        <h1 id="integrations-title">Integrations</h1>
        {!readOnly && (
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            New integration
          </button>
        )}
      </div>
      {notice}
      <ErrorNote error={list.error ?? error} />
      {list.data && list.data.integrations.length === 0 && <p class="empty">No integrations yet.</p>}
      {list.data && list.data.integrations.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Connector</th>
                <th scope="col">Config</th>
                <th scope="col">Schedule</th>
                <th scope="col">Enabled</th>
                <th scope="col">Updated</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.integrations.map((i) => (
                <tr key={i.id}>
                  <td class="integration-name">{i.name}</td>
                  <td>{i.connector}</td>
                  <td>
                    <details>
                      <summary>{Object.keys(i.config).length} fields</summary>
                      <code class="config">{JSON.stringify(i.config, null, 1)}</code>
                    </details>
                  </td>
                  <td>{i.scheduleSeconds ? `every ${i.scheduleSeconds} s` : 'manual'}</td>
                  <td>{i.enabled ? 'yes' : 'no'}</td>
                  <td>{formatTime(i.updatedAt, prefs)}</td>
                  <td class="actions">
                    <button
                      type="button"
                      onClick={() => void test(i)}
                      aria-label={`Test connection of ${i.name}`}
                    >
                      Test
                    </button>
                    <a class="button" href={`mappings?integration=${encodeURIComponent(i.id)}`}>
                      Mappings
                    </a>
                    {!readOnly && (
                      <>
                        <button type="button" onClick={() => setEditing(i)} aria-label={`Edit ${i.name}`}>
                          Edit
                        </button>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => void remove(i)}
                          aria-label={`Delete ${i.name}`}
                        >
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog
        title={editing === 'new' ? 'New integration' : 'Edit integration'}
        open={editing !== null}
        onClose={() => setEditing(null)}
      >
        {editing !== null && connectors.data && (
          <IntegrationForm
            connectors={connectors.data.connectors}
            editing={editing === 'new' ? null : editing}
            onCancel={() => setEditing(null)}
            onSaved={(i) => {
              setEditing(null);
              notify(`Saved ${i.name}.`);
              list.reload();
            }}
          />
        )}
      </Dialog>
    </section>
  );
}
