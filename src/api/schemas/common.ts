// Building blocks of the route schemas. Each schema is also its TypeScript type (TypeBox's
// Static), so a request or response type is never written twice.
import { Type, type TSchema } from '@sinclair/typebox';

// A value or null. Written with `nullable` (Ajv and fast-json-stringify both read it) rather than
// an anyOf, so a wrong type is one rule with one message ("must be a string").
export const NullableString = (options: { minLength?: number; maxLength?: number } = {}) =>
  Type.Unsafe<string | null>({ type: 'string', nullable: true, ...options });
export const NullableInteger = () => Type.Unsafe<number | null>({ type: 'integer', nullable: true });

/** SPEC §2's error body: every 4xx and 5xx of every route. */
export const ErrorBody = Type.Object({ error_code: Type.String(), error_msg: Type.String() }, { title: 'Error' });

/** The statuses an error can answer with on any route (the one error handler makes them). */
export const ERROR_REPLIES = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

/** SPEC §2's success envelope around `data`. */
export const Ok = <T extends TSchema>(data: T) => Type.Object({ error_code: Type.String(), error_msg: Type.String(), data });

/** The success envelope without data (reboot). */
export const OkEmpty = Type.Object({ error_code: Type.String(), error_msg: Type.String() });
