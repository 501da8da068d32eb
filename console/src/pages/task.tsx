// One task: each instance's job with its state live over Server-Sent Events, exit code and message,
// the full output of any job, and cancel.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorText, isPermanent, tenantClient, type Job } from '../api.js';
import { useTitle } from '../hooks.js';
import { duration, FINAL_STATES, stateCounts, stateLabel, time } from '../format.js';
import { Link } from '../router.js';
import { OutputViewer } from './output-viewer.js';

/** How long to wait before following the task again after its stream broke. */
const RETRY_MS = 2_000;

function summary(jobs: readonly Job[]): string {
  const counts = new Map<string, number>();
  for (const j of jobs) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
  return stateCounts(counts);
}

export function Task({ token, taskId }: { token: string; taskId: string }) {
  const title = useTitle(`Task ${taskId.slice(0, 8)}`);
  const client = useMemo(() => tenantClient(token), [token]);
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    const follow = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        try {
          // The task as it is, then each change as it happens; the stream ends when all are final.
          setJobs((await client.getTask(taskId)).jobs);
          setError('');
          for await (const job of client.taskEvents(taskId, { signal: abort.signal })) {
            setJobs((old) => (old ?? []).map((j) => (j.job_id === job.job_id ? job : j)));
          }
          setJobs((await client.getTask(taskId)).jobs);
          return;
        } catch (e) {
          if (abort.signal.aborted) return;
          setError(errorText(e));
          // A task that is not the caller's, or a token the service no longer takes, stays so.
          if (isPermanent(e)) return;
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    };
    void follow();
    return () => abort.abort();
  }, [client, taskId]);

  const finished = jobs !== null && jobs.every((j) => FINAL_STATES.has(j.state));
  const cancel = async (): Promise<void> => {
    setCancelling(true);
    try {
      setJobs((await client.cancelTask(taskId)).jobs);
      setNotice('Cancel requested: queued jobs are cancelled, running ones are stopped.');
    } catch (e) {
      setNotice(errorText(e));
    } finally {
      setCancelling(false);
    }
  };

  return (
    <main id="main">
      <p class="crumbs">
        <Link to="/tasks">All tasks</Link>
      </p>
      <h1 ref={title} tabIndex={-1}>
        Task <span class="mono">{taskId}</span>
      </h1>
      <div class="toolbar">
        <span aria-live="polite" class="summary">
          {jobs === null ? 'Loading…' : `${summary(jobs)}${finished ? ' · finished' : ''}`}
        </span>
        <button type="button" onClick={() => void cancel()} disabled={jobs === null || finished || cancelling}>
          Cancel task
        </button>
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <p role="alert" class="error">
        {error}
      </p>
      {jobs === null ? null : (
        <table class="grid">
          <caption class="visually-hidden">Jobs of this task, one per instance</caption>
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">State</th>
              <th scope="col">Exit code</th>
              <th scope="col">Message</th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
              <th scope="col">Output</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.job_id} data-instance={j.instance_id}>
                <td class="mono">{j.instance_id}</td>
                <td>
                  <span class={`badge ${j.state}`}>{stateLabel(j.state)}</span>
                </td>
                <td class="mono">{j.exit_code ?? ''}</td>
                <td>
                  {j.error_code === '' || j.error_code === '0' ? '' : <span class="mono">{j.error_code} </span>}
                  {j.error_code === '' ? '' : j.error_msg}
                </td>
                <td>{time(j.started_at)}</td>
                <td>{duration(j.started_at, j.finished_at)}</td>
                <td>
                  <button
                    type="button"
                    aria-expanded={open === j.job_id}
                    aria-controls="output"
                    onClick={() => setOpen(open === j.job_id ? null : j.job_id)}
                  >
                    {open === j.job_id ? 'Hide' : 'Output'}
                    <span class="visually-hidden"> of {j.instance_id}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open === null || jobs === null ? null : (
        <OutputViewer client={client} taskId={taskId} job={jobs.find((j) => j.job_id === open) ?? null} />
      )}
    </main>
  );
}
