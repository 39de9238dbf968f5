import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { z } from 'zod';

export const StreamSettingsSchema = z.object({
  STREAM_NAME: z.string().default('PLATFORM'),
  SUBJECT_PREFIX: z.string().default('platform'),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  STREAM_MAX_AGE_HOURS: z.coerce
    .number()
    .min(0)
    .default(24 * 365),
  STREAM_MAX_BYTES: z.coerce.number().int().default(-1),
  STREAM_DUPLICATE_WINDOW_S: z.coerce.number().int().min(1).default(3600),
  STREAM_STORAGE: z.enum(['file', 'memory']).default('file'),
});
export type StreamSettings = z.output<typeof StreamSettingsSchema>;

export function streamConfig(s: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: s.STREAM_NAME,
    subjects: [`${s.SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: s.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: s.STREAM_REPLICAS,
    max_age: s.STREAM_MAX_AGE_HOURS > 0 ? nanos(s.STREAM_MAX_AGE_HOURS * 3600 * 1000) : 0,
    max_bytes: s.STREAM_MAX_BYTES,
    duplicate_window: nanos(s.STREAM_DUPLICATE_WINDOW_S * 1000),
    discard: DiscardPolicy.Old,
    allow_direct: true,
    allow_rollup_hdrs: false,
    deny_delete: false,
  };
}

/**
 * Creates the stream, or updates the settings that may change in place; idempotent, so every service and
 * the start script can call it at start-up.
 */
export async function ensureStream(jsm: JetStreamManager, s: StreamSettings): Promise<{ created: boolean; updated: boolean }> {
  const cfg = streamConfig(s);
  try {
    const info = await jsm.streams.info(cfg.name);
    const cur = info.config;
    const changed =
      cur.max_age !== cfg.max_age ||
      cur.max_bytes !== cfg.max_bytes ||
      cur.duplicate_window !== cfg.duplicate_window ||
      cur.num_replicas !== cfg.num_replicas ||
      JSON.stringify(cur.subjects) !== JSON.stringify(cfg.subjects);
    if (changed) {
      await jsm.streams.update(cfg.name, {
        subjects: cfg.subjects ?? [],
        max_age: cfg.max_age ?? 0,
        max_bytes: cfg.max_bytes ?? -1,
        duplicate_window: cfg.duplicate_window ?? 0,
        num_replicas: cfg.num_replicas ?? 1,
      });
      return { created: false, updated: true };
    }
    return { created: false, updated: false };
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(cfg);
    } catch (e) {
      // Another process created it between our info and add.
      if (!String((e as Error).message).includes('already in use')) throw e;
    }
    return { created: true, updated: false };
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; message?: string; name?: string };
  return e?.name === 'StreamNotFoundError' || e?.code === 10059 || /stream not found/i.test(String(e?.message));
}
