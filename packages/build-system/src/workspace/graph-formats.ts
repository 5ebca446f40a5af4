// Apart from graph.ts so the CLI's table of flags (cli/commands.ts, read by the
// Nest-free `--help`) can name the formats without loading discovery code.
export type GraphFormat = 'dot' | 'json' | 'mermaid';
export const GRAPH_FORMATS: readonly GraphFormat[] = ['dot', 'json', 'mermaid'];
