import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { PARTNER_ROLES } from '../../../../contracts/accounts/roles.ts';
import { api, type Page, type PartnerUser, type Session } from '../api.ts';
import { Card, ErrorNote, Field, Select, when } from '../ui.tsx';

/** The team: invite by email with a role, change roles, remove; and your own sessions. */
export function TeamPage({ partnerId, canManage }: { partnerId: string; canManage: boolean }) {
  const qc = useQueryClient();
  const users = useQuery({
    queryKey: ['users', partnerId],
    queryFn: () => api<Page<PartnerUser>>('GET', `/v1/partners/${partnerId}/users?limit=100`),
  });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<string>('developer');
  const refresh = () => qc.invalidateQueries({ queryKey: ['users', partnerId] });
  const invite = useMutation({ mutationFn: () => api('POST', `/v1/partners/${partnerId}/users`, { email, role }), onSuccess: refresh });
  const change = useMutation({
    mutationFn: (v: { id: string; role: string }) => api('PATCH', `/v1/partner-users/${v.id}`, { role: v.role }),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (id: string) => api('DELETE', `/v1/partner-users/${id}`), onSuccess: refresh });
  return (
    <>
      <h1>Team</h1>
      {canManage && (
        <Card title="Invite someone">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              invite.mutate();
            }}
          >
            <Field label="Email" type="email" value={email} onChange={setEmail} />
            <Select label="Role" value={role} onChange={setRole} options={PARTNER_ROLES} />
            <ErrorNote error={invite.error ?? change.error ?? remove.error} />
            <button type="submit" className="primary">
              Send invitation
            </button>
          </form>
          {invite.isSuccess && <p role="status">Invitation sent to {email}.</p>}
        </Card>
      )}
      <Card title="Members">
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Last sign-in</th>
              {canManage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {users.data?.data.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>
                  {canManage ? (
                    <select
                      aria-label={`Role of ${u.email}`}
                      value={u.role}
                      onChange={(e) => change.mutate({ id: u.id, role: e.target.value })}
                    >
                      {PARTNER_ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  ) : (
                    u.role
                  )}
                </td>
                <td>{u.status}</td>
                <td>{when(u.last_sign_in_at)}</td>
                {canManage && (
                  <td>
                    <button type="button" className="danger" onClick={() => remove.mutate(u.id)}>
                      Remove<span className="sr-only"> {u.email}</span>
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Sessions />
    </>
  );
}

function Sessions() {
  const qc = useQueryClient();
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: () => api<Page<Session>>('GET', '/v1/auth/sessions') });
  const end = useMutation({
    mutationFn: (id: string) => api('DELETE', `/v1/auth/sessions/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['sessions'] }),
  });
  const everywhere = useMutation({
    mutationFn: () => api('POST', '/v1/auth/sign-out-everywhere'),
    onSuccess: () => qc.setQueryData(['session'], null),
  });
  return (
    <Card title="Your sessions">
      <ul>
        {sessions.data?.data.map((s) => (
          <li key={s.id}>
            {s.current ? 'This browser' : (s.user_agent ?? s.client_address ?? 'Another session')} — since {when(s.created_at)}, ends by{' '}
            {when(s.idle_expires_at)}{' '}
            {!s.current && (
              <button type="button" onClick={() => end.mutate(s.id)}>
                Sign out this session
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="danger" onClick={() => everywhere.mutate()}>
        Sign out everywhere
      </button>
    </Card>
  );
}
