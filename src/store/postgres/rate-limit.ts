// The tenants' rate limit shared by every API node on the database: one token bucket per tenant,
// taken by one statement per request (a round trip, ~0.1-0.3 ms, and the tenant's row lock for
// the statement's length: thousands of requests per second per tenant before it is a bottleneck,
// against the limit's default of 100/s). Same arithmetic as the API's in-process bucket.
import type pg from 'pg';
import type { SharedRateLimiter } from '../types.js';
import { RateLimitSql } from './rate-limit.sql.js';

export class SharedBucket implements SharedRateLimiter {
  readonly #pool: pg.Pool;
  readonly #perSecond: number;
  readonly #burst: number;

  constructor(pool: pg.Pool, perSecond: number, burst: number) {
    this.#pool = pool;
    this.#perSecond = perSecond;
    this.#burst = Math.max(burst, 1);
  }

  async take(tenantKey: number): Promise<number> {
    if (this.#perSecond <= 0) return 0;
    const params = [tenantKey, this.#perSecond, this.#burst];
    if (((await this.#pool.query(RateLimitSql.take, params)).rowCount ?? 0) > 0) return 0;
    const tokens = (await this.#pool.query<{ tokens: number }>(RateLimitSql.tokens, params)).rows[0]?.tokens ?? 0;
    return Math.max(1, Math.ceil((1 - tokens) / this.#perSecond));
  }
}
