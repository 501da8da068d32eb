// The operator view (admin token): tenants and their tokens, instances (add, assign, remove).
// Both lists are re-read every few seconds while the tab is visible, and after every change.
import { useMemo, useState } from 'preact/hooks';
import { adminClient, errorText, type AdminInstance, type Tenant } from '../api.js';
import { usePolling, useTitle } from '../hooks.js';
import { OperatorTenants } from './operator-tenants.js';
import { OperatorInstances } from './operator-instances.js';

const REFRESH_MS = 5_000;

export function Operator({ token }: { token: string }) {
  const title = useTitle('Operator');
  const client = useMemo(() => adminClient(token), [token]);
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [instances, setInstances] = useState<AdminInstance[] | null>(null);
  const [error, setError] = useState('');

  const reload = async (): Promise<void> => {
    try {
      const [t, i] = await Promise.all([client.listTenants(), client.listInstances()]);
      setTenants(t);
      setInstances(i);
      setError('');
    } catch (e) {
      setError(errorText(e));
    }
  };
  usePolling(reload, REFRESH_MS, [client]);

  return (
    <main id="main">
      <h1 ref={title} tabIndex={-1}>
        Operator
      </h1>
      <p role="alert" class="error">
        {error}
      </p>
      {tenants === null || instances === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <OperatorTenants client={client} tenants={tenants} onChange={reload} />
          <OperatorInstances client={client} tenants={tenants} instances={instances} onChange={reload} />
        </>
      )}
    </main>
  );
}
