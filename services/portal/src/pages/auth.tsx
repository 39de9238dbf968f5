import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { type Accepted, api, type SignedIn } from '../api.ts';
import { linkToken, navigate } from '../router.ts';
import { useSignedIn } from '../session.ts';
import { ErrorNote, Field, Link } from '../ui.tsx';

function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="auth" id="main">
      <h1>{title}</h1>
      {children}
    </main>
  );
}

export function SignInPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signedIn = useSignedIn();
  const signIn = useMutation({
    mutationFn: () => api<SignedIn>('POST', '/v1/auth/sign-in', { email, password }),
    onSuccess: (s) => {
      signedIn(s);
      navigate('/');
    },
  });
  const link = useMutation({ mutationFn: () => api<Accepted>('POST', '/v1/auth/sign-in-links', { email }) });
  return (
    <AuthFrame title="Sign in to the partner portal">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          signIn.mutate();
        }}
      >
        <Field label="Email" type="email" autoComplete="username" value={email} onChange={setEmail} />
        <Field label="Password" type="password" autoComplete="current-password" value={password} onChange={setPassword} />
        <ErrorNote error={signIn.error} />
        <button type="submit" className="primary" disabled={signIn.isPending}>
          Sign in
        </button>
      </form>
      <p>
        <button type="button" className="link" onClick={() => link.mutate()} disabled={!email || link.isPending}>
          Email me a sign-in link instead
        </button>
      </p>
      {link.isSuccess && <p role="status">{link.data.detail}</p>}
      <p>
        <Link to="/reset-password">Forgot your password?</Link>
      </p>
    </AuthFrame>
  );
}

export function AcceptInvitationPage() {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const signedIn = useSignedIn();
  const accept = useMutation({
    mutationFn: () => api<SignedIn>('POST', '/v1/auth/invitations/accept', { token: linkToken(), password, ...(name ? { name } : {}) }),
    onSuccess: (s) => {
      signedIn(s);
      navigate('/');
    },
  });
  return (
    <AuthFrame title="Accept your invitation">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          accept.mutate();
        }}
      >
        <Field label="Your name" autoComplete="name" value={name} onChange={setName} required={false} />
        <Field
          label="Choose a password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          hint="At least 12 characters. A passphrase of several words works well."
        />
        <ErrorNote error={accept.error} />
        <button type="submit" className="primary" disabled={accept.isPending}>
          Set password and sign in
        </button>
      </form>
    </AuthFrame>
  );
}

export function SignInLinkPage() {
  const signedIn = useSignedIn();
  const redeem = useMutation({
    mutationFn: () => api<SignedIn>('POST', '/v1/auth/sign-in-links/redeem', { token: linkToken() }),
    onSuccess: (s) => {
      signedIn(s);
      navigate('/');
    },
  });
  return (
    <AuthFrame title="Sign in with your link">
      <button type="button" className="primary" onClick={() => redeem.mutate()} disabled={redeem.isPending}>
        Sign in
      </button>
      <ErrorNote error={redeem.error} />
    </AuthFrame>
  );
}

export function ResetPasswordPage() {
  const token = linkToken();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const request = useMutation({ mutationFn: () => api<Accepted>('POST', '/v1/auth/password-resets', { email }) });
  const complete = useMutation({ mutationFn: () => api('POST', '/v1/auth/password-resets/complete', { token, password }) });
  if (token) {
    return (
      <AuthFrame title="Choose a new password">
        {complete.isSuccess ? (
          <p role="status">
            Your password is changed and every session was signed out. <Link to="/sign-in">Sign in</Link>
          </p>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              complete.mutate();
            }}
          >
            <Field label="New password" type="password" autoComplete="new-password" value={password} onChange={setPassword} />
            <ErrorNote error={complete.error} />
            <button type="submit" className="primary">
              Change password
            </button>
          </form>
        )}
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Reset your password">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          request.mutate();
        }}
      >
        <Field label="Email" type="email" autoComplete="username" value={email} onChange={setEmail} />
        <ErrorNote error={request.error} />
        <button type="submit" className="primary">
          Email me a reset link
        </button>
      </form>
      {request.isSuccess && <p role="status">{request.data.detail}</p>}
      <p>
        <Link to="/sign-in">Back to sign-in</Link>
      </p>
    </AuthFrame>
  );
}

export function VerifyEmailPage() {
  const confirm = useMutation({ mutationFn: () => api('POST', '/v1/auth/email-verifications/confirm', { token: linkToken() }) });
  return (
    <AuthFrame title="Confirm your email address">
      {confirm.isSuccess ? (
        <p role="status">
          Your address is confirmed. <Link to="/">Go to the portal</Link>
        </p>
      ) : (
        <button type="button" className="primary" onClick={() => confirm.mutate()} disabled={confirm.isPending}>
          Confirm my address
        </button>
      )}
      <ErrorNote error={confirm.error} />
    </AuthFrame>
  );
}
