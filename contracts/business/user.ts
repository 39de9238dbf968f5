import { z } from 'zod';
import { safeEmail, safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { code, id, someFieldBesides } from './common.ts';

const common = { origin: 'external', category: 'user' } as const;

export const UserCreated = defineEvent({
  ...common,
  type: 'user.created',
  version: 1,
  description: "A user account was created in the partner's system.",
  data: z
    .object({
      user_id: id(),
      email: safeEmail(),
      name: safeText().max(200).optional(),
      role: code().describe('e.g. "agent", "admin", "viewer"'),
      created_by: id().optional(),
    })
    .strict(),
});

export const UserUpdated = defineEvent({
  ...common,
  type: 'user.updated',
  version: 1,
  description: 'Profile or status of a user changed; only the changed fields are present.',
  data: z
    .object({
      user_id: id(),
      email: safeEmail().optional(),
      name: safeText().max(200).optional(),
      status: z.enum(['active', 'disabled']).optional(),
    })
    .strict()
    .refine(...someFieldBesides('user_id')),
});

export const UserRoleChanged = defineEvent({
  ...common,
  type: 'user.role_changed',
  version: 1,
  description: "A user's role changed.",
  data: z
    .object({
      user_id: id(),
      previous_role: code(),
      new_role: code(),
      changed_by: id().optional(),
    })
    .strict()
    .refine((d) => d.previous_role !== d.new_role, { message: 'new_role must differ from previous_role', path: ['new_role'] }),
});

export const userEvents = [UserCreated, UserUpdated, UserRoleChanged] as const;
