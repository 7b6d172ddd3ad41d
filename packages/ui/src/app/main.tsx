import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { readOnly } from './api';
import { HomePage } from './pages/home';
import { IntegrationsPage } from './pages/integrations';
import { JobDetailPage, JobsPage } from './pages/jobs';
import { MappingsPage } from './pages/mappings';
import { PreferencesPage } from './pages/preferences';
import { QueuesPage } from './pages/queues';
import { RawPage } from './pages/raw';
import { VectorPage } from './pages/vector';
import { applyTheme } from './prefs';
import { onLinkClick, useRoute, type Route } from './router';
import './styles.css';

const nav: { path: string; label: string }[] = [
  { path: '', label: 'Home' },
  { path: 'jobs', label: 'Jobs' },
  { path: 'queues', label: 'Queues' },
  { path: 'raw', label: 'Raw data' },
  { path: 'integrations', label: 'Integrations' },
  { path: 'mappings', label: 'Mappings' },
  { path: 'vector', label: 'Vector index' },
  { path: 'preferences', label: 'Preferences' },
];

function Page({ route }: { route: Route }) {
  const [section, id] = route.path.split('/');
  switch (section) {
    case '':
      return <HomePage />;
    case 'jobs':
      return id ? <JobDetailPage key={id} jobId={id} /> : <JobsPage route={route} />;
    case 'queues':
      return <QueuesPage />;
    case 'raw':
      return <RawPage route={route} />;
    case 'integrations':
      return <IntegrationsPage />;
    case 'mappings':
      return <MappingsPage route={route} />;
    case 'vector':
      return <VectorPage />;
    case 'preferences':
      return <PreferencesPage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page here. <a href="./">Go to the overview</a>.
          </p>
        </section>
      );
  }
}

function App() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);
  const section = route.path.split('/')[0] ?? '';
  useEffect(() => {
    const label = nav.find((n) => n.path === section)?.label ?? 'ETL';
    document.title = `${label} · ETL`;
    // After a client-side navigation, move focus to the new page as a full page load would.
    if (!firstRender.current) main.current?.focus({ preventScroll: true });
    firstRender.current = false;
  }, [route.path]);
  return (
    <div class="shell" onClick={(e) => onLinkClick(e as unknown as MouseEvent)}>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="./">
          ETL
        </a>
        {readOnly && <span class="badge">read-only</span>}
        <nav aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.path}>
                <a href={n.path || './'} aria-current={section === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </div>
  );
}

applyTheme();
render(<App />, document.getElementById('app')!);
