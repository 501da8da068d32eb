// The frame: who is signed in, the navigation for that role, and which page the path names.
import { useState } from 'preact/hooks';
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

function TenantPages({ token, path }: { token: string; path: string }) {
  const task = /^\/tasks\/([^/]+)$/.exec(path);
  if (task !== null) return <Task token={token} taskId={decodeURIComponent(task[1] ?? '')} />;
  if (path === '/tasks') return <Tasks token={token} />;
  if (path === '/' || path === '/instances') return <Instances token={token} />;
  return <NotFound />;
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const path = usePath();

  const signIn = (s: Session): void => {
    saveSession(s);
    setSession(s);
    // A tenant who followed a link to one of its pages lands there once signed in.
    navigate(s.role === 'operator' ? '/operator' : path === '/' ? '/instances' : path);
  };
  const signOut = (): void => {
    clearSession();
    setSession(null);
    navigate('/');
  };

  if (session === null) return <SignIn onSignIn={signIn} />;
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
