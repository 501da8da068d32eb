// Public face of the artifact files (SPEC §10): the content-addressed directory the API writes
// uploads and fetched packages into and the worker pushes from and pulls into, and reading an
// APK's manifest from it.
export { readApkFile } from './apk-file.js';
export { BlobStore, BlobTooLargeError, BlobWriter } from './blob-store.js';
