export * from './database.ts';
export * from './migrations.ts';
