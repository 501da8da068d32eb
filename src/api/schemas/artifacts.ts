// SPEC §10: uploaded artifacts, and the file a job produced.
import { Type } from '@sinclair/typebox';
import { ERROR_REPLIES, Ok } from './common.js';
import { JobParams } from './tasks.js';

export const ArtifactJson = Type.Object(
  {
    artifact_id: Type.String({ description: '32 lowercase hex characters; the same bytes uploaded again give the same id' }),
    sha256: Type.String({ description: 'SHA-256 of the bytes, lowercase hex' }),
    size: Type.Integer({ description: 'bytes' }),
    content_type: Type.String({ description: 'the upload\'s content-type (application/octet-stream when it had none)' }),
    created_at: Type.String({ description: 'when the tenant first uploaded these bytes (ISO 8601 UTC)' }),
  },
  { title: 'Artifact' },
);

/** The body is the file, read by the route itself: no body schema (the document describes it). */
export const UPLOAD_ARTIFACT = { response: { 200: Ok(ArtifactJson), ...ERROR_REPLIES } } as const;
export const ARTIFACT = {
  // Any string reaches the route ("artifact_id ... does not exist" for a malformed one).
  params: Type.Object({ artifact_id: Type.String() }),
  response: { 200: Ok(ArtifactJson), ...ERROR_REPLIES },
} as const;
/** The 200 and 206 are the file's bytes, sent by the route; only errors are serialized. */
export const JOB_ARTIFACT = { params: JobParams, response: { ...ERROR_REPLIES } } as const;
