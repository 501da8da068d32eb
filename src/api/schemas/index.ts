// Every route's schemas: request bodies and parameters (validated by Ajv, and the handlers' types)
// and responses (serialized by fast-json-stringify). Exported whole so an OpenAPI document can be
// built from them.
export * from './admin.js';
export * from './artifacts.js';
export * from './audit.js';
export * from './commands.js';
export * from './common.js';
export * from './health.js';
export * from './instances.js';
export * from './metrics.js';
export * from './operations.js';
export * from './tasks.js';
