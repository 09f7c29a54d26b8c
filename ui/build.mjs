// Bundles src/index.jsx into dist/graphiql.js and dist/graphiql.css (and gzip copies of
// both), which the gateway's build embeds (build.rs) and serves under /graphiql/.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

await build({
  entryPoints: { graphiql: 'src/index.jsx' },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir: 'dist',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.svg': 'dataurl' },
  legalComments: 'eof',
  logLevel: 'info',
});

for (const file of ['dist/graphiql.js', 'dist/graphiql.css']) {
  writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
}
