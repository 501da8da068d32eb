// The device operations (SPEC §10): uploads, the operation routes (each a task, as a command is),
// and the file a pull or screenshot job leaves.
import { AdbfleetError } from './errors.js';
import type { Call, Transport, UploadBody } from './http.js';
import type {
  Artifact,
  InstallRequest,
  InstallResult,
  OperationResult,
  PullFileRequest,
  PushFileRequest,
  ScreenshotRequest,
  UninstallRequest,
} from './types.js';

/** A retry with the same requestId gets the first answer and runs nothing twice (SPEC §3). */
export interface Idempotent {
  requestId?: string;
}

/** A job's file, as the service streams it. */
export interface JobFile {
  /** the bytes; read it to the end or cancel it */
  body: ReadableStream<Uint8Array>;
  /** image/png for a screenshot, application/octet-stream for a pulled file */
  contentType: string;
  /** bytes, from Content-Length (null if the answer had none) */
  contentLength: number | null;
}

export interface OperationsClient {
  /** POST /v1/artifacts: the bytes, streamed when given as a stream or an async iterable (in Node,
   * `Readable.toWeb(createReadStream(path))`); the same bytes give the same artifact. contentType
   * defaults to application/octet-stream (application/vnd.android.package-archive for an APK). */
  uploadArtifact(body: UploadBody, opts?: { contentType?: string; signal?: AbortSignal }): Promise<Artifact>;
  getArtifact(artifactId: string): Promise<Artifact>;
  /** An APK from `install_package_url` or an uploaded `artifact_id` (exactly one). */
  install(req: InstallRequest, opts?: Idempotent): Promise<InstallResult>;
  uninstall(req: UninstallRequest, opts?: Idempotent): Promise<OperationResult>;
  /** writes an uploaded artifact to `path` */
  pushFile(req: PushFileRequest, opts?: Idempotent): Promise<OperationResult>;
  /** each succeeded job keeps the file: downloadArtifact */
  pullFile(req: PullFileRequest, opts?: Idempotent): Promise<OperationResult>;
  /** each succeeded job keeps a PNG: downloadArtifact */
  screenshot(req: ScreenshotRequest, opts?: Idempotent): Promise<OperationResult>;
  /** The file of a succeeded pull or screenshot job (a 404 AdbfleetError for any other job). */
  downloadArtifact(taskId: string, jobId: string, opts?: { signal?: AbortSignal }): Promise<JobFile>;
}

export function operationsClient(t: Transport, data: <T>(call: Call) => Promise<T>, task: (taskId: string) => string): OperationsClient {
  const post = <T>(path: string, body: unknown, o: Idempotent = {}): Promise<T> =>
    data<T>({ method: 'POST', path, body, idempotent: true, ...(o.requestId === undefined ? {} : { requestId: o.requestId }) });

  return {
    uploadArtifact: (body, o = {}) =>
      data({
        method: 'POST',
        path: '/v1/artifacts',
        bytes: { body, contentType: o.contentType ?? 'application/octet-stream' },
        ...(o.signal === undefined ? {} : { signal: o.signal }),
      }),
    getArtifact: (artifactId) => data({ method: 'GET', path: `/v1/artifacts/${encodeURIComponent(artifactId)}` }),
    install: (req, o) => post('/v1/instances/app/install', req, o),
    uninstall: (req, o) => post('/v1/instances/app/uninstall', req, o),
    pushFile: (req, o) => post('/v1/instances/files/push', req, o),
    pullFile: (req, o) => post('/v1/instances/files/pull', req, o),
    screenshot: (req, o) => post('/v1/instances/screenshot', req, o),
    async downloadArtifact(taskId, jobId, o = {}) {
      const path = `${task(taskId)}/jobs/${encodeURIComponent(jobId)}/artifact`;
      const { response, requestId } = await t.send({ method: 'GET', path, accept: '*/*', ...(o.signal === undefined ? {} : { signal: o.signal }) });
      if (response.body === null) throw new AdbfleetError(`GET ${path}: the answer has no body`, { status: response.status, code: '', requestId, body: undefined });
      const length = response.headers.get('content-length');
      return {
        body: response.body as ReadableStream<Uint8Array>,
        contentType: response.headers.get('content-type') ?? 'application/octet-stream',
        contentLength: length === null || !/^\d+$/.test(length) ? null : Number(length),
      };
    },
  };
}
