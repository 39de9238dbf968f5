import type { OpenRevertRequest, OpenRevertResult } from '@pep/contracts';
import { aggregateSubject, type EventBus, publishEvent } from '@pep/events';
import type { GithubClient } from '../github/client.ts';
import { openRevert } from '../github/revert.ts';
import { derivedEventId, envelope } from './events.ts';

/**
 * Opens (or finds) the revert pull request of an incident and, when it was opened now, records
 * `github.revert.opened` (the id derives from repository, pull request and incident, so a retry appends nothing new).
 */
export function createReverts(deps: { bus: EventBus; github: GithubClient; revertTimeoutMs: number; now: () => Date }) {
  return {
    async open(r: OpenRevertRequest): Promise<OpenRevertResult> {
      const { result, repositoryId } = await openRevert(deps.github, r, Date.now() + deps.revertTimeoutMs);
      if (result.created) {
        const at = deps.now().toISOString();
        await publishEvent(
          deps.bus,
          aggregateSubject(deps.bus.prefix, 'github_repo', String(repositoryId)),
          envelope(
            'github.revert.opened',
            derivedEventId('revert', r.repository.toLowerCase(), String(r.pull_number), r.incident_id),
            {
              repository_id: repositoryId,
              repository: r.repository,
              incident_id: r.incident_id,
              pull_number: r.pull_number,
              revert_number: result.revert_number,
              branch: result.branch,
              url: result.url,
              at,
            },
            at,
            { correlationid: r.incident_id },
          ),
        );
      }
      return result;
    },
  };
}
export type Reverts = ReturnType<typeof createReverts>;
