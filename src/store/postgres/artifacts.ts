// Uploaded artifacts (SPEC §10) on PostgreSQL, as SQLite's artifacts.ts: each call one statement,
// but the purge, which holds its rows before it looks again for tasks naming them.
// (A task names its upload in createTask, task-writer.ts; a job's file is written by finishJobs,
// queue.ts, and read by tasks.ts.)
import type pg from 'pg';
import { newHexId } from '../../core/index.js';
import { checkFile } from '../blobs.js';
import type { Artifact } from '../types.js';
import { ArtifactSql } from './artifacts.sql.js';
import { inTransaction } from './db.js';
import { checkBatchSize } from './queue.js';

export class Artifacts {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async put(tenantKey: number, file: { sha256: string; size: number; contentType: string }, now: number): Promise<Artifact & { created: boolean }> {
    checkFile('putArtifact', file);
    const artifactId = newHexId();
    const row = (await this.#pool.query<Artifact>(ArtifactSql.put, [artifactId, tenantKey, file.sha256, file.size, file.contentType, now])).rows[0]!;
    return { ...row, created: row.artifactId === artifactId };
  }

  async get(tenantKey: number, artifactId: string): Promise<Artifact | null> {
    return (await this.#pool.query<Artifact>(ArtifactSql.byId, [artifactId, tenantKey])).rows[0] ?? null;
  }

  async purge(before: number, batchSize: number): Promise<number> {
    checkBatchSize(batchSize);
    return inTransaction(this.#pool, async (c) => {
      const ids = (await c.query<{ id: number }>(ArtifactSql.purgeCandidates, [before, batchSize])).rows.map((r) => r.id);
      return ids.length === 0 ? 0 : ((await c.query(ArtifactSql.purge, [ids])).rowCount ?? 0);
    });
  }

  async referenced(sha256s: readonly string[]): Promise<Set<string>> {
    if (sha256s.length === 0) return new Set();
    const rows = (await this.#pool.query<{ sha256: string }>(ArtifactSql.referenced, [sha256s])).rows;
    return new Set(rows.map((r) => r.sha256));
  }
}
