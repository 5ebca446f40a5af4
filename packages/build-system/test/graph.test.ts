import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../src/workspace/discover.js';
import {
  createPackageGraph,
  criticalPath,
  dependencyClosure,
  dependentClosure,
  findCycle,
  renderGraph,
  subsetDependencies,
  topologicalOrder,
  type PackageGraph,
} from '../src/workspace/graph.js';
import type { Fixture } from './helpers/fixture.js';
import { workspaceFixture } from './helpers/workspace.js';
import { ReadLog } from '../src/util/read-log.js';

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function graphOf(spec: Parameters<typeof workspaceFixture>[1]): PackageGraph {
  const fx = workspaceFixture('npm', spec);
  fixtures.push(fx);
  return createPackageGraph(loadWorkspace(fx.root, new ReadLog()));
}

describe('package graph', () => {
  let g: PackageGraph;
  beforeAll(() => {
    g = graphOf({ base: {}, left: { deps: ['base'] }, right: { deps: ['base'] }, top: { deps: ['left', 'right'] }, solo: {}, via: { deps: ['base'], config: false }, app: { deps: ['via'] } });
  });

  it('edges in both directions', () => {
    expect(g.dependencies.get('@fx/top')).toEqual(['@fx/left', '@fx/right']);
    expect(g.dependents.get('@fx/base')).toEqual(['@fx/left', '@fx/right', '@fx/via']);
    expect([...dependencyClosure(g, ['@fx/top'])].sort()).toEqual(['@fx/base', '@fx/left', '@fx/right', '@fx/top']);
    expect([...dependentClosure(g, ['@fx/left'], false)].sort()).toEqual(['@fx/top']);
  });

  it('dependencies inside a subset look through packages outside it', () => {
    const subset = new Set(['@fx/base', '@fx/app', '@fx/solo']);
    expect(subsetDependencies(g, subset).get('@fx/app')).toEqual(['@fx/base']);
    expect(topologicalOrder(g, subset).indexOf('@fx/base')).toBeLessThan(topologicalOrder(g, subset).indexOf('@fx/app'));
  });

  it('topological order is dependencies first and the same every time', () => {
    const all = new Set(g.nodes.keys());
    const order = topologicalOrder(g, all);
    for (const [name, deps] of g.dependencies) for (const d of deps) expect(order.indexOf(d)).toBeLessThan(order.indexOf(name));
    expect(topologicalOrder(g, all)).toEqual(order);
  });

  it('renders dot, mermaid and json with edges from a dependency to its dependents', () => {
    const order = topologicalOrder(g, new Set(['@fx/base', '@fx/left', '@fx/right', '@fx/top']));
    const dot = renderGraph(g, order, 'dot');
    expect(dot).toMatch(/^digraph workspace \{/);
    for (const edge of ['"@fx/base" -> "@fx/left"', '"@fx/base" -> "@fx/right"', '"@fx/left" -> "@fx/top"', '"@fx/right" -> "@fx/top"']) expect(dot).toContain(edge);
    expect(dot.match(/->/g)).toHaveLength(4);

    const json = JSON.parse(renderGraph(g, order, 'json'));
    expect(json.nodes.map((n: { name: string }) => n.name)).toEqual(order);
    expect(json.nodes.find((n: { name: string }) => n.name === '@fx/top')).toMatchObject({ dir: 'packages/top', dependencies: ['@fx/left', '@fx/right'], dependents: [] });
    expect(json.edges).toHaveLength(4);
    expect(json.edges).toContainEqual({ from: '@fx/base', to: '@fx/left' });

    const mermaid = renderGraph(g, order, 'mermaid');
    expect(mermaid.split('\n')[0]).toBe('graph LR');
    const id = (name: string) => new RegExp(`(n\\d+)\\["${name}"\\]`).exec(mermaid)![1];
    expect(mermaid).toContain(`${id('@fx/base')} --> ${id('@fx/left')}`);
    expect(mermaid).toContain(`${id('@fx/right')} --> ${id('@fx/top')}`);
  });

  it('finds a cycle and returns the path that closes it; none in an acyclic graph', () => {
    expect(findCycle(g)).toBeNull();
    const cyclic = graphOf({ x: { deps: ['y'] }, y: { deps: ['x'] }, free: {} });
    const cycle = findCycle(cyclic)!;
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['@fx/x', '@fx/y']));
    expect(findCycle(cyclic, ['@fx/free'])).toBeNull();
  });
});

describe('workspace discovery', () => {
  it('package.json `workspaces` in object form, with a negated glob', () => {
    const fx = workspaceFixture('npm', { a: {}, b: { deps: ['a'] }, skip: {} });
    fixtures.push(fx);
    fx.write({ 'package.json': { name: 'fx-root', private: true, workspaces: { packages: ['packages/*', '!packages/skip'] } } });
    const g = createPackageGraph(loadWorkspace(fx.root, new ReadLog()));
    expect([...g.nodes.keys()].sort()).toEqual(['@fx/a', '@fx/b']);
    expect(g.dependencies.get('@fx/b')).toEqual(['@fx/a']);
  });
});

describe('critical path', () => {
  it('is the chain with the largest summed duration', () => {
    const order = ['base', 'left', 'right', 'top', 'solo'];
    const deps = new Map([
      ['left', ['base']],
      ['right', ['base']],
      ['top', ['left', 'right']],
    ]);
    const durations = new Map([
      ['base', 100],
      ['left', 50],
      ['right', 300],
      ['top', 10],
      ['solo', 400],
    ]);
    expect(criticalPath(order, deps, durations)).toEqual({ packages: ['base', 'right', 'top'], durationMs: 410 });
    durations.set('solo', 500);
    expect(criticalPath(order, deps, durations)).toEqual({ packages: ['solo'], durationMs: 500 });
  });

  it('is empty for an empty run', () => {
    expect(criticalPath([], new Map(), new Map())).toEqual({ packages: [], durationMs: 0 });
  });
});
