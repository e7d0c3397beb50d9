// Validates every example client operation (`graphql/operations/*.graphql`) against the
// checked-in SDL with graphql-js, the reference implementation. Prints one JSON line: for each
// file, its operation names and the validation errors (none expected).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, buildSchema, parse, validate } from 'graphql';

const [schemaPath, dir] = process.argv.slice(2);
const schema = buildSchema(readFileSync(schemaPath, 'utf8'));
const files = readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort();
const out = files.map((file) => {
  const source = readFileSync(join(dir, file), 'utf8');
  try {
    const doc = parse(source);
    const operations = doc.definitions
      .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
      .map((d) => d.name?.value ?? '(anonymous)');
    return { file, operations, errors: validate(schema, doc).map((e) => e.message) };
  } catch (e) {
    return { file, operations: [], errors: [String(e.message)] };
  }
});
console.log(JSON.stringify(out));
