// Device operations (SPEC §10) as the worker runs them: one job's install, uninstall, push, pull or
// screenshot, with a command's guarantees. One deadline for the whole job (the task's timeout, over
// every step), the job's cancel switch passed to whichever step runs (a cancelled push stops
// sending), and the outcome mapped as for commands, plus 1008 for what the device refused or a
// file past the artifact limit. A failed job leaves no file in the artifact directory's tmp/.
// Shell commands never come here (scheduler.ts keeps their path).
import { open, unlink } from 'node:fs/promises';
import { isTransferError, S_IFMT, S_IFREG, type ExecResult, type TransferResult } from '../adb/index.js';
import { BlobTooLargeError, type BlobStore } from '../artifacts/index.js';
import { JobCode, jobArtifactType, PACKAGE_NAME, type TaskOp } from '../core/index.js';
import type { JobResult } from '../store/index.js';
import { JobCancel, type WorkJob } from './lane.js';
import { completedResult, execErrorCode, execErrorDetail, executeMsg, failedResult, operationResult, partialOutput } from './outcome.js';
import type { Logger, WorkerPool } from './ports.js';

export interface OperationsOptions {
  pool: WorkerPool;
  /** the artifact directory; null: operations that move files fail 9999 (logged) */
  blobs: BlobStore | null;
  /** a pulled file or a screenshot larger than this fails 1008 */
  artifactMaxBytes: number;
  /** what pm's output may keep, as a command's */
  maxOutputBytes: number;
  logger: Logger;
}

/** The job as operations need it (a WorkJob is one). */
export type OperationJob = Pick<WorkJob, 'jobKey' | 'jobId' | 'instanceId' | 'timeoutMs' | 'abortReason'>;

/** The best-effort `rm -f` of an installed package's copy gets this long, whatever the job's time. */
const CLEANUP_MS = 3_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** signature, IHDR's length and type, width, height */
const PNG_HEAD_BYTES = 24;

/** A file past the artifact limit: 1008. */
class TooLarge extends Error {
  constructor(what: string, limit: number) {
    super(`${what}: larger than the artifact limit of ${limit} bytes`);
  }
}

/** 1008, its reason in execute_msg as well as error_msg: a KooPhone client reads execute_msg to
 * learn what happened on the device, and a file operation prints nothing else. */
function refused(jobKey: number, finishedAt: number, detail: string): JobResult {
  const r = failedResult(jobKey, JobCode.DeviceRefused, finishedAt, null, detail);
  r.executeMsg = executeMsg(Buffer.from(detail, 'utf8'));
  return r;
}

/** Something the device gave that is not what the operation expects: 1008. */
class NotWhatExpected extends Error {}

export class Operations {
  readonly #o: OperationsOptions;

  constructor(options: OperationsOptions) {
    this.#o = options;
  }

  /** Runs the job's op on the instance at address; never rejects. */
  async run(job: OperationJob, op: TaskOp, address: string, signal: JobCancel): Promise<JobResult> {
    const deadline = Date.now() + job.timeoutMs;
    // At least 1 ms: a step begun with no time left fails TIMEOUT in the ADB layer like any other.
    const left = (): number => Math.max(1, deadline - Date.now());
    try {
      return await this.#run(job, op, address, signal, left);
    } catch (err) {
      return this.#failed(job, op, err);
    }
  }

