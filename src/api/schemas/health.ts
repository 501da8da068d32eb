// Liveness and readiness answers.
import { Type } from '@sinclair/typebox';

const Health = Type.Object({ status: Type.String() });
export const HEALTHZ = { response: { 200: Health } } as const;
export const READYZ = { response: { 200: Health, 503: Health } } as const;
