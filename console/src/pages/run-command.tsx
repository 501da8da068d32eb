// The command form: a command (SPEC §3's characters), a timeout, and a button that runs it on the
// selected instances. A refusal from the service is shown here, naming the field at fault.
import { useState } from 'preact/hooks';
import { errorText } from '../api.js';

const DEFAULT_TIMEOUT_S = 300;
const MAX_TIMEOUT_S = 21_600;

export function RunCommand({ count, onRun }: { count: number; onRun: (command: string, timeoutSeconds: number) => Promise<void> }) {
  const [command, setCommand] = useState('');
  const [timeout, setTimeoutS] = useState(String(DEFAULT_TIMEOUT_S));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const seconds = Number(timeout);
    if (command.trim() === '') return setError('Enter a command.');
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TIMEOUT_S) {
      return setError(`Timeout: a whole number of seconds from 1 to ${MAX_TIMEOUT_S}.`);
    }
    setBusy(true);
    setError('');
    try {
      await onRun(command, seconds);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <form class="card run" onSubmit={(e) => void submit(e)} aria-label="Run a command">
      <div class="field grow">
        <label for="command">Command</label>
        <input
          id="command"
          class="mono"
          value={command}
          onInput={(e) => setCommand(e.currentTarget.value)}
          placeholder="getprop ro.product.model"
          maxLength={1024}
          autocomplete="off"
          spellcheck={false}
          aria-describedby="command-help"
        />
      </div>
      <div class="field">
        <label for="timeout">Timeout (seconds)</label>
        <input id="timeout" type="number" min={1} max={MAX_TIMEOUT_S} value={timeout} onInput={(e) => setTimeoutS(e.currentTarget.value)} />
      </div>
      <button type="submit" disabled={busy || count === 0}>
        {count === 0 ? 'Run (select instances first)' : `Run on ${count} selected`}
      </button>
      <p id="command-help" class="hint">
        Letters, digits, spaces and _ . / : - only (no pipes or redirects). Up to 100 instances a run.
      </p>
      <p role="alert" class="error">
        {error}
      </p>
    </form>
  );
}
