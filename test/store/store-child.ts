// A child process for the SQLite tests (run with `node --import tsx`):
//   open <path>                         open the store (apply migrations) and exit
//   create <path> <tenantKey> <ids...>  create tasks in a loop, 8 at a time, printing
//                                       "<task_id> <job_id,...>" for each resolved one, until killed
import { createSqliteStore } from '../../src/store/index.js';

const [mode, path, tenantKeyArg, ...instanceIds] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: store-child.ts open|create <path> ...');
const store = createSqliteStore({ path });
await store.open();

if (mode === 'open') {
  await store.close();
} else if (mode === 'create') {
  const tenantKey = Number(tenantKeyArg);
  for (;;) {
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const t = await store.createTask({ tenantKey, command: 'echo crash', timeoutMs: 1000, kind: 'async', instanceIds });
        process.stdout.write(`${t.taskId} ${t.jobs.map((j) => j.jobId).join(',')}\n`);
      }),
    );
  }
} else {
  throw new Error(`unknown mode ${String(mode)}`);
}
