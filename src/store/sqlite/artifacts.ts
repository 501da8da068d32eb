// Uploaded artifacts (SPEC §10) on SQLite: record an upload (the same bytes are the same artifact
// of the tenant), read one, purge those unused past retention, and tell which files of the
// artifact directory a row still names. Each call is one statement, so its own transaction.
// (A task names its upload in createTask, task-writer.ts; a job's file is written by finishJobs,
// queue.ts, and read by tasks.ts.)
import { newHexId } from '../../core/index.js';
import { checkFile } from '../blobs.js';
import type { Artifact } from '../types.js';
import { ArtifactSql } from './artifacts.sql.js';
import type { StatementCache } from './db.js';
import { checkBatchSize } from './retention.js';

export class Artifacts {
  readonly #stmts: StatementCache;

  constructor(stmts: StatementCache) {
    this.#stmts = stmts;
  }

  put(tenantKey: number, file: { sha256: string; size: number; contentType: string }, now: number): Artifact & { created: boolean } {
    checkFile('putArtifact', file);
    const artifactId = newHexId();
    const row = this.#stmts.get(ArtifactSql.put).get({ artifactId, tenant: tenantKey, sha256: file.sha256, size: file.size, contentType: file.contentType, now }) as Artifact;
    return { ...row, created: row.artifactId === artifactId };
  }

  get(tenantKey: number, artifactId: string): Artifact | null {
    return (this.#stmts.get(ArtifactSql.byId).get(artifactId, tenantKey) as Artifact | undefined) ?? null;
  }

  purge(before: number, batchSize: number): number {
    checkBatchSize(batchSize);
    return this.#stmts.get(ArtifactSql.purge).run(before, batchSize).changes;
  }

  referenced(sha256s: readonly string[]): Set<string> {
    if (sha256s.length === 0) return new Set();
    const rows = this.#stmts.get(ArtifactSql.referenced).all(JSON.stringify(sha256s)) as Array<{ sha256: string }>;
    return new Set(rows.map((r) => r.sha256));
  }
}
