// The tenant's instances with their live status and zone, a page at a time (a fleet can hold
// thousands): filter, select several (the selection stays while paging), run a command on the
// selection or reboot it. The page shown is re-read every few seconds while the tab is visible.
import { useMemo, useRef, useState } from 'preact/hooks';
import { errorText, tenantClient, type InstanceRow } from '../api.js';
import { usePolling, useTitle } from '../hooks.js';
import { instanceStatus } from '../format.js';
import { navigate } from '../router.js';
import { RunCommand } from './run-command.js';

const REFRESH_MS = 5_000;
/** Rows a page; the service gives at most 100. */
const PAGE_SIZE = 50;
const RUNNING = 2;
/** The service's limit on the name filter (docs/API.md). */
const MAX_FILTER = 128;

interface Page {
  rows: InstanceRow[];
  total: number;
}

const pageCount = (total: number): number => Math.max(1, Math.ceil(total / PAGE_SIZE));

export function Instances({ token }: { token: string }) {
  const title = useTitle('Instances');
  const client = useMemo(() => tenantClient(token), [token]);
  const [page, setPage] = useState<Page | null>(null);
  const [pageNo, setPageNo] = useState(1);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [name, setName] = useState('');
  const [status, setStatus] = useState('');
  // Selected ids with their last status seen: instances on other pages stay selected.
  const [selected, setSelected] = useState<ReadonlyMap<string, number>>(new Map());
  // Answers can arrive out of order while the filter is typed: only the latest query's counts.
  const query = useRef(0);

  const load = async (): Promise<void> => {
    const q = ++query.current;
    const filter = name.trim();
    try {
      const p = await client.listInstances({ page_no: pageNo, page_size: PAGE_SIZE, ...(filter === '' ? {} : { instance_name: filter }) });
      if (q !== query.current) return;
      // The fleet shrank under the page shown: go to its new last page.
      const pages = pageCount(p.total_count);
      if (pageNo > pages) return setPageNo(pages);
      setPage({ rows: p.result, total: p.total_count });
      setSelected((old) => {
        if (!p.result.some((i) => old.has(i.instance_id))) return old;
        const next = new Map(old);
        for (const i of p.result) if (next.has(i.instance_id)) next.set(i.instance_id, i.running_status);
        return next;
      });
      setError('');
    } catch (e) {
      if (q === query.current) setError(errorText(e));
    }
  };
  usePolling(load, REFRESH_MS, [client, pageNo, name]);

  const rows = page?.rows ?? [];
  const shown = rows.filter((i) => status === '' || String(i.running_status) === status);
  const chosen = [...selected.keys()];
  const allShownSelected = shown.length > 0 && shown.every((i) => selected.has(i.instance_id));
  const pages = page === null ? 1 : pageCount(page.total);
  const notRunning = [...selected.values()].filter((s) => s !== RUNNING).length;

  const toggle = (rowsToToggle: readonly InstanceRow[], on: boolean): void => {
    const next = new Map(selected);
    for (const i of rowsToToggle) {
      if (on) next.set(i.instance_id, i.running_status);
      else next.delete(i.instance_id);
    }
    setSelected(next);
  };

  const run = async (command: string, timeoutSeconds: number): Promise<void> => {
    const task = await client.runCommand({ command, instance_ids: chosen, timeout_seconds: timeoutSeconds });
    navigate(`/tasks/${task.task_id}`);
  };
  const reboot = async (): Promise<void> => {
    setNotice('');
    try {
      await client.reboot(chosen);
      setNotice(`Rebooting ${chosen.length} instance${chosen.length === 1 ? '' : 's'}: they show "starting" until adbd answers again.`);
      await load();
    } catch (e) {
      setNotice(errorText(e));
    }
  };

  return (
    <main id="main">
      <h1 ref={title} tabIndex={-1}>
        Instances
      </h1>
      <RunCommand count={chosen.length} onRun={run} />
      <div class="toolbar">
        <label>
          Name contains{' '}
          <input
            type="search"
            value={name}
            maxLength={MAX_FILTER}
            onInput={(e) => {
              setName(e.currentTarget.value);
              setPageNo(1);
            }}
          />
        </label>
        <label>
          Status on this page{' '}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            {[2, 3, 4, 1, 5, 0].map((s) => (
              <option key={s} value={String(s)}>
                {instanceStatus(s)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={chosen.length === 0 || notRunning > 0} onClick={() => void reboot()}
          title={notRunning > 0 ? 'Only running instances can be rebooted' : undefined}>
          Reboot selected
        </button>
        <button type="button" class="secondary" disabled={chosen.length === 0} onClick={() => setSelected(new Map())}>
          Clear selection
        </button>
        <span class="count" aria-live="polite">
          {chosen.length} selected{page === null ? '' : ` · ${page.total} instance${page.total === 1 ? '' : 's'}`}
        </span>
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <p role="alert" class="error">
        {error}
      </p>
      {page === null ? (
        <p>Loading…</p>
      ) : (
        <table class="grid">
          <caption class="visually-hidden">Your instances, page {pageNo} of {pages}</caption>
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all shown instances"
                  checked={allShownSelected}
                  onChange={(e) => toggle(shown, e.currentTarget.checked)}
                />
              </th>
              <th scope="col">Instance</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Zone</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((i) => (
              <tr key={i.instance_id} class={selected.has(i.instance_id) ? 'selected' : undefined}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${i.instance_id}`}
                    checked={selected.has(i.instance_id)}
                    onChange={(e) => toggle([i], e.currentTarget.checked)}
                  />
                </td>
                <td class="mono">{i.instance_id}</td>
                <td>{i.instance_name}</td>
                <td>
                  <span class={`badge s${i.running_status}`}>{instanceStatus(i.running_status)}</span>
                </td>
                <td>{i.zone}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page !== null && shown.length === 0 ? <p>No instance matches.</p> : null}
      {pages > 1 ? (
        <nav class="pager" aria-label="Instance pages">
          <button type="button" class="secondary" disabled={pageNo <= 1} onClick={() => setPageNo(pageNo - 1)}>
            Previous page
          </button>
          <span>
            Page {pageNo} of {pages}
          </span>
          <button type="button" class="secondary" disabled={pageNo >= pages} onClick={() => setPageNo(pageNo + 1)}>
            Next page
          </button>
        </nav>
      ) : null}
    </main>
  );
}
