// Instances as the operator sees them: every one, its address, owner and status; add one, assign
// it to a tenant (or none), remove it.
import { useState } from 'preact/hooks';
import type { AdminClient, AdminInstance, Tenant } from '../api.js';
import { useAction } from '../hooks.js';
import { instanceStatus } from '../format.js';
import { TenantOptions } from './operator-tenants.js';

interface Props {
  client: AdminClient;
  tenants: readonly Tenant[];
  instances: readonly AdminInstance[];
  onChange: () => Promise<void>;
}

const EMPTY = { id: '', address: '', name: '', zone: '', tenant: '' };

export function OperatorInstances({ client, tenants, instances, onChange }: Props) {
  const [form, setForm] = useState(EMPTY);
  const [message, act] = useAction(onChange);
  const set = (field: keyof typeof EMPTY) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [field]: e.currentTarget.value });

  const add = (e: Event): Promise<void> =>
    act(async () => {
      e.preventDefault();
      const i = await client.createInstance({
        instance_id: form.id.trim(),
        adb_address: form.address.trim(),
        ...(form.name.trim() === '' ? {} : { instance_name: form.name.trim() }),
        ...(form.zone.trim() === '' ? {} : { zone: form.zone.trim() }),
        ...(form.tenant === '' ? {} : { tenant_id: form.tenant }),
      });
      setForm(EMPTY);
      return `Added ${i.instance_id}.`;
    });
  const assign = (i: AdminInstance, tenantId: string): Promise<void> =>
    act(async () => {
      await client.assignInstance(i.instance_id, tenantId === '' ? null : tenantId);
      return tenantId === '' ? `${i.instance_id} is now unassigned.` : `${i.instance_id} assigned.`;
    });
  const remove = (i: AdminInstance): Promise<void> =>
    act(async () => {
      if (!confirm(`Remove ${i.instance_id}? Its queued jobs are cancelled.`)) return '';
      await client.deleteInstance(i.instance_id);
      return `Removed ${i.instance_id}.`;
    });

  return (
    <section aria-labelledby="instances-title" class="card">
      <h2 id="instances-title">Instances</h2>
      <form class="inline" onSubmit={(e) => void add(e)} aria-label="Add an instance">
        <label for="new-id">Instance id</label>
        <input id="new-id" class="mono" value={form.id} onInput={set('id')} maxLength={32} />
        <label for="new-address">ADB address</label>
        <input id="new-address" class="mono" value={form.address} onInput={set('address')} placeholder="host:5555" />
        <label for="new-name">Name</label>
        <input id="new-name" value={form.name} onInput={set('name')} />
        <label for="new-zone">Zone</label>
        <input id="new-zone" value={form.zone} onInput={set('zone')} placeholder="local" />
        <label for="new-tenant">Tenant</label>
        <select id="new-tenant" value={form.tenant} onChange={set('tenant')}>
          <option value="">none</option>
          <TenantOptions tenants={tenants} />
        </select>
        <button type="submit" disabled={form.id.trim() === '' || form.address.trim() === ''}>
          Add instance
        </button>
      </form>
      <p role="status" class="notice">
        {message}
      </p>
      <table class="grid">
        <caption class="visually-hidden">Every instance</caption>
        <thead>
          <tr>
            <th scope="col">Instance</th>
            <th scope="col">Name</th>
            <th scope="col">ADB address</th>
            <th scope="col">Zone</th>
            <th scope="col">Status</th>
            <th scope="col">Tenant</th>
            <th scope="col">Remove</th>
          </tr>
        </thead>
        <tbody>
          {instances.map((i) => (
            <tr key={i.instance_id}>
              <td class="mono">{i.instance_id}</td>
              <td>{i.instance_name}</td>
              <td class="mono">{i.adb_address}</td>
              <td>{i.zone}</td>
              <td>
                <span class={`badge s${i.status}`}>{instanceStatus(i.status)}</span>
              </td>
              <td>
                <select aria-label={`Tenant of ${i.instance_id}`} value={i.tenant_id ?? ''} onChange={(e) => void assign(i, e.currentTarget.value)}>
                  <option value="">none</option>
                  <TenantOptions tenants={tenants} />
                </select>
              </td>
              <td>
                <button type="button" onClick={() => void remove(i)}>
                  Remove<span class="visually-hidden"> {i.instance_id}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
