// The task service: submit, cancel, run-and-wait and watch, over the store and its change feed.
export {
  createTaskService,
  type CommandInput,
  type OpInput,
  type OpRequest,
  type TaskService,
  type TaskWatch,
} from './service.js';
