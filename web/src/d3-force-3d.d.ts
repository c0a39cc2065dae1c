// The parts of d3-force-3d 3.0 that the page uses. The package ships no type declarations.
declare module 'd3-force-3d' {
  export interface SimulationNode {
    id: string;
    x?: number;
    y?: number;
    z?: number;
  }

  export interface Simulation<N extends SimulationNode> {
    force(name: string, force: unknown): this;
    tick(iterations?: number): this;
    stop(): this;
    alpha(): number;
    nodes(): N[];
  }

  export interface LinkForce<N extends SimulationNode, L> {
    id(accessor: (node: N) => string): this;
    links(links: L[]): this;
  }

  export function forceSimulation<N extends SimulationNode>(
    nodes: N[],
    numDimensions?: number,
  ): Simulation<N>;
  export function forceLink<N extends SimulationNode, L>(links?: L[]): LinkForce<N, L>;
  export function forceManyBody(): unknown;
  export function forceCenter(): unknown;
}
