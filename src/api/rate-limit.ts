// Per-tenant token bucket (SPEC §9: 100/s, burst 200, 0 = off), in process: the one bucket on
// SQLite (one process serves the API). On PostgreSQL the API nodes share a bucket per tenant in
// the database (store.sharedRateLimiter) and fall back to this one when it does not answer.

export interface RateLimiter {
  /** 0 when allowed, else the whole seconds (>= 1) until a token is available. */
  take(tenantKey: number, now?: number): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(perSecond: number, burst: number): RateLimiter {
  const capacity = Math.max(burst, 1);
  const buckets = new Map<number, Bucket>();
  return {
    take(tenantKey, now = performance.now()) {
      if (perSecond <= 0) return 0;
      let b = buckets.get(tenantKey);
      if (b === undefined) {
        b = { tokens: capacity, at: now };
        buckets.set(tenantKey, b);
      } else {
        b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * perSecond);
        b.at = now;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
    },
  };
}
