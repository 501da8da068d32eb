// Tenants: create one, issue a further token, revoke a token by its prefix. A new token is shown
// once, here, as the service shows it only once.
import { useState } from 'preact/hooks';
import type { AdminClient, Tenant } from '../api.js';
import { useAction } from '../hooks.js';
import { time } from '../format.js';

interface Props {
  client: AdminClient;
  tenants: readonly Tenant[];
  onChange: () => Promise<void>;
}

/** A tenant picker's choices, one per tenant by name (the caller puts its own "none" first). */
export function TenantOptions({ tenants }: { tenants: readonly Tenant[] }) {
  return (
    <>
      {tenants.map((t) => (
        <option key={t.tenant_id} value={t.tenant_id}>
          {t.name}
        </option>
      ))}
    </>
  );
}

export function OperatorTenants({ client, tenants, onChange }: Props) {
  const [name, setName] = useState('');
  const [revokeTenant, setRevokeTenant] = useState('');
  const [prefix, setPrefix] = useState('');
  const [issued, setIssued] = useState<{ tenant: string; token: string } | null>(null);
  const [message, act] = useAction(onChange);

  const create = (e: Event): Promise<void> =>
    act(async () => {
      e.preventDefault();
      const t = await client.createTenant(name.trim());
      setIssued({ tenant: `${t.name} (${t.tenant_id})`, token: t.token });
      setName('');
      return '';
    });
  const issue = (t: Tenant): Promise<void> =>
    act(async () => {
      const r = await client.issueToken(t.tenant_id);
      setIssued({ tenant: `${t.name} (${t.tenant_id})`, token: r.token });
      return '';
    });
  const revoke = (e: Event): Promise<void> =>
    act(async () => {
      e.preventDefault();
      const r = await client.revokeToken(revokeTenant, prefix.trim());
      setPrefix('');
      return `Revoked ${r.revoked} token${r.revoked === 1 ? '' : 's'}.`;
    });

  return (
    <section aria-labelledby="tenants-title" class="card">
      <h2 id="tenants-title">Tenants</h2>
      <form class="inline" onSubmit={(e) => void create(e)}>
        <label for="tenant-name">New tenant name</label>
        <input id="tenant-name" value={name} maxLength={128} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" disabled={name.trim() === ''}>
          Create tenant
        </button>
      </form>
      {issued === null ? null : (
        <div class="issued" role="status">
          Token for {issued.tenant}, shown only now: <code class="token">{issued.token}</code>
          <button type="button" onClick={() => setIssued(null)}>
            Done
          </button>
        </div>
      )}
      <p role="alert" class="error">
        {message}
      </p>
      <table class="grid">
        <caption class="visually-hidden">Tenants</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Tenant id</th>
            <th scope="col">Created</th>
            <th scope="col">Tokens</th>
          </tr>
        </thead>
        <tbody>
          {tenants.map((t) => (
            <tr key={t.tenant_id}>
              <td>{t.name}</td>
              <td class="mono">{t.tenant_id}</td>
              <td>{time(t.created_at)}</td>
              <td>
                <button type="button" onClick={() => void issue(t)}>
                  Issue token<span class="visually-hidden"> for {t.name}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline" onSubmit={(e) => void revoke(e)}>
        <label for="revoke-tenant">Revoke a token of</label>
        <select id="revoke-tenant" value={revokeTenant} onChange={(e) => setRevokeTenant(e.currentTarget.value)}>
          <option value="">choose a tenant</option>
          <TenantOptions tenants={tenants} />
        </select>
        <label for="revoke-prefix">Token prefix</label>
        <input id="revoke-prefix" class="mono" value={prefix} placeholder="afk_…" onInput={(e) => setPrefix(e.currentTarget.value)} />
        <button type="submit" disabled={revokeTenant === '' || prefix.trim() === ''}>
          Revoke
        </button>
      </form>
    </section>
  );
}
