/**
 * npm run schema — writes statemachine/execution-input.schema.json from the zod schema Start validates with,
 * so the console documentation, editors and the engine agree. A test fails when the checked-in file is stale.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { executionInputJsonSchema } from '../lambdas/domain/execution-input-schema';

const file = path.resolve(__dirname, '../statemachine/execution-input.schema.json');
writeFileSync(file, `${JSON.stringify(executionInputJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
