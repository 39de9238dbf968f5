import type { PlannedAction, StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { OrchestratorDB } from '../../db/schema.ts';
import { incidentKey } from '../../domain/keys.ts';
import { type ActionFailedData, type ActionSucceededData, isRunEvent } from '../../domain/rollback-run/rollback-run.ts';

export const RUNS_PROJECTION = 'rollback-runs';

const describe = (a: PlannedAction) =>
  a.kind === 'revert_pr'
    ? `revert ${a.repository}#${a.pull_number}`
    : a.kind === 'webhook'
      ? `call webhook ${a.url}`
      : `${a.kind === 'flag_on' ? 'turn on' : 'turn off'} flag ${a.flag_key} at ${a.provider_id}`;

/** Runs, their actions and the rollback half of each incident's timeline (the audit trail). */
export function runsProjection(prefix: string): Projection<OrchestratorDB> {
  return {
    name: RUNS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'rollback'),
    async apply(trx: Transaction<OrchestratorDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (!isRunEvent(e)) continue;
        const d = e.data;
        const key = incidentKey(d.partner_id, d.incident_id);
        const timeline = (at: string, actor: string, summary: string, details: unknown) =>
          trx
            .insertInto('timeline')
            .values({ seq: e.seq, key, at, type: e.type, actor, summary, details: JSON.stringify(details) })
            .onConflict((oc) => oc.column('seq').doNothing())
            .execute();
        switch (e.type) {
          case 'rollback.planned': {
            const p = e.data;
            await trx
              .insertInto('runs')
              .values({
                key,
                partner_id: p.partner_id,
                incident_id: p.incident_id,
                customer_id: p.customer_id,
                policy_id: p.policy_id,
                mode: p.mode,
                status: p.status,
                skipped_reason: p.skipped_reason,
                dropped: JSON.stringify(p.dropped),
                planned_at: p.planned_at,
                finished_at: null,
                restored_at: null,
                seq: e.seq,
              })
              .onConflict((oc) => oc.column('key').doNothing())
              .execute();
            for (const [i, a] of p.actions.entries()) {
              await trx
                .insertInto('run_actions')
                .values({
                  key,
                  action_id: a.action_id,
                  phase: 'rollback',
                  ordinal: i,
                  kind: a.kind,
                  planned: JSON.stringify(a),
                  status: p.status === 'dry_run' || p.status === 'skipped' ? 'skipped' : 'planned',
                  attempts: 0,
                  detail: p.status === 'dry_run' ? 'dry run' : p.skipped_reason,
                  result: null,
                  finished_at: null,
                })
                .onConflict((oc) => oc.columns(['key', 'action_id', 'phase']).doNothing())
                .execute();
            }
            const what = p.actions.map(describe);
            await timeline(
              p.planned_at,
              'rollback-orchestrator',
              p.actions.length
                ? `planned ${p.actions.length} action(s), ${p.status}: ${what.join('; ')}`
                : `no action: ${p.skipped_reason ?? p.status}`,
              {
                policy_id: p.policy_id,
                mode: p.mode,
                status: p.status,
                skipped_reason: p.skipped_reason,
                actions: p.actions,
                dropped: p.dropped,
              },
            );
            break;
          }
          case 'rollback.approved': {
            const a = e.data;
            await trx.updateTable('runs').set({ status: 'executing' }).where('key', '=', key).execute();
            await timeline(a.approved_at, a.approved_by, 'rollback approved', {});
            break;
          }
          case 'rollback.action_succeeded':
          case 'rollback.action_failed': {
            const o = e.data as ActionSucceededData & ActionFailedData;
            const ok = e.type === 'rollback.action_succeeded';
            const existing = await trx
              .selectFrom('run_actions')
              .select(['planned', 'ordinal'])
              .where('key', '=', key)
              .where('action_id', '=', o.action_id)
              .where('phase', '=', 'rollback')
              .executeTakeFirst();
            const planned: PlannedAction = {
              ...((existing?.planned as PlannedAction | undefined) ?? { action_id: o.action_id, reason: 'restore' as const }),
              kind: o.kind,
            };
            await trx
              .insertInto('run_actions')
              .values({
                key,
                action_id: o.action_id,
                phase: o.phase,
                ordinal: existing?.ordinal ?? 0,
                kind: o.kind,
                planned: JSON.stringify(o.phase === 'restore' ? { ...planned, reason: 'restore' } : planned),
                status: ok ? 'succeeded' : 'failed',
                attempts: o.attempts,
                detail: ok ? null : o.error,
                result: ok ? JSON.stringify(o.result) : null,
                finished_at: o.at,
              })
              .onConflict((oc) =>
                oc.columns(['key', 'action_id', 'phase']).doUpdateSet({
                  status: ok ? 'succeeded' : 'failed',
                  attempts: o.attempts,
                  detail: ok ? null : o.error,
                  result: ok ? JSON.stringify(o.result) : null,
                  finished_at: o.at,
                }),
              )
              .execute();
            await timeline(
              o.at,
              `${o.kind === 'revert_pr' ? 'github-bridge' : o.kind === 'webhook' ? 'custom webhook' : `flag provider ${String(planned.provider_id ?? '')}`}`,
              `${o.phase === 'restore' ? 'restore: ' : ''}${describe(planned as PlannedAction)} ${ok ? 'succeeded' : `failed: ${o.error}`}`,
              {
                action_id: o.action_id,
                attempts: o.attempts,
                duration_ms: o.duration_ms,
                request: o.request,
                response: o.response,
                ...(ok ? { result: o.result } : { error: o.error }),
              },
            );
            break;
          }
          case 'rollback.completed':
          case 'rollback.partially_failed':
          case 'rollback.failed': {
            const t = e.data;
            const status = e.type.slice('rollback.'.length);
            const run = await trx.selectFrom('runs').select('status').where('key', '=', key).executeTakeFirst();
            const keep = run && (run.status === 'dry_run' || run.status === 'skipped');
            await trx
              .updateTable('runs')
              .set({ status: keep ? run.status : status, finished_at: t.finished_at })
              .where('key', '=', key)
              .execute();
            await timeline(
              t.finished_at,
              'rollback-orchestrator',
              `rollback ${status.replace('_', ' ')}: ${t.succeeded} succeeded, ${t.failed} failed`,
              {
                actions: t.actions,
                dry_run: t.dry_run,
              },
            );
            break;
          }
          case 'rollback.restored': {
            const r = e.data;
            await trx.updateTable('runs').set({ restored_at: r.finished_at }).where('key', '=', key).execute();
            await timeline(r.finished_at, 'rollback-orchestrator', `flags restored: ${r.restored} turned back on, ${r.failed} failed`, r);
            break;
          }
          default:
            break;
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('runs').execute();
      await trx.deleteFrom('run_actions').execute();
      await trx.deleteFrom('timeline').where('type', 'like', 'rollback.%').execute();
    },
  };
}

export function runOf(db: Kysely<OrchestratorDB>, key: string) {
  return db.selectFrom('runs').selectAll().where('key', '=', key).executeTakeFirst();
}

export function actionsOf(db: Kysely<OrchestratorDB>, key: string) {
  return db.selectFrom('run_actions').selectAll().where('key', '=', key).orderBy('phase', 'asc').orderBy('ordinal', 'asc').execute();
}
