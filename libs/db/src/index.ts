export * from './database.ts';
export * from './migrations.ts';
export * from './jsonb.ts';
export * from './platform-view.ts';
