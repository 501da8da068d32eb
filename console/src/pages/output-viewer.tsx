// The full stored output of one job (not only execute_msg's first 1024 bytes): combined, stdout or
// stderr. Read again when the job's state changes, so a running job's output catches up.
import { useEffect, useState } from 'preact/hooks';
import { errorText, type Job, type TenantClient } from '../api.js';
import { stateLabel } from '../format.js';

type Output = Awaited<ReturnType<TenantClient['getJobOutput']>>;
type Stream = 'combined' | 'stdout' | 'stderr';

export function OutputViewer({ client, taskId, job }: { client: TenantClient; taskId: string; job: Job | null }) {
  const [output, setOutput] = useState<Output | null>(null);
  const [stream, setStream] = useState<Stream>('combined');
  const [error, setError] = useState('');
  const jobId = job?.job_id ?? '';
  const state = job?.state ?? '';

  useEffect(() => {
    if (jobId === '') return;
    let live = true;
    client.getJobOutput(taskId, jobId).then(
      (o) => {
        if (!live) return;
        setOutput(o);
        setError('');
      },
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [client, taskId, jobId, state]);

  if (job === null) return null;
  return (
    <section id="output" class="card output" aria-labelledby="output-title">
      <h2 id="output-title">
        Output of <span class="mono">{job.instance_id}</span> ({stateLabel(job.state)})
      </h2>
      <div class="toolbar">
        <label>
          Stream{' '}
          <select value={stream} onChange={(e) => setStream(e.currentTarget.value as Stream)}>
            <option value="combined">stdout and stderr</option>
            <option value="stdout">stdout</option>
            <option value="stderr">stderr</option>
          </select>
        </label>
        {output === null ? null : (
          <span class="hint">
            {output.output_bytes} bytes{output.output_truncated ? ', cut at the stored-output limit' : ''}
            {output.exit_code === null ? '' : ` · exit code ${output.exit_code}`}
          </span>
        )}
      </div>
      <p role="alert" class="error">
        {error}
      </p>
      <pre tabIndex={0} aria-label={`${stream} of ${job.instance_id}`}>{output === null ? 'Loading…' : output[stream] || '(no output)'}</pre>
    </section>
  );
}
