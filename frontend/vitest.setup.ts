// jsdom lacks what uPlot asks for when it loads (matchMedia for the pixel ratio) and a canvas:
// any spec that imports a chart, even through the router's routes, needs these. The charts then
// show their label and value and leave the plot undrawn.
globalThis.matchMedia ??= (() => ({ matches: false, addEventListener() {}, removeEventListener() {} })) as unknown as typeof matchMedia
HTMLCanvasElement.prototype.getContext = (() => null) as never
