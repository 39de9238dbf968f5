import { defineTemplate } from '@pep/mailer';

/** Emails of portal accounts. Links carry the token in the fragment (`#token=`): it never reaches a server log. */
export const invitationEmail = defineTemplate<{ role: string; partner: string; link: string; expires: string }>({
  subject: 'You are invited to the {{partner}} partner portal',
  text: 'You have been invited to the partner portal of {{partner}} as {{role}}.\n\nSet your password to accept: {{link}}\n\nThe link works once, until {{expires}}. If you did not expect this, ignore this email.',
  html: '<p>You have been invited to the partner portal of <strong>{{partner}}</strong> as <strong>{{role}}</strong>.</p><p><a href="{{link}}">Set your password to accept</a></p><p>The link works once, until {{expires}}. If you did not expect this, ignore this email.</p>',
});

export const signInLinkEmail = defineTemplate<{ link: string; minutes: number }>({
  subject: 'Your sign-in link for the partner portal',
  text: 'Sign in to the partner portal: {{link}}\n\nThe link works once, within {{minutes}} minutes. If you did not ask for it, ignore this email.',
  html: '<p><a href="{{link}}">Sign in to the partner portal</a></p><p>The link works once, within {{minutes}} minutes. If you did not ask for it, ignore this email.</p>',
});

export const passwordResetEmail = defineTemplate<{ link: string; minutes: number }>({
  subject: 'Reset your partner portal password',
  text: 'Choose a new password: {{link}}\n\nThe link works once, within {{minutes}} minutes; every session of your account ends when you use it. If you did not ask for it, ignore this email.',
  html: '<p><a href="{{link}}">Choose a new password</a></p><p>The link works once, within {{minutes}} minutes; every session of your account ends when you use it. If you did not ask for it, ignore this email.</p>',
});

export const verifyEmailEmail = defineTemplate<{ link: string }>({
  subject: 'Confirm your email address for the partner portal',
  text: 'Confirm your address: {{link}}',
  html: '<p><a href="{{link}}">Confirm your address</a></p>',
});
