// @pep/apidocs: OpenAPI 3.1, AsyncAPI 3.0, JSON Schemas and the HTML API reference, all generated from the
// zod contracts in `contracts/` (DESIGN.md rule 6: never written by hand).
export { buildOpenApi, type OpenApiOptions, toOpenApiPath } from './openapi.ts';
export {
  type AsyncApiOptions,
  buildAsyncApi,
  channelAddressOf,
  envelopeSchemaOf,
  eventJsonSchemas,
  eventSchemaName,
} from './events.ts';
export { type ApiReferenceHtmlOptions, escapeHtml, renderApiReferenceHtml } from './html.ts';
export { canonicalJson, type Json, SchemaComponents, sortKeysDeep, toJsonSchema } from './json-schema.ts';
export {
  type EventCatalogMarkdownOptions,
  renderApiMarkdown,
  renderEventCatalogMarkdown,
  schemaTypeText,
} from './markdown.ts';
