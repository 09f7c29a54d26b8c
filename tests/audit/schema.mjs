// Builds schema/schema.graphql with graphql-js, so the checked-in SDL (cost directives
// included) is valid GraphQL that other tools can read. Usage: node schema.mjs
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';

const sdl = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
const schema = buildSchema(sdl);
const listSized = Object.values(schema.getQueryType().getFields()).filter((field) =>
  field.astNode.directives.some((directive) => directive.name.value === 'listSize'),
);
if (!schema.getDirective('cost') || listSized.length !== 2) {
  console.error('schema/schema.graphql lacks the @cost/@listSize directives');
  process.exit(1);
}
console.log(`schema/schema.graphql builds with graphql-js (${Object.keys(schema.getTypeMap()).length} types)`);
