// The console's one way to the service: the typed client, on the page's own origin (the service
// that served the console), with the browser's fetch.
import { AdbfleetError, createAdminClient, createClient, type AdminClient, type TenantClient } from '../../src/client/index.js';

export type { AdminClient, AdminInstance, InstanceRow, Job, TaskSummary, Tenant, TenantClient } from '../../src/client/index.js';
export { AdbfleetError };

/** Fired on window when the service refuses a signed-in token (revoked or expired mid-session);
 * the frame signs out and says why. `detail` is an {@link Unauthorized}. */
export const UNAUTHORIZED_EVENT = 'adbfleet:unauthorized';

export interface Unauthorized {
  /** the token the service refused, so a late answer for an earlier session signs nobody out */
  token: string;
  /** the service's error_msg (or the HTTP status when it sent none) */
  message: string;
}

const url = (): string => location.origin;

/** The service's error_msg in a parsed answer, when it sent a non-empty one. */
function serviceMessage(body: unknown): string | undefined {
  const msg = body !== null && typeof body === 'object' ? (body as { error_msg?: unknown }).error_msg : undefined;
  return typeof msg === 'string' && msg !== '' ? msg : undefined;
}

/** The browser's fetch, wrapped (called as a method of another object it throws "Illegal
 * invocation"), announcing a 401 for `token`: every page learns a token went bad the same way. */
function fetchFor(token: string): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401) {
      const body = await response
        .clone()
        .json()
        .catch(() => null);
      const detail: Unauthorized = { token, message: serviceMessage(body) ?? 'HTTP 401' };
      dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail }));
    }
    return response;
  };
}

export function tenantClient(token: string): TenantClient {
  return createClient({ url: url(), token, fetch: fetchFor(token) });
}

export function adminClient(token: string): AdminClient {
  return createAdminClient({ url: url(), token, fetch: fetchFor(token) });
}

/** What a person needs to act on a failed call: the service's error_msg, its code and the request
 * id to quote to an operator. */
export function errorText(e: unknown): string {
  if (e instanceof AdbfleetError) {
    if (e.status === 0) return `The service could not be reached (${e.message}).`;
    const msg = serviceMessage(e.body) ?? e.message;
    const code = e.code === '' ? `HTTP ${e.status}` : e.code;
    return `${msg} (${code}, request ${e.requestId})`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function isUnauthorized(e: unknown): boolean {
  return e instanceof AdbfleetError && e.status === 401;
}

/** An answer that will not change by asking again (a 4xx other than 429): retrying it is pointless. */
export function isPermanent(e: unknown): boolean {
  return e instanceof AdbfleetError && e.status >= 400 && e.status < 500 && e.status !== 429;
}
