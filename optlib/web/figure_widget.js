// anywidget front end of optlib.figure_widget.FigureWidget (appended to figure_core.js).
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "optlib-figure";
  root.style.alignSelf = "flex-start";
  const canvas = document.createElement("canvas");
  canvas.className = "optlib-figure-canvas";
  canvas.style.display = "block";
  const readout = document.createElement("code");
  readout.className = "optlib-figure-readout";
  readout.style.display = "block";
  readout.style.whiteSpace = "pre-wrap";
  readout.style.marginTop = "4px";
  root.append(canvas, readout);
  el.append(root);
  root._optlib = { frame: 0, scene: null };

  const painter = new optlibFigure.Painter(canvas, (scene) => {
    root._optlib.painted = performance.now();
    readout.textContent = scene.readout || "";
    root._optlib.scene = scene;
    root._optlib.frame += 1;
    root.setAttribute("data-optlib-frame", String(root._optlib.frame));
  });
  const asImage = (dv) => (dv && dv.byteLength ? optlibFigure.loadImage(new Blob([dv], { type: "image/png" })) : Promise.resolve(null));
  const layers = () => painter.setLayers(asImage(model.get("background")), asImage(model.get("overlay")));
  let pending = false;
  const schedule = () => {
    root._optlib.received = performance.now();
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; painter.show(model.get("scene")); });
  };
  layers();
  schedule();
  const onLayers = () => { layers(); schedule(); };
  model.on("change:background", onLayers);
  model.on("change:overlay", onLayers);
  model.on("change:scene", schedule);
  return () => {
    model.off("change:background", onLayers);
    model.off("change:overlay", onLayers);
    model.off("change:scene", schedule);
  };
}

export default { render };