  async #run(job: OperationJob, op: TaskOp, address: string, signal: JobCancel, left: () => number): Promise<JobResult> {
    const { pool, maxOutputBytes } = this.#o;
    switch (op.kind) {
      case 'uninstall': {
        // The store's op was checked at submit; checked again because it becomes a shell word.
        if (!PACKAGE_NAME.test(op.packageName)) throw new Error(`uninstall: not a package name: ${op.packageName.slice(0, 80)}`);
        const r = await pool.exec(address, `pm uninstall ${op.packageName}`, { timeoutMs: left(), maxOutputBytes, signal });
        return completedResult(job.jobKey, r, Date.now());
      }
      case 'install': {
        const blobs = this.#blobs();
        // Named by the job: two installs of one APK on one instance at once (a concurrency above
        // one) must not remove each other's copy.
        const remote = `/data/local/tmp/adbfleet-${job.jobId}.apk`;
        await pool.push(address, blobs.pathOf(op.artifact.sha256), remote, { mode: 0o644, timeoutMs: left(), signal });
        let r: ExecResult;
        try {
          r = await pool.exec(address, `pm install -r ${remote}`, { timeoutMs: left(), maxOutputBytes, signal });
        } finally {
          await this.#removeQuietly(job, address, remote);
        }
        return completedResult(job.jobKey, r, Date.now());
      }
      case 'push': {
        const blobs = this.#blobs();
        const r = await pool.push(address, blobs.pathOf(op.artifact.sha256), op.path, { mode: op.mode, timeoutMs: left(), signal });
        return operationResult(job.jobKey, `pushed ${r.bytes} bytes to ${op.path}`, Date.now(), null);
      }
      case 'pull':
        return this.#pull(job, op, address, signal, left);
      case 'screenshot':
        return this.#screenshot(job, op, address, signal, left);
      default:
        throw new Error(`unknown operation ${JSON.stringify((op as { kind?: unknown }).kind)}`);
    }
  }

  #blobs(): BlobStore {
    if (this.#o.blobs === null) throw new Error('this worker was given no artifact directory (DispatcherOptions.blobs)');
    return this.#o.blobs;
  }

  /**
   * Pull into a temporary file of the artifact directory, hashed as it comes, then move it into place.
   * A file the device says is past the limit is not pulled at all; one that passes it while it
   * comes (STAT v1 sizes are 32 bits, and a file may grow) is cut by the pull's own limit.
   */
  async #pull(job: OperationJob, op: Extract<TaskOp, { kind: 'pull' }>, address: string, signal: JobCancel, left: () => number): Promise<JobResult> {
    const blobs = this.#blobs();
    const max = this.#o.artifactMaxBytes;
    const what = `pull of ${op.path}`;
    const st = await this.#o.pool.stat(address, op.path, { timeoutMs: left(), signal });
    if (st !== null && (st.mode & S_IFMT) === S_IFREG && st.size > max) throw new TooLarge(what, max);
    const temp = blobs.tempPath();
    let pulled: TransferResult;
    try {
      pulled = await this.#o.pool.pull(address, op.path, temp, { timeoutMs: left(), signal, maxBytes: max, sha256: true });
    } catch (err) {
      // The pull removed its partial file before it rejected.
      throw isTransferError(err) && err.code === 'OUTPUT_LIMIT' ? new TooLarge(what, max) : err;
    }
    try {
      // Hashed as it came: the file is not read again.
      if (pulled.sha256 === undefined) throw new Error('the pull was asked for its sha256 and gave none');
      const ref = await blobs.place(temp, { sha256: pulled.sha256, size: pulled.bytes });
      return operationResult(job.jobKey, `pulled ${ref.size} bytes from ${op.path}`, Date.now(), { sha256: ref.sha256, size: ref.size, contentType: jobArtifactType(op) });
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
  }

  /** `screencap -p` through exec: (raw bytes) straight into the artifact directory; it must be a PNG. */
  async #screenshot(job: OperationJob, op: TaskOp, address: string, signal: JobCancel, left: () => number): Promise<JobResult> {
    const max = this.#o.artifactMaxBytes;
    const writer = this.#blobs().createWriter(max);
    try {
      await this.#o.pool.execRaw(address, 'screencap -p', writer, { timeoutMs: left(), signal, maxBytes: max });
      // The sink is ended (the file closed) once execRaw resolved.
      const head = await readHead(writer.tempPath, PNG_HEAD_BYTES);
      if (head.length < PNG_HEAD_BYTES || !head.subarray(0, 8).equals(PNG_SIGNATURE) || head.toString('latin1', 12, 16) !== 'IHDR') {
        throw new NotWhatExpected(`screencap -p did not give a PNG image (${writer.size} bytes${writer.size === 0 ? '' : `, starting ${head.subarray(0, 8).toString('hex')}`})`);
      }
      const ref = await writer.result();
      const summary = `screenshot ${head.readUInt32BE(16)}x${head.readUInt32BE(20)} PNG, ${ref.size} bytes`;
      return operationResult(job.jobKey, summary, Date.now(), { sha256: ref.sha256, size: ref.size, contentType: jobArtifactType(op) });
    } catch (err) {
      await writer.discard();
      throw err;
    }
  }

  /** The package's copy goes whatever pm said (or did not say): best effort, a failure only logged. */
  async #removeQuietly(job: OperationJob, address: string, remote: string): Promise<void> {
    // After a lost connection a reconnect is not worth it: the copy is overwritten by the next install of it.
    if (!this.#o.pool.isConnected(address)) return;
    const where = { jobKey: job.jobKey, instanceId: job.instanceId, path: remote };
    try {
      const r = await this.#o.pool.exec(address, `rm -f ${remote}`, { timeoutMs: CLEANUP_MS, maxOutputBytes: 4096, signal: new JobCancel() });
      if (r.exitCode !== null && r.exitCode !== 0) this.#o.logger.warn({ ...where, exitCode: r.exitCode, output: r.combined.toString('utf8') }, 'removing the installed package copy failed');
    } catch (err) {
      this.#o.logger.warn({ ...where, err }, 'removing the installed package copy failed');
    }
  }

  #failed(job: OperationJob, op: TaskOp, err: unknown): JobResult {
    const now = Date.now();
    const limit = this.#o.artifactMaxBytes;
    if (err instanceof TooLarge || err instanceof NotWhatExpected) return refused(job.jobKey, now, err.message);
    if (isTransferError(err)) {
      switch (err.code) {
        case 'SYNC_FAILED':
          return refused(job.jobKey, now, err.detail);
        case 'OUTPUT_LIMIT':
          return refused(job.jobKey, now, new TooLarge(op.kind, limit).message);
        case 'LOCAL_IO':
          // The blob writer's own limit reaches the raw exec as a failed sink.
          if (err.cause instanceof BlobTooLargeError) return refused(job.jobKey, now, new TooLarge(op.kind, limit).message);
          break;
      }
    }
    let code = execErrorCode(err);
    if (code === JobCode.Cancelled && job.abortReason === 'stop') code = JobCode.Interrupted;
    if (code === null) {
      this.#o.logger.error({ err, jobKey: job.jobKey, instanceId: job.instanceId, op: op.kind }, 'device operation failed unexpectedly');
      code = JobCode.Internal;
    }
    return failedResult(job.jobKey, code, now, partialOutput(err), execErrorDetail(err));
  }
}

/** The first n bytes of a file (fewer if it is shorter). */
async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
