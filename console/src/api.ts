// The console's one way to the service: the typed client, on the page's own origin (the service
// that served the console), with the browser's fetch.
import { AdbfleetError, createAdminClient, createClient, type AdminClient, type TenantClient } from '../../src/client/index.js';

export type { AdminClient, AdminInstance, InstanceRow, Job, TaskSummary, Tenant, TenantClient } from '../../src/client/index.js';
export { AdbfleetError };

const url = (): string => location.origin;
// Wrapped: the browser's fetch throws "Illegal invocation" when called as a method of another object.
const browserFetch: typeof fetch = (input, init) => fetch(input, init);

export function tenantClient(token: string): TenantClient {
  return createClient({ url: url(), token, fetch: browserFetch });
}

export function adminClient(token: string): AdminClient {
  return createAdminClient({ url: url(), token, fetch: browserFetch });
}

/** What a person needs to act on a failed call: the service's message, its code and the request id
 * to quote to an operator. */
export function errorText(e: unknown): string {
  if (e instanceof AdbfleetError) {
    if (e.status === 0) return `The service could not be reached (${e.message}).`;
    const code = e.code === '' ? `HTTP ${e.status}` : e.code;
    return `${e.message} (${code}, request ${e.requestId})`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function isUnauthorized(e: unknown): boolean {
  return e instanceof AdbfleetError && e.status === 401;
}
