// The frame: who is signed in, the navigation for that role, and which page the path names.
import { useEffect, useState } from 'preact/hooks';
import { UNAUTHORIZED_EVENT, type Unauthorized } from './api.js';
import { clearSession, loadSession, saveSession, type Session } from './session.js';
import { Link, navigate, usePath } from './router.js';
import { SignIn } from './pages/sign-in.js';
import { Instances } from './pages/instances.js';
import { Tasks } from './pages/tasks.js';
import { Task } from './pages/task.js';
import { Operator } from './pages/operator.js';

function NotFound() {
  return (
    <main id="main">
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to the start</Link>
      </p>
    </main>
  );
}

/** A path segment as typed; a malformed escape (`%E0`) is kept as it is rather than throwing. */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const isTenantPath = (p: string): boolean => p === '/instances' || p === '/tasks' || p.startsWith('/tasks/');

function TenantPages({ token, path }: { token: string; path: string }) {
  const task = /^\/tasks\/([^/]+)$/.exec(path);
  if (task !== null) return <Task token={token} taskId={decodeSegment(task[1] ?? '')} />;
  if (path === '/tasks') return <Tasks token={token} />;
  if (path === '/' || path === '/instances') return <Instances token={token} />;
  return <NotFound />;
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const path = usePath();
  // Why the last session ended when the service ended it (a token revoked or expired mid-session).
  const [ended, setEnded] = useState('');

  useEffect(() => {
    const onUnauthorized = (e: Event): void => {
      const { token, message } = (e as CustomEvent<Unauthorized>).detail;
      // Only the session in use ends: a sign-in attempt, or a late answer for an earlier token, does not.
      if (loadSession()?.token !== token) return;
      clearSession();
      setSession(null);
      setEnded(`Signed out: the service no longer accepts this token (${message}). It may have been revoked; sign in with a valid one.`);
    };
    addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  const signIn = (s: Session): void => {
    saveSession(s);
    setEnded('');
    setSession(s);
    // A tenant who followed a link to one of its pages lands there once signed in.
    navigate(s.role === 'operator' ? '/operator' : isTenantPath(path) ? path : '/instances');
  };
  const signOut = (): void => {
    clearSession();
    setEnded('');
    setSession(null);
    navigate('/');
  };

  if (session === null) return <SignIn onSignIn={signIn} notice={ended} />;
  const links =
    session.role === 'tenant'
      ? [
          { to: '/instances', label: 'Instances', current: path === '/' || path === '/instances' },
          { to: '/tasks', label: 'Tasks', current: path.startsWith('/tasks') },
        ]
      : [{ to: '/operator', label: 'Operator', current: true }];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">adbfleet</span>
        <nav aria-label="Main">
          {links.map((l) => (
            <Link key={l.to} to={l.to} current={l.current}>
              {l.label}
            </Link>
          ))}
        </nav>
        <span class="who">{session.role === 'operator' ? 'operator' : 'tenant'}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      {session.role === 'operator' ? (
        path === '/' || path === '/operator' ? <Operator token={session.token} /> : <NotFound />
      ) : (
        <TenantPages token={session.token} path={path} />
      )}
    </>
  );
}
