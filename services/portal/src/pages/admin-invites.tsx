import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page, type PartnerUser } from '../api.ts';
import { Card, ErrorNote, Field, when } from '../ui.tsx';

/** Admin console: invite another platform admin by email (the same emailed link as a partner invitation). */
export function AdminInvitesPage() {
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const admins = useQuery({ queryKey: ['platform-admins'], queryFn: () => api<Page<PartnerUser>>('GET', '/v1/admin/users?limit=100') });
  const invite = useMutation({
    mutationFn: () => api<PartnerUser>('POST', '/v1/admin/users', { email }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['platform-admins'] }),
  });
  return (
    <>
      <h1>Platform admins</h1>
      <Card title="Invite a platform admin">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            invite.mutate();
          }}
        >
          <Field
            label="Email"
            type="email"
            value={email}
            onChange={setEmail}
            hint="They get a link to set a password; a platform admin can do everything in this console."
          />
          <ErrorNote error={invite.error} />
          <button type="submit" className="primary">
            Send invitation
          </button>
        </form>
        {invite.isSuccess && <p role="status">Invitation sent to {invite.data.email}.</p>}
      </Card>
      <Card title="Admins">
        <ErrorNote error={admins.error} />
        <table className="fit">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Status</th>
              <th scope="col">Invited</th>
              <th scope="col">Last sign-in</th>
            </tr>
          </thead>
          <tbody>
            {admins.data?.data.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>{u.status}</td>
                <td>{when(u.invited_at)}</td>
                <td>{when(u.last_sign_in_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}
