// Files between this machine and the service: a local file uploaded as an artifact (streamed,
// never read whole), and the files succeeded pull and screenshot jobs left, saved to disk.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Artifact, Job } from '../../client/index.js';
import { CliFailure, explain, type Connection } from './connection.js';
import type { TaskResult } from './follow.js';

/** Uploads `path` (checked first, so a wrong name is refused before any request). */
export async function uploadFile(conn: Connection, path: string, contentType: string): Promise<Artifact> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new CliFailure(`${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!st.isFile()) throw new CliFailure(`${path}: not a regular file`);
  try {
    return await conn.client.uploadArtifact(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, { contentType });
  } catch (err) {
    throw new CliFailure(`uploading ${path}: ${explain(err, conn.url)}`);
  }
}

export interface SavedFile {
  task_id: string;
  job_id: string;
  instance_id: string;
  path: string;
  bytes: number;
}

/** Downloads at once: enough to overlap round trips without a flood of open files. */
const PARALLEL = 4;

async function save(conn: Connection, taskId: string, job: Job, path: string): Promise<SavedFile> {
  const part = `${path}.part`;
  try {
    // Before the download: a directory that cannot be made leaves no answer body unread.
    await mkdir(dirname(path), { recursive: true });
    const file = await conn.client.downloadArtifact(taskId, job.job_id);
    let bytes = 0;
    const counted = Readable.fromWeb(file.body as NodeReadableStream<Uint8Array>).on('data', (c: Buffer) => (bytes += c.length));
    // Written beside the target and renamed: a broken download leaves no file that looks whole.
    await pipeline(counted, createWriteStream(part));
    if (file.contentLength !== null && bytes !== file.contentLength) throw new Error(`received ${bytes} of ${file.contentLength} bytes`);
    await rename(part, path);
    return { task_id: taskId, job_id: job.job_id, instance_id: job.instance_id, path, bytes };
  } catch (err) {
    // Where the directory could not be made, neither can this be (ENOTDIR): the reason to tell is err's.
    await rm(part, { force: true }).catch(() => {});
    throw new CliFailure(`instance ${job.instance_id} (task ${taskId}, job ${job.job_id}): saving its file to ${path}: ${explain(err, conn.url)}`);
  }
}

/** Saves each succeeded job's file to `target(job)`, in job order. */
export async function saveFiles(conn: Connection, tasks: readonly TaskResult[], target: (job: Job) => string): Promise<SavedFile[]> {
  const todo = tasks.flatMap((t) => t.jobs.filter((j) => j.state === 'succeeded').map((job) => ({ taskId: t.task_id, job })));
  const saved: SavedFile[] = new Array<SavedFile>(todo.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const i = next++;
      const { taskId, job } = todo[i]!;
      saved[i] = await save(conn, taskId, job, target(job));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
  return saved;
}
