// Public face of the artifact files (SPEC §10): the content-addressed directory the API writes
// uploads and fetched packages into and the worker pushes from and pulls into; fetching a
// package URL into it, reading an APK's manifest from it, and sweeping what no row names.
export { readApkFile } from './apk-file.js';
export { BlobStore, BlobTooLargeError, BlobWriter } from './blob-store.js';
export { FetchError, MAX_REDIRECTS, fetchToBlob, type FetchOptions } from './fetch.js';
export { TEMP_AGE_MS, UNREFERENCED_AGE_MS, sweepBlobs, type SweepOptions, type Swept } from './sweep.js';
