import { defineTemplate } from '@pep/mailer';

/** Partner-facing wording of each application status. */
export const APPLICATION_STATUS_TEXT: Record<string, string> = {
  submitted: 'submitted for review',
  in_review: 'in review',
  approved: 'approved',
  changes_requested: 'waiting for changes',
  rejected: 'rejected',
  published: 'published in the marketplace',
  deprecated: 'deprecated',
  retired: 'retired',
};

export const applicationStatusEmail = defineTemplate<{
  app_name: string;
  app_id: string;
  status_text: string;
  details: string;
}>({
  subject: 'Your application "{{app_name}}" is {{status_text}}',
  text: 'Hello,\n\nyour application "{{app_name}}" ({{app_id}}) is now {{status_text}}.\n\n{{details}}\n\n— The partner platform',
  html:
    '<p>Hello,</p><p>your application <strong>{{app_name}}</strong> (<code>{{app_id}}</code>) is now <strong>{{status_text}}</strong>.</p>' +
    '<p style="white-space:pre-line">{{details}}</p><p>— The partner platform</p>',
});

export const keyExpiryEmail = defineTemplate<{ key_name: string; key_prefix: string; expires_at: string; days_left: number }>({
  subject: 'API key "{{key_name}}" expires in {{days_left}} day(s)',
  text:
    'Hello,\n\nthe API key "{{key_name}}" ({{key_prefix}}…) expires at {{expires_at}}.\n' +
    'Rotate it before then to keep your integration running.\n\n— The partner platform',
  html:
    '<p>Hello,</p><p>the API key <strong>{{key_name}}</strong> (<code>{{key_prefix}}…</code>) expires at <strong>{{expires_at}}</strong>.</p>' +
    '<p>Rotate it before then to keep your integration running.</p><p>— The partner platform</p>',
});
