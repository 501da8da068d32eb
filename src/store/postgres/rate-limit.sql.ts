// The shared rate limit's bucket (rate-limit.ts, migration 4). Times are the database server's
// clock (ms), so nodes whose clocks drift still refill one bucket at one rate.

/** the server's time, in ms */
const NOW = '(extract(epoch FROM clock_timestamp()) * 1000)';
/** the bucket's tokens now: refilled at $2/s since `at`, at most $3 */
const REFILLED = `LEAST($3::double precision, b.tokens + (${NOW} - b.at) * $2::double precision / 1000)`;

export const RateLimitSql = {
  /** Takes a token from tenant $1's bucket (rate $2/s, burst $3) if it holds one: a row when taken,
   * none when not. One statement: the row's lock orders the API nodes' takes. */
  take: `INSERT INTO rate_buckets AS b (tenant, tokens, at) VALUES ($1, $3::double precision - 1, ${NOW})
    ON CONFLICT (tenant) DO UPDATE SET tokens = ${REFILLED} - 1, at = ${NOW}
    WHERE ${REFILLED} >= 1
    RETURNING b.tokens`,
  /** tenant $1's tokens now, for the wait (rate $2, burst $3) */
  tokens: `SELECT ${REFILLED} AS tokens FROM rate_buckets b WHERE b.tenant = $1`,
} as const;
