// Sign in with a tenant token (the tenant's pages) or the admin token (the operator view). The
// token is tried against the service before it is kept, so a wrong one is refused here.
import { useState } from 'preact/hooks';
import { adminClient, errorText, isUnauthorized, tenantClient } from '../api.js';
import { useTitle } from '../hooks.js';
import type { Role, Session } from '../session.js';

/** `notice`: why the previous session ended, shown until the next attempt. */
export function SignIn({ onSignIn, notice = '' }: { onSignIn: (s: Session) => void; notice?: string }) {
  const title = useTitle('Sign in');
  const [role, setRole] = useState<Role>('tenant');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(notice);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const t = token.trim();
    if (t === '') {
      setError('Enter a token.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      if (role === 'tenant') await tenantClient(t).listInstances({ page_no: 1, page_size: 1 });
      else await adminClient(t).listTenants();
      onSignIn({ role, token: t });
    } catch (err) {
      setError(
        isUnauthorized(err)
          ? `The service refused this ${role === 'tenant' ? 'tenant' : 'admin'} token: ${errorText(err)}`
          : errorText(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1 ref={title} tabIndex={-1}>
        adbfleet console
      </h1>
      <form onSubmit={(e) => void submit(e)} class="card">
        <fieldset>
          <legend>Sign in as</legend>
          <label>
            <input type="radio" name="role" value="tenant" checked={role === 'tenant'} onChange={() => setRole('tenant')} /> Tenant
          </label>
          <label>
            <input type="radio" name="role" value="operator" checked={role === 'operator'} onChange={() => setRole('operator')} />{' '}
            Operator (admin token)
          </label>
        </fieldset>
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" class="hint">
          Kept in this tab only, until you sign out or close it.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p role="alert" class="error">
          {error}
        </p>
      </form>
    </main>
  );
}
