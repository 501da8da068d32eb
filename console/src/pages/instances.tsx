// The tenant's instances with their live status and zone: filter, select several, run a command on
// the selection or reboot it. The list is re-read every few seconds while the tab is visible.
import { useMemo, useState } from 'preact/hooks';
import { errorText, tenantClient, type InstanceRow } from '../api.js';
import { usePolling, useTitle } from '../hooks.js';
import { instanceStatus } from '../format.js';
import { navigate } from '../router.js';
import { RunCommand } from './run-command.js';

const REFRESH_MS = 5_000;
const RUNNING = 2;

function matches(i: InstanceRow, text: string, status: string): boolean {
  if (status !== '' && String(i.running_status) !== status) return false;
  const t = text.trim().toLowerCase();
  return t === '' || [i.instance_id, i.instance_name, i.zone].some((v) => v.toLowerCase().includes(t));
}

export function Instances({ token }: { token: string }) {
  const title = useTitle('Instances');
  const client = useMemo(() => tenantClient(token), [token]);
  const [rows, setRows] = useState<InstanceRow[] | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  usePolling(
    async () => {
      try {
        setRows(await client.allInstances());
        setError('');
      } catch (e) {
        setError(errorText(e));
      }
    },
    REFRESH_MS,
    [client],
  );

  const shown = (rows ?? []).filter((i) => matches(i, filter, status));
  // Only what exists counts: an instance that went away drops out of the selection.
  const chosen = (rows ?? []).filter((i) => selected.has(i.instance_id)).map((i) => i.instance_id);
  const allShownSelected = shown.length > 0 && shown.every((i) => selected.has(i.instance_id));

  const toggle = (id: string, on: boolean): void => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const toggleShown = (on: boolean): void => {
    const next = new Set(selected);
    for (const i of shown) {
      if (on) next.add(i.instance_id);
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
      setRows(await client.allInstances());
    } catch (e) {
      setNotice(errorText(e));
    }
  };
  const notRunning = (rows ?? []).filter((i) => selected.has(i.instance_id) && i.running_status !== RUNNING).length;

  return (
    <main id="main">
      <h1 ref={title} tabIndex={-1}>
        Instances
      </h1>
      <RunCommand count={chosen.length} onRun={run} />
      <div class="toolbar">
        <label>
          Filter <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="id, name or zone" />
        </label>
        <label>
          Status{' '}
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
        <span class="count" aria-live="polite">
          {chosen.length} selected{rows === null ? '' : ` · ${shown.length} of ${rows.length} shown`}
        </span>
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <p role="alert" class="error">
        {error}
      </p>
      {rows === null ? (
        <p>Loading…</p>
      ) : (
        <table class="grid">
          <caption class="visually-hidden">Your instances</caption>
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all shown instances"
                  checked={allShownSelected}
                  onChange={(e) => toggleShown(e.currentTarget.checked)}
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
                    onChange={(e) => toggle(i.instance_id, e.currentTarget.checked)}
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
      {rows !== null && shown.length === 0 ? <p>No instance matches.</p> : null}
    </main>
  );
}
