// Wakes this node's event streams of a task when something changed it outside the dispatcher
// (cancel moves queued jobs in the store directly). Streams also re-read on every heartbeat,
// which covers changes made by other nodes.

export interface TaskWatch {
  watch(taskKey: number, fn: () => void): () => void;
  poke(taskKey: number): void;
}

export function createTaskWatch(): TaskWatch {
  const watchers = new Map<number, Set<() => void>>();
  return {
    watch(taskKey, fn) {
      let set = watchers.get(taskKey);
      if (set === undefined) {
        set = new Set();
        watchers.set(taskKey, set);
      }
      set.add(fn);
      return () => {
        const s = watchers.get(taskKey);
        if (s === undefined) return;
        s.delete(fn);
        if (s.size === 0) watchers.delete(taskKey);
      };
    },
    poke(taskKey) {
      for (const fn of watchers.get(taskKey) ?? []) fn();
    },
  };
}
