// The statements of the shared write batch (write-batch.ts): its transaction, one SAVEPOINT per
// request inside it, and the connection's change counter it reports as rows written.

export const TxSql = {
  /** IMMEDIATE: take the write lock at BEGIN, so a busy database fails the batch before it writes */
  begin: 'BEGIN IMMEDIATE',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  savepoint: 'SAVEPOINT request',
  release: 'RELEASE request',
  rollbackTo: 'ROLLBACK TO request',
  /** rows changed by INSERT, UPDATE and DELETE on this connection since it opened */
  totalChanges: 'SELECT total_changes() AS n',
} as const;
