// The domain layer's public face: job states and codes, the API error registry, ids and tokens,
// request rules, config and limits. Imports nothing of ours.
export * from './apk.js';
export * from './audit.js';
export * from './config.js';
export * from './errors.js';
export * from './ids.js';
export * from './instance-status.js';
export * from './job-state.js';
export * from './limits.js';
export * from './operations.js';
export * from './validation.js';
