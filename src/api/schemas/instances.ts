// SPEC §6: the caller's instances.
import { Type } from '@sinclair/typebox';
import { ERROR_REPLIES, Ok, OkEmpty } from './common.js';
import { InstanceIds } from './commands.js';

export const InstanceIdsBody = Type.Object({ instance_ids: InstanceIds });

export const TenantInstance = Type.Object(
  {
    instance_id: Type.String(),
    instance_name: Type.String(),
    running_status: Type.Integer(),
    zone: Type.String(),
    created_at: Type.String(),
  },
  { title: 'InstanceRow' },
);

export const BATCH_QUERY_STATUS = {
  body: InstanceIdsBody,
  response: {
    200: Ok(Type.Object({ status_results: Type.Array(Type.Object({ instance_id: Type.String(), status: Type.Integer() })) })),
    ...ERROR_REPLIES,
  },
} as const;
export const BATCH_QUERY = {
  // Query parameters are parsed by hand, as the task list's are.
  response: {
    200: Ok(
      Type.Object({
        result: Type.Array(TenantInstance),
        page_no: Type.Integer(),
        page_size: Type.Integer(),
        total_count: Type.Integer(),
      }),
    ),
    ...ERROR_REPLIES,
  },
} as const;
export const REBOOT = { body: InstanceIdsBody, response: { 200: OkEmpty, ...ERROR_REPLIES } } as const;
