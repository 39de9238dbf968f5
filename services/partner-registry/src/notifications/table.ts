/** What the notifier has mailed (its idempotency: one email per key). A leaf the service's DB type imports. */
export interface SentEmailsTable {
  key: string;
  recipients: string;
  subject: string;
  sent_at: Date;
}
export interface NotificationTables {
  sent_emails: SentEmailsTable;
}
