// The shared rate limit's bucket (rate-limit.ts, migrations 4 and 9). Times are the database
// server's clock (ms), so nodes whose clocks drift still refill one bucket at one rate.

/** the server's time, in ms */
const NOW = '(extract(epoch FROM clock_timestamp()) * 1000)';
/** the bucket's tokens now: refilled at $2/s since `at`, at most $3 */
const REFILLED = `LEAST($3::double precision, b.tokens + (${NOW} - b.at) * $2::double precision / 1000)`;
/** the same at the time the take read the clock (EXCLUDED.at, read once: every use agrees); not
 * below the tokens stored if another node's take, later by the clock, committed meanwhile */
const REFILLED_AT_TAKE = `LEAST($3::double precision, b.tokens + GREATEST(0, EXCLUDED.at - b.at) * $2::double precision / 1000)`;

export const RateLimitSql = {
  /** Takes up to $4 whole tokens from tenant $1's bucket (rate $2/s, burst $3) if it holds at
   * least one: a row with how many (`taken`) when it did, none when not. One statement: ON
   * CONFLICT works on the row's newest version under its lock, which orders the API nodes' takes. */
  take: `INSERT INTO rate_buckets AS b (tenant, tokens, at, taken)
    VALUES ($1, $3::double precision - LEAST($4::int, floor($3::double precision)), ${NOW}, LEAST($4::int, floor($3::double precision)))
    ON CONFLICT (tenant) DO UPDATE SET tokens = ${REFILLED_AT_TAKE} - LEAST($4::int, floor(${REFILLED_AT_TAKE})),
      taken = LEAST($4::int, floor(${REFILLED_AT_TAKE})), at = GREATEST(b.at, EXCLUDED.at)
    WHERE ${REFILLED_AT_TAKE} >= 1
    RETURNING b.taken`,
  /** tenant $1's tokens now, for the wait (rate $2, burst $3) */
  tokens: `SELECT ${REFILLED} AS tokens FROM rate_buckets b WHERE b.tenant = $1`,
} as const;
