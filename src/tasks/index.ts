// The task service: submit, cancel, run-and-wait and watch, over the store and its change feed.
export {
  createTaskService,
  requestHash,
  CANCEL_WAIT_MS,
  SYNC_GRACE_MS,
  type CommandInput,
  type TaskService,
  type TaskWatch,
} from './service.js';
