// Retention: finished tasks older than a cut-off go, with their jobs, outputs and job artifacts,
// and audit entries older than it go too, a batch per transaction so the write lock is never held
// for long. (Uploaded artifacts have their own purge, artifacts.ts.)
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from '../errors.js';
import { ArtifactSql } from './artifacts.sql.js';
import { AuditSql } from './audit.sql.js';
import type { StatementCache } from './db.js';
import { QueueSql } from './queue.sql.js';

/** Deletes up to batchSize finished tasks created before `before`; returns their keys. */
export function purgeTasks(db: Database.Database, stmts: StatementCache, before: number, batchSize: number): number[] {
  checkBatchSize(batchSize);
  return db
    .transaction(() => {
      const victims = stmts.get(QueueSql.purgeCandidates).all(before, batchSize) as Array<{ id: number; jobFirst: number; jobCount: number }>;
      for (const v of victims) {
        const last = v.jobFirst + v.jobCount - 1;
        stmts.get(QueueSql.purgeOutputs).run(v.jobFirst, last);
        stmts.get(ArtifactSql.purgeJobArtifacts).run(v.jobFirst, last);
        stmts.get(QueueSql.purgeJobs).run(v.jobFirst, last, v.id);
        stmts.get(QueueSql.purgeTask).run(v.id);
      }
      return victims.map((v) => v.id);
    })
    .immediate();
}

/** Deletes up to batchSize audit entries whose `at` is before `before`, oldest first; returns how many. */
export function purgeAudit(stmts: StatementCache, before: number, batchSize: number): number {
  checkBatchSize(batchSize);
  // One statement: its own transaction.
  return stmts.get(AuditSql.purgeBatch).run(before, batchSize).changes;
}

export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new StoreError(StoreErrorCode.InvalidArgument, 'batchSize must be a positive integer');
}
