// GET /metrics: Prometheus's text exposition format, behind the admin token unless the operator
// opened it (ADBFLEET_METRICS_PUBLIC).
import { Type } from '@sinclair/typebox';
import { ERROR_REPLIES } from './common.js';

export const METRICS = {
  security: [{ adminToken: [] }],
  response: { 200: { content: { 'text/plain': { schema: Type.String() } } }, ...ERROR_REPLIES },
} as const;
