// What several pages share: polling while the tab is visible, a page title that takes focus
// when the page opens (so a screen reader announces the new page and Tab starts from it), and an
// action's outcome as one message.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './api.js';

/** Runs `tick` now and every `everyMs` while the tab is visible; at once when it becomes visible again. */
export function usePolling(tick: () => Promise<void>, everyMs: number, deps: readonly unknown[]): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let busy = false;
    const run = async (): Promise<void> => {
      clearTimeout(timer);
      if (stopped || busy) return;
      if (document.visibilityState === 'visible') {
        busy = true;
        try {
          await latest.current();
        } finally {
          busy = false;
        }
      }
      if (!stopped) timer = setTimeout(() => void run(), everyMs);
    };
    const onVisibility = (): void => {
      if (document.visibilityState === 'visible') void run();
    };
    void run();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
    // The caller names what restarts the polling, as with useEffect; `tick` itself is read fresh.
  }, [everyMs, ...deps]);
}

/** The page's h1: sets the document title and takes focus when the page opens. */
export function useTitle(title: string) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · adbfleet`;
    ref.current?.focus();
  }, [title]);
  return ref;
}

/** Runs an action: clears the message, shows what the action returns (or why it failed), and after
 * a success calls `onChange` so the lists show the change. */
export function useAction(onChange: () => Promise<void>): [message: string, act: (what: () => Promise<string>) => Promise<void>] {
  const [message, setMessage] = useState('');
  const act = async (what: () => Promise<string>): Promise<void> => {
    setMessage('');
    try {
      setMessage(await what());
      await onChange();
    } catch (e) {
      setMessage(errorText(e));
    }
  };
  return [message, act];
}
