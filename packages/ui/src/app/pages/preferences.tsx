import { useMemo } from 'preact/hooks';
import { formatTime, savePrefs, timeZones, usePrefs, type Prefs } from '../prefs';

export function PreferencesPage() {
  const prefs = usePrefs();
  const zones = useMemo(timeZones, []);
  const update = (patch: Partial<Prefs>) => savePrefs({ ...prefs, ...patch });
  return (
    <section aria-labelledby="prefs-title">
      <h1 id="prefs-title">Preferences</h1>
      <p>Kept in this browser only.</p>
      <form class="form" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>Theme</legend>
          {(['system', 'light', 'dark'] as const).map((theme) => (
            <label key={theme} class="check">
              <input
                type="radio"
                name="theme"
                value={theme}
                checked={prefs.theme === theme}
                onChange={() => update({ theme })}
              />{' '}
              {theme}
            </label>
          ))}
        </fieldset>
        <label>
          Time zone
          <select value={prefs.timeZone} onChange={(e) => update({ timeZone: e.currentTarget.value })}>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <p>Now: {formatTime(new Date().toISOString(), prefs)}</p>
        <label>
          Rows per page
          <select
            value={prefs.pageSize}
            onChange={(e) => update({ pageSize: Number(e.currentTarget.value) })}
          >
            {[10, 25, 50, 100].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </form>
    </section>
  );
}
