// The tenants' rate limit shared by every API node on the database: one token bucket per tenant
// in `rate_buckets`, the same arithmetic as the API's in-process bucket. A node takes a tenant's
// tokens in blocks and spends them itself: one statement (and one commit) per block instead of
// per request, which at 2 nodes and one busy tenant cost PostgreSQL more CPU than the submits
// themselves (every request updated the same row). Tokens taken are gone from the bucket, so
// together the nodes never let more through than the rate; a node's unspent tokens are dropped
// after HOLD_MS. Meanwhile another node may refuse a request while this one holds up to
// block - 1 tokens of that tenant, and the burst may be passed by as many per node.
// After a refusal the node refuses that tenant by itself until the bucket can hold a token again
// (only time refills it, other nodes' takes only empty it): a tenant past its limit costs the
// database one statement per refill, not one per request.
import type pg from 'pg';
import type { SharedRateLimiter } from '../types.js';
import { named } from './db.js';
import { RateLimitSql } from './rate-limit.sql.js';

/** How long a node keeps tokens it took and has not spent. */
const HOLD_MS = 1_000;
/** Blocks of at most this many tokens: with many nodes, few tokens idle in each. */
const MAX_BLOCK = 20;

/** The block a node takes at `perSecond`: a tenth of a second's tokens, at least 1 (below 10/s
 * the bucket is exact), at most MAX_BLOCK and the burst. */
export function blockSize(perSecond: number, burst: number): number {
  return Math.max(1, Math.min(MAX_BLOCK, Math.floor(burst), Math.floor(perSecond / 10)));
}

interface Hand {
  /** tokens taken and not spent */
  tokens: number;
  /** until when they may be spent (performance.now()) */
  until: number;
  /** refused by the bucket: no token before this (performance.now()) */
  emptyUntil: number;
  /** the take in flight, which every request of the tenant on this node waits for */
  taking: Promise<void> | null;
}

export class SharedBucket implements SharedRateLimiter {
  readonly #pool: pg.Pool;
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #block: number;
  readonly #hands = new Map<number, Hand>();

  constructor(pool: pg.Pool, perSecond: number, burst: number) {
    this.#pool = pool;
    this.#perSecond = perSecond;
    this.#burst = Math.max(burst, 1);
    this.#block = blockSize(perSecond, this.#burst);
  }

  async take(tenantKey: number): Promise<number> {
    if (this.#perSecond <= 0) return 0;
    let hand = this.#hands.get(tenantKey);
    if (hand === undefined) {
      hand = { tokens: 0, until: 0, emptyUntil: 0, taking: null };
      this.#hands.set(tenantKey, hand);
    }
    // Each pass either spends a token, refuses, or waits for a take that leaves tokens in hand
    // or a refusal: requests that came together share one statement.
    for (;;) {
      const now = performance.now();
      if (hand.tokens >= 1 && now < hand.until) {
        hand.tokens -= 1;
        return 0;
      }
      if (now < hand.emptyUntil) return Math.max(1, Math.ceil((hand.emptyUntil - now) / 1000));
      const h = hand;
      h.taking ??= this.#takeBlock(tenantKey, h).finally(() => {
        h.taking = null;
      });
      await h.taking;
    }
  }

  async #takeBlock(tenantKey: number, hand: Hand): Promise<void> {
    const params = [tenantKey, this.#perSecond, this.#burst];
    const taken = (await this.#pool.query<{ taken: number }>(named('rate-take', RateLimitSql.take, [...params, this.#block]))).rows[0]?.taken;
    if (taken !== undefined) {
      hand.tokens = taken;
      hand.until = performance.now() + HOLD_MS;
      return;
    }
    const tokens = (await this.#pool.query<{ tokens: number }>(named('rate-tokens', RateLimitSql.tokens, params))).rows[0]?.tokens ?? 0;
    hand.tokens = 0;
    hand.emptyUntil = performance.now() + (Math.max(0, 1 - tokens) / this.#perSecond) * 1000;
  }
}
