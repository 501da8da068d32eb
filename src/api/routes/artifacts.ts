// SPEC §10: a tenant's uploads (POST /v1/artifacts, the body is the file, streamed to the artifact
// directory), their metadata, and the file a job produced (a pull, a screenshot).
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BlobTooLargeError } from '../../artifacts/index.js';
import { ApiError, HEX_ID, TASK_ID } from '../../core/index.js';
import type { Artifact } from '../../store/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ARTIFACT, JOB_ARTIFACT, UPLOAD_ARTIFACT, type ArtifactJson } from '../schemas/index.js';
import { sendBlob } from '../send-blob.js';
import { UploadStalledError, idleBounded, markUploading } from '../upload-body.js';
import { iso, ok } from '../views.js';

const DEFAULT_TYPE = 'application/octet-stream';
/** What an upload may say it is: bytes, an APK, or nothing (curl -T, a bare client). Anything
 * else (JSON, a form, multipart) is a client that meant something other than the file's bytes. */
const UPLOAD_TYPES = new Set([DEFAULT_TYPE, 'application/vnd.android.package-archive']);

function artifactJson(a: Artifact): Static<typeof ArtifactJson> {
  return { artifact_id: a.artifactId, sha256: a.sha256, size: a.size, content_type: a.contentType, created_at: iso(a.createdAt) };
}

/** The content-type's media type, lowercase without parameters; '' when there is none. */
function mediaTypeOf(request: FastifyRequest): string {
  const header = request.headers['content-type'];
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Did the client go away before its body was read whole (the error is then its, not ours)? */
function clientGone(raw: IncomingMessage): boolean {
  return raw.readableAborted || (raw.destroyed && !raw.complete);
}

export async function artifactRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, blobs, config } = deps;
  const maxBytes = config.artifactMaxBytes;
  const tooLarge = (): ApiError => new ApiError('ARTIFACT_TOO_LARGE', { limit: maxBytes });

  // Its own scope: the body parser that hands the request stream through, and the JSON parser's
  // 64 KiB limit, apply to this route alone.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (request, payload, done) => {
      const type = mediaTypeOf(request);
      if (type !== '' && !UPLOAD_TYPES.has(type)) return done(new ApiError('ARTIFACT_MEDIA_TYPE'), undefined);
      // Refused at once, before a byte is read (the connection then closes).
      if (Number(request.headers['content-length'] ?? 0) > maxBytes) return done(tooLarge(), undefined);
      const unmark = markUploading(request.raw.socket);
      request.raw.once('end', unmark);
      request.raw.once('close', unmark);
      done(null, payload);
    });

    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/v1/artifacts',
      { schema: UPLOAD_ARTIFACT, config: { audit: 'artifact.upload' } },
      async (request) => {
        const { tenantKey } = principalOf(request);
        // No body at all (no content-type nor length) reaches here without the parser: an empty file.
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        let file;
        try {
          file = await blobs.write(idleBounded(body, config.httpRequestTimeoutMs), maxBytes);
        } catch (err) {
          if (err instanceof BlobTooLargeError) throw tooLarge();
          if (err instanceof UploadStalledError) throw new ApiError('REQUEST_TIMEOUT');
          // Nobody is left to answer; what is recorded (the audit log) is a refused request, not a 500.
          if (clientGone(request.raw)) throw new ApiError('BODY_LENGTH_MISMATCH');
          throw err;
        }
        const type = mediaTypeOf(request);
        const artifact = await store.putArtifact(tenantKey, { ...file, contentType: type === '' ? DEFAULT_TYPE : type }, Date.now());
        return ok(artifactJson(artifact));
      },
    );
  });

  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get('/v1/artifacts/:artifact_id', { schema: ARTIFACT }, async (request) => {
    const { tenantKey } = principalOf(request);
    const artifactId = request.params.artifact_id;
    const artifact = HEX_ID.test(artifactId) ? await store.getArtifact(tenantKey, artifactId) : null;
    if (artifact === null) throw new ApiError('NO_SUCH_ARTIFACT', { artifactId });
    return ok(artifactJson(artifact));
  });

  api.get('/v1/instances/tasks/:task_id/jobs/:job_id/artifact', { schema: JOB_ARTIFACT }, async (request, reply) => {
    const { tenantKey } = principalOf(request);
    const { task_id: taskId, job_id: jobId } = request.params;
    if (!TASK_ID.test(taskId)) throw new ApiError('NO_SUCH_TASK', { taskId });
    const found = HEX_ID.test(jobId) ? await store.getJobArtifact(tenantKey, taskId, jobId) : null;
    if (found === null) {
      // As the output route: a missing task and a missing job are told apart within the caller's own tasks.
      if ((await store.getTask(tenantKey, taskId)) === null) throw new ApiError('NO_SUCH_TASK', { taskId });
      throw new ApiError('NO_SUCH_JOB', { jobId });
    }
    if (found.artifact === null) throw new ApiError('NO_ARTIFACT_FOR_JOB', { jobId });
    return sendBlob(request, reply, blobs, found.artifact);
  });
}
