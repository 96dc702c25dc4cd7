// `npm run docs:config`: writes docs/configuration.md from the configuration schema.
import { writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from '../tooling/docs/configuration.js';

const path = 'docs/configuration.md';
writeFileSync(path, renderConfigurationDoc());
console.log(`docs:config: wrote ${path}`);
