// SPEC §8: the operator's API. Plain JSON on success, the error envelope otherwise.
import { Type } from '@sinclair/typebox';
import { INSTANCE_ID_PATTERN, LIMITS } from '../../core/index.js';
import { ERROR_REPLIES, NullableString } from './common.js';

const TenantId = () => NullableString({ minLength: 1, maxLength: LIMITS.tenantIdChars });

export const TenantBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: LIMITS.nameChars }) });
export const InstanceBody = Type.Object(
  {
    instance_id: Type.String({ pattern: INSTANCE_ID_PATTERN }),
    adb_address: Type.String({ minLength: 1, maxLength: LIMITS.adbAddressChars }),
    instance_name: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.nameChars })),
    zone: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.zoneChars })),
    tenant_id: Type.Optional(TenantId()),
  },
  { title: 'InstanceEntry' },
);
export const AssignBody = Type.Object({ tenant_id: TenantId() });
export const BulkInstancesBody = Type.Object({
  instances: Type.Array(InstanceBody, { minItems: 1, maxItems: LIMITS.instancesPerBulk }),
});

export const TenantParams = Type.Object({ tenant_id: Type.String() });
export const TokenParams = Type.Object({ tenant_id: Type.String(), token_prefix: Type.String() });
export const InstanceParams = Type.Object({ instance_id: Type.String() });

export const AdminInstance = Type.Object(
  {
    instance_id: Type.String(),
    adb_address: Type.String(),
    instance_name: Type.String(),
    zone: Type.String(),
    tenant_id: NullableString(),
    status: Type.Integer(),
    created_at: Type.String(),
  },
  { title: 'AdminInstance' },
);
export const Tenant = Type.Object(
  { tenant_id: Type.String(), name: Type.String(), created_at: Type.String() },
  { title: 'Tenant' },
);
const Token = Type.Object({ token: Type.String(), prefix: Type.String() });

export const CREATE_TENANT = {
  body: TenantBody,
  response: { 200: Type.Object({ tenant_id: Type.String(), name: Type.String(), token: Type.String() }), ...ERROR_REPLIES },
} as const;
export const LIST_TENANTS = {
  response: {
    200: Type.Object({
      tenants: Type.Array(Tenant),
    }),
    ...ERROR_REPLIES,
  },
} as const;
export const ISSUE_TOKEN = { params: TenantParams, response: { 200: Token, ...ERROR_REPLIES } } as const;
export const REVOKE_TOKEN = {
  params: TokenParams,
  response: { 200: Type.Object({ revoked: Type.Integer() }), ...ERROR_REPLIES },
} as const;
export const CREATE_INSTANCE = { body: InstanceBody, response: { 200: AdminInstance, ...ERROR_REPLIES } } as const;
export const BULK_INSTANCES = {
  body: BulkInstancesBody,
  response: { 200: Type.Object({ registered: Type.Integer() }), ...ERROR_REPLIES },
} as const;
export const ASSIGN_INSTANCE = {
  params: InstanceParams,
  body: AssignBody,
  response: { 200: AdminInstance, ...ERROR_REPLIES },
} as const;
export const DELETE_INSTANCE = {
  params: InstanceParams,
  response: { 200: Type.Object({ instance_id: Type.String(), deleted: Type.Boolean() }), ...ERROR_REPLIES },
} as const;
export const LIST_INSTANCES = {
  response: { 200: Type.Object({ instances: Type.Array(AdminInstance) }), ...ERROR_REPLIES },
} as const;
