import { z } from 'zod';
import { defineTool, type ToolContext } from '../define-tool';
import type { Entity, MemoryQueryResult, MemoryStore } from './memory-store';

const name = z.string().min(1).max(200);
const text = z.string().min(1).max(4000);

function provenance(context: ToolContext) {
  return { ...(context.call ? { call: context.call.id } : {}), ...(context.runId ? { run: context.runId } : {}) };
}

/** The most recent observations shown per entity. */
const SHOWN_OBSERVATIONS = 30;

function formatEntity(entity: Entity): string {
  const recent = entity.observations.slice(-SHOWN_OBSERVATIONS);
  const lines = [`- ${entity.name} (${entity.type})`];
  if (entity.observations.length > recent.length) {
    lines.push(`    [${entity.observations.length - recent.length} older observations not shown]`);
  }
  for (const o of recent) lines.push(`    • ${o.text}  [${o.at}${o.call ? `, call ${o.call}` : ''}]`);
  return lines.join('\n');
}

/** The query result as text for a model. */
export function formatMemory(result: MemoryQueryResult): string {
  if (result.entities.length === 0) return 'no matching entities in memory';
  const parts = ['entities:', ...result.entities.map(formatEntity)];
  if (result.matched > result.entities.length) {
    parts.push(`[${result.matched - result.entities.length} more entities matched; narrow the query or raise max]`);
  }
  if (result.relations.length > 0) {
    parts.push('relations:', ...result.relations.map((r) => `- ${r.from} --${r.type}--> ${r.to}`));
  }
  return parts.join('\n');
}

/** `memory_query`: entities (with observations) and their relations, found by name, type or text. */
export function memoryQueryTool(store: MemoryStore) {
  return defineTool({
    name: 'memory_query',
    description:
      'Look things up in the knowledge graph memory: entities (name, type, observations) and the relations between ' +
      'them. Filter by words in any text, by exact name or by type; with no filter, lists the first entities.',
    schema: z.object({
      query: z.string().max(500).optional().describe('Words that must all occur in the name, type or observations'),
      name: name.optional().describe('Exact entity name'),
      type: name.optional().describe('Entity type, e.g. "person", "file", "decision"'),
      max: z.number().int().min(1).max(200).default(20).describe('Most entities to return (default 20)'),
    }),
    readOnly: true,
    async execute({ query, name: entityName, type, max }) {
      return formatMemory(await store.query({ text: query, name: entityName, type, max }));
    },
  });
}

/** `add_entities`: new entities in the knowledge graph, each with a type and optional first observations. */
export function addEntitiesTool(store: MemoryStore) {
  return defineTool({
    name: 'add_entities',
    description:
      'Add entities to the knowledge graph memory (a known name gets the new type and keeps its observations).',
    schema: z.object({
      entities: z
        .array(z.object({ name, type: name, observations: z.array(text).max(100).optional() }))
        .min(1)
        .max(100),
    }),
    async execute({ entities }, context) {
      const { created, updated } = await store.addEntities(entities, provenance(context));
      return [
        created.length > 0 ? `created ${created.join(', ')}` : '',
        updated.length > 0 ? `updated ${updated.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
    },
  });
}

/** `add_relations`: typed, directed relations between existing entities. */
export function addRelationsTool(store: MemoryStore) {
  return defineTool({
    name: 'add_relations',
    description:
      'Add directed relations between existing entities, e.g. {from: "Alice", to: "Acme", type: "works_at"}.',
    schema: z.object({
      relations: z
        .array(z.object({ from: name, to: name, type: name }))
        .min(1)
        .max(100),
    }),
    async execute({ relations }, context) {
      const { added, existing } = await store.addRelations(relations, provenance(context));
      return `added ${added} relation${added === 1 ? '' : 's'}${existing > 0 ? ` (${existing} already known)` : ''}`;
    },
  });
}

/** `add_observations`: facts about existing entities. */
export function addObservationsTool(store: MemoryStore) {
  return defineTool({
    name: 'add_observations',
    description: 'Add observations (facts, one short sentence each) to existing entities.',
    schema: z.object({
      observations: z
        .array(z.object({ entity: name, contents: z.array(text).min(1).max(100) }))
        .min(1)
        .max(100),
    }),
    async execute({ observations }, context) {
      const { added } = await store.addObservations(
        observations.map((o) => ({ entity: o.entity, observations: o.contents })),
        provenance(context),
      );
      return `added ${added} observation${added === 1 ? '' : 's'}`;
    },
  });
}
