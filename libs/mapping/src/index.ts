// Field mappings: JSONata expressions that reshape an event's data, compiled once and evaluated with bounds.
export {
  compileMapping,
  type CompiledMapping,
  MAPPING_LIMITS,
  MappingCompileError,
  type MappingEvaluation,
  type MappingEventInput,
  type MappingFailure,
  type MappingLimits,
  resolveMapping,
} from './mapping.ts';
