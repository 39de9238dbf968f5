import {
  type Application,
  ApplicationStatusSchema,
  CreateApplicationBody,
  LifecycleBody,
  PageQuerySchema,
  type RpcRequest,
  ReviewBody,
  ReviewDecisionBody,
  UpdateApplicationBody,
} from '@pep/contracts';
import { ForbiddenError, NotFoundError, newId, parseOrThrow } from '@pep/runtime';
import { actingPartner, assertVisible, handler, isAdmin, listScope, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { metaFrom } from '../app/command-bus.ts';
import { createUrlSafety } from '../app/url-safety.ts';
import { type ApplicationState } from '../domain/application/application.ts';
import { type ApplicationCommand, decideApplication } from '../domain/application/decide.ts';
import { findApplication, listApplications } from '../projections/applications/index.ts';
import type { HandlerDeps } from './deps.ts';
import { applicationAggregate } from '../domain/application/aggregate.ts';
import { partnerAggregate } from '../domain/partner/aggregate.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const ListQuery = PageQuerySchema.extend({ status: ApplicationStatusSchema.optional(), partner_id: z.string().max(64).optional() });

type Req = RpcRequest<unknown, unknown, unknown>;

export function applicationHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);
  const urls = createUrlSafety(deps.config);

  const loadPartner = async (partnerId: string) => {
    const p = (await deps.commands.load(partnerAggregate, partnerId)).state;
    if (!p) throw new NotFoundError(`partner ${partnerId} not found`);
    return p;
  };
  /** The application, if the principal may see it (404 otherwise), from the aggregate (authoritative). */
  const visible = async (req: Req, id: string): Promise<ApplicationState> => {
    const app = (await deps.commands.load(applicationAggregate, id)).state;
    if (!app) throw new NotFoundError(`application ${id} not found`);
    assertVisible(req.principal, app.partner_id, `application ${id}`);
    return app;
  };
  const execute = async (req: Req, app: { id: string; partner_id: string }, command: ApplicationCommand): Promise<Application> => {
    const r = await deps.commands.execute(applicationAggregate, app.id, metaFrom(req, app.partner_id), (s) =>
      decideApplication(command, s),
    );
    if (!r.state) throw new NotFoundError(`application ${app.id} not found`);
    return r.state;
  };
  const adminOnly = (req: Req) => {
    if (!isAdmin(req.principal)) throw new ForbiddenError('only a platform reviewer (admin credential) may review applications');
  };
  const reviewer = (req: Req) => req.principal.credential_id;

  /** A transition on an existing, visible application. */
  const transition = (build: (req: Req, app: ApplicationState) => Promise<ApplicationCommand> | ApplicationCommand): RpcHandler =>
    h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const app = await visible(req, id);
      return ok(await execute(req, app, await build(req, app)));
    });

  return {
    'applications.create': h(async (req) => {
      const body = parseOrThrow(CreateApplicationBody, req.body);
      const partnerId = actingPartner(req.principal, body.partner_id);
      const partner = await loadPartner(partnerId);
      const id = newId('app', deps.now().getTime());
      const app = await execute(
        req,
        { id, partner_id: partnerId },
        {
          type: 'CreateApplication',
          partner_status: partner.status,
          data: {
            application_id: id,
            partner_id: partnerId,
            name: body.name,
            description: body.description,
            redirect_uris: body.redirect_uris ?? [],
            scopes: body.scopes ?? [],
            webhook_url: body.webhook_url ?? null,
            health_url: body.health_url ?? null,
            privacy_url: body.privacy_url ?? null,
            terms_url: body.terms_url ?? null,
            tagline: body.tagline ?? null,
            long_description: body.long_description ?? null,
            logo_url: body.logo_url ?? null,
            screenshots: body.screenshots ?? [],
            categories: body.categories ?? [],
            support_email: body.support_email ?? null,
            documentation_url: body.documentation_url ?? null,
            pricing_plans: body.pricing_plans ?? [],
          },
        },
      );
      return ok(app, 201);
    }),

    'applications.get': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const app = await findApplication(deps.db, id);
      if (!app) throw new NotFoundError(`application ${id} not found`);
      assertVisible(req.principal, app.partner_id, `application ${id}`);
      return ok(app);
    }),

    'applications.list': h(async (req) => {
      const q = parseOrThrow(ListQuery, req.query ?? {});
      return ok(await listApplications(deps.db, { ...q, partner_id: listScope(req.principal, q.partner_id) }));
    }),

    'applications.update': transition((req, app) => ({
      type: 'UpdateApplication',
      data: { application_id: app.id, ...parseOrThrow(UpdateApplicationBody, req.body) },
    })),

    'applications.submit': transition(async (req, app) => {
      parseOrThrow(LifecycleBody, req.body ?? {});
      const partner = await loadPartner(app.partner_id);
      return {
        type: 'SubmitApplication',
        data: { application_id: app.id },
        partner_status: partner.status,
        partner_tier: partner.tier,
        url_verdicts: await urls.verdicts([app.webhook_url, app.health_url]),
        allow_http: deps.config.ALLOW_HTTP_URLS,
        now: deps.now(),
      };
    }),

    'applications.start-review': transition((req, app) => {
      adminOnly(req);
      const b = parseOrThrow(ReviewBody, req.body ?? {});
      return { type: 'StartReview', data: { application_id: app.id, reviewer: reviewer(req), note: b.note ?? null } };
    }),
    'applications.approve': transition((req, app) => {
      adminOnly(req);
      const b = parseOrThrow(ReviewBody, req.body ?? {});
      return { type: 'ApproveApplication', data: { application_id: app.id, reviewer: reviewer(req), note: b.note ?? null } };
    }),
    'applications.request-changes': transition((req, app) => {
      adminOnly(req);
      const b = parseOrThrow(ReviewDecisionBody, req.body);
      return { type: 'RequestChanges', data: { application_id: app.id, reviewer: reviewer(req), note: b.note } };
    }),
    'applications.reject': transition((req, app) => {
      adminOnly(req);
      const b = parseOrThrow(ReviewDecisionBody, req.body);
      return { type: 'RejectApplication', data: { application_id: app.id, reviewer: reviewer(req), note: b.note } };
    }),
    'applications.publish': transition(async (req, app) => {
      parseOrThrow(LifecycleBody, req.body ?? {});
      const partner = await loadPartner(app.partner_id);
      return { type: 'PublishApplication', data: { application_id: app.id }, partner_status: partner.status, now: deps.now() };
    }),
    'applications.deprecate': transition((req, app) => ({
      type: 'DeprecateApplication',
      data: { application_id: app.id, reason: parseOrThrow(LifecycleBody, req.body ?? {}).reason ?? null },
    })),
    'applications.retire': transition((req, app) => ({
      type: 'RetireApplication',
      data: { application_id: app.id, reason: parseOrThrow(LifecycleBody, req.body ?? {}).reason ?? null },
    })),
  };
}
