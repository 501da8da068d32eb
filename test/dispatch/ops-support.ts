// What the device operation tests share: a simulated fleet, the real AdbPool, a real BlobStore in a
// temporary directory, and an Operations runner over them (src/dispatch/operations.ts), driven the
// way the scheduler drives it: one job, its address, its cancel switch.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool, type AdbPoolOptions } from '../../src/adb/index.js';
import { BlobStore } from '../../src/artifacts/index.js';
import type { BlobRef, TaskOp } from '../../src/core/index.js';
import { JobCancel } from '../../src/dispatch/lane.js';
import { Operations } from '../../src/dispatch/operations.js';
import type { Logger } from '../../src/dispatch/index.js';
import { SimInstanceImpl } from '../../src/sim/instance.js';
import { startFleet, type Fleet, type FleetOptions, type SimInstance } from '../../src/sim/index.js';
import type { JobResult } from '../../src/store/index.js';
import { ADB_TIMEOUTS, MAX_OUTPUT_BYTES, testKey } from '../support/index.js';

export const MiB = 1024 * 1024;

/** A logger that keeps what was logged at error level (9999s must be logged). */
export class RecordingLogger implements Logger {
  readonly errors: { obj: object; msg: string | undefined }[] = [];
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(obj: object, msg?: string): void {
    this.errors.push({ obj, msg });
  }
}

export interface OpsBench {
  fleet: Fleet;
  pool: AdbPool;
  blobs: BlobStore;
  dir: string;
  logger: RecordingLogger;
  /** runs op on instance i as a job with this timeout and limit; cancel aborts it */
  run(op: TaskOp, i: number, opts?: { timeoutMs?: number; artifactMaxBytes?: number; cancel?: JobCancel; abortReason?: 'cancel' | 'stop' | null }): Promise<JobResult>;
  /** a blob of these bytes (or of n random bytes) */
  blob(bytes: Buffer | number): Promise<BlobRef & { bytes: Buffer }>;
  /** a blob of a file on disk */
  blobOfFile(path: string): Promise<BlobRef>;
  /** the files left in the artifact directory's tmp/ */
  tmpFiles(): Promise<string[]>;
  /** a local file of this instance's device file, read through a pull */
  deviceFile(i: number, path: string): Promise<Buffer>;
  close(): Promise<void>;
}

let jobKeys = 0;

export async function opsBench(fleetOpts: Partial<FleetOptions> = {}, poolOpts: Partial<AdbPoolOptions> = {}): Promise<OpsBench> {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-ops-'));
  const fleet = await startFleet({ count: 2, ...fleetOpts });
  const pool = new AdbPool({ ...ADB_TIMEOUTS, key: testKey(), ...poolOpts });
  const blobs = new BlobStore(join(dir, 'artifacts'));
  await blobs.init();
  const logger = new RecordingLogger();
  const address = (i: number): string => fleet.instances[i]!.address;
  return {
    fleet,
    pool,
    blobs,
    dir,
    logger,
    run: (op, i, opts = {}) => {
      const ops = new Operations({ pool, blobs, artifactMaxBytes: opts.artifactMaxBytes ?? 64 * MiB, maxOutputBytes: MAX_OUTPUT_BYTES, logger });
      const job = { jobKey: ++jobKeys, jobId: `job${jobKeys}`.padEnd(32, '0'), instanceId: `i${i}`, timeoutMs: opts.timeoutMs ?? 30_000, abortReason: opts.abortReason ?? null };
      const cancel = opts.cancel ?? new JobCancel();
      // The scheduler sets abortReason before it aborts: read it when the result is mapped.
      if (opts.cancel) opts.cancel.addEventListener('abort', () => (job.abortReason ??= 'cancel'));
      return ops.run(job, op, address(i), cancel);
    },
    blob: async (bytes) => {
      const b = typeof bytes === 'number' ? randomBytes(bytes) : bytes;
      return { ...(await blobs.write(once(b), Number.MAX_SAFE_INTEGER)), bytes: b };
    },
    blobOfFile: (path) => blobs.write(createReadStream(path) as AsyncIterable<Buffer>, Number.MAX_SAFE_INTEGER),
    tmpFiles: () => readdir(join(dir, 'artifacts', 'tmp')),
    deviceFile: async (i, path) => {
      const local = join(dir, `device-${++jobKeys}`);
      await pool.pull(address(i), path, local, { timeoutMs: 30_000 });
      const fh = await open(local, 'r');
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    },
    close: async () => {
      await pool.close();
      await fleet.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Bytes of pushed files the simulated device holds, complete or still arriving. */
export function deviceBytes(inst: SimInstance): number {
  if (!(inst instanceof SimInstanceImpl)) throw new Error('not a simulated instance of this process');
  return inst.device.files.used;
}

/** Samples deviceBytes until stopped; says the most it saw. */
export function watchDeviceBytes(inst: SimInstance): { max(): number; stop(): void } {
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, deviceBytes(inst))), 5);
  return { max: () => max, stop: () => clearInterval(timer) };
}
