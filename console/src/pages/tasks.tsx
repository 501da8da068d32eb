// The tenant's tasks, newest first, with how many jobs are in each state; the first page is
// re-read every few seconds while the tab is visible, older pages load on demand.
import { useMemo, useState } from 'preact/hooks';
import { errorText, tenantClient, type TaskSummary } from '../api.js';
import { usePolling, useTitle } from '../hooks.js';
import { stateCounts, time } from '../format.js';
import { Link } from '../router.js';

const PAGE = 20;
const REFRESH_MS = 5_000;

export function Tasks({ token }: { token: string }) {
  const title = useTitle('Tasks');
  const client = useMemo(() => tenantClient(token), [token]);
  const [first, setFirst] = useState<TaskSummary[] | null>(null);
  const [older, setOlder] = useState<TaskSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState('');

  usePolling(
    async () => {
      try {
        const page = await client.listTasks({ limit: PAGE });
        setFirst(page.tasks);
        // Older pages, once loaded, stay as they were; only the cursor of the first page moves on.
        if (older.length === 0) setCursor(page.next_cursor);
        setError('');
      } catch (e) {
        setError(errorText(e));
      }
    },
    REFRESH_MS,
    [client],
  );

  const more = async (): Promise<void> => {
    if (cursor === null) return;
    try {
      const page = await client.listTasks({ limit: PAGE, cursor });
      setOlder([...older, ...page.tasks]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const seen = new Set((first ?? []).map((t) => t.task_id));
  const tasks = [...(first ?? []), ...older.filter((t) => !seen.has(t.task_id))];
  return (
    <main id="main">
      <h1 ref={title} tabIndex={-1}>
        Tasks
      </h1>
      <p role="alert" class="error">
        {error}
      </p>
      {first === null ? (
        <p>Loading…</p>
      ) : tasks.length === 0 ? (
        <p>
          No tasks yet: <Link to="/instances">run a command</Link> on some instances.
        </p>
      ) : (
        <table class="grid">
          <caption class="visually-hidden">Your tasks, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Command</th>
              <th scope="col">Jobs</th>
              <th scope="col">Task</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.task_id}>
                <td>{time(t.created_at)}</td>
                <td class="mono">{t.command}</td>
                <td>{stateCounts(Object.entries(t.counts))}</td>
                <td class="mono">
                  <Link to={`/tasks/${t.task_id}`}>{t.task_id}</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor === null ? null : (
        <button type="button" onClick={() => void more()}>
          Older tasks
        </button>
      )}
    </main>
  );
}
