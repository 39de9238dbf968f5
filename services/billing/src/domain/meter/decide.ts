import type { Meter } from '@pep/contracts';
import { ConflictError } from '@pep/runtime';
import type { AggregateKind } from '@pep/events';
import { isBuiltinMeter } from './meter.ts';

export interface MeterState {
  meter: Meter | undefined;
}

export const meterAggregate: AggregateKind<MeterState> = {
  kind: 'billing_meter',
  initial: () => ({ meter: undefined }),
  evolve: (state, e) => (e.type === 'billing.meter_created' ? { meter: e.data as Meter } : state),
  projection: 'billing-usage',
};

export type CreateMeter = { type: 'CreateMeter'; meter: Meter };

/** A meter code is taken once, forever (usage already counted under it must keep its meaning). */
export function decideCreateMeter(command: CreateMeter, state: MeterState): { type: 'billing.meter_created'; data: Meter }[] {
  if (isBuiltinMeter(command.meter.code)) throw new ConflictError(`meter ${command.meter.code} is built in`);
  if (state.meter) throw new ConflictError(`meter ${command.meter.code} already exists`);
  return [{ type: 'billing.meter_created', data: command.meter }];
}
